/* runner.c: see runner.h. */
#include "runner.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_log.h"
#include "providers/provider.h"

/* A claim lasts this long unless renewed (osm_runner_opts.lease_seconds
 * says otherwise); every record renews it when half gone. Engines on this
 * host that die are noticed at once (store.c), so the lease only matters
 * across hosts. */
#define LEASE_SECONDS 300

/* ---- crash injection ---- */

static long crash_at = -2; /* -2: not read yet, -1: off */
static const char *crash_where; /* or the point of this name, the first time it is passed */
static long crash_count;
static char crash_phase[64]; /* the task's phase at the last record, for the trace */

void osm_step_crash_point(const char *where)
{
    if (crash_at == -2) {
        const char *v = getenv("OSMIG_CRASH_AT");
        crash_at = v && *v ? 0 : -1;
        if (v && *v >= '0' && *v <= '9')
            crash_at = strtol(v, NULL, 10);
        else if (v && *v)
            crash_where = v; /* a step's own point by its name: its number may vary (progress records) */
    }
    if (crash_at < 0)
        return;
    /* OSMIG_CRASH_TRACE=FILE lists every point a run passes ("N WHERE
     * PHASE"), so a test can pick points by name instead of walking all. */
    const char *trace = getenv("OSMIG_CRASH_TRACE");
    FILE *tf = trace && *trace ? fopen(trace, "a") : NULL;
    if (tf) {
        fprintf(tf, "%ld\t%s\t%s\n", crash_count + 1, where, crash_phase);
        fclose(tf);
    }
    if (++crash_count == crash_at || (crash_where && strcmp(where, crash_where) == 0)) {
        /* Like SIGKILL: no atexit handlers, no flushing, nothing tidied. */
        fprintf(stderr, "osmig: OSMIG_CRASH_AT=%s: exiting at crash point %ld (%s)\n", getenv("OSMIG_CRASH_AT"),
                crash_count, where);
        _exit(137);
    }
}

/* ---- one run of one task ---- */

struct run {
    struct osm_store *st;
    struct osm_task t;
    const struct osm_task_kind *kind;
    const struct osm_runner_opts *opts;
    int64_t lease_until;
    int64_t lease;             /* seconds */
    int64_t last_progress_write;
    struct osm_step_ctx ctx;
    json_t *notes; /* parsed t.data, for osm_step_note() */
};

static int renew_lease(struct run *r, struct osm_err *err)
{
    int64_t now = osm_store_now();
    if (r->lease_until - now > r->lease / 2)
        return 0;
    int c = osm_store_claim(r->st, r->t.id, osm_store_self_owner(), now + r->lease, err);
    if (c < 0)
        return -1;
    if (c == 0)
        return osm_err_set(err, OSM_ECONFLICT, "task %s: another engine took it over (our lease ran out)", r->t.id);
    r->lease_until = now + r->lease;
    return 0;
}

/* Write the task's fields (+ event + journal entry) if it is still in
 * `expect_state`. 0 written, 1 someone else changed the task, -1 error. */
static int record(struct run *r, int expect_state, const char *ev_type, const char *ev_msg,
                  const struct osm_journal_entry *j, struct osm_err *err)
{
    snprintf(crash_phase, sizeof crash_phase, "%s", r->t.phase);
    osm_step_crash_point("before a record");
    if (renew_lease(r, err) != 0)
        return -1;
    struct osm_task_change ch = {
        .task = &r->t, .expect_state = expect_state, .expect_rev = -1,
        .event_type = ev_type, .event_message = ev_msg, .journal = j,
    };
    int rc = osm_store_commit(r->st, &ch, err);
    if (rc != 0)
        return rc;
    r->t.rev++;
    osm_info("task.record", "task=%s state=%s phase=%s step=%d event=%s", r->t.id, osm_task_state_name(r->t.state),
             r->t.phase, r->t.step, ev_type ? ev_type : "-");
    if (ev_type && r->opts->on_event)
        r->opts->on_event(r->opts->user, &r->t, ev_type, ev_msg);
    osm_step_crash_point("after a record");
    return 0;
}

static int reload(struct run *r, struct osm_err *err)
{
    struct osm_task fresh;
    if (osm_store_get_task(r->st, r->t.id, &fresh, err) != 0)
        return -1;
    osm_task_free(&r->t);
    r->t = fresh;
    json_decref(r->notes);
    r->notes = NULL;
    return 0;
}

static void set_phase(struct osm_task *t, const char *phase)
{
    snprintf(t->phase, sizeof t->phase, "%s", phase);
}

static void setup_ctx(struct run *r, const struct osm_step *s, int index)
{
    r->ctx.store = r->st;
    r->ctx.task = &r->t;
    r->ctx.kind = r->kind;
    r->ctx.step = s;
    r->ctx.step_index = index;
    r->ctx.opts = r->opts;
}

static int finish_step(struct run *r, int i, const char *result, const char *detail, struct osm_err *err)
{
    const struct osm_step *s = &r->kind->steps[i];
    r->t.step = i + 1;
    r->t.attempted = 0;
    r->t.progress = 100.0 * (i + 1) / (double)r->kind->n_steps;
    osm_task_set_str(&r->t.progress_msg, NULL);
    if ((size_t)(i + 1) < r->kind->n_steps)
        set_phase(&r->t, r->kind->steps[i + 1].phase);
    struct osm_journal_entry j = {.step_index = i, .step = (char *)s->name, .what = "outcome",
                                  .result = (char *)result, .detail = (char *)detail};
    char msg[256];
    snprintf(msg, sizeof msg, "%s%s%s", s->name, detail ? ": " : "", detail ? detail : "");
    return record(r, OSM_TASK_RUNNING, "step.done", msg, &j, err);
}

static int fail_step(struct run *r, int i, const struct osm_err *why, struct osm_err *err)
{
    const struct osm_step *s = &r->kind->steps[i];
    char *code = osm_xasprintf("step.%s", s->name);
    char *cause = osm_xasprintf("step %s failed: %s", s->name, why->msg[0] ? why->msg : "unknown error");
    osm_task_set_str(&r->t.error_code, code);
    osm_task_set_str(&r->t.cause, cause);
    r->t.attempted = 0;
    if (r->t.changed) {
        r->t.state = OSM_TASK_ROLLING_BACK;
        set_phase(&r->t, "rolling_back");
    } else {
        r->t.state = OSM_TASK_FAILED;
        set_phase(&r->t, "failed");
    }
    struct osm_journal_entry j = {.step_index = i, .step = (char *)s->name, .what = "outcome",
                                  .result = "failed", .detail = (char *)why->msg};
    int rc = record(r, OSM_TASK_RUNNING, "step.failed", cause, &j, err);
    free(code);
    free(cause);
    return rc;
}

static int run_step(struct run *r, int i, struct osm_err *err)
{
    const struct osm_step *s = &r->kind->steps[i];
    struct osm_err serr = OSM_ERR_INIT;
    const char *again = NULL;
    setup_ctx(r, s, i);
    if (r->t.attempted) {
        /* Interrupted: the intent is recorded, the outcome is not. */
        if (s->idempotent) {
            again = "again after an interruption (idempotent)";
        } else if (!s->check) {
            osm_err_set(&serr, OSM_EFAIL, "it was interrupted and cannot be checked, so it is not run again");
            return fail_step(r, i, &serr, err);
        } else {
            int happened = s->check(&r->ctx, &serr);
            if (happened < 0) {
                osm_err_prefix(&serr, "it was interrupted and osmig cannot tell whether it happened");
                return fail_step(r, i, &serr, err);
            }
            if (happened > 0)
                return finish_step(r, i, "happened", "found done after an interruption", err);
            again = "again after an interruption (its check found it had not happened)";
        }
    }
    if (!s->run) {
        osm_err_set(&serr, OSM_EUNSUPPORTED, "this build of osmig provides no '%s' step for %s tasks", s->name,
                    r->kind->name);
        return fail_step(r, i, &serr, err);
    }
    r->t.attempted = 1;
    if (s->changes_instance)
        r->t.changed = 1; /* from the intent on: it may have changed */
    set_phase(&r->t, s->phase);
    struct osm_journal_entry j = {.step_index = i, .step = (char *)s->name, .what = "intent", .detail = (char *)again};
    char msg[256];
    snprintf(msg, sizeof msg, "%s%s%s", s->name, again ? " " : "", again ? again : "");
    int rc = record(r, OSM_TASK_RUNNING, "step.start", msg, &j, err);
    if (rc != 0)
        return rc;
    if (s->run(&r->ctx, &serr) == 0)
        return finish_step(r, i, "ok", NULL, err);
    return fail_step(r, i, &serr, err);
}

static int run_rollback(struct run *r, struct osm_err *err)
{
    const struct osm_step *rb = &r->kind->rollback;
    struct osm_err serr = OSM_ERR_INIT;
    setup_ctx(r, rb, -1);
    int rc;
    if (!rb->run) {
        osm_err_set(&serr, OSM_EUNSUPPORTED, "this build of osmig provides no rollback for %s tasks", r->kind->name);
    } else {
        const char *again = r->t.attempted ? "again after an interruption" : NULL;
        r->t.attempted = 1;
        set_phase(&r->t, "rolling_back");
        struct osm_journal_entry j = {.step_index = -1, .step = (char *)rb->name, .what = "intent",
                                      .detail = (char *)again};
        rc = record(r, OSM_TASK_ROLLING_BACK, "rollback.start", again ? again : r->t.cause, &j, err);
        if (rc != 0)
            return rc;
        if (rb->run(&r->ctx, &serr) == 0) {
            r->t.state = OSM_TASK_ROLLED_BACK;
            r->t.attempted = 0;
            set_phase(&r->t, "rolled_back");
            struct osm_journal_entry o = {.step_index = -1, .step = (char *)rb->name, .what = "outcome", .result = "ok"};
            char *msg = osm_xasprintf("instance restored; the task failed because %s",
                                      r->t.cause ? r->t.cause : "of an unknown error");
            rc = record(r, OSM_TASK_ROLLING_BACK, "rolled_back", msg, &o, err);
            free(msg);
            return rc;
        }
    }
    char *cause = osm_xasprintf(
        "%s; then the rollback failed: %s. The instance may be half changed: a person must fix what stopped "
        "the rollback (or restore the instance%s%s by hand), then run `osmig rollback %s`",
        r->t.cause ? r->t.cause : "the task failed", serr.msg, r->t.snapshot_set ? " from snapshot set " : "",
        r->t.snapshot_set ? r->t.snapshot_set : "", r->t.id);
    osm_task_set_str(&r->t.error_code, "rollback");
    osm_task_set_str(&r->t.cause, cause);
    r->t.state = OSM_TASK_ROLLBACK_FAILED;
    r->t.attempted = 0;
    set_phase(&r->t, "rollback_failed");
    struct osm_journal_entry o = {.step_index = -1, .step = (char *)rb->name, .what = "outcome", .result = "failed",
                                  .detail = serr.msg};
    rc = record(r, OSM_TASK_ROLLING_BACK, "rollback_failed", cause, &o, err);
    free(cause);
    return rc;
}

/* Move a task on until it is finished or waits. */
static int drive(struct run *r, struct osm_err *err)
{
    for (;;) {
        int rc = 0;
        int64_t now = osm_store_now();
        enum osm_task_state was = r->t.state;
        switch (r->t.state) {
        case OSM_TASK_SUBMITTED:
        case OSM_TASK_SCHEDULED:
            if (r->t.latest_start > 0 && now > r->t.latest_start) {
                r->t.state = OSM_TASK_EXPIRED;
                set_phase(&r->t, "expired");
                osm_task_set_str(&r->t.error_code, "schedule.expired");
                osm_task_set_str(&r->t.cause, "the task did not start before its latest start time");
                rc = record(r, (int)was, "expired", r->t.cause, NULL, err);
            } else if (r->t.not_before > now) {
                if (r->t.state == OSM_TASK_SCHEDULED)
                    return 0;
                r->t.state = OSM_TASK_SCHEDULED;
                set_phase(&r->t, "scheduled");
                rc = record(r, (int)was, "scheduled", "waiting for its start time", NULL, err);
                if (rc == 0)
                    return 0;
            } else {
                r->t.state = OSM_TASK_RUNNING;
                r->t.attempted = 0;
                if ((size_t)r->t.step < r->kind->n_steps)
                    set_phase(&r->t, r->kind->steps[r->t.step].phase);
                rc = record(r, (int)was, "started", NULL, NULL, err);
            }
            break;
        case OSM_TASK_RUNNING:
            if ((size_t)r->t.step >= r->kind->n_steps) {
                r->t.state = OSM_TASK_SUCCEEDED;
                r->t.progress = 100;
                set_phase(&r->t, "succeeded");
                rc = record(r, OSM_TASK_RUNNING, "succeeded", NULL, NULL, err);
            } else {
                rc = run_step(r, r->t.step, err);
            }
            break;
        case OSM_TASK_ROLLING_BACK:
            rc = run_rollback(r, err);
            break;
        default:
            return 0; /* finished */
        }
        if (rc < 0)
            return -1;
        if (rc > 0 && reload(r, err) != 0) /* someone else (cancel) changed it */
            return -1;
    }
}

int osm_runner_run(struct osm_store *st, const char *id, const struct osm_runner_opts *opts, struct osm_err *err)
{
    static const struct osm_runner_opts no_opts;
    const char *self = osm_store_self_owner();
    if (!opts)
        opts = &no_opts;
    int64_t lease = opts->lease_seconds > 0 ? opts->lease_seconds : LEASE_SECONDS;
    int64_t lease_until = osm_store_now() + lease;
    int c = osm_store_claim(st, id, self, lease_until, err);
    if (c <= 0)
        return c < 0 ? -1 : 1;
    struct run r = {.st = st, .opts = opts, .lease_until = lease_until, .lease = lease};
    osm_task_init(&r.t);
    int rc = -1;
    if (osm_store_get_task(st, id, &r.t, err) == 0) {
        r.kind = osm_task_kind_find(r.t.kind);
        if (!r.kind)
            osm_err_set(err, OSM_EUNSUPPORTED, "task %s is of kind '%s', which this build of osmig does not know",
                        id, r.t.kind);
        else
            rc = drive(&r, err);
    }
    struct osm_err rerr = OSM_ERR_INIT;
    osm_store_release(st, id, self, &rerr);
    osm_instance_close(r.ctx.inst);
    json_decref(r.notes);
    osm_task_free(&r.t);
    return rc;
}

/* ---- what steps call ---- */

struct osm_instance *osm_step_instance(struct osm_step_ctx *ctx, struct osm_err *err)
{
    if (!ctx->inst && osm_instance_open(ctx->task->instance, &ctx->inst, err) != 0)
        return NULL;
    return ctx->inst;
}

static struct run *run_of(struct osm_step_ctx *ctx)
{
    return (struct run *)((char *)ctx - offsetof(struct run, ctx));
}

void osm_step_progress(struct osm_step_ctx *ctx, double fraction, const char *message)
{
    struct run *r = run_of(ctx);
    if (fraction < 0)
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    if (ctx->step_index >= 0)
        r->t.progress = 100.0 * (ctx->step_index + fraction) / (double)r->kind->n_steps;
    osm_task_set_str(&r->t.progress_msg, message);
    int64_t now = osm_store_now();
    if (now != r->last_progress_write || fraction >= 1) {
        struct osm_err perr = OSM_ERR_INIT;
        struct osm_task_change ch = {.task = &r->t, .expect_state = (int)r->t.state, .expect_rev = -1};
        if (osm_store_commit(r->st, &ch, &perr) == 0)
            r->t.rev++;
        r->last_progress_write = now;
    }
    if (r->opts->on_progress)
        r->opts->on_progress(r->opts->user, &r->t);
}

int osm_step_note_set(struct osm_step_ctx *ctx, const char *key, const char *value, struct osm_err *err)
{
    struct run *r = run_of(ctx);
    json_t *data = json_loads(r->t.data ? r->t.data : "{}", 0, NULL);
    if (!json_is_object(data)) {
        json_decref(data);
        data = json_object();
    }
    json_object_set_new(data, key, value ? json_string(value) : json_null());
    char *text = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(data);
    osm_task_set_str(&r->t.data, text);
    free(text);
    json_decref(r->notes);
    r->notes = NULL;
    int rc = record(r, (int)r->t.state, NULL, NULL, NULL, err);
    return rc == 0 ? 0 : (rc > 0 ? osm_err_set(err, OSM_ECONFLICT, "task %s changed under the runner", r->t.id) : -1);
}

const char *osm_step_note(struct osm_step_ctx *ctx, const char *key)
{
    struct run *r = run_of(ctx);
    if (!r->notes)
        r->notes = json_loads(r->t.data ? r->t.data : "{}", 0, NULL);
    return json_string_value(json_object_get(r->notes, key));
}

int osm_step_set_snapshot_set(struct osm_step_ctx *ctx, const char *set_id, struct osm_err *err)
{
    struct run *r = run_of(ctx);
    osm_task_set_str(&r->t.snapshot_set, set_id);
    char msg[300];
    snprintf(msg, sizeof msg, "snapshot set %s", set_id ? set_id : "(none)");
    int rc = record(r, (int)r->t.state, "snapshot_set", msg, NULL, err);
    return rc == 0 ? 0 : (rc > 0 ? osm_err_set(err, OSM_ECONFLICT, "task %s changed under the runner", r->t.id) : -1);
}

int osm_step_event(struct osm_step_ctx *ctx, const char *type, const char *message, struct osm_err *err)
{
    struct run *r = run_of(ctx);
    int rc = record(r, (int)r->t.state, type, message, NULL, err);
    return rc == 0 ? 0 : (rc > 0 ? osm_err_set(err, OSM_ECONFLICT, "task %s changed under the runner", r->t.id) : -1);
}

/* ---- many tasks ---- */

static int resumable(const struct osm_task *t, int64_t now)
{
    if (osm_task_state_finished(t->state) || !osm_task_kind_find(t->kind))
        return 0;
    if (t->owner && strcmp(t->owner, osm_store_self_owner()) != 0 && !osm_store_owner_dead(t->owner) &&
        (t->lease_until >= now || osm_store_owner_alive_here(t->owner)))
        return 0;
    if (t->state == OSM_TASK_SUBMITTED || t->state == OSM_TASK_SCHEDULED)
        return t->not_before <= now || (t->latest_start > 0 && now > t->latest_start);
    return 1;
}

static int interrupted(const struct osm_task *t)
{
    return t->state == OSM_TASK_RUNNING || t->state == OSM_TASK_ROLLING_BACK || t->owner;
}

int osm_runner_count_resumable(struct osm_store *st, int interrupted_only, size_t *n, struct osm_err *err)
{
    struct osm_task *tasks;
    size_t nt;
    *n = 0;
    if (osm_store_list_tasks(st, &tasks, &nt, err) != 0)
        return -1;
    int64_t now = osm_store_now();
    for (size_t i = 0; i < nt; i++) {
        const struct osm_task *t = &tasks[i];
        *n += (size_t)(resumable(t, now) && (!interrupted_only || interrupted(t)));
    }
    osm_task_list_free(tasks, nt);
    return 0;
}

int osm_runner_resume_all(struct osm_store *st, int interrupted_only, const struct osm_runner_opts *opts,
                          size_t *n_run, struct osm_err *err)
{
    struct osm_task *tasks;
    size_t nt;
    *n_run = 0;
    if (osm_store_list_tasks(st, &tasks, &nt, err) != 0)
        return -1;
    int rc = 0;
    /* Oldest first: they have waited longest. */
    for (size_t k = nt; k-- > 0;) {
        if (!resumable(&tasks[k], osm_store_now()) || (interrupted_only && !interrupted(&tasks[k])))
            continue;
        struct osm_err terr = OSM_ERR_INIT;
        int r = osm_runner_run(st, tasks[k].id, opts, &terr);
        if (r == 0)
            (*n_run)++;
        else if (r < 0)
            osm_log(OSM_LOG_ERROR, "task.resume", "task=%s error=\"%s\"", tasks[k].id, terr.msg);
    }
    osm_task_list_free(tasks, nt);
    return rc;
}

/* ---- requests from people ---- */

/* Read-modify-write of one task, retried when it changed meanwhile. `change`
 * returns 0 to write, -1 to refuse (err set). */
static int update_task(struct osm_store *st, const char *id, const char *event,
                       int (*change)(struct osm_task *t, struct osm_err *err), struct osm_err *err)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        struct osm_task t;
        if (osm_store_get_task(st, id, &t, err) != 0)
            return -1;
        int64_t rev = t.rev;
        char *msg = osm_xasprintf("was %s in phase %s", osm_task_state_name(t.state), t.phase);
        if (change(&t, err) != 0) {
            free(msg);
            osm_task_free(&t);
            return -1;
        }
        struct osm_task_change ch = {.task = &t, .expect_state = -1, .expect_rev = rev,
                                     .event_type = event, .event_message = msg};
        int rc = osm_store_commit(st, &ch, err);
        free(msg);
        osm_task_free(&t);
        if (rc <= 0)
            return rc;
    }
    return osm_err_set(err, OSM_ECONFLICT, "task %s keeps changing: try again", id);
}

static int cancel_change(struct osm_task *t, struct osm_err *err)
{
    if (osm_task_state_finished(t->state))
        return osm_err_set(err, OSM_ECONFLICT, "task %s is already %s: nothing to cancel", t->id,
                           osm_task_state_name(t->state));
    if (t->changed || t->state == OSM_TASK_ROLLING_BACK)
        return osm_err_set(err, OSM_ECONFLICT,
                           "task %s has already begun changing instance %s (phase %s): it can no longer be "
                           "cancelled; it ends succeeded or rolled back, and `osmig rollback %s` undoes a success",
                           t->id, t->instance, t->phase, t->id);
    t->state = OSM_TASK_CANCELLED;
    t->attempted = 0;
    set_phase(t, "cancelled");
    osm_task_set_str(&t->error_code, "cancelled");
    osm_task_set_str(&t->cause, "cancelled by request before any change");
    return 0;
}

int osm_runner_cancel(struct osm_store *st, const char *id, struct osm_err *err)
{
    return update_task(st, id, "cancelled", cancel_change, err);
}

static int retry_change(struct osm_task *t, struct osm_err *err)
{
    switch (t->state) {
    case OSM_TASK_FAILED:
    case OSM_TASK_ROLLED_BACK:
    case OSM_TASK_CANCELLED:
    case OSM_TASK_EXPIRED:
        t->state = OSM_TASK_SUBMITTED;
        set_phase(t, "submitted");
        t->step = 0;
        t->attempted = 0;
        t->changed = 0;
        t->progress = 0;
        t->not_before = 0;
        t->latest_start = 0;
        osm_task_set_str(&t->progress_msg, NULL);
        osm_task_set_str(&t->snapshot_set, NULL); /* the old set stays listed in the history */
        osm_task_set_str(&t->error_code, NULL);
        osm_task_set_str(&t->cause, NULL);
        osm_task_set_str(&t->data, "{}");
        return 0;
    case OSM_TASK_ROLLBACK_FAILED:
        t->state = OSM_TASK_ROLLING_BACK;
        t->attempted = 0;
        set_phase(t, "rolling_back");
        return 0;
    default:
        return osm_err_set(err, OSM_ECONFLICT,
                           "task %s is %s: only a failed, rolled back, cancelled or expired task can be retried",
                           t->id, osm_task_state_name(t->state));
    }
}

int osm_runner_retry(struct osm_store *st, const char *id, struct osm_err *err)
{
    return update_task(st, id, "retried", retry_change, err);
}

static int rollback_change(struct osm_task *t, struct osm_err *err)
{
    if (t->state != OSM_TASK_SUCCEEDED && t->state != OSM_TASK_ROLLBACK_FAILED)
        return osm_err_set(err, OSM_ECONFLICT,
                           "task %s is %s: only a succeeded task or one whose rollback failed can be rolled back "
                           "by request (a failing task rolls back by itself)", t->id, osm_task_state_name(t->state));
    if (t->state == OSM_TASK_SUCCEEDED) {
        osm_task_set_str(&t->error_code, "rollback.requested");
        osm_task_set_str(&t->cause, "rolled back by request after success");
    }
    t->state = OSM_TASK_ROLLING_BACK;
    t->attempted = 0;
    set_phase(t, "rolling_back");
    return 0;
}

int osm_runner_request_rollback(struct osm_store *st, const char *id, struct osm_err *err)
{
    return update_task(st, id, "rollback.requested", rollback_change, err);
}
