/* netplan_job.c: see netplan_job.h. */
#include "netplan_job.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_control.h"
#include "net_migration.h"
#include "netplan_run.h"
#include "osm_buf.h"
#include "osm_time.h"

int osm_netplan_finding_blocks(const struct osm_net_finding *f)
{
    return f->error && strcmp(f->id, "time.past") != 0;
}

size_t osm_netplan_blocking(const struct osm_net_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += osm_netplan_finding_blocks(&r->f[i]) != 0;
    return n;
}

/* The task of plan instance `id` among the made ones, or NULL. */
static const struct osm_task *task_of(const struct osm_netplan *p, const struct osm_task *tasks, const size_t *slot,
                                      const char *id)
{
    const struct osm_net_instance *in = osm_netplan_find(p, id);
    if (!in || in->stays)
        return NULL;
    return &tasks[slot[in - p->inst]];
}

/* The seed: an instance others need over the internal network migrates
 * later. Placed in a window, two times may meet at one opening. */
static int check_order(const struct osm_netplan *p, const struct osm_task *tasks, const size_t *slot, int64_t now,
                       struct osm_err *err)
{
    for (size_t i = 0; i < p->n_inst; i++) {
        const struct osm_net_instance *in = &p->inst[i];
        if (in->stays)
            continue;
        const struct osm_task *a = &tasks[slot[i]];
        for (size_t k = 0; k < in->n_depends_on; k++) {
            const struct osm_task *b = task_of(p, tasks, slot, in->depends_on[k]);
            int64_t sa = a->not_before > now ? a->not_before : now, sb = b && b->not_before > now ? b->not_before : now;
            if (!b || sb > sa)
                continue;
            char ta[32], tb[32];
            return osm_err_set(err, OSM_EINPUT,
                               "%s: time.dependency-order: instance %s, which %s needs, would start at %s in the "
                               "window, not after %s (%s): Set a later migration time for a classic network-type "
                               "instance that requires connectivity.",
                               p->path, in->depends_on[k], in->id, osm_time_iso(sb, tb), in->id, osm_time_iso(sa, ta));
        }
    }
    return 0;
}

int osm_netplan_job_make(const struct osm_netplan *p, const struct osm_net_report *r, char *const *canon,
                         const struct osm_netplan_job_opts *o, struct osm_job *job, struct osm_task **tasks_out,
                         size_t *n_out, struct osm_err *err)
{
    struct osm_task *tasks = osm_xcalloc(p->n_inst + 1, sizeof *tasks);
    size_t *slot = osm_xcalloc(p->n_inst + 1, sizeof *slot);
    size_t n = 0;
    char tb[32], lb[32];
    /* the window as a request's is kept: compact, in its order */
    json_t *wj = o->window ? json_loads(o->window, 0, NULL) : NULL;
    char *window = wj ? json_dumps(wj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    for (size_t i = 0; i < p->n_inst; i++) {
        const struct osm_net_instance *in = &p->inst[i];
        if (in->stays)
            continue;
        json_t *opts = osm_netplan_run_options(p, r, i, err);
        if (!opts)
            goto fail;
        if (!canon[i]) {
            json_decref(opts);
            osm_err_set(err, OSM_EINPUT, "%s: instance %s: its osmig instance is not known", p->path, in->id);
            goto fail;
        }
        for (size_t k = 0; k < i; k++)
            if (canon[k] && !p->inst[k].stays && strcmp(canon[k], canon[i]) == 0) {
                json_decref(opts);
                osm_err_set(err, OSM_EINPUT, "%s: instances %s and %s are one osmig instance, %s", p->path,
                            p->inst[k].id, in->id, canon[i]);
                goto fail;
            }
        int64_t at = in->time > o->now ? in->time : 0;
        if (o->latest_start > 0 && at > o->latest_start) {
            json_decref(opts);
            osm_err_set(err, OSM_EINPUT, "%s: instance %s: its migration time %s is after the job's latest start %s",
                        p->path, in->id, osm_time_iso(at, tb), osm_time_iso(o->latest_start, lb));
            goto fail;
        }
        struct osm_task *t = &tasks[n];
        slot[i] = n++;
        osm_task_init(t);
        osm_job_task_init(t, canon[i], json_string_value(json_object_get(opts, "vswitch")),
                          json_dumps(opts, JSON_COMPACT), at, o->latest_start, window, o->now);
        /* placed as any job's task; its kind is the plan's */
        snprintf(t->kind, sizeof t->kind, "%s", OSM_KIND_NETWORK_MIGRATION);
        json_decref(opts);
    }
    if (window && check_order(p, tasks, slot, o->now, err) != 0)
        goto fail;
    job->name = osm_xasprintf("network plan %s", p->name);
    json_t *spec = json_pack("{s:s, s:s, s:s, s:I}", "kind", OSM_KIND_NETWORK_MIGRATION, "plan", p->name, "source",
                             p->path, "instances", (json_int_t)n);
    if (wj)
        json_object_set(spec, "window", wj);
    job->spec = json_dumps(spec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(spec);
    job->max_concurrency = o->max_concurrency ? osm_xstrdup(o->max_concurrency) : NULL;
    job->max_errors = o->max_errors ? osm_xstrdup(o->max_errors) : NULL;
    if (osm_job_limit_is_zero(o->max_concurrency))
        job->state = osm_xstrdup("paused");
    job->created_by = o->created_by ? osm_xstrdup(o->created_by) : NULL;
    free(slot);
    free(window);
    json_decref(wj);
    *tasks_out = tasks;
    *n_out = n;
    return 0;
fail:
    for (size_t k = 0; k < n; k++)
        osm_task_free(&tasks[k]);
    free(tasks);
    free(slot);
    free(window);
    json_decref(wj);
    return -1;
}
