/* api_routes_netplans.c: network migration plans (classic network to a
 * VPC, docs/network-plans.md) over HTTP:
 *
 *   POST /v1/network-plans/verify {"plan"}   the seed's Verify, as
 *        `osmig network verify --json` (viewer; reads nothing else)
 *   POST /v1/network-plans {"plan", "max_concurrency", "max_errors",
 *        "schedule": {"window", "latest_start"}}   the plan run as a job
 *        (netplan_job.h: the tasks `osmig network run` makes)
 *
 * The plan is a document with its inventory inline (a request names no
 * server file); a malformed one is 400 InvalidParameter naming the member.
 * Every blocking finding is answered at once (400 InvalidParameter.Plan,
 * each in "findings": what `osmig network run` exits 3 for); every osmig instance the plan
 * names must open and be in the key's scope; then the job and its tasks are
 * written in one transaction, or nothing is. The job is then a job like
 * any other: listed, paused, cancelled, rate-limited by the scheduler. */
#include <stdlib.h>
#include <string.h>

#include "api_priv.h"
#include "job_control.h"
#include "netplan.h"
#include "netplan_job.h"
#include "netplan_verify.h"
#include "osm_time.h"
#include "schedule.h"

/* The member a load error names ("plan: instances[2].time: ..." ->
 * "plan.instances[2].time"); caller frees. */
static char *field_of(const char *msg)
{
    if (strncmp(msg, "plan: ", 6) != 0)
        return osm_xstrdup("plan");
    const char *m = msg + 6;
    size_t len = strcspn(m, ": ");
    if (!len || m[len] != ':')
        return osm_xstrdup("plan");
    return osm_xasprintf("plan.%.*s", (int)len, m);
}

/* body.plan loaded, or NULL after answering. */
static struct osm_netplan *load_plan(struct api_req *rq, json_t *body)
{
    json_t *doc = json_object_get(body, "plan");
    if (!doc || json_is_null(doc)) {
        api_fail(rq, 400, "MissingParameter", "plan", "plan is required (the plan document, its inventory inline)");
        return NULL;
    }
    if (!json_is_object(doc)) {
        api_fail(rq, 400, "InvalidParameter", "plan", "plan must be an object (docs/network-plans.md)");
        return NULL;
    }
    struct osm_netplan *p = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_netplan_load_doc(doc, "plan", NULL, &p, &err) != 0) {
        char *f = field_of(err.msg);
        api_fail(rq, 400, "InvalidParameter", f, "%s", err.msg);
        free(f);
        return NULL;
    }
    return p;
}

void api_netplans_verify(struct api_req *rq)
{
    static const char *const allowed[] = {"plan", "at", NULL};
    json_t *body = apij_body_no_query(rq, 0);
    if (!body)
        return;
    int64_t at;
    int has_at;
    struct osm_netplan *p = NULL;
    if (apij_only(rq, body, NULL, allowed) || apij_time(rq, body, NULL, "at", &at, &has_at) ||
        !(p = load_plan(rq, body))) {
        json_decref(body);
        return;
    }
    struct osm_net_report r;
    osm_netplan_verify(p, NULL, has_at ? at : rq->now, &r);
    api_reply(rq, 200, osm_net_report_json(p, &r));
    osm_net_report_free(&r);
    osm_netplan_free(p);
    json_decref(body);
}

/* 400 with every blocking finding, each in "findings" too. */
static void refuse(struct api_req *rq, const struct osm_netplan *p, const struct osm_net_report *r)
{
    struct osm_buf m;
    osm_buf_init(&m);
    osm_buf_addf(&m, "plan %s has %zu error(s); nothing was created:", p->name, osm_netplan_blocking(r));
    json_t *all = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const struct osm_net_finding *f = &r->f[i];
        if (!osm_netplan_finding_blocks(f))
            continue;
        osm_buf_addf(&m, " %s %s: %s;", f->id, f->subject, f->detail);
        json_array_append_new(all, json_pack("{s:s, s:s, s:s, s:s, s:s?}", "id", f->id, "severity", "error",
                                             "subject", f->subject, "detail", f->detail, "words", f->words));
    }
    api_fail(rq, 400, "InvalidParameter.Plan", "plan", "%s", m.s);
    json_object_set_new(rq->reply, "findings", all);
    osm_buf_free(&m);
}

/* Every osmig instance the plan names opened, in the key's scope; canon[i]
 * of those that migrate. -1 after answering. */
static int check_instances(struct api_req *rq, const struct osm_netplan *p, char **canon)
{
    for (size_t i = 0; i < p->n_inst; i++) {
        const struct osm_net_instance *in = &p->inst[i];
        if (!in->uri)
            continue;
        char *field = osm_xasprintf("plan.instances[%zu].instance", i), *c = NULL;
        int rc = api_check_instance(rq, OSM_ACT_SUBMIT, in->uri, field, &c);
        free(field);
        if (rc != 0)
            return -1;
        if (in->stays)
            free(c);
        else
            canon[i] = c;
    }
    return 0;
}

void api_netplans_create(struct api_req *rq)
{
    static const char *const allowed[] = {"plan", "max_concurrency", "max_errors", "schedule", NULL};
    static const char *const sched_allowed[] = {"window", "latest_start", NULL};
    json_t *body = apij_body_no_query(rq, 0);
    if (!body)
        return;
    const char *maxc, *maxe;
    struct api_schedule sch = {0};
    struct osm_netplan *p = NULL;
    struct osm_net_report r;
    memset(&r, 0, sizeof r);
    char **canon = NULL;
    struct osm_task *tasks = NULL;
    size_t n = 0;
    struct osm_job job;
    osm_job_init(&job);
    struct osm_err err = OSM_ERR_INIT;
    int v, pct;
    if (apij_only(rq, body, NULL, allowed) || apij_string(rq, body, NULL, "max_concurrency", 0, 16, &maxc) ||
        apij_string(rq, body, NULL, "max_errors", 0, 16, &maxe))
        goto out;
    const char *limits[] = {maxc, maxe}, *names[] = {"max_concurrency", "max_errors"};
    for (int k = 0; k < 2; k++)
        if (limits[k] && osm_rate_limit_parse(limits[k], names[k], &v, &pct, &err) != 0) {
            api_fail(rq, 400, "InvalidParameter.RateLimit", names[k], "%s", err.msg);
            goto out;
        }
    json_t *sched = json_object_get(body, "schedule");
    /* a plan's tasks start at their migration times: no not_before here */
    if ((json_is_object(sched) && apij_only(rq, sched, "schedule", sched_allowed)) ||
        api_schedule_parse(rq, sched, "schedule", &sch) != 0 || !(p = load_plan(rq, body)))
        goto out;
    osm_netplan_verify(p, NULL, rq->now, &r);
    if (osm_netplan_blocking(&r)) {
        refuse(rq, p, &r);
        goto out;
    }
    canon = osm_xcalloc(p->n_inst + 1, sizeof *canon);
    if (check_instances(rq, p, canon) != 0)
        goto out;
    struct osm_netplan_job_opts o = {.now = rq->now, .window = sch.window, .latest_start = sch.latest_start,
                                     .max_concurrency = maxc, .max_errors = maxe ? maxe : "0",
                                     .created_by = api_actor(rq)};
    if (osm_netplan_job_make(p, &r, canon, &o, &job, &tasks, &n, &err) != 0) {
        api_fail(rq, 400, "InvalidParameter", "plan", "%s", err.msg);
        goto out;
    }
    struct osm_store *st = api_store(rq);
    if (!st)
        goto out;
    if (osm_store_create_job(st, &job, tasks, n, &err) < 0) {
        if (err.code == OSM_ECONFLICT)
            api_fail(rq, 409, "Conflict.InstanceBusy", NULL, "%s; nothing was created", err.msg);
        else
            api_fail_err(rq, &err, NULL, NULL);
        goto out;
    }
    json_t *ids = json_array(), *list = json_array(), *notes = json_array();
    char tb[32];
    for (size_t i = 0, k = 0; i < p->n_inst; i++) {
        if (p->inst[i].stays)
            continue;
        const struct osm_task *t = &tasks[k++];
        json_array_append_new(ids, json_string(t->id));
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:o}", "task_id", t->id, "id", p->inst[i].id,
                                              "instance", t->instance, "starts",
                                              t->not_before > rq->now ? json_string(osm_time_iso(t->not_before, tb))
                                                                      : json_string("now")));
    }
    for (size_t i = 0; i < r.n; i++)
        if (!osm_netplan_finding_blocks(&r.f[i]))
            json_array_append_new(notes, json_pack("{s:s, s:s, s:s, s:s}", "id", r.f[i].id, "severity",
                                                   r.f[i].error ? "error" : "warning", "subject", r.f[i].subject,
                                                   "detail", r.f[i].detail));
    api_reply(rq, 201, json_pack("{s:s, s:s, s:o, s:o, s:o}", "job_id", job.id, "plan", p->name, "task_ids", ids,
                                 "tasks", list, "findings", notes));
    api_kick(rq);
out:
    if (tasks)
        osm_task_list_free(tasks, n);
    for (size_t i = 0; canon && i < p->n_inst; i++)
        free(canon[i]);
    free(canon);
    osm_job_free(&job);
    osm_net_report_free(&r);
    osm_netplan_free(p);
    api_schedule_free(&sch);
    json_decref(body);
}
