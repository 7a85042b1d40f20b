/* store_rules.c: the store's contract (store.h), once for every dialect:
 * which task holds an instance, commits with an expected state or rev,
 * claims and leases, the idempotent job create, paging cursors, and the
 * mapping of rows to records, over a SQL driver (store_sql.h). The SQL here
 * runs in SQLite and PostgreSQL alike; the driver spells the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "store.h"
#include "store_sql.h"

/* The states that hold their instance: must agree with
 * osm_task_state_holds_instance() and the schemas' tasks_one_per_instance
 * (test_store_contract checks, state by state). Written with <> rather
 * than NOT IN (...): SQLite builds a temporary table for an IN list every
 * time it evaluates it, which on every task update cost more than the
 * update itself. */
#define HOLDS_INSTANCE "state<>'succeeded' AND state<>'failed' AND state<>'rolled_back' AND state<>'cancelled' AND state<>'expired'"

/* Waiting to start, written exactly so in SQLite's partial indexes and in
 * the queries that should use them (SQLite matches the term). */
#define WAITING "(state='submitted' OR state='scheduled')"

/* The advisory lock of claims of tasks without a job (PostgreSQL). */
#define LOCK_NO_JOB 7283550002LL

/* ---- statements ---- */

static struct osm_sql_stmt *prep(struct osm_sql *c, const char *sql, struct osm_err *err)
{
    return c->drv->prepare(c, sql, err);
}

static void b_text(struct osm_sql_stmt *s, int i, const char *v)
{
    s->c->drv->bind_text(s, i, v);
}

static void b_i64(struct osm_sql_stmt *s, int i, int64_t v)
{
    s->c->drv->bind_i64(s, i, v);
}

static int step(struct osm_sql_stmt *s, const char *what, struct osm_err *err)
{
    return s->c->drv->step(s, what, err);
}

static void finish(struct osm_sql_stmt *s)
{
    s->c->drv->finish(s);
}

static const char *c_text(struct osm_sql_stmt *s, int i)
{
    return s->c->drv->col_text(s, i);
}

static int64_t c_i64(struct osm_sql_stmt *s, int i)
{
    return s->c->drv->col_i64(s, i);
}

static char *c_dup(struct osm_sql_stmt *s, int i)
{
    const char *t = c_text(s, i);
    return t ? osm_xstrdup(t) : NULL;
}

static void c_copy(struct osm_sql_stmt *s, int i, char *dst, size_t size)
{
    const char *t = c_text(s, i);
    snprintf(dst, size, "%s", t ? t : "");
}

static int64_t changes(struct osm_sql *c)
{
    return c->drv->changes(c);
}

/* Run a statement to its end (no rows wanted): OSM_SQL_DONE or < 0. */
static int run(struct osm_sql_stmt *s, const char *what, struct osm_err *err)
{
    int rc = step(s, what, err);
    finish(s);
    return rc < 0 ? rc : OSM_SQL_DONE;
}

/* Paging: one row more than asked says there is a next page. */
static int64_t page_limit(size_t limit)
{
    return limit ? (int64_t)limit + 1 : INT64_MAX;
}

/* Step `s` to its end, each row read by `read` into a new element of a
 * growing array of `size`-byte elements; on an error the rows read so far
 * are freed with `free_list` and the error names `what`. Ends `s`. */
static int collect_rows(struct osm_sql_stmt *s, void **out, size_t *n, size_t size,
                        void (*read)(struct osm_sql_stmt *s, void *elem), void (*free_list)(void *list, size_t n),
                        const char *what, struct osm_err *err)
{
    char *v = NULL;
    size_t cap = 0;
    int rc;
    *n = 0;
    while ((rc = step(s, what, err)) == OSM_SQL_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            v = osm_xrealloc(v, cap * size);
        }
        memset(v + *n * size, 0, size);
        read(s, v + (*n)++ * size);
    }
    finish(s);
    *out = v;
    if (rc < 0) {
        free_list(v, *n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

/* ---- rows and records ---- */

#define TASK_COLUMNS                                                                                          \
    "id, kind, instance, target, state, phase, step, attempted, changed, progress, progress_msg, not_before, " \
    "maint_window, latest_start, snapshot_set, error_code, cause, created, updated, options, data, owner, lease_until, rev, " \
    "job_id"

static void read_task(struct osm_sql_stmt *s, void *elem)
{
    struct osm_task *t = elem;
    osm_task_init(t);
    c_copy(s, 0, t->id, sizeof t->id);
    c_copy(s, 1, t->kind, sizeof t->kind);
    t->instance = c_dup(s, 2);
    t->target = c_dup(s, 3);
    int st = osm_task_state_parse(c_text(s, 4));
    t->state = st < 0 ? OSM_TASK_FAILED : (enum osm_task_state)st;
    c_copy(s, 5, t->phase, sizeof t->phase);
    t->step = (int)c_i64(s, 6);
    t->attempted = (int)c_i64(s, 7);
    t->changed = (int)c_i64(s, 8);
    t->progress = s->c->drv->col_f64(s, 9);
    t->progress_msg = c_dup(s, 10);
    t->not_before = c_i64(s, 11);
    t->window = c_dup(s, 12);
    t->latest_start = c_i64(s, 13);
    t->snapshot_set = c_dup(s, 14);
    t->error_code = c_dup(s, 15);
    t->cause = c_dup(s, 16);
    t->created = c_i64(s, 17);
    t->updated = c_i64(s, 18);
    t->options = c_dup(s, 19);
    t->data = c_dup(s, 20);
    t->owner = c_dup(s, 21);
    t->lease_until = c_i64(s, 22);
    t->rev = c_i64(s, 23);
    t->job_id = c_dup(s, 24);
}

static void free_tasks(void *list, size_t n)
{
    osm_task_list_free(list, n);
}

/* A row of (seq, at, type, message) of task_events. */
static void read_event(struct osm_sql_stmt *s, void *elem)
{
    struct osm_task_event *e = elem;
    e->seq = c_i64(s, 0);
    e->at = c_i64(s, 1);
    e->type = c_dup(s, 2);
    e->message = c_dup(s, 3);
}

static void free_events(void *list, size_t n)
{
    osm_task_events_free(list, n);
}

/* A row of (seq, at, step_index, step, what, result, detail) of step_journal. */
static void read_journal(struct osm_sql_stmt *s, void *elem)
{
    struct osm_journal_entry *j = elem;
    j->seq = c_i64(s, 0);
    j->at = c_i64(s, 1);
    j->step_index = (int)c_i64(s, 2);
    j->step = c_dup(s, 3);
    j->what = c_dup(s, 4);
    j->result = c_dup(s, 5);
    j->detail = c_dup(s, 6);
}

static void free_journal(void *list, size_t n)
{
    osm_journal_free(list, n);
}

#define JOB_COLUMNS "seq, id, client_token, name, max_concurrency, max_errors, stop_reason, spec, created, updated, rev, state"

static void read_job(struct osm_sql_stmt *s, void *elem)
{
    struct osm_job *j = elem;
    osm_job_init(j);
    c_copy(s, 1, j->id, sizeof j->id);
    j->client_token = c_dup(s, 2);
    j->name = c_dup(s, 3);
    j->max_concurrency = c_dup(s, 4);
    j->max_errors = c_dup(s, 5);
    j->stop_reason = c_dup(s, 6);
    j->spec = c_dup(s, 7);
    j->created = c_i64(s, 8);
    j->updated = c_i64(s, 9);
    j->rev = c_i64(s, 10);
    j->state = c_dup(s, 11);
}

#define WAITING_COLUMNS "id, job_id, maint_window, not_before, latest_start, created, state, seq"

static void read_waiting(struct osm_sql_stmt *s, void *elem)
{
    struct osm_waiting_task *w = elem;
    c_copy(s, 0, w->id, sizeof w->id);
    w->job_id = c_dup(s, 1);
    w->window = c_dup(s, 2);
    w->not_before = c_i64(s, 3);
    w->latest_start = c_i64(s, 4);
    w->created = c_i64(s, 5);
    int state = osm_task_state_parse(c_text(s, 6));
    w->state = state < 0 ? OSM_TASK_SUBMITTED : state;
    w->seq = c_i64(s, 7);
}

static void free_waiting(void *list, size_t n)
{
    osm_waiting_free(list, n);
}

#define KEY_COLUMNS "id, role, scope, sealed_secret, created, disabled, expires"

static void read_key(struct osm_sql_stmt *s, void *elem)
{
    struct osm_key *k = elem;
    memset(k, 0, sizeof *k);
    c_copy(s, 0, k->id, sizeof k->id);
    k->role = c_dup(s, 1);
    k->scope = c_dup(s, 2);
    k->sealed_secret = c_dup(s, 3);
    k->created = c_i64(s, 4);
    k->disabled = (int)c_i64(s, 5);
    k->expires = c_i64(s, 6);
}

static void free_keys(void *list, size_t n)
{
    osm_key_list_free(list, n);
}

/* One row by key: 0 read into `out`, -1 with OSM_ENOTFOUND (`missing`,
 * naming `key` and the store) or the driver's error. */
static int read_one(struct osm_sql *c, const char *sql, const char *key, void (*read)(struct osm_sql_stmt *, void *),
                    void *out, const char *what, const char *missing, struct osm_err *err)
{
    struct osm_sql_stmt *s = prep(c, sql, err);
    if (!s)
        return -1;
    b_text(s, 1, key);
    int rc = step(s, what, err);
    if (rc == OSM_SQL_ROW)
        read(s, out);
    finish(s);
    if (rc == OSM_SQL_DONE)
        return osm_err_set(err, OSM_ENOTFOUND, missing, key, c->location);
    return rc == OSM_SQL_ROW ? 0 : -1;
}

/* ---- the audit trail ---- */

/* One audit entry, inside the caller's transaction (or alone). */
static int audit_row(struct osm_sql *c, const char *object, const char *action, const char *actor,
                               const char *detail, int64_t at, struct osm_err *err)
{
    struct osm_sql_stmt *s = prep(c, "INSERT INTO audit(at, object, action, actor, detail) VALUES(?1,?2,?3,?4,?5)", err);
    if (!s)
        return -1;
    b_i64(s, 1, at);
    b_text(s, 2, object);
    b_text(s, 3, action);
    b_text(s, 4, actor ? actor : "-");
    b_text(s, 5, detail);
    return run(s, "adding to the audit trail", err) < 0 ? -1 : 0;
}

struct audit_args {
    const char *object, *action, *actor, *detail;
};

static int audit_add_w(struct osm_sql *c, void *arg, struct osm_err *err)
{
    const struct audit_args *a = arg;
    return audit_row(c, a->object, a->action, a->actor, a->detail, osm_store_now(), err);
}

int osm_store_audit_add(struct osm_store *st, const char *object, const char *action, const char *actor,
                        const char *detail, struct osm_err *err)
{
    struct audit_args a = {object, action, actor, detail};
    return osm_store_write(st, audit_add_w, &a, 1, err);
}

static void read_audit(struct osm_sql_stmt *s, void *elem)
{
    struct osm_audit_entry *e = elem;
    e->seq = c_i64(s, 0);
    e->at = c_i64(s, 1);
    e->object = c_dup(s, 2);
    e->action = c_dup(s, 3);
    e->actor = c_dup(s, 4);
    e->detail = c_dup(s, 5);
}

static void free_audit(void *list, size_t n)
{
    osm_audit_free(list, n);
}

int osm_store_audit_list(struct osm_store *st, const char *object, struct osm_audit_entry **out, size_t *n,
                         struct osm_err *err)
{
    *out = NULL;
    *n = 0;
    struct osm_sql_stmt *s = prep(st->impl->sql,
        "SELECT seq, at, object, action, actor, detail FROM audit WHERE object=?1 ORDER BY seq", err);
    if (!s)
        return -1;
    b_text(s, 1, object);
    void *v;
    int rc = collect_rows(s, &v, n, sizeof **out, read_audit, free_audit, "reading the audit trail", err);
    *out = v;
    return rc;
}

/* ---- the instance a task holds ---- */

/* The conflict of a task on `instance` with the task that holds it (id,
 * state, phase, job; id NULL when none was found). `job_id`: the job being
 * created. */
static int busy_message(const char *instance, const char *job_id, const char *id, const char *state, const char *phase,
                        const char *holder_job, struct osm_err *err)
{
    if (!id)
        return osm_err_set(err, OSM_ECONFLICT, "instance %s already has an unfinished task (or a task id was taken)",
                           instance);
    if (job_id && holder_job && strcmp(job_id, holder_job) == 0)
        return osm_err_set(err, OSM_ECONFLICT, "instance %s appears more than once in job %s (first as task %s)",
                           instance, job_id, id);
    if (state && strcmp(state, "rollback_failed") == 0)
        return osm_err_set(err, OSM_ECONFLICT,
                           "instance %s is held by task %s, whose rollback failed: a person must restore the instance "
                           "(see `osmig task show %s`) and then roll it back with `osmig rollback %s`",
                           instance, id, id, id);
    return osm_err_set(err, OSM_ECONFLICT,
                       "instance %s already has an unfinished task %s (state %s, phase %s): wait for it, "
                       "or cancel it with `osmig cancel %s`", instance, id, state, phase, id);
}

/* After a write refused by the one-task-per-instance index (and rolled
 * back): name the task that holds `instance`. Always -1. */
static int busy_instance_error(struct osm_store *st, const char *instance, const char *job_id, struct osm_err *err)
{
    struct osm_sql *c = st->impl->sql;
    struct osm_err e2 = OSM_ERR_INIT;
    struct osm_sql_stmt *s =
        prep(c, "SELECT id, state, phase, job_id FROM tasks WHERE instance=?1 AND " HOLDS_INSTANCE, &e2);
    if (!s)
        return busy_message(instance, job_id, NULL, NULL, NULL, NULL, err);
    b_text(s, 1, instance);
    if (step(s, "reading the task that holds an instance", &e2) == OSM_SQL_ROW)
        busy_message(instance, job_id, c_text(s, 0), c_text(s, 1), c_text(s, 2), c_text(s, 3), err);
    else
        busy_message(instance, job_id, NULL, NULL, NULL, NULL, err);
    finish(s);
    return -1;
}

static int cmp_instance(const void *a, const void *b)
{
    const struct osm_task *const *x = a, *const *y = b;
    int c = strcmp((*x)->instance, (*y)->instance);
    return c ? c : ((*x) < (*y) ? -1 : (*x) > (*y));
}

/* An instance named twice in one job: refused before the database sees it. */
static int duplicate_instance(const char *job_id, struct osm_task *tasks, size_t n, struct osm_err *err)
{
    if (n < 2)
        return 0;
    const struct osm_task **by = osm_xcalloc(n, sizeof *by);
    for (size_t i = 0; i < n; i++)
        by[i] = &tasks[i];
    qsort(by, n, sizeof *by, cmp_instance);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++)
        if (strcmp(by[i - 1]->instance, by[i]->instance) == 0)
            rc = osm_err_set(err, OSM_ECONFLICT, "instance %s appears more than once in job %s (first as task %s)",
                             by[i]->instance, job_id, by[i - 1]->id);
    free(by);
    return rc;
}

/* ---- tasks ---- */

static int add_event(struct osm_sql *c, const char *id, int64_t at, const char *type, const char *msg,
                     struct osm_err *err)
{
    struct osm_sql_stmt *s = prep(c, "INSERT INTO task_events(task_id, at, type, message) VALUES(?1, ?2, ?3, ?4)", err);
    if (!s)
        return -1;
    b_text(s, 1, id);
    b_i64(s, 2, at);
    b_text(s, 3, type);
    b_text(s, 4, msg);
    return run(s, "appending to the task history", err) < 0 ? -1 : 0;
}

static int add_journal(struct osm_sql *c, const char *id, int64_t at, const struct osm_journal_entry *j,
                       struct osm_err *err)
{
    struct osm_sql_stmt *s = prep(c,
                                  "INSERT INTO step_journal(task_id, at, step_index, step, what, result, detail) "
                                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", err);
    if (!s)
        return -1;
    b_text(s, 1, id);
    b_i64(s, 2, at);
    b_i64(s, 3, j->step_index);
    b_text(s, 4, j->step);
    b_text(s, 5, j->what);
    b_text(s, 6, j->result);
    b_text(s, 7, j->detail);
    return run(s, "appending to the step journal", err) < 0 ? -1 : 0;
}

/* The "submitted" history entry of a task: what, on which instance, to
 * what; a task created scheduled adds its schedule note (not kept in the row). */
static void submitted_message(const struct osm_task *t, char *msg, size_t size)
{
    int scheduled = t->state == OSM_TASK_SCHEDULED && t->progress_msg;
    snprintf(msg, size, "%s of %s%s%s%s%s", t->kind, t->instance, t->target ? " to " : "", t->target ? t->target : "",
             scheduled ? "; " : "", scheduled ? t->progress_msg : "");
}

/* Insert one task row and its "submitted" event, inside the caller's
 * transaction: 0, OSM_SQL_UNIQUE (the instance is busy, or one time in
 * 2^48 the id is taken), or -1. */
static int insert_task(struct osm_sql *c, struct osm_task *t, int64_t now, struct osm_err *err)
{
    t->created = t->updated = now;
    struct osm_sql_stmt *s = prep(c,
        "INSERT INTO tasks(id, kind, instance, target, state, phase, progress, not_before, maint_window, "
        "latest_start, options, data, created, updated, owner, lease_until, job_id) "
        "VALUES(?1,?2,?3,?4,?5,?6,0,?7,?8,?9,?10,?11,?12,?12,?13,?14,?15)", err);
    if (!s)
        return -1;
    b_text(s, 1, t->id);
    b_text(s, 2, t->kind);
    b_text(s, 3, t->instance);
    b_text(s, 4, t->target);
    b_text(s, 5, osm_task_state_name(t->state));
    b_text(s, 6, t->phase[0] ? t->phase : osm_task_state_name(t->state));
    b_i64(s, 7, t->not_before);
    b_text(s, 8, t->window);
    b_i64(s, 9, t->latest_start);
    b_text(s, 10, t->options ? t->options : "{}");
    b_text(s, 11, t->data ? t->data : "{}");
    b_i64(s, 12, now);
    b_text(s, 13, t->owner);
    b_i64(s, 14, t->owner ? t->lease_until : 0);
    b_text(s, 15, t->job_id);
    int rc = run(s, "adding a task", err);
    if (rc == OSM_SQL_UNIQUE)
        return rc;
    if (rc == OSM_SQL_FOREIGN_KEY)
        return osm_err_set(err, OSM_ENOTFOUND, "state store %s: task %s names job '%s', which does not exist",
                           c->location, t->id, t->job_id ? t->job_id : "");
    if (rc < 0)
        return -1;
    char msg[900];
    submitted_message(t, msg, sizeof msg);
    return add_event(c, t->id, now, "submitted", msg, err);
}

struct create_task_args {
    struct osm_task *t;
    int busy;
};

static int create_task_w(struct osm_sql *c, void *arg, struct osm_err *err)
{
    struct create_task_args *a = arg;
    int rc = insert_task(c, a->t, osm_store_now(), err);
    a->busy = rc == OSM_SQL_UNIQUE;
    return rc < 0 ? -1 : 0;
}

int osm_store_create_task(struct osm_store *st, struct osm_task *t, struct osm_err *err)
{
    if (!t->id[0])
        osm_store_new_id("t", t->id);
    if (!t->instance || !t->kind[0])
        return osm_err_set(err, OSM_EUSAGE, "a task needs a kind and an instance");
    struct create_task_args a = {t, 0};
    int rc = osm_store_write(st, create_task_w, &a, 1, err);
    return rc < 0 && a.busy ? busy_instance_error(st, t->instance, t->job_id, err) : rc;
}

static int get_task_on(struct osm_sql *c, const char *id, struct osm_task *out, struct osm_err *err)
{
    return read_one(c, "SELECT " TASK_COLUMNS " FROM tasks WHERE id=?1", id, read_task, out, "reading a task",
                    "no task '%s' in %s (see `osmig tasks`)", err);
}

int osm_store_get_task(struct osm_store *st, const char *id, struct osm_task *out, struct osm_err *err)
{
    return get_task_on(st->impl->sql, id, out, err);
}

int osm_store_list_tasks(struct osm_store *st, struct osm_task **out, size_t *n, struct osm_err *err)
{
    *out = NULL;
    *n = 0;
    struct osm_sql_stmt *s = prep(st->impl->sql, "SELECT " TASK_COLUMNS " FROM tasks ORDER BY created DESC, seq DESC", err);
    if (!s)
        return -1;
    void *v;
    int rc = collect_rows(s, &v, n, sizeof **out, read_task, free_tasks, "listing tasks", err);
    *out = v;
    return rc;
}

struct commit_args {
    const struct osm_task_change *ch;
    int busy;
};

/* The change only if the task is in the expected state and at the expected
 * rev; rev+1. 1 when it is not (nothing written). */
static int commit_w(struct osm_sql *c, void *arg, struct osm_err *err)
{
    struct commit_args *a = arg;
    const struct osm_task_change *ch = a->ch;
    const struct osm_task *t = ch->task;
    int64_t now = osm_store_now();
    struct osm_sql_stmt *s = prep(c,
        "UPDATE tasks SET state=?2, phase=?3, step=?4, attempted=?5, changed=?6, progress=?7, progress_msg=?8, "
        "not_before=?9, maint_window=?10, latest_start=?11, snapshot_set=?12, error_code=?13, cause=?14, "
        "options=?15, data=?16, updated=?17, rev=rev+1 "
        "WHERE id=?1 AND (?18 < 0 OR state=?19) AND (?20 < 0 OR rev=?20)", err);
    if (!s)
        return -1;
    b_text(s, 1, t->id);
    b_text(s, 2, osm_task_state_name(t->state));
    b_text(s, 3, t->phase);
    b_i64(s, 4, t->step);
    b_i64(s, 5, t->attempted);
    b_i64(s, 6, t->changed);
    s->c->drv->bind_f64(s, 7, t->progress);
    b_text(s, 8, t->progress_msg);
    b_i64(s, 9, t->not_before);
    b_text(s, 10, t->window);
    b_i64(s, 11, t->latest_start);
    b_text(s, 12, t->snapshot_set);
    b_text(s, 13, t->error_code);
    b_text(s, 14, t->cause);
    b_text(s, 15, t->options ? t->options : "{}");
    b_text(s, 16, t->data ? t->data : "{}");
    b_i64(s, 17, now);
    b_i64(s, 18, ch->expect_state);
    b_text(s, 19, ch->expect_state >= 0 ? osm_task_state_name((enum osm_task_state)ch->expect_state) : "");
    b_i64(s, 20, ch->expect_rev);
    int rc = run(s, "updating a task", err);
    a->busy = rc == OSM_SQL_UNIQUE;
    if (rc < 0)
        return -1;
    if (changes(c) == 0) {
        struct osm_task cur;
        if (get_task_on(c, t->id, &cur, err) != 0)
            return -1; /* no such task */
        osm_task_free(&cur);
        return 1;
    }
    if (ch->event_type && add_event(c, t->id, now, ch->event_type, ch->event_message, err) != 0)
        return -1;
    if (ch->journal && add_journal(c, t->id, now, ch->journal, err) != 0)
        return -1;
    return 0;
}

int osm_store_commit(struct osm_store *st, const struct osm_task_change *ch, struct osm_err *err)
{
    struct commit_args a = {ch, 0};
    int rc = osm_store_write(st, commit_w, &a, 1, err);
    return rc < 0 && a.busy ? busy_instance_error(st, ch->task->instance, NULL, err) : rc;
}

static int list_of_task(struct osm_store *st, const char *sql, const char *id, void **out, size_t *n, size_t size,
                        void (*read)(struct osm_sql_stmt *, void *), void (*free_list)(void *, size_t),
                        const char *what, struct osm_err *err)
{
    *out = NULL;
    *n = 0;
    struct osm_sql_stmt *s = prep(st->impl->sql, sql, err);
    if (!s)
        return -1;
    b_text(s, 1, id);
    return collect_rows(s, out, n, size, read, free_list, what, err);
}

int osm_store_list_events(struct osm_store *st, const char *id, struct osm_task_event **out, size_t *n, struct osm_err *err)
{
    void *v;
    int rc = list_of_task(st, "SELECT seq, at, type, message FROM task_events WHERE task_id=?1 ORDER BY seq", id, &v, n,
                          sizeof **out, read_event, free_events, "reading the task history", err);
    *out = v;
    return rc;
}

int osm_store_list_journal(struct osm_store *st, const char *id, struct osm_journal_entry **out, size_t *n,
                           struct osm_err *err)
{
    void *v;
    int rc = list_of_task(st,
        "SELECT seq, at, step_index, step, what, result, detail FROM step_journal WHERE task_id=?1 ORDER BY seq", id, &v,
        n, sizeof **out, read_journal, free_journal, "reading the step journal", err);
    *out = v;
    return rc;
}

/* ---- claims ---- */

/* Is a task claimed by `cur` until `lease` still held from `owner` at
 * `now`? Not when nobody or `owner` holds it, or `cur` is a process of this
 * host that is gone; else while the lease runs, and past it for a process
 * of this host that still runs. The rule of claim and of claim_orphans. */
static int held_by_another(const char *cur, int64_t lease, const char *owner, int64_t now)
{
    return cur && strcmp(cur, owner) != 0 && !osm_store_owner_dead(cur) &&
           (lease >= now || osm_store_owner_alive_here(cur));
}

static int set_owner(struct osm_sql *c, const char *id, const char *owner, int64_t lease_until, const char *what,
                     struct osm_err *err)
{
    struct osm_sql_stmt *s = prep(c, "UPDATE tasks SET owner=?2, lease_until=?3 WHERE id=?1", err);
    if (!s)
        return -1;
    b_text(s, 1, id);
    b_text(s, 2, owner);
    b_i64(s, 3, lease_until);
    return run(s, what, err) < 0 ? -1 : 0;
}

struct claim_args {
    const char *id, *owner;
    int64_t lease_until;
};

static int claim_w(struct osm_sql *c, void *arg, struct osm_err *err)
{
    const struct claim_args *a = arg;
    struct osm_sql_stmt *s = prep(c, "SELECT owner, lease_until FROM tasks WHERE id=?1 FOR UPDATE", err);
    if (!s)
        return -1;
    b_text(s, 1, a->id);
    int rc = step(s, "claiming a task", err);
    int held = rc == OSM_SQL_ROW && held_by_another(c_text(s, 0), c_i64(s, 1), a->owner, osm_store_now());
    finish(s);
    if (rc == OSM_SQL_DONE)
        return osm_err_set(err, OSM_ENOTFOUND, "no task '%s' in %s", a->id, c->location);
    if (rc < 0)
        return -1;
    if (held)
        return 0;
    return set_owner(c, a->id, a->owner, a->lease_until, "claiming a task", err) != 0 ? -1 : 1;
}

int osm_store_claim(struct osm_store *st, const char *id, const char *owner, int64_t lease_until, struct osm_err *err)
{
    struct claim_args a = {id, owner, lease_until};
    return osm_store_write(st, claim_w, &a, 1, err);
}

int osm_store_release(struct osm_store *st, const char *id, const char *owner, struct osm_err *err)
{
    struct osm_sql_stmt *s = prep(st->impl->sql, "UPDATE tasks SET owner=NULL, lease_until=0 WHERE id=?1 AND owner=?2", err);
    if (!s)
        return -1;
    b_text(s, 1, id);
    b_text(s, 2, owner);
    return run(s, "releasing a task", err) < 0 ? -1 : 0;
}

/* ---- jobs ---- */

/* 1 and job->id set when a job has this client token, 0 when none. */
static int find_token(struct osm_sql *c, struct osm_job *job, struct osm_err *err)
{
    struct osm_sql_stmt *s = prep(c, "SELECT id FROM jobs WHERE client_token=?1", err);
    if (!s)
        return -1;
    b_text(s, 1, job->client_token);
    int rc = step(s, "looking up a job's client token", err);
    if (rc == OSM_SQL_ROW)
        c_copy(s, 0, job->id, sizeof job->id);
    finish(s);
    return rc == OSM_SQL_ROW ? 1 : rc == OSM_SQL_DONE ? 0 : -1;
}

/* A list as one text[] parameter (OSM_SQL_CAP_ARRAYS), in PostgreSQL's
 * array syntax: each element quoted, \ and " escaped; NULL as is. */
static void array_elem(struct osm_buf *b, const char *v)
{
    osm_buf_addc(b, b->len ? ',' : '{');
    if (!v) {
        osm_buf_adds(b, "NULL");
        return;
    }
    osm_buf_addc(b, '"');
    for (const char *c = v; *c; c++) {
        if (*c == '"' || *c == '\\')
            osm_buf_addc(b, '\\');
        osm_buf_addc(b, *c);
    }
    osm_buf_addc(b, '"');
}

static void array_elem_i64(struct osm_buf *b, int64_t v)
{
    char n[32];
    snprintf(n, sizeof n, "%lld", (long long)v);
    array_elem(b, n);
}

static const char *array_end(struct osm_buf *b)
{
    if (!b->len)
        osm_buf_addc(b, '{');
    osm_buf_addc(b, '}');
    return b->s;
}

/* With arrays, before inserting: a task that holds one of the instances.
 * 0 none, -1 with the conflict (or an error) in err. */
static int busy_instances(struct osm_sql *c, struct osm_task *tasks, size_t n, const char *job_id, struct osm_err *err)
{
    struct osm_buf a;
    osm_buf_init(&a);
    for (size_t i = 0; i < n; i++)
        array_elem(&a, tasks[i].instance);
    struct osm_sql_stmt *s = prep(c,
        /* A join the planner can run as index probes or a hash join. No
         * ORDER BY ... LIMIT: on a table without statistics yet that made it
         * walk every task and compare each with the whole array. Usually no
         * row comes back. */
        "SELECT t.id, t.state, t.phase, t.job_id, t.instance FROM unnest(?1::text[]) AS u(instance) "
        "JOIN tasks t ON t.instance = u.instance WHERE t." HOLDS_INSTANCE, err);
    if (!s) {
        osm_buf_free(&a);
        return -1;
    }
    b_text(s, 1, array_end(&a));
    osm_buf_free(&a);
    int rc = step(s, "checking the job's instances", err);
    if (rc == OSM_SQL_ROW)
        busy_message(c_text(s, 4), job_id, c_text(s, 0), c_text(s, 1), c_text(s, 2), c_text(s, 3), err);
    finish(s);
    return rc == OSM_SQL_DONE ? 0 : -1;
}

/* With arrays: a job's tasks a chunk at a time, each chunk one statement
 * (unnest), so a job of thousands costs a few round trips. */
#define CREATE_CHUNK 5000
enum { A_ID, A_KIND, A_INSTANCE, A_TARGET, A_STATE, A_PHASE, A_NOT_BEFORE, A_WINDOW, A_LATEST, A_OPTIONS, A_DATA,
       A_OWNER, A_LEASE, A_NOTE, N_ARRAYS };

static int insert_task_chunk(struct osm_sql *c, const char *job_id, int64_t now, struct osm_task *tasks, size_t n,
                             struct osm_err *err)
{
    struct osm_buf a[N_ARRAYS];
    for (int k = 0; k < N_ARRAYS; k++)
        osm_buf_init(&a[k]);
    for (size_t i = 0; i < n; i++) {
        struct osm_task *t = &tasks[i];
        array_elem(&a[A_ID], t->id);
        array_elem(&a[A_KIND], t->kind);
        array_elem(&a[A_INSTANCE], t->instance);
        array_elem(&a[A_TARGET], t->target);
        array_elem(&a[A_STATE], osm_task_state_name(t->state));
        array_elem(&a[A_PHASE], t->phase[0] ? t->phase : osm_task_state_name(t->state));
        array_elem_i64(&a[A_NOT_BEFORE], t->not_before);
        array_elem(&a[A_WINDOW], t->window);
        array_elem_i64(&a[A_LATEST], t->latest_start);
        array_elem(&a[A_OPTIONS], t->options ? t->options : "{}");
        array_elem(&a[A_DATA], t->data ? t->data : "{}");
        array_elem(&a[A_OWNER], t->owner);
        array_elem_i64(&a[A_LEASE], t->owner ? t->lease_until : 0);
        array_elem(&a[A_NOTE], t->state == OSM_TASK_SCHEDULED ? t->progress_msg : NULL);
    }
    /* The tasks and their "submitted" events (submitted_message's text)
     * in one statement. */
    struct osm_sql_stmt *s = prep(c,
        "WITH ins AS (INSERT INTO tasks(id, kind, instance, target, state, phase, not_before, maint_window, "
        "latest_start, options, data, owner, lease_until, job_id, created, updated) "
        "SELECT u.id, u.kind, u.instance, u.target, u.state, u.phase, u.not_before, u.maint_window, u.latest_start, "
        "u.options, u.data, u.owner, u.lease_until, ?15, ?16, ?16 "
        "FROM unnest(?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::text[], ?6::text[], ?7::bigint[], "
        "?8::text[], ?9::bigint[], ?10::text[], ?11::text[], ?12::text[], ?13::bigint[]) WITH ORDINALITY "
        "AS u(id, kind, instance, target, state, phase, not_before, maint_window, latest_start, options, data, owner, "
        "lease_until, ord) ORDER BY u.ord RETURNING id, kind, instance, target), "
        /* The schedule notes by id: RETURNING gives the columns of tasks only. */
        "notes AS (SELECT * FROM unnest(?1::text[], ?14::text[]) AS n(id, note)) "
        "INSERT INTO task_events(task_id, at, type, message) "
        "SELECT ins.id, ?16, 'submitted', ins.kind || ' of ' || ins.instance || coalesce(' to ' || ins.target, '') "
        "|| coalesce('; ' || notes.note, '') FROM ins JOIN notes ON notes.id = ins.id", err);
    int rc = -1;
    if (s) {
        for (int k = 0; k < N_ARRAYS; k++)
            b_text(s, k + 1, array_end(&a[k]));
        b_text(s, 15, job_id);
        b_i64(s, 16, now);
        rc = run(s, "adding a job's tasks", err);
    }
    for (int k = 0; k < N_ARRAYS; k++)
        osm_buf_free(&a[k]);
    return rc;
}

struct create_job_args {
    struct osm_job *job;
    struct osm_task *tasks;
    size_t n;
    int job_taken;     /* the job's id or token is taken */
    size_t busy;       /* 1 + the index of the task refused for its instance; 0: none */
};

static int create_job_w(struct osm_sql *c, void *arg, struct osm_err *err)
{
    struct create_job_args *a = arg;
    struct osm_job *job = a->job;
    struct osm_task *tasks = a->tasks;
    size_t n = a->n;
    int64_t now = osm_store_now();
    /* In the write transaction: a token committed before it is seen. */
    if (job->client_token) {
        int found = find_token(c, job, err);
        if (found != 0)
            return found;
    }
    if (duplicate_instance(job->id, tasks, n, err) != 0)
        return -1;
    struct osm_sql_stmt *s = prep(c,
        "INSERT INTO jobs(id, client_token, name, max_concurrency, max_errors, stop_reason, spec, created, updated, state) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?8,?9)", err);
    if (!s)
        return -1;
    b_text(s, 1, job->id);
    b_text(s, 2, job->client_token);
    b_text(s, 3, job->name);
    b_text(s, 4, job->max_concurrency);
    b_text(s, 5, job->max_errors);
    b_text(s, 6, job->stop_reason);
    b_text(s, 7, job->spec ? job->spec : "{}");
    b_i64(s, 8, now);
    b_text(s, 9, job->state ? job->state : "active");
    int rc = run(s, "adding a job", err);
    a->job_taken = rc == OSM_SQL_UNIQUE;
    if (rc < 0)
        return -1;
    if (job->created_by && audit_row(c, job->id, "created", job->created_by, NULL, now, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        osm_task_set_str(&tasks[i].job_id, job->id);
    if (c->drv->caps & OSM_SQL_CAP_ARRAYS) {
        if (busy_instances(c, tasks, n, job->id, err) != 0) {
            osm_err_prefix(err, "job %s", job->id);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            tasks[i].created = tasks[i].updated = now;
        for (size_t at = 0; at < n; at += CREATE_CHUNK) {
            size_t m = n - at < CREATE_CHUNK ? n - at : CREATE_CHUNK;
            rc = insert_task_chunk(c, job->id, now, tasks + at, m, err);
            if (rc == OSM_SQL_UNIQUE)
                a->busy = at + 1; /* another job took one of them meanwhile */
            if (rc < 0) {
                osm_err_prefix(err, "job %s", job->id);
                return -1;
            }
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            rc = insert_task(c, &tasks[i], now, err);
            if (rc == OSM_SQL_UNIQUE)
                a->busy = i + 1;
            if (rc < 0) {
                osm_err_prefix(err, "job %s, task %zu of %zu", job->id, i + 1, n);
                return -1;
            }
        }
    }
    /* Who made each task, in the job's transaction. */
    for (size_t i = 0; job->created_by && i < n; i++)
        if (audit_row(c, tasks[i].id, "created", job->created_by, job->id, now, err) != 0)
            return -1;
    job->created = job->updated = now;
    job->rev = 0;
    return 0;
}

int osm_store_create_job(struct osm_store *st, struct osm_job *job, struct osm_task *tasks, size_t n, struct osm_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (!tasks[i].instance || !tasks[i].kind[0])
            return osm_err_set(err, OSM_EUSAGE, "job: task %zu of %zu needs a kind and an instance", i + 1, n);
    if (!job->id[0])
        osm_store_new_id("j", job->id);
    for (size_t i = 0; i < n; i++)
        if (!tasks[i].id[0])
            osm_store_new_id("t", tasks[i].id);
    struct create_job_args a = {job, tasks, n, 0, 0};
    int rc = osm_store_write(st, create_job_w, &a, 1, err);
    if (rc < 0 && a.job_taken) {
        /* The same token created meanwhile by another request: that job. */
        struct osm_err e2 = OSM_ERR_INIT;
        if (job->client_token && find_token(st->impl->sql, job, &e2) == 1)
            return 1;
        return osm_err_set(err, OSM_ECONFLICT, "state store %s: a job with id %s exists", st->location, job->id);
    }
    if (rc < 0 && a.busy) {
        struct osm_err e2 = OSM_ERR_INIT;
        if (st->impl->drv->caps & OSM_SQL_CAP_ARRAYS) {
            if (busy_instances(st->impl->sql, tasks, n, NULL, &e2) != 0 && e2.code == OSM_ECONFLICT)
                *err = e2;
            osm_err_prefix(err, "job %s", job->id);
        } else {
            busy_instance_error(st, tasks[a.busy - 1].instance, NULL, err);
            osm_err_prefix(err, "job %s, task %zu of %zu", job->id, a.busy, n);
        }
        return -1;
    }
    /* The planner's statistics should not wait for autovacuum after a big
     * job: the scheduler's next pass reads these rows. */
    if (rc == 0 && n >= 10000 && st->impl->drv->analyze)
        st->impl->drv->analyze(st->impl->sql, "tasks");
    return rc;
}

int osm_store_get_job(struct osm_store *st, const char *id, struct osm_job *out, struct osm_err *err)
{
    return read_one(st->impl->sql, "SELECT " JOB_COLUMNS " FROM jobs WHERE id=?1", id, read_job, out, "reading a job",
                    "no job '%s' in %s", err);
}

int osm_store_list_jobs(struct osm_store *st, int64_t after_seq, size_t limit, struct osm_job **out, size_t *n,
                        int64_t *next_seq, struct osm_err *err)
{
    *out = NULL;
    *n = 0;
    *next_seq = 0;
    struct osm_sql_stmt *s = prep(st->impl->sql, "SELECT " JOB_COLUMNS " FROM jobs WHERE seq > ?1 ORDER BY seq LIMIT ?2", err);
    if (!s)
        return -1;
    b_i64(s, 1, after_seq);
    b_i64(s, 2, page_limit(limit));
    size_t cap = 0;
    int64_t last = 0;
    int rc;
    while ((rc = step(s, "listing jobs", err)) == OSM_SQL_ROW) {
        if (limit && *n == limit) {
            *next_seq = last;
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = osm_xrealloc(*out, cap * sizeof **out);
        }
        read_job(s, &(*out)[(*n)++]);
        last = c_i64(s, 0);
    }
    finish(s);
    if (rc < 0) {
        osm_job_list_free(*out, *n);
        *out = NULL;
        *n = 0;
        *next_seq = 0;
        return -1;
    }
    return 0;
}

struct update_job_args {
    struct osm_job *job;
    int64_t expect_rev;
    const char *actor, *action, *detail;
    int missing;
};

static int update_job_w(struct osm_sql *c, void *arg, struct osm_err *err)
{
    struct update_job_args *a = arg;
    struct osm_job *j = a->job;
    int64_t now = osm_store_now();
    struct osm_sql_stmt *s = prep(c,
        "UPDATE jobs SET state=?2, name=?3, max_concurrency=?4, max_errors=?5, stop_reason=?6, updated=?7, rev=rev+1 "
        "WHERE id=?1 AND (?8 < 0 OR rev=?8)", err);
    if (!s)
        return -1;
    b_text(s, 1, j->id);
    b_text(s, 2, j->state ? j->state : "active");
    b_text(s, 3, j->name);
    b_text(s, 4, j->max_concurrency);
    b_text(s, 5, j->max_errors);
    b_text(s, 6, j->stop_reason);
    b_i64(s, 7, now);
    b_i64(s, 8, a->expect_rev);
    if (run(s, "changing a job", err) < 0)
        return -1;
    if (changes(c) == 0) {
        a->missing = 1;
        return 1;
    }
    if (a->action && audit_row(c, j->id, a->action, a->actor, a->detail, now, err) != 0)
        return -1;
    j->updated = now;
    j->rev = a->expect_rev >= 0 ? a->expect_rev + 1 : j->rev + 1;
    return 0;
}

int osm_store_update_job(struct osm_store *st, struct osm_job *job, int64_t expect_rev, const char *actor,
                         const char *action, const char *detail, struct osm_err *err)
{
    struct update_job_args a = {job, expect_rev, actor, action, detail, 0};
    int rc = osm_store_write(st, update_job_w, &a, 1, err);
    if (rc == 1) {
        /* Gone, or moved: which one the caller must know. */
        struct osm_job cur;
        osm_job_init(&cur);
        if (osm_store_get_job(st, job->id, &cur, err) != 0)
            return -1;
        osm_job_free(&cur);
    }
    return rc;
}

int osm_store_set_job_stop(struct osm_store *st, const char *id, const char *reason, struct osm_err *err)
{
    struct osm_sql *c = st->impl->sql;
    struct osm_sql_stmt *s = prep(c, "UPDATE jobs SET stop_reason=?2, updated=?3, rev=rev+1 WHERE id=?1", err);
    if (!s)
        return -1;
    b_text(s, 1, id);
    b_text(s, 2, reason);
    b_i64(s, 3, osm_store_now());
    if (run(s, "setting a job's stop reason", err) < 0)
        return -1;
    if (changes(c) == 0)
        return osm_err_set(err, OSM_ENOTFOUND, "no job '%s' in %s", id, st->location);
    return 0;
}

/* ---- task queries ---- */

enum { Q_INSTANCE = 1, Q_TARGET = 2, Q_JOB = 4, Q_FROM = 8, Q_TO = 16, Q_PATTERN = 32 };

/* The SQL of one shape of query (which filters, how many states), built
 * from fixed text only: values are bound. */
static const char *query_sql(struct osm_store *st, unsigned mask, size_t n_states)
{
    char **slot = &st->impl->query_sql[mask][n_states];
    if (*slot)
        return *slot;
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_adds(&b, "SELECT " TASK_COLUMNS ", seq FROM tasks WHERE seq > ?1");
    if (n_states) {
        osm_buf_adds(&b, " AND state IN (");
        for (size_t i = 0; i < n_states; i++)
            osm_buf_addf(&b, "%s?%zu", i ? "," : "", 10 + i);
        osm_buf_adds(&b, ")");
    }
    if (mask & Q_INSTANCE)
        osm_buf_adds(&b, " AND instance = ?3");
    if (mask & Q_TARGET)
        osm_buf_adds(&b, " AND target = ?4");
    if (mask & Q_JOB)
        osm_buf_adds(&b, " AND job_id = ?5");
    if (mask & Q_FROM)
        osm_buf_adds(&b, " AND created >= ?6");
    if (mask & Q_TO)
        osm_buf_adds(&b, " AND created < ?7");
    if (mask & Q_PATTERN)
        osm_buf_addf(&b, " AND %s", st->impl->drv->dialect->instance_matches);
    osm_buf_adds(&b, " ORDER BY seq LIMIT ?2");
    *slot = osm_buf_detach(&b);
    return *slot;
}

/* Rows of one query shape, up to f->limit + 1, appended to rows/seqs. */
static int query_rows(struct osm_store *st, const struct osm_task_filter *f, struct osm_task **rows, int64_t **seqs,
                      size_t *n, size_t *cap, struct osm_err *err)
{
    unsigned mask = (f->instance ? Q_INSTANCE : 0) | (f->target ? Q_TARGET : 0) | (f->job_id ? Q_JOB : 0) |
                    (f->created_from ? Q_FROM : 0) | (f->created_to ? Q_TO : 0) | (f->instance_pattern ? Q_PATTERN : 0);
    struct osm_sql_stmt *s = prep(st->impl->sql, query_sql(st, mask, f->n_states), err);
    if (!s)
        return -1;
    /* Only the parameters of this shape: a PostgreSQL server cannot type
     * one the text does not use. */
    b_i64(s, 1, f->after_seq);
    b_i64(s, 2, page_limit(f->limit));
    if (mask & Q_INSTANCE)
        b_text(s, 3, f->instance);
    if (mask & Q_TARGET)
        b_text(s, 4, f->target);
    if (mask & Q_JOB)
        b_text(s, 5, f->job_id);
    if (mask & Q_FROM)
        b_i64(s, 6, f->created_from);
    if (mask & Q_TO)
        b_i64(s, 7, f->created_to);
    if (mask & Q_PATTERN) {
        char *arg = st->impl->drv->dialect->pattern_arg(f->instance_pattern);
        b_text(s, 8, arg);
        free(arg);
    }
    for (size_t i = 0; i < f->n_states; i++)
        b_text(s, (int)(10 + i), osm_task_state_name((enum osm_task_state)f->states[i]));
    int rc;
    while ((rc = step(s, "querying tasks", err)) == OSM_SQL_ROW) {
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *rows = osm_xrealloc(*rows, *cap * sizeof **rows);
            *seqs = osm_xrealloc(*seqs, *cap * sizeof **seqs);
        }
        read_task(s, &(*rows)[*n]);
        (*seqs)[(*n)++] = c_i64(s, 25);
    }
    finish(s);
    return rc < 0 ? -1 : 0;
}

struct seq_row {
    int64_t seq;
    size_t at;
};

static int cmp_seq_row(const void *a, const void *b)
{
    const struct seq_row *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

int osm_store_query_tasks(struct osm_store *st, const struct osm_task_filter *f, struct osm_task **out, size_t *n,
                          int64_t *next_seq, struct osm_err *err)
{
    *out = NULL;
    *n = 0;
    *next_seq = 0;
    if (f->n_states > OSM_TASK_N_STATES)
        return osm_err_set(err, OSM_EUSAGE, "a task query names %zu states; there are %d", f->n_states,
                           OSM_TASK_N_STATES);
    for (size_t i = 0; i < f->n_states; i++)
        if (f->states[i] < 0 || f->states[i] >= OSM_TASK_N_STATES)
            return osm_err_set(err, OSM_EUSAGE, "a task query names state %d, which does not exist", f->states[i]);
    struct osm_task *rows = NULL;
    int64_t *seqs = NULL;
    size_t got = 0, cap = 0;
    int rc = 0;
    if (f->n_states <= 1 || !(st->impl->drv->caps & OSM_SQL_CAP_SCAN_PER_STATE)) {
        rc = query_rows(st, f, &rows, &seqs, &got, &cap, err);
    } else {
        /* One ordered scan per state, each limited, merged below. */
        int seen[OSM_TASK_N_STATES] = {0};
        for (size_t i = 0; i < f->n_states && rc == 0; i++) {
            if (seen[f->states[i]]++)
                continue;
            struct osm_task_filter one = *f;
            one.states = &f->states[i];
            one.n_states = 1;
            rc = query_rows(st, &one, &rows, &seqs, &got, &cap, err);
        }
    }
    if (rc != 0) {
        osm_task_list_free(rows, got);
        free(seqs);
        return -1;
    }
    struct seq_row *order = osm_xcalloc(got ? got : 1, sizeof *order);
    for (size_t i = 0; i < got; i++)
        order[i] = (struct seq_row){seqs[i], i};
    qsort(order, got, sizeof *order, cmp_seq_row);
    size_t keep = f->limit && got > f->limit ? f->limit : got;
    *out = keep ? osm_xcalloc(keep, sizeof **out) : NULL;
    for (size_t i = 0; i < keep; i++) {
        (*out)[i] = rows[order[i].at];
        osm_task_init(&rows[order[i].at]); /* moved */
    }
    if (keep < got)
        *next_seq = order[keep - 1].seq;
    *n = keep;
    osm_task_list_free(rows, got);
    free(seqs);
    free(order);
    return 0;
}

int osm_store_count_tasks(struct osm_store *st, const char *job_id, struct osm_task_counts *out, struct osm_err *err)
{
    memset(out, 0, sizeof *out);
    struct osm_sql *c = st->impl->sql;
    struct osm_sql_stmt *s = job_id ? prep(c, "SELECT state, count(*) FROM tasks WHERE job_id=?1 GROUP BY state", err)
                                    : prep(c, "SELECT state, count(*) FROM tasks GROUP BY state", err);
    if (!s)
        return -1;
    if (job_id)
        b_text(s, 1, job_id);
    int rc;
    while ((rc = step(s, "counting tasks", err)) == OSM_SQL_ROW) {
        int state = osm_task_state_parse(c_text(s, 0));
        if (state >= 0)
            out->by_state[state] += c_i64(s, 1);
    }
    finish(s);
    return rc < 0 ? -1 : 0;
}

/* ---- waiting tasks ---- */

/* The waiting tasks (all when now < 0, else those due by `now`). */
static int waiting_rows(struct osm_store *st, int64_t now, struct osm_waiting_task **out, size_t *n,
                        struct osm_err *err)
{
    *out = NULL;
    *n = 0;
    struct osm_sql *c = st->impl->sql;
    struct osm_sql_stmt *s = now < 0 ? prep(c,
        "SELECT " WAITING_COLUMNS " FROM tasks INDEXED BY tasks_waiting WHERE " WAITING " ORDER BY seq", err) : prep(c,
        /* Three index ranges, named: with statistics SQLite's planner may
         * otherwise scan every task for a range it cannot size. */
        "SELECT " WAITING_COLUMNS " FROM tasks INDEXED BY tasks_due WHERE state='submitted' "
        "UNION ALL SELECT " WAITING_COLUMNS " FROM tasks INDEXED BY tasks_due WHERE state='scheduled' AND not_before <= ?1 "
        "UNION ALL SELECT " WAITING_COLUMNS " FROM tasks INDEXED BY tasks_expiring WHERE state='scheduled' AND "
        "latest_start > 0 AND latest_start < ?1 AND not_before > ?1 ORDER BY seq", err);
    if (!s)
        return -1;
    if (now >= 0)
        b_i64(s, 1, now);
    void *v;
    int rc = collect_rows(s, &v, n, sizeof **out, read_waiting, free_waiting, "listing waiting tasks", err);
    *out = v;
    return rc;
}

int osm_store_list_waiting(struct osm_store *st, struct osm_waiting_task **out, size_t *n, struct osm_err *err)
{
    return waiting_rows(st, -1, out, n, err);
}

int osm_store_list_waiting_due(struct osm_store *st, int64_t now, struct osm_waiting_task **out, size_t *n,
                               struct osm_err *err)
{
    return waiting_rows(st, now < 0 ? 0 : now, out, n, err);
}

/* Startable: unclaimed (or its lease ran out), not of a stopped, paused or
 * cancelled job, not of
 * a job the caller skips (?5, a JSON array). */
#define STARTABLE_ROW                                                                                             \
    " AND (owner IS NULL OR lease_until < ?1) AND (job_id IS NULL OR (NOT EXISTS "                                 \
    "(SELECT 1 FROM jobs WHERE jobs.id=tasks.job_id AND (jobs.stop_reason IS NOT NULL OR jobs.state<>'active'))"  \
    " AND job_id NOT IN "                                                                                           \
    "(SELECT value FROM json_each(?5))))"
/* One state's startable tasks after the cursor (?2, ?3), as two seeks of
 * the index on (state, not_before, seq): the rest of the cursor's
 * not_before, then the later ones up to now. A row value (not_before, seq)
 * > (?2, ?3) would make SQLite scan every row of the cursor's not_before
 * from its first, and a bound on not_before beside the equality makes it
 * sort. */
#define STARTABLE_OF(state)                                                                                       \
    "SELECT " WAITING_COLUMNS " FROM tasks INDEXED BY tasks_due WHERE state='" state "' AND not_before = ?2 AND "  \
    "seq > ?3" STARTABLE_ROW " UNION ALL SELECT " WAITING_COLUMNS " FROM tasks INDEXED BY tasks_due WHERE state='" \
    state "' AND not_before > ?2 AND not_before <= ?1" STARTABLE_ROW

int osm_store_list_waiting_page(struct osm_store *st, int which, int64_t now, int64_t after_not_before,
                                int64_t after_seq, const char *skip_jobs, size_t limit,
                                struct osm_waiting_task **out, size_t *n, struct osm_err *err)
{
    *out = NULL;
    *n = 0;
    const char *sql;
    switch (which) {
    case OSM_WAITING_STARTABLE:
        /* Four index ranges, each in (not_before, seq) order, merged: the
         * LIMIT stops the read after `limit` rows. */
        sql = STARTABLE_OF("submitted") " UNION ALL " STARTABLE_OF("scheduled") " ORDER BY not_before, seq LIMIT ?4";
        break;
    case OSM_WAITING_LATER:
        sql = "SELECT " WAITING_COLUMNS " FROM tasks INDEXED BY tasks_due WHERE state='submitted' AND not_before > ?1 "
              "ORDER BY not_before, seq LIMIT ?4";
        break;
    case OSM_WAITING_EXPIRED:
        sql = "SELECT " WAITING_COLUMNS " FROM tasks INDEXED BY tasks_expiring WHERE state='submitted' AND latest_start > 0 "
              "AND latest_start < ?1 UNION ALL SELECT " WAITING_COLUMNS " FROM tasks INDEXED BY tasks_expiring "
              "WHERE state='scheduled' AND latest_start > 0 AND latest_start < ?1 ORDER BY seq LIMIT ?4";
        break;
    default:
        return osm_err_set(err, OSM_EUSAGE, "state store %s: no waiting page of kind %d", st->location, which);
    }
    struct osm_sql_stmt *s = prep(st->impl->sql, sql, err);
    if (!s)
        return -1;
    /* ?2 and ?3 are only in the startable query; numbers bound elsewhere
     * are harmless (the numbering leaves room for them). */
    b_i64(s, 1, now);
    b_i64(s, 2, after_not_before);
    b_i64(s, 3, after_seq);
    b_i64(s, 4, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    if (which == OSM_WAITING_STARTABLE)
        b_text(s, 5, skip_jobs ? skip_jobs : "[]");
    void *v;
    int rc = collect_rows(s, &v, n, sizeof **out, read_waiting, free_waiting, "listing waiting tasks", err);
    *out = v;
    return rc;
}

/* ---- claims of waiting and orphaned tasks ---- */

/* Running or claimed: what counts against a job's max_running. A waiting
 * task counts while its claim's lease runs. Two counts, each from an index
 * (never the whole job): its running tasks (tasks_by_job_state), and its
 * claimed waiting ones (tasks_claimed). */
#define RUNNING_OR_CLAIMED(JOB)                                                                                   \
    "SELECT (SELECT count(*) FROM tasks WHERE " JOB " AND state IN ('running','rolling_back')) + "               \
    "(SELECT count(*) FROM tasks INDEXED BY tasks_claimed WHERE " JOB " AND owner IS NOT NULL AND " WAITING      \
    " AND lease_until >= ?2)"
/* Waiting and unclaimed (or its claim's lease ran out before ?2). */
#define CLAIMABLE " AND " WAITING " AND (owner IS NULL OR lease_until < ?2)"

struct claim_waiting_args {
    const char *job_id;
    const char *const *ids;
    size_t n_ids;
    int max_running;
    const char *owner;
    int64_t lease_until;
    char (*claimed)[40];
    size_t *n_claimed;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* With arrays: the candidates in one statement, in the caller's order; a
 * row another transaction holds is skipped. */
static int take_waiting_at_once(struct osm_sql *c, const struct claim_waiting_args *a, int64_t now, int64_t room,
                                struct osm_err *err)
{
    struct osm_buf ids;
    osm_buf_init(&ids);
    for (size_t i = 0; i < a->n_ids; i++)
        array_elem(&ids, a->ids[i]);
    struct osm_sql_stmt *s = prep(c, a->job_id
        ? "UPDATE tasks SET owner=?3, lease_until=?4 WHERE id IN ("
          " SELECT t.id FROM unnest(?1::text[]) WITH ORDINALITY AS u(id, ord) JOIN tasks t ON t.id = u.id"
          " WHERE t.job_id = ?6 AND (t.state='submitted' OR t.state='scheduled') AND (t.owner IS NULL OR t.lease_until < ?2)"
          " ORDER BY u.ord LIMIT ?5 FOR UPDATE OF t SKIP LOCKED) RETURNING id"
        : "UPDATE tasks SET owner=?3, lease_until=?4 WHERE id IN ("
          " SELECT t.id FROM unnest(?1::text[]) WITH ORDINALITY AS u(id, ord) JOIN tasks t ON t.id = u.id"
          " WHERE t.job_id IS NULL AND (t.state='submitted' OR t.state='scheduled') AND (t.owner IS NULL OR t.lease_until < ?2)"
          " ORDER BY u.ord LIMIT ?5 FOR UPDATE OF t SKIP LOCKED) RETURNING id", err);
    if (!s) {
        osm_buf_free(&ids);
        return -1;
    }
    b_text(s, 1, array_end(&ids));
    osm_buf_free(&ids);
    b_i64(s, 2, now);
    b_text(s, 3, a->owner);
    b_i64(s, 4, a->lease_until);
    b_i64(s, 5, room < 0 ? INT64_MAX : room);
    if (a->job_id)
        b_text(s, 6, a->job_id);
    /* RETURNING has no order: report the claimed ids in the caller's. */
    char **got = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = step(s, "claiming waiting tasks", err)) == OSM_SQL_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            got = osm_xrealloc(got, cap * sizeof *got);
        }
        got[n++] = c_dup(s, 0);
    }
    finish(s);
    if (rc == OSM_SQL_DONE && n) { /* qsort wants a pointer even for nothing */
        qsort(got, n, sizeof *got, cmp_str);
        for (size_t i = 0; i < a->n_ids && *a->n_claimed < n; i++)
            if (bsearch(&a->ids[i], got, n, sizeof *got, cmp_str))
                snprintf(a->claimed[(*a->n_claimed)++], 40, "%s", a->ids[i]);
    }
    for (size_t i = 0; i < n; i++)
        free(got[i]);
    free(got);
    return rc < 0 ? -1 : 0;
}

/* One statement per candidate, in the caller's order (in-process: no round
 * trips to save). */
static int take_waiting_one_by_one(struct osm_sql *c, const struct claim_waiting_args *a, int64_t now, int64_t room,
                                   struct osm_err *err)
{
    struct osm_sql_stmt *s = prep(c, a->job_id
        ? "UPDATE tasks SET owner=?3, lease_until=?4 WHERE id=?1 AND job_id=?5" CLAIMABLE
        : "UPDATE tasks SET owner=?3, lease_until=?4 WHERE id=?1 AND job_id IS NULL" CLAIMABLE, err);
    if (!s)
        return -1;
    for (size_t i = 0; i < a->n_ids && (room < 0 || (int64_t)*a->n_claimed < room); i++) {
        b_text(s, 1, a->ids[i]);
        b_i64(s, 2, now);
        b_text(s, 3, a->owner);
        b_i64(s, 4, a->lease_until);
        if (a->job_id)
            b_text(s, 5, a->job_id);
        int rc = step(s, "claiming waiting tasks", err);
        c->drv->reset(s);
        if (rc < 0) {
            finish(s);
            return -1;
        }
        if (changes(c) == 1)
            snprintf(a->claimed[(*a->n_claimed)++], 40, "%s", a->ids[i]);
    }
    finish(s);
    return 0;
}

static int claim_waiting_w(struct osm_sql *c, void *arg, struct osm_err *err)
{
    const struct claim_waiting_args *a = arg;
    *a->n_claimed = 0;
    if (a->n_ids == 0)
        return 0;
    int64_t now = osm_store_now();
    /* What the count below reads stays so until the commit: the job's row
     * is locked (a second worker waits here, then counts what the first
     * claimed); tasks without a job take a lock of their own. */
    if (a->job_id) {
        struct osm_sql_stmt *s = prep(c, "SELECT state FROM jobs WHERE id=?1 FOR UPDATE", err);
        if (!s)
            return -1;
        b_text(s, 1, a->job_id);
        int rc = step(s, "locking a job", err);
        /* Paused or cancelled since the scheduler read it: nothing starts. */
        int active = rc == OSM_SQL_ROW && (!c_text(s, 0) || strcmp(c_text(s, 0), "active") == 0);
        finish(s);
        if (rc < 0)
            return -1;
        if (!active)
            return 0;
    } else if (c->drv->lock(c, LOCK_NO_JOB, err) != 0) {
        return -1;
    }
    int64_t room = -1;
    if (a->max_running >= 0) {
        struct osm_sql_stmt *s = prep(c, a->job_id ? RUNNING_OR_CLAIMED("job_id=?1") : RUNNING_OR_CLAIMED("job_id IS NULL"), err);
        if (!s)
            return -1;
        if (a->job_id)
            b_text(s, 1, a->job_id);
        b_i64(s, 2, now);
        int rc = step(s, "counting a job's running tasks", err);
        int64_t busy = rc == OSM_SQL_ROW ? c_i64(s, 0) : 0;
        finish(s);
        if (rc != OSM_SQL_ROW)
            return -1;
        room = a->max_running - busy;
        if (room <= 0)
            return 0;
    }
    int rc = c->drv->caps & OSM_SQL_CAP_ARRAYS ? take_waiting_at_once(c, a, now, room, err)
                                               : take_waiting_one_by_one(c, a, now, room, err);
    if (rc < 0)
        *a->n_claimed = 0;
    return rc;
}

int osm_store_claim_waiting(struct osm_store *st, const char *job_id, const char *const *ids, size_t n_ids,
                            int max_running, const char *owner, int64_t lease_until, char (*claimed)[40],
                            size_t *n_claimed, struct osm_err *err)
{
    struct claim_waiting_args a = {job_id, ids, n_ids, max_running, owner, lease_until, claimed, n_claimed};
    int rc = osm_store_write(st, claim_waiting_w, &a, 1, err);
    if (rc < 0)
        *n_claimed = 0; /* the batch may have failed after this write */
    return rc;
}

struct claim_orphans_args {
    const char *owner;
    int64_t now, lease_until;
    size_t max;
    char (*claimed)[40];
    size_t *n_claimed;
};

static int claim_orphans_w(struct osm_sql *c, void *arg, struct osm_err *err)
{
    const struct claim_orphans_args *a = arg;
    *a->n_claimed = 0;
    if (a->max == 0)
        return 0;
    /* Candidates: no owner, a lease run out, or an owner of this host
     * ("HOST/...", alive or not is the kernel's to say, below); a row
     * another worker holds is skipped. LIKE may take a little more (a '_'
     * of a host name matches any character): the rule below decides. */
    const char *self = osm_store_self_owner();
    char *host = osm_xasprintf("%.*s/%%", (int)strcspn(self, "/"), self);
    struct osm_sql_stmt *s = prep(c,
        "SELECT id, owner, lease_until FROM tasks WHERE (state='running' OR state='rolling_back') AND "
        "(owner IS NULL OR lease_until < ?1 OR owner LIKE ?2) ORDER BY seq FOR UPDATE SKIP LOCKED", err);
    if (!s) {
        free(host);
        return -1;
    }
    b_i64(s, 1, a->now);
    b_text(s, 2, host);
    free(host);
    char (*pick)[40] = NULL;
    size_t n_pick = 0, cap = 0;
    int rc = OSM_SQL_DONE;
    while (n_pick < a->max && (rc = step(s, "finding orphaned tasks", err)) == OSM_SQL_ROW) {
        if (held_by_another(c_text(s, 1), c_i64(s, 2), a->owner, a->now))
            continue;
        if (n_pick == cap) {
            cap = cap ? cap * 2 : 16;
            pick = osm_xrealloc(pick, cap * sizeof *pick);
        }
        c_copy(s, 0, pick[n_pick++], 40);
    }
    finish(s);
    for (size_t i = 0; rc >= 0 && i < n_pick; i++)
        if (set_owner(c, pick[i], a->owner, a->lease_until, "claiming orphaned tasks", err) != 0)
            rc = -1;
    if (rc >= 0) {
        if (n_pick) /* memcpy wants a pointer even for nothing */
            memcpy(a->claimed, pick, n_pick * sizeof *pick);
        *a->n_claimed = n_pick;
    }
    free(pick);
    return rc < 0 ? -1 : 0;
}

int osm_store_claim_orphans(struct osm_store *st, const char *owner, int64_t now, int64_t lease_until, size_t max,
                            char (*claimed)[40], size_t *n_claimed, struct osm_err *err)
{
    struct claim_orphans_args a = {owner, now, lease_until, max, claimed, n_claimed};
    int rc = osm_store_write(st, claim_orphans_w, &a, 1, err);
    if (rc < 0)
        *n_claimed = 0;
    return rc;
}

/* ---- access keys ---- */

int osm_store_put_key(struct osm_store *st, const struct osm_key *k, struct osm_err *err)
{
    if (!k->id[0] || !k->sealed_secret)
        return osm_err_set(err, OSM_EUSAGE, "a key needs an id and a sealed secret");
    if (!k->role || (strcmp(k->role, "viewer") != 0 && strcmp(k->role, "operator") != 0 && strcmp(k->role, "admin") != 0))
        return osm_err_set(err, OSM_EUSAGE, "key %s: role '%s' is not one of viewer, operator, admin", k->id,
                           k->role ? k->role : "");
    struct osm_sql_stmt *s = prep(st->impl->sql,
        "INSERT INTO api_keys(id, role, scope, sealed_secret, created, disabled, expires) VALUES(?1,?2,?3,?4,?5,?6,?7)",
        err);
    if (!s)
        return -1;
    b_text(s, 1, k->id);
    b_text(s, 2, k->role);
    b_text(s, 3, k->scope);
    b_text(s, 4, k->sealed_secret);
    b_i64(s, 5, k->created ? k->created : osm_store_now());
    b_i64(s, 6, k->disabled ? 1 : 0);
    b_i64(s, 7, k->expires);
    int rc = run(s, "adding a key", err);
    if (rc == OSM_SQL_UNIQUE)
        return osm_err_set(err, OSM_ECONFLICT, "a key with id '%s' exists in %s", k->id, st->location);
    return rc < 0 ? -1 : 0;
}

int osm_store_get_key(struct osm_store *st, const char *id, struct osm_key *out, struct osm_err *err)
{
    return read_one(st->impl->sql, "SELECT " KEY_COLUMNS " FROM api_keys WHERE id=?1", id, read_key, out,
                    "reading a key", "no key '%s' in %s", err);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const struct osm_key *)a)->id, ((const struct osm_key *)b)->id);
}

int osm_store_list_keys(struct osm_store *st, struct osm_key **out, size_t *n, struct osm_err *err)
{
    *out = NULL;
    *n = 0;
    struct osm_sql_stmt *s = prep(st->impl->sql, "SELECT " KEY_COLUMNS " FROM api_keys", err);
    if (!s)
        return -1;
    void *v;
    int rc = collect_rows(s, &v, n, sizeof **out, read_key, free_keys, "listing keys", err);
    /* By id, byte by byte, whatever the database's collation. */
    if (rc == 0 && *n)
        qsort(v, *n, sizeof **out, cmp_key);
    *out = v;
    return rc;
}

int osm_store_delete_key(struct osm_store *st, const char *id, struct osm_err *err)
{
    struct osm_sql *c = st->impl->sql;
    struct osm_sql_stmt *s = prep(c, "DELETE FROM api_keys WHERE id=?1", err);
    if (!s)
        return -1;
    b_text(s, 1, id);
    if (run(s, "deleting a key", err) < 0)
        return -1;
    if (changes(c) == 0)
        return osm_err_set(err, OSM_ENOTFOUND, "no key '%s' in %s", id, st->location);
    return 0;
}

int osm_store_update_key(struct osm_store *st, const struct osm_key *k, struct osm_err *err)
{
    struct osm_sql *c = st->impl->sql;
    struct osm_sql_stmt *s = prep(c, "UPDATE api_keys SET sealed_secret=?2, disabled=?3, expires=?4 WHERE id=?1", err);
    if (!s)
        return -1;
    b_text(s, 1, k->id);
    b_text(s, 2, k->sealed_secret);
    b_i64(s, 3, k->disabled ? 1 : 0);
    b_i64(s, 4, k->expires);
    if (run(s, "changing a key", err) < 0)
        return -1;
    if (changes(c) == 0)
        return osm_err_set(err, OSM_ENOTFOUND, "no key '%s' in %s", k->id, st->location);
    return 0;
}
