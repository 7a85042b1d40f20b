/* store_pg.c: the PostgreSQL task store (see store_pg.h and store.h).
 *
 * One connection per store (a store is used by one thread at a time, as the
 * SQLite one). Every value travels as a parameter of PQexecParams; the only
 * SQL texts are the constants below and query shapes assembled from constant
 * fragments. Lists (the ids of a claim, the columns of a job's tasks) travel
 * as one text[] parameter each, in PostgreSQL's array syntax.
 *
 * Concurrency: READ COMMITTED. A claim of due tasks locks the job row
 * (SELECT ... FOR UPDATE) so that the count of the job's running tasks holds
 * until COMMIT across workers, then takes the candidates with FOR UPDATE SKIP
 * LOCKED. Schema migrations run under a transaction-level advisory lock. */
#include "lazy_pq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "store.h"
#include "store_pg.h"

struct pg_store {
    struct osm_store base;
    PGconn *conn;
    char sqlstate[6];       /* of the last failed statement */
    char constraint[64];    /* its constraint, when one was violated */
    int64_t next_nonce_purge; /* when use_nonce next forgets expired nonces */
};

#define HOLDS_INSTANCE "state NOT IN ('succeeded','failed','rolled_back','cancelled','expired')"
#define WAITING "state IN ('submitted','scheduled')"
#define LOCK_MIGRATE "7283550001"
#define LOCK_NO_JOB "7283550002"

static const char *const migrations[] = {
    /* 1: tasks, their history and step journal, jobs, keys, nonces. */
    "CREATE TABLE jobs("
    "  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  id text NOT NULL UNIQUE,"
    "  client_token text UNIQUE,"
    "  name text,"
    "  max_concurrency text,"
    "  max_errors text,"
    "  stop_reason text,"
    "  spec text NOT NULL DEFAULT '{}',"
    "  created bigint NOT NULL,"
    "  updated bigint NOT NULL,"
    "  rev bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE tasks("
    "  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  id text NOT NULL UNIQUE,"
    "  kind text NOT NULL,"
    "  instance text NOT NULL,"
    "  target text,"
    "  state text NOT NULL,"
    "  phase text NOT NULL,"
    "  step integer NOT NULL DEFAULT 0,"
    "  attempted integer NOT NULL DEFAULT 0,"
    "  changed integer NOT NULL DEFAULT 0,"
    "  progress double precision NOT NULL DEFAULT 0,"
    "  progress_msg text,"
    "  not_before bigint NOT NULL DEFAULT 0,"
    "  maint_window text,"
    "  latest_start bigint NOT NULL DEFAULT 0,"
    "  snapshot_set text,"
    "  error_code text,"
    "  cause text,"
    "  options text NOT NULL DEFAULT '{}',"
    "  data text NOT NULL DEFAULT '{}',"
    "  owner text,"
    "  lease_until bigint NOT NULL DEFAULT 0,"
    "  rev bigint NOT NULL DEFAULT 0,"
    "  job_id text REFERENCES jobs(id),"
    "  created bigint NOT NULL,"
    "  updated bigint NOT NULL);"
    "CREATE UNIQUE INDEX tasks_one_per_instance ON tasks(instance) WHERE " HOLDS_INSTANCE ";"
    /* The scheduler's read of tasks due by a time (list_waiting_due). */
    "CREATE INDEX tasks_due ON tasks(state, not_before) WHERE " WAITING ";"
    "CREATE INDEX tasks_expiring ON tasks(state, latest_start) WHERE " WAITING " AND latest_start > 0;"
    "CREATE INDEX tasks_by_state ON tasks(state, seq);"
    "CREATE INDEX tasks_by_job ON tasks(job_id, seq);"
    "CREATE INDEX tasks_by_job_state ON tasks(job_id, state);"
    "CREATE INDEX tasks_by_instance ON tasks(instance, seq);"
    "CREATE INDEX tasks_waiting ON tasks(seq) WHERE " WAITING ";"
    /* Exactly the claimed-waiting predicate of claim_waiting's count: used
     * even before the planner has statistics (right after a big job). */
    "CREATE INDEX tasks_claimed ON tasks(job_id, lease_until) WHERE owner IS NOT NULL AND " WAITING ";"
    "CREATE TABLE task_events("
    "  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  task_id text NOT NULL REFERENCES tasks(id),"
    "  at bigint NOT NULL,"
    "  type text NOT NULL,"
    "  message text);"
    "CREATE INDEX task_events_by_task ON task_events(task_id, seq);"
    "CREATE TABLE step_journal("
    "  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  task_id text NOT NULL REFERENCES tasks(id),"
    "  at bigint NOT NULL,"
    "  step_index integer NOT NULL,"
    "  step text NOT NULL,"
    "  what text NOT NULL CHECK (what IN ('intent','outcome')),"
    "  result text,"
    "  detail text);"
    "CREATE INDEX step_journal_by_task ON step_journal(task_id, seq);"
    /* Statement triggers: they fire even when no row matches, and on TRUNCATE. */
    "CREATE FUNCTION osmig_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN RAISE EXCEPTION '% is append-only', TG_ARGV[0]; END $$;"
    "CREATE TRIGGER task_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON task_events"
    "  FOR EACH STATEMENT EXECUTE FUNCTION osmig_append_only('task history');"
    "CREATE TRIGGER step_journal_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON step_journal"
    "  FOR EACH STATEMENT EXECUTE FUNCTION osmig_append_only('step journal');"
    "CREATE TABLE api_keys("
    "  id text PRIMARY KEY,"
    "  role text NOT NULL,"
    "  scope text,"
    "  sealed_secret text NOT NULL,"
    "  created bigint NOT NULL,"
    "  disabled integer NOT NULL DEFAULT 0);"
    "CREATE TABLE nonces("
    "  key_id text NOT NULL,"
    "  nonce text NOT NULL,"
    "  expires bigint NOT NULL,"
    "  PRIMARY KEY(key_id, nonce));"
    "CREATE INDEX nonces_by_expiry ON nonces(expires);",
    /* 2: the scheduler's pages of startable tasks in start order
     * (list_waiting_page): a cursor on (not_before, seq) within a state. */
    "CREATE INDEX tasks_startable ON tasks(state, not_before, seq) WHERE " WAITING ";",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- parameters and statements ---- */

#define MAX_PARAMS 24
struct params {
    int n;
    const char *v[MAX_PARAMS];
    char num[MAX_PARAMS][32];
};

static void p_str(struct params *p, const char *v)
{
    p->v[p->n++] = v;
}

static void p_i64(struct params *p, int64_t v)
{
    snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", (long long)v);
    p->v[p->n] = p->num[p->n];
    p->n++;
}

static void p_f64(struct params *p, double v)
{
    snprintf(p->num[p->n], sizeof p->num[p->n], "%.17g", v);
    p->v[p->n] = p->num[p->n];
    p->n++;
}

static void array_start(struct osm_buf *b)
{
    osm_buf_reset(b);
    osm_buf_addc(b, '{');
}

/* One element of a text[] literal: quoted, with \ and " escaped; NULL as is. */
static void array_elem(struct osm_buf *b, const char *v)
{
    if (b->len > 1)
        osm_buf_addc(b, ',');
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

static void array_end(struct osm_buf *b)
{
    osm_buf_addc(b, '}');
}

static int pg_fail(struct pg_store *s, const PGresult *res, struct osm_err *err, const char *what)
{
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn);
    char clean[1024];
    snprintf(clean, sizeof clean, "%s", msg && *msg ? msg : "unknown error");
    clean[strcspn(clean, "\n")] = '\0';
    const char *hint = "";
    if (PQstatus(s->conn) == CONNECTION_BAD)
        hint = " (the connection to the server is lost)";
    return osm_err_set(err, OSM_EIO, "state store %s: %s: %s%s", s->base.location, what, clean, hint);
}

/* Run one statement. 0 with *res (caller PQclear()s; res may be NULL when
 * the caller wants no rows), -1 with err set and sqlstate/constraint noted. */
static int run(struct pg_store *s, const char *sql, const struct params *p, PGresult **res, struct osm_err *err,
               const char *what)
{
    if (res)
        *res = NULL;
    s->sqlstate[0] = '\0';
    s->constraint[0] = '\0';
    if (PQstatus(s->conn) == CONNECTION_BAD && PQtransactionStatus(s->conn) != PQTRANS_INTRANS)
        PQreset(s->conn); /* a server restart between operations costs nothing more */
    PGresult *r = PQexecParams(s->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char *cons = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
        snprintf(s->sqlstate, sizeof s->sqlstate, "%s", code ? code : "");
        snprintf(s->constraint, sizeof s->constraint, "%s", cons ? cons : "");
        pg_fail(s, r, err, what);
        PQclear(r);
        return -1;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return 0;
}

/* A constant text of several statements (the schema): the simple protocol,
 * which alone accepts them; never used with anything built from input. */
static int run_script(struct pg_store *s, const char *sql, struct osm_err *err, const char *what)
{
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_fail(s, r, err, what);
    PQclear(r);
    return rc;
}

static int unique_violation(struct pg_store *s)
{
    return strcmp(s->sqlstate, "23505") == 0;
}

static int begin(struct pg_store *s, struct osm_err *err)
{
    return run(s, "BEGIN", NULL, NULL, err, "BEGIN");
}

static int commit_tx(struct pg_store *s, struct osm_err *err)
{
    return run(s, "COMMIT", NULL, NULL, err, "COMMIT");
}

static void rollback_quietly(struct pg_store *s)
{
    if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, "ROLLBACK"));
}

static char *get_dup(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : osm_xstrdup(PQgetvalue(r, row, col));
}

static void get_copy(const PGresult *r, int row, int col, char *dst, size_t size)
{
    snprintf(dst, size, "%s", PQgetvalue(r, row, col));
}

static int64_t get_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- schema ---- */

static int migrate(struct pg_store *s, struct osm_err *err)
{
    PGresult *r;
    if (begin(s, err) != 0)
        return -1;
    /* Two engines opening a new database at once: one migrates, the other waits. */
    if (run(s, "SELECT pg_advisory_xact_lock(" LOCK_MIGRATE ")", NULL, NULL, err, "locking the schema") != 0)
        goto fail;
    if (run(s, "SELECT to_regclass('schema_version') IS NOT NULL", NULL, &r, err, "reading the schema") != 0)
        goto fail;
    int have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    int version = 0;
    if (!have) {
        if (run_script(s, "CREATE TABLE schema_version(version integer NOT NULL); INSERT INTO schema_version VALUES(0)",
                       err, "creating the schema") != 0)
            goto fail;
    } else {
        if (run(s, "SELECT max(version) FROM schema_version", NULL, &r, err, "reading the schema version") != 0)
            goto fail;
        version = (int)get_i64(r, 0, 0);
        PQclear(r);
    }
    if (version > N_MIGRATIONS) {
        osm_err_set(err, OSM_EUNSUPPORTED,
                    "state store %s: schema version %d is newer than this osmig knows (%d); use a newer osmig",
                    s->base.location, version, N_MIGRATIONS);
        goto fail;
    }
    /* DDL is transactional in PostgreSQL: every migration and the version
     * bump commit together or not at all. */
    for (int v = version + 1; v <= N_MIGRATIONS; v++) {
        char what[64];
        snprintf(what, sizeof what, "migrating the schema to version %d", v);
        struct params p = {0};
        p_i64(&p, v);
        if (run_script(s, migrations[v - 1], err, what) != 0 ||
            run(s, "UPDATE schema_version SET version=$1::int", &p, NULL, err, what) != 0)
            goto fail;
    }
    return commit_tx(s, err);
fail:
    rollback_quietly(s);
    return -1;
}

/* ---- tasks ---- */

#define TASK_COLUMNS                                                                                          \
    "id, kind, instance, target, state, phase, step, attempted, changed, progress, progress_msg, not_before, " \
    "maint_window, latest_start, snapshot_set, error_code, cause, created, updated, options, data, owner, lease_until, rev, " \
    "job_id"

static void row_to_task(const PGresult *r, int i, struct osm_task *t)
{
    osm_task_init(t);
    get_copy(r, i, 0, t->id, sizeof t->id);
    get_copy(r, i, 1, t->kind, sizeof t->kind);
    t->instance = get_dup(r, i, 2);
    t->target = get_dup(r, i, 3);
    int st = osm_task_state_parse(PQgetvalue(r, i, 4));
    t->state = st < 0 ? OSM_TASK_FAILED : (enum osm_task_state)st;
    get_copy(r, i, 5, t->phase, sizeof t->phase);
    t->step = (int)get_i64(r, i, 6);
    t->attempted = (int)get_i64(r, i, 7);
    t->changed = (int)get_i64(r, i, 8);
    t->progress = strtod(PQgetvalue(r, i, 9), NULL);
    t->progress_msg = get_dup(r, i, 10);
    t->not_before = get_i64(r, i, 11);
    t->window = get_dup(r, i, 12);
    t->latest_start = get_i64(r, i, 13);
    t->snapshot_set = get_dup(r, i, 14);
    t->error_code = get_dup(r, i, 15);
    t->cause = get_dup(r, i, 16);
    t->created = get_i64(r, i, 17);
    t->updated = get_i64(r, i, 18);
    t->options = get_dup(r, i, 19);
    t->data = get_dup(r, i, 20);
    t->owner = get_dup(r, i, 21);
    t->lease_until = get_i64(r, i, 22);
    t->rev = get_i64(r, i, 23);
    t->job_id = get_dup(r, i, 24);
}

/* The message for a busy instance, from the holder's row (id, state, phase,
 * job_id at columns 0..3); `job_id`: the job being created. */
static int busy_message(struct pg_store *s, const PGresult *r, const char *instance, const char *job_id,
                        struct osm_err *err)
{
    if (!r || PQntuples(r) == 0)
        return osm_err_set(err, OSM_ECONFLICT, "state store %s: instance %s already has an unfinished task",
                           s->base.location, instance);
    const char *id = PQgetvalue(r, 0, 0);
    const char *state = PQgetvalue(r, 0, 1);
    const char *phase = PQgetvalue(r, 0, 2);
    const char *holder_job = PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3);
    if (job_id && holder_job && strcmp(job_id, holder_job) == 0)
        return osm_err_set(err, OSM_ECONFLICT, "instance %s appears more than once in job %s (first as task %s)",
                           instance, job_id, id);
    if (strcmp(state, "rollback_failed") == 0)
        return osm_err_set(err, OSM_ECONFLICT,
                           "instance %s is held by task %s, whose rollback failed: a person must restore the instance "
                           "(see `osmig task show %s`) and then roll it back with `osmig rollback %s`",
                           instance, id, id, id);
    return osm_err_set(err, OSM_ECONFLICT,
                       "instance %s already has an unfinished task %s (state %s, phase %s): wait for it, "
                       "or cancel it with `osmig cancel %s`", instance, id, state, phase, id);
}

/* After a unique violation on tasks_one_per_instance (outside the failed
 * transaction): name the holder. */
static int busy_instance_error(struct pg_store *s, const char *instance, struct osm_err *err)
{
    struct params p = {0};
    p_str(&p, instance);
    PGresult *r;
    struct osm_err e2 = OSM_ERR_INIT;
    if (run(s, "SELECT id, state, phase, job_id FROM tasks WHERE instance=$1 AND " HOLDS_INSTANCE, &p, &r, &e2,
            "reading the task that holds an instance") != 0)
        return busy_message(s, NULL, instance, NULL, err);
    busy_message(s, r, instance, NULL, err);
    PQclear(r);
    return -1;
}

static int add_event(struct pg_store *s, const char *id, int64_t at, const char *type, const char *msg,
                     struct osm_err *err)
{
    struct params p = {0};
    p_str(&p, id);
    p_i64(&p, at);
    p_str(&p, type);
    p_str(&p, msg);
    return run(s, "INSERT INTO task_events(task_id, at, type, message) VALUES($1, $2::bigint, $3, $4)", &p, NULL, err,
               "appending to the task history");
}

static int add_journal(struct pg_store *s, const char *id, int64_t at, const struct osm_journal_entry *j,
                       struct osm_err *err)
{
    struct params p = {0};
    p_str(&p, id);
    p_i64(&p, at);
    p_i64(&p, j->step_index);
    p_str(&p, j->step);
    p_str(&p, j->what);
    p_str(&p, j->result);
    p_str(&p, j->detail);
    return run(s,
               "INSERT INTO step_journal(task_id, at, step_index, step, what, result, detail) "
               "VALUES($1, $2::bigint, $3::int, $4, $5, $6, $7)", &p, NULL, err, "appending to the step journal");
}

static int pg_create_task(struct osm_store *st, struct osm_task *t, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    if (!t->instance || !t->kind[0])
        return osm_err_set(err, OSM_EUSAGE, "a task needs a kind and an instance");
    if (!t->id[0])
        return osm_err_set(err, OSM_EUSAGE, "a task needs an id (osm_store_create_task gives one)");
    int64_t now = osm_store_now();
    t->created = t->updated = now;
    struct params p = {0};
    p_str(&p, t->id);
    p_str(&p, t->kind);
    p_str(&p, t->instance);
    p_str(&p, t->target);
    p_str(&p, osm_task_state_name(t->state));
    p_str(&p, t->phase[0] ? t->phase : osm_task_state_name(t->state));
    p_i64(&p, t->not_before);
    p_str(&p, t->window);
    p_i64(&p, t->latest_start);
    p_str(&p, t->options ? t->options : "{}");
    p_str(&p, t->data ? t->data : "{}");
    p_i64(&p, now);
    p_str(&p, t->owner);
    p_i64(&p, t->owner ? t->lease_until : 0);
    p_str(&p, t->job_id);
    if (begin(s, err) != 0)
        return -1;
    if (run(s,
            "INSERT INTO tasks(id, kind, instance, target, state, phase, not_before, maint_window, latest_start, "
            "options, data, created, updated, owner, lease_until, job_id) "
            "VALUES($1,$2,$3,$4,$5,$6,$7::bigint,$8,$9::bigint,$10,$11,$12::bigint,$12::bigint,$13,$14::bigint,$15)",
            &p, NULL, err, "adding a task") != 0) {
        rollback_quietly(s);
        if (unique_violation(s) && strcmp(s->constraint, "tasks_one_per_instance") == 0)
            return busy_instance_error(s, t->instance, err);
        if (strcmp(s->sqlstate, "23503") == 0) /* foreign key */
            return osm_err_set(err, OSM_ENOTFOUND, "state store %s: task %s names job '%s', which does not exist",
                               st->location, t->id, t->job_id ? t->job_id : "");
        return -1;
    }
    char msg[600];
    snprintf(msg, sizeof msg, "%s of %s%s%s", t->kind, t->instance, t->target ? " to " : "", t->target ? t->target : "");
    if (add_event(s, t->id, now, "submitted", msg, err) != 0 || commit_tx(s, err) != 0) {
        rollback_quietly(s);
        return -1;
    }
    return 0;
}

static int pg_get_task(struct osm_store *st, const char *id, struct osm_task *out, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    struct params p = {0};
    p_str(&p, id);
    PGresult *r;
    if (run(s, "SELECT " TASK_COLUMNS " FROM tasks WHERE id=$1", &p, &r, err, "reading a task") != 0)
        return -1;
    int found = PQntuples(r) == 1;
    if (found)
        row_to_task(r, 0, out);
    PQclear(r);
    if (!found)
        return osm_err_set(err, OSM_ENOTFOUND, "no task '%s' in %s (see `osmig tasks`)", id, st->location);
    return 0;
}

static int tasks_from(const PGresult *r, struct osm_task **out, size_t *n)
{
    int rows = PQntuples(r);
    *out = rows ? osm_xcalloc((size_t)rows, sizeof **out) : NULL;
    for (int i = 0; i < rows; i++)
        row_to_task(r, i, &(*out)[i]);
    *n = (size_t)rows;
    return 0;
}

static int pg_list_tasks(struct osm_store *st, struct osm_task **out, size_t *n, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    *out = NULL;
    *n = 0;
    PGresult *r;
    if (run(s, "SELECT " TASK_COLUMNS " FROM tasks ORDER BY created DESC, seq DESC", NULL, &r, err, "listing tasks") != 0)
        return -1;
    tasks_from(r, out, n);
    PQclear(r);
    return 0;
}

static int pg_commit(struct osm_store *st, const struct osm_task_change *ch, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    const struct osm_task *t = ch->task;
    int64_t now = osm_store_now();
    struct params p = {0};
    p_str(&p, t->id);
    p_str(&p, osm_task_state_name(t->state));
    p_str(&p, t->phase);
    p_i64(&p, t->step);
    p_i64(&p, t->attempted);
    p_i64(&p, t->changed);
    p_f64(&p, t->progress);
    p_str(&p, t->progress_msg);
    p_i64(&p, t->not_before);
    p_str(&p, t->window);
    p_i64(&p, t->latest_start);
    p_str(&p, t->snapshot_set);
    p_str(&p, t->error_code);
    p_str(&p, t->cause);
    p_str(&p, t->options ? t->options : "{}");
    p_str(&p, t->data ? t->data : "{}");
    p_i64(&p, now);
    p_i64(&p, ch->expect_state);
    p_str(&p, ch->expect_state >= 0 ? osm_task_state_name((enum osm_task_state)ch->expect_state) : "");
    p_i64(&p, ch->expect_rev);
    if (begin(s, err) != 0)
        return -1;
    PGresult *r;
    if (run(s,
            "UPDATE tasks SET state=$2, phase=$3, step=$4::int, attempted=$5::int, changed=$6::int, "
            "progress=$7::float8, progress_msg=$8, not_before=$9::bigint, maint_window=$10, latest_start=$11::bigint, "
            "snapshot_set=$12, error_code=$13, cause=$14, options=$15, data=$16, updated=$17::bigint, rev=rev+1 "
            "WHERE id=$1 AND ($18::int < 0 OR state=$19) AND ($20::bigint < 0 OR rev=$20::bigint)",
            &p, &r, err, "updating a task") != 0) {
        rollback_quietly(s);
        if (unique_violation(s) && strcmp(s->constraint, "tasks_one_per_instance") == 0)
            return busy_instance_error(s, t->instance, err);
        return -1;
    }
    int changed = strcmp(PQcmdTuples(r), "0") != 0;
    PQclear(r);
    if (!changed) {
        rollback_quietly(s);
        struct osm_task cur;
        if (pg_get_task(st, t->id, &cur, err) != 0)
            return -1; /* no such task */
        osm_task_free(&cur);
        return 1;
    }
    if ((ch->event_type && add_event(s, t->id, now, ch->event_type, ch->event_message, err) != 0) ||
        (ch->journal && add_journal(s, t->id, now, ch->journal, err) != 0) || commit_tx(s, err) != 0) {
        rollback_quietly(s);
        return -1;
    }
    return 0;
}

static int pg_list_events(struct osm_store *st, const char *id, struct osm_task_event **out, size_t *n,
                          struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    *out = NULL;
    *n = 0;
    struct params p = {0};
    p_str(&p, id);
    PGresult *r;
    if (run(s, "SELECT seq, at, type, message FROM task_events WHERE task_id=$1 ORDER BY seq", &p, &r, err,
            "reading the task history") != 0)
        return -1;
    int rows = PQntuples(r);
    *out = rows ? osm_xcalloc((size_t)rows, sizeof **out) : NULL;
    for (int i = 0; i < rows; i++) {
        struct osm_task_event *e = &(*out)[i];
        e->seq = get_i64(r, i, 0);
        e->at = get_i64(r, i, 1);
        e->type = get_dup(r, i, 2);
        e->message = get_dup(r, i, 3);
    }
    *n = (size_t)rows;
    PQclear(r);
    return 0;
}

static int pg_list_journal(struct osm_store *st, const char *id, struct osm_journal_entry **out, size_t *n,
                           struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    *out = NULL;
    *n = 0;
    struct params p = {0};
    p_str(&p, id);
    PGresult *r;
    if (run(s, "SELECT seq, at, step_index, step, what, result, detail FROM step_journal WHERE task_id=$1 ORDER BY seq",
            &p, &r, err, "reading the step journal") != 0)
        return -1;
    int rows = PQntuples(r);
    *out = rows ? osm_xcalloc((size_t)rows, sizeof **out) : NULL;
    for (int i = 0; i < rows; i++) {
        struct osm_journal_entry *j = &(*out)[i];
        j->seq = get_i64(r, i, 0);
        j->at = get_i64(r, i, 1);
        j->step_index = (int)get_i64(r, i, 2);
        j->step = get_dup(r, i, 3);
        j->what = get_dup(r, i, 4);
        j->result = get_dup(r, i, 5);
        j->detail = get_dup(r, i, 6);
    }
    *n = (size_t)rows;
    PQclear(r);
    return 0;
}

/* Free to take from `cur` (lease `lease`) at `now`: as in the SQLite store. */
static int free_to_take(const char *cur, int64_t lease, const char *owner, int64_t now)
{
    return !cur || strcmp(cur, owner) == 0 || osm_store_owner_dead(cur) ||
           (lease < now && !osm_store_owner_alive_here(cur));
}

static int pg_claim(struct osm_store *st, const char *id, const char *owner, int64_t lease_until, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    struct params p = {0};
    p_str(&p, id);
    PGresult *r;
    if (begin(s, err) != 0)
        return -1;
    if (run(s, "SELECT owner, lease_until FROM tasks WHERE id=$1 FOR UPDATE", &p, &r, err, "claiming a task") != 0)
        goto fail;
    if (PQntuples(r) != 1) {
        PQclear(r);
        osm_err_set(err, OSM_ENOTFOUND, "no task '%s' in %s", id, st->location);
        goto fail;
    }
    int take = free_to_take(PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0), get_i64(r, 0, 1), owner,
                            osm_store_now());
    PQclear(r);
    if (!take) {
        rollback_quietly(s);
        return 0;
    }
    p_str(&p, owner);
    p_i64(&p, lease_until);
    if (run(s, "UPDATE tasks SET owner=$2, lease_until=$3::bigint WHERE id=$1", &p, NULL, err, "claiming a task") != 0 ||
        commit_tx(s, err) != 0)
        goto fail;
    return 1;
fail:
    rollback_quietly(s);
    return -1;
}

static int pg_release(struct osm_store *st, const char *id, const char *owner, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    struct params p = {0};
    p_str(&p, id);
    p_str(&p, owner);
    return run(s, "UPDATE tasks SET owner=NULL, lease_until=0 WHERE id=$1 AND owner=$2", &p, NULL, err,
               "releasing a task");
}

/* ---- fleet: jobs ---- */

#define JOB_COLUMNS "seq, id, client_token, name, max_concurrency, max_errors, stop_reason, spec, created, updated, rev"

static int64_t row_to_job(const PGresult *r, int i, struct osm_job *j)
{
    osm_job_init(j);
    get_copy(r, i, 1, j->id, sizeof j->id);
    j->client_token = get_dup(r, i, 2);
    j->name = get_dup(r, i, 3);
    j->max_concurrency = get_dup(r, i, 4);
    j->max_errors = get_dup(r, i, 5);
    j->stop_reason = get_dup(r, i, 6);
    j->spec = get_dup(r, i, 7);
    j->created = get_i64(r, i, 8);
    j->updated = get_i64(r, i, 9);
    j->rev = get_i64(r, i, 10);
    return get_i64(r, i, 0);
}

/* 1 and job->id set when a job has this client token, 0 when none. */
static int find_token(struct pg_store *s, struct osm_job *job, struct osm_err *err)
{
    struct params p = {0};
    p_str(&p, job->client_token);
    PGresult *r;
    if (run(s, "SELECT id FROM jobs WHERE client_token=$1", &p, &r, err, "looking up a job's client token") != 0)
        return -1;
    int found = PQntuples(r) == 1;
    if (found)
        get_copy(r, 0, 0, job->id, sizeof job->id);
    PQclear(r);
    return found;
}

static int cmp_instance(const void *a, const void *b)
{
    const struct osm_task *const *x = a, *const *y = b;
    int c = strcmp((*x)->instance, (*y)->instance);
    return c ? c : ((*x) < (*y) ? -1 : (*x) > (*y));
}

/* An instance named twice in the job: refused before the server sees it. */
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

/* Tasks are inserted a chunk at a time, each chunk one statement over
 * arrays (unnest), so a job of thousands costs a few round trips. */
#define CREATE_CHUNK 5000
enum { A_ID, A_KIND, A_INSTANCE, A_TARGET, A_STATE, A_PHASE, A_NOT_BEFORE, A_WINDOW, A_LATEST, A_OPTIONS, A_DATA,
       A_OWNER, A_LEASE, A_NOTE, N_ARRAYS };

static int insert_task_chunk(struct pg_store *s, const char *job_id, int64_t now, struct osm_task *tasks, size_t n,
                             struct osm_err *err)
{
    struct osm_buf a[N_ARRAYS];
    for (int k = 0; k < N_ARRAYS; k++) {
        osm_buf_init(&a[k]);
        array_start(&a[k]);
    }
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
    struct params p = {0};
    for (int k = 0; k < N_ARRAYS; k++) {
        array_end(&a[k]);
        p_str(&p, a[k].s);
    }
    p_str(&p, job_id);
    p_i64(&p, now);
    /* The tasks and their "submitted" events in one statement. */
    int rc = run(s,
        "WITH ins AS (INSERT INTO tasks(id, kind, instance, target, state, phase, not_before, maint_window, "
        "latest_start, options, data, owner, lease_until, job_id, created, updated) "
        "SELECT u.id, u.kind, u.instance, u.target, u.state, u.phase, u.not_before, u.maint_window, u.latest_start, "
        "u.options, u.data, u.owner, u.lease_until, $15, $16::bigint, $16::bigint "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], "
        "$8::text[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::bigint[]) WITH ORDINALITY "
        "AS u(id, kind, instance, target, state, phase, not_before, maint_window, latest_start, options, data, owner, "
        "lease_until, ord) ORDER BY u.ord RETURNING id, kind, instance, target), "
        /* The schedule notes by id: RETURNING gives the columns of tasks only. */
        "notes AS (SELECT * FROM unnest($1::text[], $14::text[]) AS n(id, note)) "
        "INSERT INTO task_events(task_id, at, type, message) "
        "SELECT ins.id, $16::bigint, 'submitted', ins.kind || ' of ' || ins.instance || coalesce(' to ' || ins.target, '') "
        "|| coalesce('; ' || notes.note, '') FROM ins JOIN notes ON notes.id = ins.id",
        &p, NULL, err, "adding a job's tasks");
    for (int k = 0; k < N_ARRAYS; k++)
        osm_buf_free(&a[k]);
    return rc;
}

/* Before inserting: a task of another job or none that holds one of the
 * instances. 0 none, -1 with the conflict (or an error) in err. */
static int busy_instances(struct pg_store *s, struct osm_task *tasks, size_t n, const char *job_id, struct osm_err *err)
{
    struct osm_buf a;
    osm_buf_init(&a);
    array_start(&a);
    for (size_t i = 0; i < n; i++)
        array_elem(&a, tasks[i].instance);
    array_end(&a);
    struct params p = {0};
    p_str(&p, a.s);
    PGresult *r;
    int rc = run(s,
                 /* A join the planner can run as index probes or a hash join.
                  * No ORDER BY ... LIMIT: on a table without statistics yet
                  * that made it walk every task and compare each with the
                  * whole array. Usually no row comes back. */
                 "SELECT t.id, t.state, t.phase, t.job_id, t.instance FROM unnest($1::text[]) AS u(instance) "
                 "JOIN tasks t ON t.instance = u.instance WHERE t." HOLDS_INSTANCE,
                 &p, &r, err, "checking the job's instances");
    osm_buf_free(&a);
    if (rc != 0)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    char *instance = osm_xstrdup(PQgetvalue(r, 0, 4));
    busy_message(s, r, instance, job_id, err);
    free(instance);
    PQclear(r);
    return -1;
}

static int pg_create_job(struct osm_store *st, struct osm_job *job, struct osm_task *tasks, size_t n,
                         struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    int64_t now = osm_store_now();
    if (begin(s, err) != 0)
        return -1;
    if (job->client_token) {
        int found = find_token(s, job, err);
        if (found != 0) {
            rollback_quietly(s);
            return found;
        }
    }
    if (duplicate_instance(job->id, tasks, n, err) != 0) {
        rollback_quietly(s);
        return -1;
    }
    struct params p = {0};
    p_str(&p, job->id);
    p_str(&p, job->client_token);
    p_str(&p, job->name);
    p_str(&p, job->max_concurrency);
    p_str(&p, job->max_errors);
    p_str(&p, job->stop_reason);
    p_str(&p, job->spec ? job->spec : "{}");
    p_i64(&p, now);
    if (run(s,
            "INSERT INTO jobs(id, client_token, name, max_concurrency, max_errors, stop_reason, spec, created, updated) "
            "VALUES($1,$2,$3,$4,$5,$6,$7,$8::bigint,$8::bigint)", &p, NULL, err, "adding a job") != 0) {
        rollback_quietly(s);
        /* The same token created meanwhile by another request: that job. */
        if (unique_violation(s) && job->client_token && find_token(s, job, err) == 1)
            return 1;
        if (unique_violation(s))
            osm_err_set(err, OSM_ECONFLICT, "state store %s: a job with id %s exists", st->location, job->id);
        return -1;
    }
    if (busy_instances(s, tasks, n, job->id, err) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        osm_task_set_str(&tasks[i].job_id, job->id);
        tasks[i].created = tasks[i].updated = now;
    }
    for (size_t at = 0; at < n; at += CREATE_CHUNK) {
        size_t m = n - at < CREATE_CHUNK ? n - at : CREATE_CHUNK;
        if (insert_task_chunk(s, job->id, now, tasks + at, m, err) != 0) {
            if (unique_violation(s) && strcmp(s->constraint, "tasks_one_per_instance") == 0) {
                /* Another job took one of the instances meanwhile: name it. */
                rollback_quietly(s);
                struct osm_err e2 = OSM_ERR_INIT;
                if (busy_instances(s, tasks, n, NULL, &e2) != 0 && e2.code == OSM_ECONFLICT)
                    *err = e2;
                osm_err_prefix(err, "job %s", job->id);
                return -1;
            }
            goto fail;
        }
    }
    if (commit_tx(s, err) != 0)
        goto fail;
    /* Autovacuum would refresh the statistics within a minute; the
     * scheduler's next pass should not be planned for a table a tenth of
     * its size. Best effort. */
    struct osm_err ignored = OSM_ERR_INIT;
    if (n >= 10000)
        run(s, "ANALYZE tasks", NULL, NULL, &ignored, "refreshing statistics");
    job->created = job->updated = now;
    job->rev = 0;
    return 0;
fail:
    rollback_quietly(s);
    osm_err_prefix(err, "job %s", job->id);
    return -1;
}

static int pg_get_job(struct osm_store *st, const char *id, struct osm_job *out, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    struct params p = {0};
    p_str(&p, id);
    PGresult *r;
    if (run(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE id=$1", &p, &r, err, "reading a job") != 0)
        return -1;
    int found = PQntuples(r) == 1;
    if (found)
        row_to_job(r, 0, out);
    PQclear(r);
    if (!found)
        return osm_err_set(err, OSM_ENOTFOUND, "no job '%s' in %s", id, st->location);
    return 0;
}

/* Paging: one row more than asked says there is a next page. NULL: all. */
static void p_limit(struct params *p, size_t limit)
{
    if (limit)
        p_i64(p, (int64_t)limit + 1);
    else
        p_str(p, NULL);
}

static int pg_list_jobs(struct osm_store *st, int64_t after_seq, size_t limit, struct osm_job **out, size_t *n,
                        int64_t *next_seq, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    *out = NULL;
    *n = 0;
    *next_seq = 0;
    struct params p = {0};
    p_i64(&p, after_seq);
    p_limit(&p, limit);
    PGresult *r;
    if (run(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint", &p, &r, err,
            "listing jobs") != 0)
        return -1;
    size_t rows = (size_t)PQntuples(r);
    size_t keep = limit && rows > limit ? limit : rows;
    *out = keep ? osm_xcalloc(keep, sizeof **out) : NULL;
    int64_t last = 0;
    for (size_t i = 0; i < keep; i++)
        last = row_to_job(r, (int)i, &(*out)[i]);
    if (keep < rows)
        *next_seq = last;
    *n = keep;
    PQclear(r);
    return 0;
}

static int pg_set_job_stop(struct osm_store *st, const char *id, const char *reason, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    struct params p = {0};
    p_str(&p, id);
    p_str(&p, reason);
    p_i64(&p, osm_store_now());
    PGresult *r;
    if (run(s, "UPDATE jobs SET stop_reason=$2, updated=$3::bigint, rev=rev+1 WHERE id=$1", &p, &r, err,
            "setting a job's stop reason") != 0)
        return -1;
    int changed = strcmp(PQcmdTuples(r), "0") != 0;
    PQclear(r);
    if (!changed)
        return osm_err_set(err, OSM_ENOTFOUND, "no job '%s' in %s", id, st->location);
    return 0;
}

/* ---- fleet: task queries ---- */

static void regex_literal(struct osm_buf *b, char c)
{
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (unsigned char)c >= 0x80))
        osm_buf_addc(b, '\\'); /* a backslash before a non-alphanumeric character: that character */
    osm_buf_addc(b, c);
}

/* An fnmatch(3) pattern (flags 0: '*' and '?' also match '/', backslash
 * escapes, [!...] or [^...] negates) as an anchored PostgreSQL regular
 * expression, so that a key's scope filters in the query as the API's
 * fnmatch() would. A '[' without its ']' is a literal, as in fnmatch. */
static char *fnmatch_regex(const char *pat)
{
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_addc(&b, '^');
    for (const char *p = pat; *p; p++) {
        if (*p == '\\') {
            regex_literal(&b, p[1] ? *++p : '\\');
        } else if (*p == '*') {
            osm_buf_adds(&b, ".*");
        } else if (*p == '?') {
            osm_buf_addc(&b, '.');
        } else if (*p == '[') {
            const char *q = p + 1;
            if (*q == '!' || *q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']') {
                if (q[0] == '[' && q[1] == ':' && strstr(q + 2, ":]"))
                    q = strstr(q + 2, ":]") + 2;
                else if (q[0] == '\\' && q[1])
                    q += 2;
                else
                    q++;
            }
            if (!*q) {
                regex_literal(&b, '[');
                continue;
            }
            osm_buf_addc(&b, '[');
            const char *r = p + 1;
            if (*r == '!' || *r == '^') {
                osm_buf_addc(&b, '^');
                r++;
            }
            for (; r < q; r++) {
                if (r[0] == '[' && r[1] == ':') { /* a class, [:alpha:], as is */
                    const char *e = strstr(r + 2, ":]") + 2;
                    osm_buf_add(&b, r, (size_t)(e - r));
                    r = e - 1;
                } else if (r[0] == '\\' && r + 1 < q) {
                    regex_literal(&b, *++r);
                } else if (*r == '\\') {
                    osm_buf_adds(&b, "\\\\");
                } else {
                    osm_buf_addc(&b, *r);
                }
            }
            osm_buf_addc(&b, ']');
            p = q;
        } else {
            regex_literal(&b, *p);
        }
    }
    osm_buf_addc(&b, '$');
    return osm_buf_detach(&b);
}

static int pg_query_tasks(struct osm_store *st, const struct osm_task_filter *f, struct osm_task **out, size_t *n,
                          int64_t *next_seq, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    *out = NULL;
    *n = 0;
    *next_seq = 0;
    struct params p = {0};
    struct osm_buf sql, states;
    osm_buf_init(&sql);
    osm_buf_init(&states);
    /* Fixed fragments; each value is a numbered parameter. */
    osm_buf_adds(&sql, "SELECT " TASK_COLUMNS ", seq FROM tasks WHERE seq > $1::bigint");
    p_i64(&p, f->after_seq);
    if (f->n_states) {
        array_start(&states);
        for (size_t i = 0; i < f->n_states; i++)
            array_elem(&states, osm_task_state_name((enum osm_task_state)f->states[i]));
        array_end(&states);
        p_str(&p, states.s);
        osm_buf_addf(&sql, " AND state = ANY($%d::text[])", p.n);
    }
    if (f->instance) {
        p_str(&p, f->instance);
        osm_buf_addf(&sql, " AND instance = $%d", p.n);
    }
    if (f->target) {
        p_str(&p, f->target);
        osm_buf_addf(&sql, " AND target = $%d", p.n);
    }
    if (f->job_id) {
        p_str(&p, f->job_id);
        osm_buf_addf(&sql, " AND job_id = $%d", p.n);
    }
    if (f->created_from) {
        p_i64(&p, f->created_from);
        osm_buf_addf(&sql, " AND created >= $%d::bigint", p.n);
    }
    if (f->created_to) {
        p_i64(&p, f->created_to);
        osm_buf_addf(&sql, " AND created < $%d::bigint", p.n);
    }
    char *re = f->instance_pattern ? fnmatch_regex(f->instance_pattern) : NULL;
    if (re) {
        p_str(&p, re);
        osm_buf_addf(&sql, " AND instance ~ $%d", p.n);
    }
    p_limit(&p, f->limit);
    osm_buf_addf(&sql, " ORDER BY seq LIMIT $%d::bigint", p.n);
    PGresult *r;
    int rc = run(s, sql.s, &p, &r, err, "querying tasks");
    osm_buf_free(&sql);
    osm_buf_free(&states);
    free(re);
    if (rc != 0)
        return -1;
    size_t rows = (size_t)PQntuples(r);
    size_t keep = f->limit && rows > f->limit ? f->limit : rows;
    *out = keep ? osm_xcalloc(keep, sizeof **out) : NULL;
    for (size_t i = 0; i < keep; i++)
        row_to_task(r, (int)i, &(*out)[i]);
    if (keep < rows)
        *next_seq = get_i64(r, (int)keep - 1, 25);
    *n = keep;
    PQclear(r);
    return 0;
}

static int pg_count_tasks(struct osm_store *st, const char *job_id, struct osm_task_counts *out, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    memset(out, 0, sizeof *out);
    struct params p = {0};
    PGresult *r;
    int rc;
    if (job_id) {
        p_str(&p, job_id);
        rc = run(s, "SELECT state, count(*) FROM tasks WHERE job_id=$1 GROUP BY state", &p, &r, err, "counting tasks");
    } else {
        rc = run(s, "SELECT state, count(*) FROM tasks GROUP BY state", NULL, &r, err, "counting tasks");
    }
    if (rc != 0)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        int state = osm_task_state_parse(PQgetvalue(r, i, 0));
        if (state >= 0)
            out->by_state[state] += get_i64(r, i, 1);
    }
    PQclear(r);
    return 0;
}

/* The waiting tasks (all when now < 0, else those due by `now`). */
static int waiting_rows(struct osm_store *st, int64_t now, struct osm_waiting_task **out, size_t *n,
                        struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    *out = NULL;
    *n = 0;
    PGresult *r;
    struct params p = {0};
    p_i64(&p, now);
    if (run(s,
            now < 0 ? "SELECT id, job_id, maint_window, not_before, latest_start, created, state FROM tasks WHERE " WAITING
                      " ORDER BY seq"
                    : "SELECT id, job_id, maint_window, not_before, latest_start, created, state FROM tasks WHERE "
                      "state='submitted' OR (state='scheduled' AND not_before <= $1::bigint) OR "
                      "(state='scheduled' AND latest_start > 0 AND latest_start < $1::bigint) ORDER BY seq",
            now < 0 ? NULL : &p, &r, err, "listing waiting tasks") != 0)
        return -1;
    int rows = PQntuples(r);
    *out = rows ? osm_xcalloc((size_t)rows, sizeof **out) : NULL;
    for (int i = 0; i < rows; i++) {
        struct osm_waiting_task *w = &(*out)[i];
        get_copy(r, i, 0, w->id, sizeof w->id);
        w->job_id = get_dup(r, i, 1);
        w->window = get_dup(r, i, 2);
        w->not_before = get_i64(r, i, 3);
        w->latest_start = get_i64(r, i, 4);
        w->created = get_i64(r, i, 5);
        int state = osm_task_state_parse(PQgetvalue(r, i, 6));
        w->state = state < 0 ? OSM_TASK_SUBMITTED : state;
    }
    *n = (size_t)rows;
    PQclear(r);
    return 0;
}

static int pg_list_waiting(struct osm_store *st, struct osm_waiting_task **out, size_t *n, struct osm_err *err)
{
    return waiting_rows(st, -1, out, n, err);
}

static int pg_list_waiting_due(struct osm_store *st, int64_t now, struct osm_waiting_task **out, size_t *n,
                               struct osm_err *err)
{
    return waiting_rows(st, now < 0 ? 0 : now, out, n, err);
}

#define WAITING_COLUMNS "id, job_id, maint_window, not_before, latest_start, created, state, seq"
/* Startable: unclaimed (or its lease ran out), not of a stopped job, not of
 * a job the caller skips ($5, a JSON array); after the cursor, a seek of
 * tasks_startable (state, not_before, seq). */
#define STARTABLE_ROW                                                                                           \
    " AND (not_before, seq) > ($2::bigint, $3::bigint) AND (owner IS NULL OR lease_until < $1::bigint) AND "      \
    "(job_id IS NULL OR (NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id=tasks.job_id AND jobs.stop_reason IS NOT "   \
    "NULL) AND job_id NOT IN (SELECT jsonb_array_elements_text($5::jsonb))))"

static int pg_list_waiting_page(struct osm_store *st, int which, int64_t now, int64_t after_not_before,
                                int64_t after_seq, const char *skip_jobs, size_t limit, struct osm_waiting_task **out,
                                size_t *n, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    *out = NULL;
    *n = 0;
    struct params p = {0};
    int64_t lim = limit > INT64_MAX ? INT64_MAX : (int64_t)limit;
    p_i64(&p, now);
    const char *sql;
    switch (which) {
    case OSM_WAITING_STARTABLE:
        p_i64(&p, after_not_before);
        p_i64(&p, after_seq);
        p_i64(&p, lim);
        p_str(&p, skip_jobs ? skip_jobs : "[]");
        /* Each state's range of tasks_startable in order, merged. */
        sql = "(SELECT " WAITING_COLUMNS " FROM tasks WHERE state='submitted' AND not_before <= $1::bigint"
              STARTABLE_ROW " ORDER BY not_before, seq LIMIT $4::bigint) UNION ALL (SELECT " WAITING_COLUMNS
              " FROM tasks WHERE state='scheduled' AND not_before <= $1::bigint" STARTABLE_ROW
              " ORDER BY not_before, seq LIMIT $4::bigint) ORDER BY not_before, seq LIMIT $4::bigint";
        break;
    case OSM_WAITING_LATER:
        p_i64(&p, lim);
        sql = "SELECT " WAITING_COLUMNS " FROM tasks WHERE state='submitted' AND not_before > $1::bigint "
              "ORDER BY not_before, seq LIMIT $2::bigint";
        break;
    case OSM_WAITING_EXPIRED:
        p_i64(&p, lim);
        sql = "SELECT " WAITING_COLUMNS " FROM tasks WHERE " WAITING " AND latest_start > 0 AND latest_start < $1::bigint "
              "ORDER BY seq LIMIT $2::bigint";
        break;
    default:
        return osm_err_set(err, OSM_EUSAGE, "state store %s: no waiting page of kind %d", st->location, which);
    }
    PGresult *r;
    if (run(s, sql, &p, &r, err, "listing waiting tasks") != 0)
        return -1;
    int rows = PQntuples(r);
    *out = rows ? osm_xcalloc((size_t)rows, sizeof **out) : NULL;
    for (int i = 0; i < rows; i++) {
        struct osm_waiting_task *w = &(*out)[i];
        get_copy(r, i, 0, w->id, sizeof w->id);
        w->job_id = get_dup(r, i, 1);
        w->window = get_dup(r, i, 2);
        w->not_before = get_i64(r, i, 3);
        w->latest_start = get_i64(r, i, 4);
        w->created = get_i64(r, i, 5);
        int state = osm_task_state_parse(PQgetvalue(r, i, 6));
        w->state = state < 0 ? OSM_TASK_SUBMITTED : state;
        w->seq = get_i64(r, i, 7);
    }
    *n = (size_t)rows;
    PQclear(r);
    return 0;
}

/* ---- fleet: claims ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int pg_claim_waiting(struct osm_store *st, const char *job_id, const char *const *ids, size_t n_ids,
                            int max_running, const char *owner, int64_t lease_until, char (*claimed)[40],
                            size_t *n_claimed, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    *n_claimed = 0;
    if (n_ids == 0)
        return 0;
    int64_t now = osm_store_now();
    PGresult *r;
    if (begin(s, err) != 0)
        return -1;
    /* The job row's lock makes the count below hold until COMMIT: a second
     * worker waits here, then counts what the first claimed. */
    struct params pl = {0};
    if (job_id) {
        p_str(&pl, job_id);
        if (run(s, "SELECT 1 FROM jobs WHERE id=$1 FOR UPDATE", &pl, NULL, err, "locking a job") != 0)
            goto fail;
    } else if (run(s, "SELECT pg_advisory_xact_lock(" LOCK_NO_JOB ")", NULL, NULL, err, "locking tasks without a job") != 0) {
        goto fail;
    }
    int64_t room = -1;
    if (max_running >= 0) {
        struct params pc = {0};
        p_i64(&pc, now);
        if (job_id)
            p_str(&pc, job_id);
/* Two counts, each from an index (never the whole job): its running
 * tasks (tasks_by_job_state), and its claimed waiting ones (tasks_claimed). */
#define RUNNING_OR_CLAIMED(JOB)                                                                                  \
    "SELECT (SELECT count(*) FROM tasks WHERE " JOB " AND state IN ('running','rolling_back')) + "              \
    "(SELECT count(*) FROM tasks WHERE " JOB " AND owner IS NOT NULL AND " WAITING " AND lease_until >= $1::bigint)"
        if (run(s, job_id ? RUNNING_OR_CLAIMED("job_id=$2") : RUNNING_OR_CLAIMED("job_id IS NULL"),
                &pc, &r, err, "counting a job's running tasks") != 0)
            goto fail;
        room = max_running - get_i64(r, 0, 0);
        PQclear(r);
        if (room <= 0) {
            rollback_quietly(s);
            return 0;
        }
    }
    struct osm_buf a;
    osm_buf_init(&a);
    array_start(&a);
    for (size_t i = 0; i < n_ids; i++)
        array_elem(&a, ids[i]);
    array_end(&a);
    struct params p = {0};
    p_str(&p, a.s);
    p_i64(&p, now);
    p_str(&p, owner);
    p_i64(&p, lease_until);
    if (room >= 0)
        p_i64(&p, room);
    else
        p_str(&p, NULL);
    if (job_id)
        p_str(&p, job_id);
    /* In the caller's order; a row another transaction holds is skipped. */
    const char *sql = job_id
        ? "UPDATE tasks SET owner=$3, lease_until=$4::bigint WHERE id IN ("
          " SELECT t.id FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord) JOIN tasks t ON t.id = u.id"
          " WHERE t.job_id = $6 AND t." WAITING " AND (t.owner IS NULL OR t.lease_until < $2::bigint)"
          " ORDER BY u.ord LIMIT $5::bigint FOR UPDATE OF t SKIP LOCKED) RETURNING id"
        : "UPDATE tasks SET owner=$3, lease_until=$4::bigint WHERE id IN ("
          " SELECT t.id FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord) JOIN tasks t ON t.id = u.id"
          " WHERE t.job_id IS NULL AND t." WAITING " AND (t.owner IS NULL OR t.lease_until < $2::bigint)"
          " ORDER BY u.ord LIMIT $5::bigint FOR UPDATE OF t SKIP LOCKED) RETURNING id";
    int rc = run(s, sql, &p, &r, err, "claiming waiting tasks");
    osm_buf_free(&a);
    if (rc != 0)
        goto fail;
    if (commit_tx(s, err) != 0) {
        PQclear(r);
        goto fail;
    }
    /* RETURNING has no order: report the claimed ids in the caller's. */
    int rows = PQntuples(r);
    const char **got = osm_xcalloc(rows ? (size_t)rows : 1, sizeof *got);
    for (int i = 0; i < rows; i++)
        got[i] = PQgetvalue(r, i, 0);
    qsort(got, (size_t)rows, sizeof *got, cmp_str);
    for (size_t i = 0; i < n_ids && *n_claimed < (size_t)rows; i++)
        if (bsearch(&ids[i], got, (size_t)rows, sizeof *got, cmp_str))
            snprintf(claimed[(*n_claimed)++], 40, "%s", ids[i]);
    free(got);
    PQclear(r);
    return 0;
fail:
    rollback_quietly(s);
    return -1;
}

/* "HOST/" of this host's owners: their liveness is asked of the kernel. */
static void host_prefix(char *out, size_t size)
{
    const char *self = osm_store_self_owner();
    size_t n = strcspn(self, "/");
    snprintf(out, size, "%.*s/", (int)n, self);
}

static int pg_claim_orphans(struct osm_store *st, const char *owner, int64_t now, int64_t lease_until, size_t max,
                            char (*claimed)[40], size_t *n_claimed, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    *n_claimed = 0;
    if (max == 0)
        return 0;
    char prefix[300];
    host_prefix(prefix, sizeof prefix);
    struct params p = {0};
    p_i64(&p, now);
    p_str(&p, prefix);
    PGresult *r;
    if (begin(s, err) != 0)
        return -1;
    /* Candidates: lease run out, no owner, or an owner of this host (alive
     * or not is decided below). Rows another worker holds are skipped. */
    if (run(s,
            "SELECT id, owner, lease_until FROM tasks WHERE state IN ('running','rolling_back') AND "
            "(owner IS NULL OR lease_until < $1::bigint OR starts_with(owner, $2)) ORDER BY seq FOR UPDATE SKIP LOCKED",
            &p, &r, err, "finding orphaned tasks") != 0)
        goto fail;
    struct osm_buf a;
    osm_buf_init(&a);
    array_start(&a);
    size_t n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        const char *cur = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
        int64_t lease = get_i64(r, i, 2);
        if (cur && strcmp(cur, owner) == 0)
            continue;
        if (cur && !osm_store_owner_dead(cur) && (lease >= now || osm_store_owner_alive_here(cur)))
            continue;
        get_copy(r, i, 0, claimed[n], 40);
        array_elem(&a, claimed[n]);
        n++;
    }
    array_end(&a);
    PQclear(r);
    struct params pu = {0};
    p_str(&pu, a.s);
    p_str(&pu, owner);
    p_i64(&pu, lease_until);
    int rc = n ? run(s, "UPDATE tasks SET owner=$2, lease_until=$3::bigint WHERE id = ANY($1::text[])", &pu, NULL, err,
                     "claiming orphaned tasks")
               : 0;
    osm_buf_free(&a);
    if (rc != 0 || commit_tx(s, err) != 0)
        goto fail;
    *n_claimed = n;
    return 0;
fail:
    rollback_quietly(s);
    return -1;
}

/* ---- fleet: keys and nonces ---- */

static int pg_put_key(struct osm_store *st, const struct osm_key *k, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    struct params p = {0};
    p_str(&p, k->id);
    p_str(&p, k->role);
    p_str(&p, k->scope);
    p_str(&p, k->sealed_secret);
    p_i64(&p, k->created ? k->created : osm_store_now());
    p_i64(&p, k->disabled ? 1 : 0);
    if (run(s,
            "INSERT INTO api_keys(id, role, scope, sealed_secret, created, disabled) "
            "VALUES($1,$2,$3,$4,$5::bigint,$6::int)", &p, NULL, err, "adding a key") != 0) {
        if (unique_violation(s))
            return osm_err_set(err, OSM_ECONFLICT, "a key with id '%s' exists in %s", k->id, st->location);
        return -1;
    }
    return 0;
}

#define KEY_COLUMNS "id, role, scope, sealed_secret, created, disabled"

static void row_to_key(const PGresult *r, int i, struct osm_key *k)
{
    memset(k, 0, sizeof *k);
    get_copy(r, i, 0, k->id, sizeof k->id);
    k->role = get_dup(r, i, 1);
    k->scope = get_dup(r, i, 2);
    k->sealed_secret = get_dup(r, i, 3);
    k->created = get_i64(r, i, 4);
    k->disabled = (int)get_i64(r, i, 5);
}

static int pg_get_key(struct osm_store *st, const char *id, struct osm_key *out, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    struct params p = {0};
    p_str(&p, id);
    PGresult *r;
    if (run(s, "SELECT " KEY_COLUMNS " FROM api_keys WHERE id=$1", &p, &r, err, "reading a key") != 0)
        return -1;
    int found = PQntuples(r) == 1;
    if (found)
        row_to_key(r, 0, out);
    PQclear(r);
    if (!found)
        return osm_err_set(err, OSM_ENOTFOUND, "no key '%s' in %s", id, st->location);
    return 0;
}

static int pg_list_keys(struct osm_store *st, struct osm_key **out, size_t *n, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    *out = NULL;
    *n = 0;
    PGresult *r;
    /* COLLATE "C": the same order as SQLite's, whatever the database locale. */
    if (run(s, "SELECT " KEY_COLUMNS " FROM api_keys ORDER BY id COLLATE \"C\"", NULL, &r, err, "listing keys") != 0)
        return -1;
    int rows = PQntuples(r);
    *out = rows ? osm_xcalloc((size_t)rows, sizeof **out) : NULL;
    for (int i = 0; i < rows; i++)
        row_to_key(r, i, &(*out)[i]);
    *n = (size_t)rows;
    PQclear(r);
    return 0;
}

static int pg_delete_key(struct osm_store *st, const char *id, struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    struct params p = {0};
    p_str(&p, id);
    PGresult *r;
    if (run(s, "DELETE FROM api_keys WHERE id=$1", &p, &r, err, "deleting a key") != 0)
        return -1;
    int changed = strcmp(PQcmdTuples(r), "0") != 0;
    PQclear(r);
    if (!changed)
        return osm_err_set(err, OSM_ENOTFOUND, "no key '%s' in %s", id, st->location);
    return 0;
}

/* How often a connection forgets expired nonces (the upsert below treats an
 * expired row as new, so forgetting only bounds the table's size). */
#define NONCE_PURGE_EVERY 60

/* The nonce's commit does not wait for the WAL flush (synchronous_commit
 * off for this transaction only): the server crashing loses nothing, and a
 * crash of the database's machine may lose the last few nonces, whose
 * replay the date window bounds (docs/auth.md). */
static int pg_use_nonce(struct osm_store *st, const char *key_id, const char *nonce, int64_t expires, int64_t now,
                        struct osm_err *err)
{
    struct pg_store *s = (struct pg_store *)st;
    struct params pd = {0};
    p_i64(&pd, now);
    struct params p = {0};
    p_str(&p, key_id);
    p_str(&p, nonce);
    p_i64(&p, expires);
    p_i64(&p, now);
    PGresult *r;
    if (begin(s, err) != 0)
        return -1;
    if (run(s, "SET LOCAL synchronous_commit TO off", NULL, NULL, err, "recording a nonce") != 0)
        goto fail;
    if (now >= s->next_nonce_purge) {
        if (run(s, "DELETE FROM nonces WHERE expires < $1::bigint", &pd, NULL, err, "forgetting expired nonces") != 0)
            goto fail;
    }
    /* New, or there but expired (new again); a concurrent use of the same
     * nonce waits on the key and then changes nothing. */
    if (run(s,
            "INSERT INTO nonces(key_id, nonce, expires) VALUES($1,$2,$3::bigint) ON CONFLICT (key_id, nonce) "
            "DO UPDATE SET expires=excluded.expires WHERE nonces.expires < $4::bigint",
            &p, &r, err, "recording a nonce") != 0)
        goto fail;
    int fresh = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (commit_tx(s, err) != 0)
        goto fail;
    if (now >= s->next_nonce_purge)
        s->next_nonce_purge = now + NONCE_PURGE_EVERY;
    return fresh;
fail:
    rollback_quietly(s);
    return -1;
}

/* ---- open, close ---- */

static void pg_close(struct osm_store *st)
{
    struct pg_store *s = (struct pg_store *)st;
    if (s->conn)
        PQfinish(s->conn);
    free(st->location);
    free(s);
}

static const struct osm_store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .create_task = pg_create_task,
    .get_task = pg_get_task,
    .list_tasks = pg_list_tasks,
    .commit = pg_commit,
    .list_events = pg_list_events,
    .list_journal = pg_list_journal,
    .claim = pg_claim,
    .release = pg_release,
    .create_job = pg_create_job,
    .get_job = pg_get_job,
    .list_jobs = pg_list_jobs,
    .set_job_stop = pg_set_job_stop,
    .query_tasks = pg_query_tasks,
    .count_tasks = pg_count_tasks,
    .list_waiting = pg_list_waiting,
    .list_waiting_due = pg_list_waiting_due,
    .list_waiting_page = pg_list_waiting_page,
    .claim_waiting = pg_claim_waiting,
    .claim_orphans = pg_claim_orphans,
    .put_key = pg_put_key,
    .get_key = pg_get_key,
    .list_keys = pg_list_keys,
    .delete_key = pg_delete_key,
    .use_nonce = pg_use_nonce,
};

char *osm_store_pg_redact(const char *url)
{
    struct osm_buf b;
    osm_buf_init(&b);
    const char *scheme = strstr(url, "://");
    const char *rest = scheme ? scheme + 3 : url;
    osm_buf_add(&b, url, (size_t)(rest - url));
    /* userinfo: up to an '@' before the path or query */
    size_t auth_len = strcspn(rest, "/?#");
    const char *at = memchr(rest, '@', auth_len);
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        osm_buf_add(&b, rest, (size_t)((colon ? colon : at) - rest));
        rest = at;
    }
    const char *q = strchr(rest, '?');
    osm_buf_add(&b, rest, q ? (size_t)(q - rest) : strlen(rest));
    if (q) {
        /* keep every parameter but password= */
        const char *p = q + 1;
        char sep = '?';
        while (*p) {
            size_t len = strcspn(p, "&");
            if (!(len >= 9 && strncmp(p, "password=", 9) == 0)) {
                osm_buf_addc(&b, sep);
                osm_buf_add(&b, p, len);
                sep = '&';
            }
            p += len;
            if (*p == '&')
                p++;
        }
    }
    return osm_buf_detach(&b);
}

static void no_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int connect_url(const char *url, const char *location, PGconn **out, struct osm_err *err)
{
    PGconn *conn = PQconnectdb(url);
    if (!conn)
        return osm_err_set(err, OSM_EIO, "state store %s: cannot connect: out of memory", location);
    if (PQstatus(conn) != CONNECTION_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
        msg[strcspn(msg, "\n")] = '\0';
        PQfinish(conn);
        return osm_err_set(err, OSM_EIO, "state store %s: cannot connect: %s", location, msg);
    }
    PQsetNoticeProcessor(conn, no_notices, NULL);
    *out = conn;
    return 0;
}

int osm_store_pg_open(const char *url, struct osm_store **out, struct osm_err *err)
{
    *out = NULL;
    struct pg_store *s = osm_xcalloc(1, sizeof *s);
    s->base.ops = &pg_ops;
    s->base.location = osm_store_pg_redact(url);
    if (connect_url(url, s->base.location, &s->conn, err) != 0 || migrate(s, err) != 0) {
        pg_close(&s->base);
        return -1;
    }
    *out = &s->base;
    return 0;
}

int osm_store_pg_schema_latest(void)
{
    return N_MIGRATIONS;
}

void *osm_store_pg_handle(struct osm_store *st)
{
    return st && st->ops == &pg_ops ? ((struct pg_store *)st)->conn : NULL;
}

int osm_store_pg_exec_raw(struct osm_store *st, const char *sql, char *msg, size_t size)
{
    msg[0] = '\0';
    PGconn *conn = osm_store_pg_handle(st);
    if (!conn) {
        snprintf(msg, size, "not a PostgreSQL store");
        return -1;
    }
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st2 = PQresultStatus(r);
    int rc = st2 == PGRES_COMMAND_OK || st2 == PGRES_TUPLES_OK ? 0 : -1;
    if (rc != 0)
        snprintf(msg, size, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

int osm_store_pg_reset(const char *url, int drop, struct osm_err *err)
{
    char *location = osm_store_pg_redact(url);
    PGconn *conn;
    int rc = connect_url(url, location, &conn, err);
    if (rc != 0) {
        free(location);
        return -1;
    }
    if (!drop) {
        /* Rows only, when the schema is this program's: the append-only
         * triggers are bypassed for this session (replica role) alone. */
        PGresult *r = PQexec(conn, "SELECT max(version) FROM schema_version");
        int latest = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) &&
                     atoi(PQgetvalue(r, 0, 0)) == N_MIGRATIONS;
        PQclear(r);
        if (latest) {
            r = PQexec(conn, "SET session_replication_role = replica;"
                             "TRUNCATE task_events, step_journal, tasks, jobs, api_keys, nonces RESTART IDENTITY");
            drop = PQresultStatus(r) != PGRES_COMMAND_OK;
            PQclear(r);
        } else {
            drop = 1;
        }
    }
    if (drop) {
        PGresult *r = PQexec(conn,
            "DROP TABLE IF EXISTS task_events, step_journal, tasks, jobs, api_keys, nonces, schema_version CASCADE;"
            "DROP FUNCTION IF EXISTS osmig_append_only() CASCADE");
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = osm_err_set(err, OSM_EIO, "state store %s: dropping osmig's tables: %s", location,
                             PQresultErrorMessage(r));
        PQclear(r);
    }
    PQfinish(conn);
    free(location);
    return rc;
}
