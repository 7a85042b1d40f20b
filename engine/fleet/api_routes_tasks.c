/* api_routes_tasks.c: GET /v1/tasks[/{id}], the task actions (start, cancel,
 * retry, rollback, reschedule) and DELETE /v1/tasks/{id}/snapshot.
 *
 * A task out of the caller's scope does not exist for it (404), so a scoped
 * key learns nothing about other instances. Every change is one store
 * commit that only happens in the state it was decided in; a task that
 * moved meanwhile answers 409 and is left alone. */
#include <stdlib.h>
#include <string.h>

#include "api_priv.h"
#include "host_events.h"
#include "job_control.h"
#include "task_json.h"
#include "osm_buf.h"
#include "osm_time.h"
#include "os_migration.h"
#include "provider.h"
#include "runner.h"

json_t *api_task_json(struct api_req *rq, const struct osm_task *t, int full)
{
    json_t *o;
    if (full) {
        struct osm_err err = OSM_ERR_INIT;
        struct osm_store *st = api_store(rq);
        o = st ? osm_task_to_json_full(st, t, &err) : NULL;
        if (!o) {
            if (st)
                api_fail_err(rq, &err, "NotFound.Task", NULL);
            return NULL;
        }
    } else {
        o = osm_task_to_json(t);
    }
    json_object_set_new(o, "job_id", t->job_id ? json_string(t->job_id) : json_null());
    /* The server's own paths (its state directory, stores, caches, matrix,
     * event and repository files) are for those who may set them. */
    if (rq->authed && rq->who.role != OSM_ROLE_ADMIN) {
        static const char *const server_paths[] = {"state_dir", "snapshot_store", "cache_dir", "matrix", "events",
                                                   "repos"};
        json_t *opts = json_object_get(o, "options");
        for (size_t i = 0; json_is_object(opts) && i < sizeof server_paths / sizeof server_paths[0]; i++)
            json_object_del(opts, server_paths[i]);
    }
    return o;
}

int api_load_task(struct api_req *rq, struct osm_task *t)
{
    osm_task_init(t);
    struct osm_store *st = api_store(rq);
    if (!st)
        return -1;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_get_task(st, rq->param, t, &err) != 0) {
        osm_task_free(t);
        if (err.code == OSM_ENOTFOUND)
            return api_fail(rq, 404, "NotFound.Task", NULL, "no task %s", rq->param);
        return api_fail_err(rq, &err, "NotFound.Task", NULL);
    }
    if (!api_in_scope(rq, t->instance)) {
        osm_task_free(t);
        return api_fail(rq, 404, "NotFound.Task", NULL, "no task %s", rq->param);
    }
    return 0;
}

static void reply_task(struct api_req *rq, int status, const char *id)
{
    struct osm_task t;
    osm_task_init(&t);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_get_task(api_store(rq), id, &t, &err) != 0) {
        api_fail_err(rq, &err, "NotFound.Task", NULL);
        return;
    }
    json_t *j = api_task_json(rq, &t, 1);
    osm_task_free(&t);
    if (!j)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "task", j);
    api_reply(rq, status, o);
}

/* ---- GET /v1/tasks ---- */

void api_tasks_list(struct api_req *rq)
{
    static const char *const allowed[] = {"state", "instance", "target", "job", "created_from", "created_to",
                                          "after", "limit", NULL};
    size_t limit;
    int64_t after;
    if (api_query_check(rq, allowed) || api_paging(rq, &limit, &after))
        return;
    int states[OSM_TASK_N_STATES];
    size_t n_states = 0;
    const char *sq = api_query(rq, "state");
    if (sq) {
        char *copy = osm_xstrdup(sq), *save = NULL;
        for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
            int v = osm_task_state_parse(s);
            if (v < 0) {
                api_fail(rq, 400, "InvalidParameter.State", "query.state",
                         "query.state: '%s' is not a state (submitted, scheduled, running, rolling_back, succeeded, "
                         "failed, rolled_back, rollback_failed, cancelled, expired)", s);
                free(copy);
                return;
            }
            int dup = 0;
            for (size_t k = 0; k < n_states; k++)
                dup |= states[k] == v;
            if (!dup)
                states[n_states++] = v;
        }
        free(copy);
        if (n_states == 0) {
            api_fail(rq, 400, "InvalidParameter.State", "query.state", "query.state is empty");
            return;
        }
    }
    struct osm_task_filter f = {.states = n_states ? states : NULL, .n_states = n_states,
                                .instance = api_query(rq, "instance"), .target = api_query(rq, "target"),
                                .job_id = api_query(rq, "job"), .after_seq = after, .limit = limit};
    const char *names[] = {"created_from", "created_to"};
    int64_t *dst[] = {&f.created_from, &f.created_to};
    for (int i = 0; i < 2; i++) {
        const char *v = api_query(rq, names[i]);
        if (v && apij_parse_time_text(v, dst[i]) != 0) {
            char *fl = osm_xasprintf("query.%s", names[i]);
            api_fail(rq, 400, "InvalidParameter.Time", fl, "%s: '%s' is not an RFC 3339 time or unix seconds", fl, v);
            free(fl);
            return;
        }
    }
    /* instance= by any spelling: its canonical URI, as tasks record it. */
    char *canon_instance = NULL;
    if (f.instance) {
        struct osm_err cerr = OSM_ERR_INIT;
        if (osm_instance_canonical_uri(f.instance, &canon_instance, &cerr) == 0)
            f.instance = canon_instance;
    }
    /* A scoped key's tasks are filtered by the query itself, so a page is
     * full whenever more of them exist (api_in_scope below only confirms). */
    if (rq->authed && rq->who.scope && rq->who.role != OSM_ROLE_ADMIN)
        f.instance_pattern = rq->who.scope;
    struct osm_store *st = api_store(rq);
    if (!st) {
        free(canon_instance);
        return;
    }
    struct osm_task *tasks = NULL;
    size_t n = 0;
    int64_t next = 0;
    struct osm_err err = OSM_ERR_INIT;
    int qrc = osm_store_query_tasks(st, &f, &tasks, &n, &next, &err);
    free(canon_instance);
    if (qrc != 0) {
        api_fail_err(rq, &err, NULL, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        if (api_in_scope(rq, tasks[i].instance))
            json_array_append_new(arr, api_task_json(rq, &tasks[i], 0));
    osm_task_list_free(tasks, n);
    api_reply_page(rq, "tasks", arr, next);
}

void api_tasks_get(struct api_req *rq)
{
    static const char *const none[] = {NULL};
    if (api_query_check(rq, none))
        return;
    /* The task, its history and its journal from one snapshot (and one
     * read transaction rather than three). */
    struct osm_store *st = api_store(rq);
    struct osm_err err = OSM_ERR_INIT;
    if (!st)
        return;
    if (osm_store_read_begin(st, &err) != 0) {
        api_fail_err(rq, &err, NULL, NULL);
        return;
    }
    struct osm_task t;
    json_t *j = NULL;
    if (api_load_task(rq, &t) == 0) {
        j = api_task_json(rq, &t, 1);
        osm_task_free(&t);
    }
    osm_store_read_end(st);
    if (j)
        api_reply(rq, 200, j);
}

/* ---- actions ---- */

static int waiting(const struct osm_task *t)
{
    return t->state == OSM_TASK_SUBMITTED || t->state == OSM_TASK_SCHEDULED;
}

/* Commit t if it is still in `state`; 409 when it moved. */
static int commit_if(struct api_req *rq, const struct osm_task *t, int state, const char *event, const char *msg)
{
    struct osm_task_change ch = {.task = t, .expect_state = state, .expect_rev = t->rev, .event_type = event,
                                 .event_message = msg};
    struct osm_err err = OSM_ERR_INIT;
    int rc = osm_store_commit(api_store(rq), &ch, &err);
    if (rc < 0)
        return api_fail_err(rq, &err, "NotFound.Task", "Conflict.TaskState");
    if (rc == 1)
        return api_fail(rq, 409, "Conflict.TaskState", NULL, "task %s changed while this request was served; try again",
                        t->id);
    return 0;
}

void api_tasks_start(struct api_req *rq)
{
    struct osm_task t;
    if (apij_no_body(rq) || api_load_task(rq, &t))
        return;
    if (!waiting(&t)) {
        api_fail(rq, 409, "Conflict.TaskState", NULL,
                 "task %s is %s: only a submitted or scheduled task can be started", t.id,
                 osm_task_state_name(t.state));
        osm_task_free(&t);
        return;
    }
    int state = (int)t.state;
    t.not_before = rq->now;
    osm_task_set_str(&t.window, NULL);
    if (commit_if(rq, &t, state, "start.requested", "start now; the maintenance window is ignored") == 0) {
        api_audit(rq, t.id, "started", NULL);
        api_kick(rq);
        reply_task(rq, 202, t.id);
    }
    osm_task_free(&t);
}

typedef int (*runner_action)(struct osm_store *st, const char *id, struct osm_err *err);

/* A runner's request on the path's task, recorded in its audit trail as
 * `action`. */
static void simple_action(struct api_req *rq, runner_action fn, const char *action)
{
    struct osm_task t;
    if (apij_no_body(rq) || api_load_task(rq, &t))
        return;
    struct osm_err err = OSM_ERR_INIT;
    if (fn(api_store(rq), t.id, &err) != 0) {
        api_fail_err(rq, &err, "NotFound.Task", "Conflict.TaskState");
    } else {
        api_audit(rq, t.id, action, NULL);
        api_kick(rq);
        reply_task(rq, 202, t.id);
    }
    osm_task_free(&t);
}

void api_tasks_cancel(struct api_req *rq)
{
    simple_action(rq, osm_runner_cancel, "cancelled");
}

void api_tasks_retry(struct api_req *rq)
{
    simple_action(rq, osm_runner_retry, "retried");
}

void api_tasks_rollback(struct api_req *rq)
{
    simple_action(rq, osm_runner_request_rollback, "rolled_back");
}

/* POST /v1/tasks/{id}/release {"reason"}: an admin frees an instance whose
 * task's rollback failed (job_control.h). */
void api_tasks_release(struct api_req *rq)
{
    static const char *const none[] = {NULL}, *const allowed[] = {"reason", NULL};
    const char *reason = NULL;
    struct osm_task t;
    if (api_query_check(rq, none))
        return;
    json_t *b = apij_body(rq, 0);
    if (!b || apij_only(rq, b, NULL, allowed) || apij_string(rq, b, NULL, "reason", 1, 1000, &reason) ||
        api_load_task(rq, &t)) {
        json_decref(b);
        return;
    }
    struct osm_err err = OSM_ERR_INIT;
    if (osm_task_release(api_store(rq), t.id, api_actor(rq), reason, &err) != 0)
        api_fail_err(rq, &err, "NotFound.Task", "Conflict.TaskState");
    else
        reply_task(rq, 200, t.id);
    osm_task_free(&t);
    json_decref(b);
}

void api_tasks_reschedule(struct api_req *rq)
{
    static const char *const allowed[] = {"not_before", "window", "latest_start", NULL};
    json_t *body = apij_body_no_query(rq, 0);
    if (!body)
        return;
    struct osm_task t;
    osm_task_init(&t);
    char *window = NULL;
    int64_t nb, ls;
    int has_nb, has_ls;
    if (apij_only(rq, body, NULL, allowed) || apij_time(rq, body, NULL, "not_before", &nb, &has_nb) ||
        apij_time(rq, body, NULL, "latest_start", &ls, &has_ls))
        goto out;
    json_t *w = json_object_get(body, "window");
    if (json_object_size(body) == 0) {
        api_fail(rq, 400, "MissingParameter", NULL, "give at least one of not_before, window, latest_start");
        goto out;
    }
    if (w && !json_is_null(w) && api_window_parse(rq, w, "window", &window) != 0)
        goto out;
    if (has_ls && ls <= rq->now) {
        api_fail(rq, 400, "InvalidParameter.LatestStart", "latest_start", "latest_start is in the past");
        goto out;
    }
    if (api_load_task(rq, &t) != 0)
        goto out;
    if (!waiting(&t)) {
        api_fail(rq, 409, "Conflict.TaskState", NULL,
                 "task %s is %s: only a submitted or scheduled task can be rescheduled", t.id,
                 osm_task_state_name(t.state));
        goto out;
    }
    if (strcmp(t.kind, OSM_KIND_HOST_MAINTENANCE) == 0) {
        /* the event's latest schedule time is the provider's, and its start
         * was placed once (a window would move it): not_before only, and
         * never past the latest time (the seed's words) */
        struct osm_err e = OSM_ERR_INIT;
        if (!has_nb || json_object_get(body, "latest_start") || w)
            api_fail(rq, 400, "InvalidParameter", has_nb ? (w ? "window" : "latest_start") : "not_before",
                     "task %s is a host-maintenance event's: give not_before only", t.id);
        else if (osm_host_event_reschedule(api_store(rq), t.id, nb, rq->now, NULL, &e) != 0)
            api_fail_err(rq, &e, "NotFound.Task", "Conflict.TaskState");
        else
            api_kick(rq), reply_task(rq, 200, t.id);
        goto out;
    }
    if (has_nb)
        t.not_before = nb;
    if (json_object_get(body, "latest_start"))
        t.latest_start = has_ls ? ls : 0;
    if (w)
        osm_task_set_str(&t.window, window);
    if (t.latest_start > 0 && t.not_before > t.latest_start) {
        char a[32], b[32];
        api_fail(rq, 400, has_nb ? "InvalidParameter.NotBefore" : "InvalidParameter.LatestStart",
                 has_nb ? "not_before" : "latest_start", "%s: not_before %s is later than the latest start %s",
                 has_nb ? "not_before" : "latest_start", osm_time_iso(t.not_before, a),
                 osm_time_iso(t.latest_start, b));
        goto out;
    }
    char *msg = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = commit_if(rq, &t, (int)t.state, "rescheduled", msg);
    free(msg);
    if (rc == 0) {
        api_audit(rq, t.id, "rescheduled", NULL);
        api_kick(rq);
        reply_task(rq, 200, t.id);
    }
out:
    osm_task_free(&t);
    free(window);
    json_decref(body);
}

void api_tasks_delete_snapshot(struct api_req *rq)
{
    struct osm_task t;
    if (apij_no_body(rq) || api_load_task(rq, &t))
        return;
    if (t.state != OSM_TASK_SUCCEEDED || !t.snapshot_set) {
        api_fail(rq, 409, "Conflict.TaskState", NULL,
                 t.state != OSM_TASK_SUCCEEDED ? "task %s is %s: only a succeeded task's snapshot set can be deleted"
                                               : "task %s has no snapshot set (%s)",
                 t.id, osm_task_state_name(t.state));
        osm_task_free(&t);
        return;
    }
    json_t *opts = t.options ? json_loads(t.options, 0, NULL) : NULL;
    const char *store = json_string_value(json_object_get(opts, "snapshot_store"));
    struct osm_instance *inst = NULL;
    struct osm_err err = OSM_ERR_INIT;
    int rc = osm_instance_open(t.instance, &inst, &err);
    if (rc == 0)
        rc = osm_migration_snapshot_delete(inst, t.snapshot_set, store, &err);
    osm_instance_close(inst);
    json_decref(opts);
    if (rc != 0) {
        osm_err_prefix(&err, "deleting snapshot set %s of task %s", t.snapshot_set, t.id);
        api_fail(rq, err.code == OSM_ENOTFOUND ? 409 : 500,
                 err.code == OSM_ENOTFOUND ? "Conflict.TaskState" : "InternalError", NULL, "%s", err.msg);
        osm_task_free(&t);
        return;
    }
    char *msg = osm_xasprintf("snapshot set %s deleted", t.snapshot_set);
    osm_task_set_str(&t.snapshot_set, NULL);
    if (commit_if(rq, &t, OSM_TASK_SUCCEEDED, "snapshot.deleted", msg) == 0) {
        api_audit(rq, t.id, "snapshot.deleted", NULL);
        reply_task(rq, 200, t.id);
    }
    free(msg);
    osm_task_free(&t);
}
