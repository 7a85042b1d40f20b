/* power_steps.c: see power_steps.h. */
#include "power_steps.h"

#include "provider.h"
#include "runner.h"

/* One power operation of the provider as a step: what it is called in
 * messages, what the step says while it waits and once it is done. */
struct power_op {
    int start; /* the provider's start, else its stop */
    const char *verb, *waiting, *crash, *event, *done;
};

static int power_step(struct osm_step_ctx *ctx, const struct power_op *p, struct osm_err *err)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst)
        return -1;
    int (*op)(struct osm_instance *, struct osm_err *) = p->start ? inst->provider->start : inst->provider->stop;
    if (!op)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance %s: its provider cannot %s it", inst->uri, p->verb);
    osm_step_progress(ctx, 0.1, p->waiting);
    if (op(inst, err) != 0)
        return -1;
    osm_step_crash_point(p->crash);
    return osm_step_event(ctx, p->event, p->done, err);
}

int osm_step_stop(struct osm_step_ctx *ctx, struct osm_err *err)
{
    static const struct power_op stop = {0, "stop", "shutting the instance down", "stop: off, not recorded",
                                         "stopped", "the instance shut down cleanly"};
    return power_step(ctx, &stop, err);
}

int osm_step_start(struct osm_step_ctx *ctx, struct osm_err *err)
{
    static const struct power_op start = {1, "start", "starting the instance and waiting for its agent",
                                          "start: running, not recorded", "started",
                                          "the instance started again and its agent answers"};
    return power_step(ctx, &start, err);
}
