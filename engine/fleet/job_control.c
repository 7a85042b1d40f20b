/* job_control.c: pause, resume, limits and cancel of a whole job
 * (job_control.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "families.h"
#include "osm_time.h"
#include "task_json.h"
#include "job_control.h"
#include "osm_buf.h"
#include "osm_log.h"
#include "os_migration.h"
#include "runner.h"
#include "schedule.h"
#include "scheduler.h"

static const char *state_of(const struct osm_job *j)
{
    return j->state ? j->state : "active";
}

int osm_job_limit_is_zero(const char *limit)
{
    return limit && (strcmp(limit, "0") == 0 || strcmp(limit, "0%") == 0);
}

static int refuse_cancelled(const struct osm_job *job, const char *what, struct osm_err *err)
{
    if (strcmp(state_of(job), "cancelled") != 0)
        return 0;
    return osm_err_set(err, OSM_ECONFLICT, "job %s is cancelled: it cannot be %s", job->id, what);
}

static int check_limit(const char *text, const char *field, struct osm_err *err)
{
    int v, pct;
    return text ? osm_rate_limit_parse(text, field, &v, &pct, err) : 0;
}

int osm_job_pause(struct osm_store *st, struct osm_job *job, const char *actor, const char *reason,
                  struct osm_err *err)
{
    if (refuse_cancelled(job, "paused", err) != 0)
        return -1;
    osm_task_set_str(&job->state, "paused");
    return osm_store_update_job(st, job, job->rev, actor, "paused", reason, err);
}

int osm_job_resume(struct osm_store *st, struct osm_job *job, const char *actor, const char *max_concurrency,
                   struct osm_err *err)
{
    if (check_limit(max_concurrency, "max_concurrency", err) != 0 || refuse_cancelled(job, "resumed", err) != 0)
        return -1;
    if (max_concurrency)
        osm_task_set_str(&job->max_concurrency, max_concurrency);
    if (osm_job_limit_is_zero(job->max_concurrency))
        return osm_err_set(err, OSM_ECONFLICT,
                           "job %s has max_concurrency %s, which keeps it paused: resume with a max_concurrency above 0",
                           job->id, job->max_concurrency);
    osm_task_set_str(&job->state, "active");
    /* Stopped for its errors: a resume is the admin's word that it goes on. */
    osm_task_set_str(&job->stop_reason, NULL);
    char *detail = max_concurrency ? osm_xasprintf("max_concurrency %s", max_concurrency) : NULL;
    int rc = osm_store_update_job(st, job, job->rev, actor, "resumed", detail, err);
    free(detail);
    return rc;
}

int osm_job_set_limits(struct osm_store *st, struct osm_job *job, const char *actor, const char *max_concurrency,
                       const char *max_errors, struct osm_err *err)
{
    if (check_limit(max_concurrency, "max_concurrency", err) != 0 || check_limit(max_errors, "max_errors", err) != 0 ||
        refuse_cancelled(job, "changed", err) != 0)
        return -1;
    if (max_concurrency)
        osm_task_set_str(&job->max_concurrency, max_concurrency);
    if (max_errors)
        osm_task_set_str(&job->max_errors, max_errors);
    int pause = osm_job_limit_is_zero(max_concurrency);
    if (pause)
        osm_task_set_str(&job->state, "paused");
    char *detail = osm_xasprintf("max_concurrency %s, max_errors %s%s", job->max_concurrency ? job->max_concurrency : "-",
                                 job->max_errors ? job->max_errors : "-", pause ? " (0: paused)" : "");
    int rc = osm_store_update_job(st, job, job->rev, actor, "limits.changed", detail, err);
    free(detail);
    return rc;
}

/* A running task of a cancelled job, rolled back: one that changed its
 * instance goes to rolling_back (its runner sees the new state after its
 * step and restores the snapshot set); one that has not is cancelled. 1
 * done, 0 it moved on meanwhile (finished, or failing on its own), -1 err. */
static int roll_back_running(struct osm_store *st, const struct osm_task *seen, const char *job_id, const char *actor,
                             struct osm_err *err)
{
    if (!seen->changed) {
        if (osm_runner_cancel(st, seen->id, err) == 0)
            return 1;
        return err->code == OSM_ECONFLICT ? 0 : -1;
    }
    struct osm_task t;
    osm_task_copy(&t, seen);
    t.state = OSM_TASK_ROLLING_BACK;
    t.attempted = 0;
    snprintf(t.phase, sizeof t.phase, "rolling_back");
    osm_task_set_str(&t.error_code, "job.cancelled");
    char *cause = osm_xasprintf("rolled back: job %s was cancelled by %s", job_id, actor);
    osm_task_set_str(&t.cause, cause);
    struct osm_task_change ch = {.task = &t, .expect_state = OSM_TASK_RUNNING, .expect_rev = seen->rev,
                                 .event_type = "rollback.requested", .event_message = cause};
    int rc = osm_store_commit(st, &ch, err);
    free(cause);
    osm_task_free(&t);
    return rc < 0 ? -1 : rc == 0;
}

/* One task of the cancelled job. */
static void cancel_task(struct osm_store *st, const struct osm_task *t, const struct osm_job *job, const char *actor,
                        int rollback, struct osm_job_cancel_result *res)
{
    struct osm_err err = OSM_ERR_INIT;
    const char *action = NULL;
    int rc = 0;
    if (t->state == OSM_TASK_SUBMITTED || t->state == OSM_TASK_SCHEDULED) {
        /* It may have started meanwhile: then it is a running one and goes on. */
        rc = osm_runner_cancel(st, t->id, &err) == 0 ? 1 : err.code == OSM_ECONFLICT ? 0 : -1;
        action = "cancelled";
    } else if (rollback && t->state == OSM_TASK_RUNNING) {
        rc = roll_back_running(st, t, job->id, actor, &err);
        action = t->changed ? "rolled_back" : "cancelled";
    }
    if (rc < 0) {
        res->failed++;
        osm_warn("job.cancel", "job=%s task=%s msg=\"%s\"", job->id, t->id, err.msg);
        return;
    }
    if (rc == 0)
        return;
    if (strcmp(action, "rolled_back") == 0)
        res->rolled_back++;
    else
        res->cancelled++;
    struct osm_err aerr = OSM_ERR_INIT;
    if (osm_store_audit_add(st, t->id, action, actor, job->id, &aerr) != 0)
        osm_warn("job.cancel", "job=%s task=%s audit=\"%s\"", job->id, t->id, aerr.msg);
}

int osm_job_cancel(struct osm_store *st, struct osm_job *job, const char *actor, int rollback, const char *reason,
                   struct osm_job_cancel_result *res, struct osm_err *err)
{
    memset(res, 0, sizeof *res);
    if (refuse_cancelled(job, "cancelled again", err) != 0)
        return -1;
    /* The job first: from its commit on, no task of it starts. */
    osm_task_set_str(&job->state, "cancelled");
    char *detail = osm_xasprintf("running tasks: %s%s%s", rollback ? "rolled back" : "finish", reason ? "; " : "",
                                 reason ? reason : "");
    int rc = osm_store_update_job(st, job, job->rev, actor, "cancelled", detail, err);
    free(detail);
    if (rc != 0)
        return rc;
    struct osm_task_filter f = {.job_id = job->id, .limit = 500};
    for (;;) {
        struct osm_task *tasks = NULL;
        size_t n = 0;
        int64_t next = 0;
        if (osm_store_query_tasks(st, &f, &tasks, &n, &next, err) != 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            cancel_task(st, &tasks[i], job, actor, rollback, res);
        osm_task_list_free(tasks, n);
        if (next <= 0)
            return 0;
        f.after_seq = next;
    }
}

int osm_known_target(const char *target, const char *const *files, size_t n, struct osm_err *err)
{
    for (size_t i = 0; osm_families[i]; i++) {
        const struct osm_family *f = osm_families[i];
        if (!f->migration || !f->knows_target)
            continue;
        int k = f->knows_target(target, files, n, err);
        if (k != 0)
            return k;
    }
    return 0;
}

void osm_job_task_init(struct osm_task *t, const char *canon, const char *target, char *options, int64_t not_before,
                       int64_t latest_start, const char *window, int64_t now)
{
    snprintf(t->kind, sizeof t->kind, "%s", OSM_KIND_OS_MIGRATION);
    t->instance = osm_xstrdup(canon);
    t->target = osm_xstrdup(target);
    t->options = options;
    t->not_before = not_before;
    t->latest_start = latest_start;
    t->window = window ? osm_xstrdup(window) : NULL;
    char words[256];
    int64_t nb;
    if (osm_scheduler_place(t, now, &nb, words, sizeof words)) {
        t->state = OSM_TASK_SCHEDULED;
        snprintf(t->phase, sizeof t->phase, "scheduled");
        t->not_before = nb;
        osm_task_set_str(&t->progress_msg, words);
    }
}

json_t *osm_job_to_json(struct osm_store *st, const struct osm_job *j, struct osm_err *err)
{
    struct osm_task_counts c;
    memset(&c, 0, sizeof c);
    struct osm_task_filter f = {.job_id = j->id};
    struct osm_task *tasks = NULL;
    size_t n = 0;
    int64_t next = 0;
    if (osm_store_count_tasks(st, j->id, &c, err) != 0 || osm_store_query_tasks(st, &f, &tasks, &n, &next, err) != 0)
        return NULL;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += osm_task_state_finished(tasks[i].state) ? 100.0 : tasks[i].progress;
    osm_task_list_free(tasks, n);
    char buf[32];
    json_t *o = json_object();
    json_object_set_new(o, "job_id", json_string(j->id));
    json_object_set_new(o, "name", j->name ? json_string(j->name) : json_null());
    /* what its tasks do: a job's spec names its kind unless it is the
     * OS-migration create request */
    json_t *spec = j->spec ? json_loads(j->spec, 0, NULL) : NULL;
    const char *kind = json_string_value(json_object_get(spec, "kind"));
    json_object_set_new(o, "kind", json_string(kind ? kind : "os-migration"));
    json_decref(spec);
    const char *tok = j->client_token ? strchr(j->client_token, '/') : NULL;
    json_object_set_new(o, "client_token", j->client_token ? json_string(tok ? tok + 1 : j->client_token) : json_null());
    json_object_set_new(o, "created", j->created > 0 ? json_string(osm_time_iso(j->created, buf)) : json_null());
    json_object_set_new(o, "updated", j->updated > 0 ? json_string(osm_time_iso(j->updated, buf)) : json_null());
    json_object_set_new(o, "max_concurrency", j->max_concurrency ? json_string(j->max_concurrency) : json_null());
    json_object_set_new(o, "max_errors", j->max_errors ? json_string(j->max_errors) : json_null());
    json_object_set_new(o, "stop_reason", j->stop_reason ? json_string(j->stop_reason) : json_null());
    json_object_set_new(o, "state", json_string(j->state ? j->state : "active"));
    json_t *counts = json_object();
    int64_t total = 0;
    for (int s = 0; s < OSM_TASK_N_STATES; s++) {
        json_object_set_new(counts, osm_task_state_name((enum osm_task_state)s), json_integer(c.by_state[s]));
        total += c.by_state[s];
    }
    json_object_set_new(o, "n_tasks", json_integer(total));
    json_object_set_new(o, "counts", counts);
    json_object_set_new(o, "progress", json_real(n ? sum / (double)n : 0.0));
    if (osm_audit_json(st, j->id, o, err) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int osm_task_release(struct osm_store *st, const char *id, const char *actor, const char *reason, struct osm_err *err)
{
    if (!reason || !*reason)
        return osm_err_set(err, OSM_EUSAGE, "releasing task %s needs a reason (it is recorded)", id);
    struct osm_task t;
    if (osm_store_get_task(st, id, &t, err) != 0)
        return -1;
    if (t.state != OSM_TASK_ROLLBACK_FAILED) {
        osm_err_set(err, OSM_ECONFLICT, "task %s is %s: only a task whose rollback failed is released", id,
                    osm_task_state_name(t.state));
        osm_task_free(&t);
        return -1;
    }
    int64_t rev = t.rev;
    char *cause = osm_xasprintf("released by %s after its rollback failed (%s): %s; instance %s was left as the "
                                "failed rollback left it", actor, t.cause ? t.cause : "no cause recorded", reason,
                                t.instance);
    t.state = OSM_TASK_FAILED;
    snprintf(t.phase, sizeof t.phase, "released");
    osm_task_set_str(&t.error_code, "released");
    osm_task_set_str(&t.cause, cause);
    osm_task_set_str(&t.owner, NULL);
    t.lease_until = 0;
    struct osm_task_change ch = {.task = &t, .expect_state = OSM_TASK_ROLLBACK_FAILED, .expect_rev = rev,
                                 .event_type = "released", .event_message = cause};
    int rc = osm_store_commit(st, &ch, err);
    if (rc == 1)
        rc = osm_err_set(err, OSM_ECONFLICT, "task %s changed meanwhile; look at it again", id);
    if (rc == 0)
        rc = osm_store_audit_add(st, id, "released", actor, reason, err);
    free(cause);
    osm_task_free(&t);
    return rc;
}
