/* power_steps.c: see power_steps.h. */
#include "power_steps.h"

#include "provider.h"
#include "runner.h"

int osm_step_stop(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst)
        return -1;
    if (!inst->provider->stop)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance %s: its provider cannot stop it", inst->uri);
    osm_step_progress(ctx, 0.1, "shutting the instance down");
    if (inst->provider->stop(inst, err) != 0)
        return -1;
    osm_step_crash_point("stop: off, not recorded");
    return osm_step_event(ctx, "stopped", "the instance shut down cleanly", err);
}

int osm_step_start(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst)
        return -1;
    if (!inst->provider->start)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance %s: its provider cannot start it", inst->uri);
    osm_step_progress(ctx, 0.1, "starting the instance and waiting for its agent");
    if (inst->provider->start(inst, err) != 0)
        return -1;
    osm_step_crash_point("start: running, not recorded");
    return osm_step_event(ctx, "started", "the instance started again and its agent answers", err);
}
