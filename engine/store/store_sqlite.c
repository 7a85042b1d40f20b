/* store_sqlite.c: the SQLite task store (see store.h).
 *
 * WAL mode with a busy timeout so that several osmig processes can share the
 * file; synchronous=FULL because a recorded intent or outcome must survive a
 * crash of the machine, not only of the process (request nonces excepted:
 * sq_use_nonce). The schema is versioned:
 * `migrations` below is append-only, each entry runs in one transaction that
 * also bumps schema_version, so a store is always at exactly one version. */
#include <fnmatch.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_hash.h"
#include "sqlite_group.h"
#include "store.h"
#include "store_sqlite.h"
#include "osm_log.h"

/* Prepared statements are kept, keyed by the address of their (static) SQL
 * text: parsing them again for every record cost a third of a record. */
#define STMT_CACHE 64
struct cached_stmt {
    const char *sql;
    sqlite3_stmt *stmt;
    int in_use;
};

/* query_tasks builds its SQL from fixed fragments, one text per combination
 * of filters; each text is kept so that its address keys the cache above. */
#define QUERY_SHAPES 64
struct sqlite_store {
    struct osm_store base;
    sqlite3 *db;
    struct cached_stmt cache[STMT_CACHE];
    char *query_sql[QUERY_SHAPES][OSM_TASK_N_STATES + 1];
    int64_t next_nonce_purge;  /* when use_nonce next forgets expired nonces */
    struct osm_sqlite_group *group; /* writes of this process to the file, committed together */
    struct osm_sqlite_conn conn;
    int64_t keys_gen;          /* the generation of the keys read in batch keys_gen_batch (-1: none) */
    unsigned long long keys_gen_batch;
    int last_fail;             /* SQLite result code of the last db_fail (open's retry reads it) */
    int version;               /* the schema version it was opened at */
    int is_writer;             /* the group's own connection (no reference to the group) */
    int writer_asked;          /* this handle has made sure its group has one */
    struct staged_nonce {      /* a request's nonce for the next write (stage_nonce) */
        int staged;
        int outcome;           /* NONCE_PENDING, OSM_NONCE_*, or -1 (failed: err) */
        char *nonce;
        int64_t expires, now, keys_gen;
        struct osm_key key;
        struct osm_err err;
    } nonce;
};
#define NONCE_PENDING (-2)

/* The states that hold their instance, as a condition that must agree with
 * osm_task_state_holds_instance(). Written with <> rather than NOT IN (...):
 * SQLite builds a temporary table for an IN list every time it evaluates it,
 * which on every task update cost more than the update itself. */
#define HOLDS_INSTANCE "state<>'succeeded' AND state<>'failed' AND state<>'rolled_back' AND state<>'cancelled' AND state<>'expired'"

/* Waiting to start, written exactly so in the partial index tasks_waiting and
 * in the queries that should use it (SQLite matches the text of the term). */
#define WAITING "(state='submitted' OR state='scheduled')"

static const char *const migrations[] = {
    /* 1: tasks and their history. */
    "CREATE TABLE tasks("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL,"
    "  instance TEXT NOT NULL,"
    "  target TEXT,"
    "  state TEXT NOT NULL,"
    "  phase TEXT NOT NULL,"
    "  progress REAL NOT NULL DEFAULT 0,"
    "  error_code TEXT,"
    "  cause TEXT,"
    "  options TEXT NOT NULL DEFAULT '{}',"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX tasks_one_per_instance ON tasks(instance) WHERE " HOLDS_INSTANCE ";"
    "CREATE TABLE task_events("
    "  seq INTEGER PRIMARY KEY,"
    "  task_id TEXT NOT NULL REFERENCES tasks(id),"
    "  at INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  message TEXT);"
    "CREATE INDEX task_events_by_task ON task_events(task_id, seq);"
    "CREATE TRIGGER task_events_no_update BEFORE UPDATE ON task_events"
    "  BEGIN SELECT RAISE(ABORT, 'task history is append-only'); END;"
    "CREATE TRIGGER task_events_no_delete BEFORE DELETE ON task_events"
    "  BEGIN SELECT RAISE(ABORT, 'task history is append-only'); END;",

    /* 2: the phase runner: step position, schedule, snapshot set, step notes,
     * claims, and the step journal. */
    "ALTER TABLE tasks ADD COLUMN step INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tasks ADD COLUMN attempted INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tasks ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tasks ADD COLUMN progress_msg TEXT;"
    "ALTER TABLE tasks ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tasks ADD COLUMN maint_window TEXT;"
    "ALTER TABLE tasks ADD COLUMN latest_start INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tasks ADD COLUMN snapshot_set TEXT;"
    "ALTER TABLE tasks ADD COLUMN data TEXT NOT NULL DEFAULT '{}';"
    "ALTER TABLE tasks ADD COLUMN owner TEXT;"
    "ALTER TABLE tasks ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tasks ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX tasks_by_state ON tasks(state);"
    "CREATE TABLE step_journal("
    "  seq INTEGER PRIMARY KEY,"
    "  task_id TEXT NOT NULL REFERENCES tasks(id),"
    "  at INTEGER NOT NULL,"
    "  step_index INTEGER NOT NULL,"
    "  step TEXT NOT NULL,"
    "  what TEXT NOT NULL CHECK (what IN ('intent','outcome')),"
    "  result TEXT,"
    "  detail TEXT);"
    "CREATE INDEX step_journal_by_task ON step_journal(task_id, seq);"
    "CREATE TRIGGER step_journal_no_update BEFORE UPDATE ON step_journal"
    "  BEGIN SELECT RAISE(ABORT, 'step journal is append-only'); END;"
    "CREATE TRIGGER step_journal_no_delete BEFORE DELETE ON step_journal"
    "  BEGIN SELECT RAISE(ABORT, 'step journal is append-only'); END;",

    /* 3: the fleet: jobs of many tasks, access keys, request nonces, and the
     * indexes that page the task list by seq under filters. In SQLite an
     * index ends with the rowid (seq), so tasks_by_job is (job_id, seq). */
    "CREATE TABLE jobs("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  client_token TEXT,"
    "  name TEXT,"
    "  max_concurrency TEXT,"
    "  max_errors TEXT,"
    "  stop_reason TEXT,"
    "  spec TEXT NOT NULL DEFAULT '{}',"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  rev INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX jobs_by_token ON jobs(client_token) WHERE client_token IS NOT NULL;"
    "ALTER TABLE tasks ADD COLUMN job_id TEXT REFERENCES jobs(id);"
    /* The scheduler's read of tasks due by a time (list_waiting_due). */
    "CREATE INDEX tasks_due ON tasks(state, not_before) WHERE " WAITING ";"
    "CREATE INDEX tasks_expiring ON tasks(state, latest_start) WHERE " WAITING " AND latest_start > 0;"
    "CREATE INDEX tasks_by_job ON tasks(job_id);"
    "CREATE INDEX tasks_by_job_state ON tasks(job_id, state);"
    "CREATE INDEX tasks_by_instance ON tasks(instance);"
    "CREATE INDEX tasks_waiting ON tasks(seq) WHERE " WAITING ";"
    "CREATE INDEX tasks_claimed ON tasks(job_id) WHERE owner IS NOT NULL AND " WAITING ";"
    "CREATE TABLE api_keys("
    "  id TEXT PRIMARY KEY,"
    "  role TEXT NOT NULL,"
    "  scope TEXT,"
    "  sealed_secret TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE nonces("
    "  key_id TEXT NOT NULL,"
    "  nonce TEXT NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  PRIMARY KEY(key_id, nonce)) WITHOUT ROWID;"
    "CREATE INDEX nonces_by_expiry ON nonces(expires);",

    /* 4: the generation of the access keys, bumped by every change of a key,
     * so that a server may keep key rows in memory and check them with the
     * nonce it writes anyway (use_nonce_gen). */
    "CREATE TABLE keys_generation(n INTEGER NOT NULL);"
    "INSERT INTO keys_generation VALUES(0);"
    "CREATE TRIGGER api_keys_gen_insert AFTER INSERT ON api_keys BEGIN UPDATE keys_generation SET n=n+1; END;"
    "CREATE TRIGGER api_keys_gen_update AFTER UPDATE ON api_keys BEGIN UPDATE keys_generation SET n=n+1; END;"
    "CREATE TRIGGER api_keys_gen_delete AFTER DELETE ON api_keys BEGIN UPDATE keys_generation SET n=n+1; END;",

    /* 5: a nonce as a 64-bit hash of its key and text (osm_nonce_hash), the
     * rowid: rows of some 20 bytes instead of 70, so the random page each
     * new nonce lands in is one of a quarter as many, and a checkpoint
     * copies fewer of them. The live nonces are kept. */
    "CREATE TABLE nonce_seen(h INTEGER PRIMARY KEY, expires INTEGER NOT NULL);"
    "CREATE INDEX nonce_seen_by_expiry ON nonce_seen(expires);"
    "INSERT OR IGNORE INTO nonce_seen SELECT osm_nonce_hash(key_id, nonce), expires FROM nonces;"
    "DROP TABLE nonces;",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static int db_fail(struct osm_store *st, sqlite3 *db, struct osm_err *err, const char *what)
{
    int code = sqlite3_extended_errcode(db);
    ((struct sqlite_store *)st)->last_fail = code;
    int ecode = OSM_EIO;
    const char *hint = "";
    switch (code & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        ecode = OSM_EINPUT;
        hint = " (the file is not an intact osmig store: move it aside to start afresh, or restore it from a backup)";
        break;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
        hint = " (osmig needs to write the file and its directory: check permissions, or use --state-dir)";
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        hint = " (another osmig holds the store for too long)";
        break;
    case SQLITE_FULL:
        hint = " (the disk is full)";
        break;
    }
    return osm_err_set(err, ecode, "state store %s: %s: %s%s", st->location, what, sqlite3_errmsg(db), hint);
}

static int exec(struct sqlite_store *s, const char *sql, struct osm_err *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(&s->base, s->db, err, sql[0] == 'B' || sql[0] == 'C' || sql[0] == 'R' ? sql : "updating the schema");
    return 0;
}

static void rollback_quietly(struct sqlite_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static sqlite3_stmt *prepare(struct sqlite_store *s, const char *sql, struct osm_err *err)
{
    struct cached_stmt *slot = NULL;
    for (int i = 0; i < STMT_CACHE; i++) {
        struct cached_stmt *c = &s->cache[i];
        if (c->sql == sql && !c->in_use) {
            c->in_use = 1;
            return c->stmt;
        }
        if (!c->sql && !slot)
            slot = c;
    }
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, slot ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, NULL) != SQLITE_OK) {
        db_fail(&s->base, s->db, err, "preparing a query");
        return NULL;
    }
    if (slot) {
        slot->sql = sql;
        slot->stmt = stmt;
        slot->in_use = 1;
    }
    return stmt;
}

/* Give a statement from prepare() back. */
static void done(struct sqlite_store *s, sqlite3_stmt *stmt)
{
    for (int i = 0; i < STMT_CACHE; i++)
        if (s->cache[i].stmt == stmt) {
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
            s->cache[i].in_use = 0;
            return;
        }
    sqlite3_finalize(stmt);
}

static void bind_text(sqlite3_stmt *stmt, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(stmt, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, i);
}

static char *col_dup(sqlite3_stmt *stmt, int i)
{
    const unsigned char *t = sqlite3_column_text(stmt, i);
    return t ? osm_xstrdup((const char *)t) : NULL;
}

static void col_copy(sqlite3_stmt *stmt, int i, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(stmt, i);
    snprintf(dst, size, "%s", t ? (const char *)t : "");
}

/* ---- schema ---- */

static int schema_version(struct sqlite_store *s, int *version, struct osm_err *err)
{
    *version = 0;
    sqlite3_stmt *stmt = prepare(s, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_version'", err);
    if (!stmt)
        return -1;
    int rc = sqlite3_step(stmt);
    int have = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
    done(s, stmt);
    if (rc != SQLITE_ROW)
        return db_fail(&s->base, s->db, err, "reading the schema");
    if (!have) {
        /* A database with tables but no schema_version is someone else's. */
        stmt = prepare(s, "SELECT count(*) FROM sqlite_master", err);
        if (!stmt)
            return -1;
        rc = sqlite3_step(stmt);
        int others = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
        done(s, stmt);
        if (others)
            return osm_err_set(err, OSM_EINPUT,
                               "state store %s: this SQLite database is not an osmig store (no schema_version table); "
                               "point --state-dir elsewhere", s->base.location);
        return 0;
    }
    stmt = prepare(s, "SELECT max(version) FROM schema_version", err);
    if (!stmt)
        return -1;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(stmt, 0);
    done(s, stmt);
    if (rc != SQLITE_ROW)
        return db_fail(&s->base, s->db, err, "reading the schema version");
    return 0;
}

static int migrate(struct sqlite_store *s, int target, struct osm_err *err)
{
    int version;
    if (exec(s, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    if (schema_version(s, &version, err) != 0)
        goto fail;
    if (version > N_MIGRATIONS) {
        osm_err_set(err, OSM_EUNSUPPORTED,
                    "state store %s: schema version %d is newer than this osmig knows (%d); use a newer osmig",
                    s->base.location, version, N_MIGRATIONS);
        goto fail;
    }
    if (version == 0 && exec(s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)", err) != 0)
        goto fail;
    if (exec(s, "COMMIT", err) != 0)
        goto fail;
    /* One transaction per migration: a crash leaves the store at a version. */
    for (int v = version + 1; v <= target; v++) {
        char bump[96];
        snprintf(bump, sizeof bump, "DELETE FROM schema_version; INSERT INTO schema_version VALUES(%d)", v);
        if (exec(s, "BEGIN IMMEDIATE", err) != 0)
            return -1;
        int cur;
        if (schema_version(s, &cur, err) != 0)
            goto fail;
        if (cur >= v) { /* another process migrated meanwhile */
            exec(s, "COMMIT", err);
            continue;
        }
        if (sqlite3_exec(s->db, migrations[v - 1], NULL, NULL, NULL) != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof what, "migrating the schema to version %d", v);
            db_fail(&s->base, s->db, err, what);
            goto fail;
        }
        if (exec(s, bump, err) != 0 || exec(s, "COMMIT", err) != 0)
            goto fail;
    }
    return 0;
fail:
    rollback_quietly(s);
    return -1;
}

/* ---- tasks ---- */

#define TASK_COLUMNS                                                                                          \
    "id, kind, instance, target, state, phase, step, attempted, changed, progress, progress_msg, not_before, " \
    "maint_window, latest_start, snapshot_set, error_code, cause, created, updated, options, data, owner, lease_until, rev, " \
    "job_id"

/* ---- reading rows into lists ---- */

/* Step `stmt` to its end, each row read by `read` into a new element of a
 * growing array of `size`-byte elements; on an error the rows read so far
 * are freed with `free_list` and the error names `what`. Ends `stmt`. */
static int collect_rows(struct osm_store *st, sqlite3_stmt *stmt, void **out, size_t *n, size_t size,
                        void (*read)(sqlite3_stmt *stmt, void *elem), void (*free_list)(void *list, size_t n),
                        const char *what, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    char *v = NULL;
    size_t cap = 0;
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            v = osm_xrealloc(v, cap * size);
        }
        memset(v + *n * size, 0, size);
        read(stmt, v + (*n)++ * size);
    }
    done(s, stmt);
    *out = v;
    if (rc != SQLITE_DONE) {
        free_list(v, *n);
        *out = NULL;
        *n = 0;
        return db_fail(st, s->db, err, what);
    }
    return 0;
}

static void row_to_task(sqlite3_stmt *stmt, struct osm_task *t)
{
    osm_task_init(t);
    col_copy(stmt, 0, t->id, sizeof t->id);
    col_copy(stmt, 1, t->kind, sizeof t->kind);
    t->instance = col_dup(stmt, 2);
    t->target = col_dup(stmt, 3);
    int st = osm_task_state_parse((const char *)sqlite3_column_text(stmt, 4));
    t->state = st < 0 ? OSM_TASK_FAILED : (enum osm_task_state)st;
    col_copy(stmt, 5, t->phase, sizeof t->phase);
    t->step = sqlite3_column_int(stmt, 6);
    t->attempted = sqlite3_column_int(stmt, 7);
    t->changed = sqlite3_column_int(stmt, 8);
    t->progress = sqlite3_column_double(stmt, 9);
    t->progress_msg = col_dup(stmt, 10);
    t->not_before = sqlite3_column_int64(stmt, 11);
    t->window = col_dup(stmt, 12);
    t->latest_start = sqlite3_column_int64(stmt, 13);
    t->snapshot_set = col_dup(stmt, 14);
    t->error_code = col_dup(stmt, 15);
    t->cause = col_dup(stmt, 16);
    t->created = sqlite3_column_int64(stmt, 17);
    t->updated = sqlite3_column_int64(stmt, 18);
    t->options = col_dup(stmt, 19);
    t->data = col_dup(stmt, 20);
    t->owner = col_dup(stmt, 21);
    t->lease_until = sqlite3_column_int64(stmt, 22);
    t->rev = sqlite3_column_int64(stmt, 23);
    t->job_id = col_dup(stmt, 24);
}

static void read_task(sqlite3_stmt *stmt, void *elem)
{
    row_to_task(stmt, elem);
}

static void free_tasks(void *list, size_t n)
{
    osm_task_list_free(list, n);
}

/* The task that holds `instance`, for the one-task-per-instance error.
 * `job_id`: the job being created, to tell a job that names an instance twice. */
static int busy_instance_error(struct sqlite_store *s, const char *instance, const char *job_id, struct osm_err *err)
{
    sqlite3_stmt *stmt = prepare(s, "SELECT id, state, phase, job_id FROM tasks WHERE instance=?1 AND " HOLDS_INSTANCE, err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, instance);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(stmt, 0);
        const char *state = (const char *)sqlite3_column_text(stmt, 1);
        const char *phase = (const char *)sqlite3_column_text(stmt, 2);
        const char *holder_job = (const char *)sqlite3_column_text(stmt, 3);
        if (job_id && holder_job && strcmp(job_id, holder_job) == 0)
            osm_err_set(err, OSM_ECONFLICT, "instance %s appears more than once in job %s (first as task %s)",
                        instance, job_id, id);
        else if (state && strcmp(state, "rollback_failed") == 0)
            osm_err_set(err, OSM_ECONFLICT,
                        "instance %s is held by task %s, whose rollback failed: a person must restore the instance "
                        "(see `osmig task show %s`) and then roll it back with `osmig rollback %s`",
                        instance, id, id, id);
        else
            osm_err_set(err, OSM_ECONFLICT,
                        "instance %s already has an unfinished task %s (state %s, phase %s): wait for it, "
                        "or cancel it with `osmig cancel %s`", instance, id, state, phase, id);
    } else {
        osm_err_set(err, OSM_ECONFLICT, "instance %s already has an unfinished task (or a task id was taken)", instance);
    }
    done(s, stmt);
    return -1;
}

static int add_event(struct sqlite_store *s, const char *id, int64_t at, const char *type, const char *msg,
                     struct osm_err *err)
{
    sqlite3_stmt *stmt = prepare(s, "INSERT INTO task_events(task_id, at, type, message) VALUES(?1, ?2, ?3, ?4)", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, at);
    bind_text(stmt, 3, type);
    bind_text(stmt, 4, msg);
    int rc = sqlite3_step(stmt);
    done(s, stmt);
    return rc == SQLITE_DONE ? 0 : db_fail(&s->base, s->db, err, "appending to the task history");
}

static int add_journal(struct sqlite_store *s, const char *id, int64_t at, const struct osm_journal_entry *j,
                       struct osm_err *err)
{
    sqlite3_stmt *stmt = prepare(s,
                                 "INSERT INTO step_journal(task_id, at, step_index, step, what, result, detail) "
                                 "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, at);
    sqlite3_bind_int(stmt, 3, j->step_index);
    bind_text(stmt, 4, j->step);
    bind_text(stmt, 5, j->what);
    bind_text(stmt, 6, j->result);
    bind_text(stmt, 7, j->detail);
    int rc = sqlite3_step(stmt);
    done(s, stmt);
    return rc == SQLITE_DONE ? 0 : db_fail(&s->base, s->db, err, "appending to the step journal");
}

/* Insert one task row and its "submitted" event, inside the caller's
 * transaction. A busy instance (or a second task of one job on the same
 * instance) is reported before the caller rolls back, while the holder is
 * still visible. */
static int insert_task(struct sqlite_store *s, struct osm_task *t, int64_t now, struct osm_err *err)
{
    t->created = t->updated = now;
    sqlite3_stmt *stmt = prepare(s,
        "INSERT INTO tasks(id, kind, instance, target, state, phase, progress, not_before, maint_window, "
        "latest_start, options, data, created, updated, owner, lease_until, job_id) "
        "VALUES(?1,?2,?3,?4,?5,?6,0,?7,?8,?9,?10,?11,?12,?12,?13,?14,?15)", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, t->id);
    bind_text(stmt, 2, t->kind);
    bind_text(stmt, 3, t->instance);
    bind_text(stmt, 4, t->target);
    bind_text(stmt, 5, osm_task_state_name(t->state));
    bind_text(stmt, 6, t->phase[0] ? t->phase : osm_task_state_name(t->state));
    sqlite3_bind_int64(stmt, 7, t->not_before);
    bind_text(stmt, 8, t->window);
    sqlite3_bind_int64(stmt, 9, t->latest_start);
    bind_text(stmt, 10, t->options ? t->options : "{}");
    bind_text(stmt, 11, t->data ? t->data : "{}");
    sqlite3_bind_int64(stmt, 12, now);
    bind_text(stmt, 13, t->owner);
    sqlite3_bind_int64(stmt, 14, t->owner ? t->lease_until : 0);
    bind_text(stmt, 15, t->job_id);
    int rc = sqlite3_step(stmt);
    done(s, stmt);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        /* Either the instance is busy or (one in 2^48) the id is taken. */
        return busy_instance_error(s, t->instance, t->job_id, err);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return osm_err_set(err, OSM_ENOTFOUND, "state store %s: task %s names job '%s', which does not exist",
                           s->base.location, t->id, t->job_id ? t->job_id : "");
    if (rc != SQLITE_DONE)
        return db_fail(&s->base, s->db, err, "adding a task");
    char msg[900];
    int scheduled = t->state == OSM_TASK_SCHEDULED && t->progress_msg;
    snprintf(msg, sizeof msg, "%s of %s%s%s%s%s", t->kind, t->instance, t->target ? " to " : "", t->target ? t->target : "",
             scheduled ? "; " : "", scheduled ? t->progress_msg : "");
    return add_event(s, t->id, now, "submitted", msg, err);
}

static int staged_write(struct sqlite_store *s, osm_sqlite_write_fn fn, void *arg, int durable, struct osm_err *err);
static void ensure_writer(struct sqlite_store *s);

/* Every write of the store goes through group_write(): the function runs in
 * a batch transaction (sqlite_group.h) on whichever connection leads it,
 * after the staged nonce when there is one. */
static int group_write(struct sqlite_store *s, osm_sqlite_write_fn fn, void *arg, int durable, struct osm_err *err)
{
    if (!s->writer_asked)
        ensure_writer(s);
    if (s->nonce.staged)
        return staged_write(s, fn, arg, durable, err);
    return osm_sqlite_group_run(s->group, &s->conn, fn, arg, durable, err);
}

static int create_task_w(void *conn, void *arg, struct osm_err *err)
{
    return insert_task(conn, arg, osm_store_now(), err);
}

static int sq_create_task(struct osm_store *st, struct osm_task *t, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    if (!t->id[0])
        osm_store_new_id("t", t->id);
    if (!t->instance || !t->kind[0])
        return osm_err_set(err, OSM_EUSAGE, "a task needs a kind and an instance");
    return group_write(s, create_task_w, t, 1, err);
}

static int sq_get_task(struct osm_store *st, const char *id, struct osm_task *out, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    sqlite3_stmt *stmt = prepare(s, "SELECT " TASK_COLUMNS " FROM tasks WHERE id=?1", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        row_to_task(stmt, out);
    done(s, stmt);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return osm_err_set(err, OSM_ENOTFOUND, "no task '%s' in %s (see `osmig tasks`)", id, st->location);
    return db_fail(st, s->db, err, "reading a task");
}

static int sq_list_tasks(struct osm_store *st, struct osm_task **out, size_t *n, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    *out = NULL;
    *n = 0;
    sqlite3_stmt *stmt = prepare(s, "SELECT " TASK_COLUMNS " FROM tasks ORDER BY created DESC, seq DESC", err);
    if (!stmt)
        return -1;
    void *v;
    int rc = collect_rows(st, stmt, &v, n, sizeof **out, read_task, free_tasks, "listing tasks", err);
    *out = v;
    return rc;
}

static int commit_w(void *conn, void *arg, struct osm_err *err)
{
    struct sqlite_store *s = conn;
    struct osm_store *st = &s->base;
    const struct osm_task_change *ch = arg;
    const struct osm_task *t = ch->task;
    int64_t now = osm_store_now();
    sqlite3_stmt *stmt = prepare(s,
        "UPDATE tasks SET state=?2, phase=?3, step=?4, attempted=?5, changed=?6, progress=?7, progress_msg=?8, "
        "not_before=?9, maint_window=?10, latest_start=?11, snapshot_set=?12, error_code=?13, cause=?14, "
        "options=?15, data=?16, updated=?17, rev=rev+1 "
        "WHERE id=?1 AND (?18 < 0 OR state=?19) AND (?20 < 0 OR rev=?20)", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, t->id);
    bind_text(stmt, 2, osm_task_state_name(t->state));
    bind_text(stmt, 3, t->phase);
    sqlite3_bind_int(stmt, 4, t->step);
    sqlite3_bind_int(stmt, 5, t->attempted);
    sqlite3_bind_int(stmt, 6, t->changed);
    sqlite3_bind_double(stmt, 7, t->progress);
    bind_text(stmt, 8, t->progress_msg);
    sqlite3_bind_int64(stmt, 9, t->not_before);
    bind_text(stmt, 10, t->window);
    sqlite3_bind_int64(stmt, 11, t->latest_start);
    bind_text(stmt, 12, t->snapshot_set);
    bind_text(stmt, 13, t->error_code);
    bind_text(stmt, 14, t->cause);
    bind_text(stmt, 15, t->options ? t->options : "{}");
    bind_text(stmt, 16, t->data ? t->data : "{}");
    sqlite3_bind_int64(stmt, 17, now);
    sqlite3_bind_int(stmt, 18, ch->expect_state);
    bind_text(stmt, 19, ch->expect_state >= 0 ? osm_task_state_name((enum osm_task_state)ch->expect_state) : "");
    sqlite3_bind_int64(stmt, 20, ch->expect_rev);
    int rc = sqlite3_step(stmt);
    done(s, stmt);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return busy_instance_error(s, t->instance, NULL, err);
    if (rc != SQLITE_DONE)
        return db_fail(st, s->db, err, "updating a task");
    if (sqlite3_changes(s->db) == 0) {
        struct osm_task cur;
        if (sq_get_task(st, t->id, &cur, err) != 0)
            return -1; /* no such task */
        osm_task_free(&cur);
        return 1;
    }
    if (ch->event_type && add_event(s, t->id, now, ch->event_type, ch->event_message, err) != 0)
        return -1;
    if (ch->journal && add_journal(s, t->id, now, ch->journal, err) != 0)
        return -1;
    return 0;
}

static int sq_commit(struct osm_store *st, const struct osm_task_change *ch, struct osm_err *err)
{
    return group_write((struct sqlite_store *)st, commit_w, (void *)ch, 1, err);
}

/* A row of (seq, at, type, message) of task_events. */
static void read_event(sqlite3_stmt *stmt, void *elem)
{
    struct osm_task_event *e = elem;
    e->seq = sqlite3_column_int64(stmt, 0);
    e->at = sqlite3_column_int64(stmt, 1);
    e->type = col_dup(stmt, 2);
    e->message = col_dup(stmt, 3);
}

static void free_events(void *list, size_t n)
{
    osm_task_events_free(list, n);
}

/* A row of (seq, at, step_index, step, what, result, detail) of step_journal. */
static void read_journal(sqlite3_stmt *stmt, void *elem)
{
    struct osm_journal_entry *j = elem;
    j->seq = sqlite3_column_int64(stmt, 0);
    j->at = sqlite3_column_int64(stmt, 1);
    j->step_index = sqlite3_column_int(stmt, 2);
    j->step = col_dup(stmt, 3);
    j->what = col_dup(stmt, 4);
    j->result = col_dup(stmt, 5);
    j->detail = col_dup(stmt, 6);
}

static void free_journal(void *list, size_t n)
{
    osm_journal_free(list, n);
}

static int sq_list_events(struct osm_store *st, const char *id, struct osm_task_event **out, size_t *n,
                          struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    *out = NULL;
    *n = 0;
    sqlite3_stmt *stmt = prepare(s, "SELECT seq, at, type, message FROM task_events WHERE task_id=?1 ORDER BY seq", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    void *v;
    int rc = collect_rows(st, stmt, &v, n, sizeof **out, read_event, free_events, "reading the task history", err);
    *out = v;
    return rc;
}

static int sq_list_journal(struct osm_store *st, const char *id, struct osm_journal_entry **out, size_t *n,
                           struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    *out = NULL;
    *n = 0;
    sqlite3_stmt *stmt = prepare(s,
        "SELECT seq, at, step_index, step, what, result, detail FROM step_journal WHERE task_id=?1 ORDER BY seq", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    void *v;
    int rc = collect_rows(st, stmt, &v, n, sizeof **out, read_journal, free_journal, "reading the step journal", err);
    *out = v;
    return rc;
}

struct claim_args {
    const char *id, *owner;
    int64_t lease_until;
};

static int claim_w(void *conn, void *arg, struct osm_err *err)
{
    struct sqlite_store *s = conn;
    struct osm_store *st = &s->base;
    const struct claim_args *a = arg;
    const char *id = a->id, *owner = a->owner;
    int64_t lease_until = a->lease_until;
    sqlite3_stmt *stmt = prepare(s, "SELECT owner, lease_until FROM tasks WHERE id=?1", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    char *cur = rc == SQLITE_ROW ? col_dup(stmt, 0) : NULL;
    int64_t lease = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 1) : 0;
    done(s, stmt);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            return osm_err_set(err, OSM_ENOTFOUND, "no task '%s' in %s", id, st->location);
        return db_fail(st, s->db, err, "claiming a task");
    }
    int free_to_take = !cur || strcmp(cur, owner) == 0 || osm_store_owner_dead(cur) ||
                       (lease < osm_store_now() && !osm_store_owner_alive_here(cur));
    free(cur);
    if (!free_to_take)
        return 0;
    stmt = prepare(s, "UPDATE tasks SET owner=?2, lease_until=?3 WHERE id=?1", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    bind_text(stmt, 2, owner);
    sqlite3_bind_int64(stmt, 3, lease_until);
    rc = sqlite3_step(stmt);
    done(s, stmt);
    if (rc != SQLITE_DONE)
        return db_fail(st, s->db, err, "claiming a task");
    return 1;
}

static int sq_claim(struct osm_store *st, const char *id, const char *owner, int64_t lease_until, struct osm_err *err)
{
    struct claim_args a = {id, owner, lease_until};
    return group_write((struct sqlite_store *)st, claim_w, &a, 1, err);
}

static int sq_release(struct osm_store *st, const char *id, const char *owner, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    sqlite3_stmt *stmt = prepare(s, "UPDATE tasks SET owner=NULL, lease_until=0 WHERE id=?1 AND owner=?2", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    bind_text(stmt, 2, owner);
    int rc = sqlite3_step(stmt);
    done(s, stmt);
    return rc == SQLITE_DONE ? 0 : db_fail(st, s->db, err, "releasing a task");
}

/* ---- fleet: jobs ---- */

#define JOB_COLUMNS "seq, id, client_token, name, max_concurrency, max_errors, stop_reason, spec, created, updated, rev"

static int64_t row_to_job(sqlite3_stmt *stmt, struct osm_job *j)
{
    osm_job_init(j);
    col_copy(stmt, 1, j->id, sizeof j->id);
    j->client_token = col_dup(stmt, 2);
    j->name = col_dup(stmt, 3);
    j->max_concurrency = col_dup(stmt, 4);
    j->max_errors = col_dup(stmt, 5);
    j->stop_reason = col_dup(stmt, 6);
    j->spec = col_dup(stmt, 7);
    j->created = sqlite3_column_int64(stmt, 8);
    j->updated = sqlite3_column_int64(stmt, 9);
    j->rev = sqlite3_column_int64(stmt, 10);
    return sqlite3_column_int64(stmt, 0);
}

/* 1 and job->id set when a job has this client token, 0 when none. */
static int find_token(struct sqlite_store *s, struct osm_job *job, struct osm_err *err)
{
    sqlite3_stmt *stmt = prepare(s, "SELECT id FROM jobs WHERE client_token=?1", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, job->client_token);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        col_copy(stmt, 0, job->id, sizeof job->id);
    done(s, stmt);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : db_fail(&s->base, s->db, err, "looking up a job's client token");
}

struct create_job_args {
    struct osm_job *job;
    struct osm_task *tasks;
    size_t n;
};

static int create_job_w(void *conn, void *arg, struct osm_err *err)
{
    struct sqlite_store *s = conn;
    struct osm_store *st = &s->base;
    struct create_job_args *a = arg;
    struct osm_job *job = a->job;
    struct osm_task *tasks = a->tasks;
    size_t n = a->n;
    int64_t now = osm_store_now();
    /* In the batch's write transaction: a token committed by an earlier
     * batch (or an earlier write of this one) is seen here. */
    if (job->client_token) {
        int found = find_token(s, job, err);
        if (found != 0)
            return found;
    }
    sqlite3_stmt *stmt = prepare(s,
        "INSERT INTO jobs(id, client_token, name, max_concurrency, max_errors, stop_reason, spec, created, updated) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?8)", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, job->id);
    bind_text(stmt, 2, job->client_token);
    bind_text(stmt, 3, job->name);
    bind_text(stmt, 4, job->max_concurrency);
    bind_text(stmt, 5, job->max_errors);
    bind_text(stmt, 6, job->stop_reason);
    bind_text(stmt, 7, job->spec ? job->spec : "{}");
    sqlite3_bind_int64(stmt, 8, now);
    int rc = sqlite3_step(stmt);
    done(s, stmt);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return osm_err_set(err, OSM_ECONFLICT, "state store %s: a job with id %s exists", st->location, job->id);
    if (rc != SQLITE_DONE)
        return db_fail(st, s->db, err, "adding a job");
    for (size_t i = 0; i < n; i++) {
        osm_task_set_str(&tasks[i].job_id, job->id);
        if (insert_task(s, &tasks[i], now, err) != 0) {
            osm_err_prefix(err, "job %s, task %zu of %zu", job->id, i + 1, n);
            return -1;
        }
    }
    job->created = job->updated = now;
    job->rev = 0;
    return 0;
}

static int sq_create_job(struct osm_store *st, struct osm_job *job, struct osm_task *tasks, size_t n,
                         struct osm_err *err)
{
    struct create_job_args a = {job, tasks, n};
    return group_write((struct sqlite_store *)st, create_job_w, &a, 1, err);
}

static int sq_get_job(struct osm_store *st, const char *id, struct osm_job *out, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    sqlite3_stmt *stmt = prepare(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE id=?1", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        row_to_job(stmt, out);
    done(s, stmt);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return osm_err_set(err, OSM_ENOTFOUND, "no job '%s' in %s", id, st->location);
    return db_fail(st, s->db, err, "reading a job");
}

/* Paging: fetch one row more than asked; its presence says there is a next page. */
static int64_t page_limit(size_t limit)
{
    return limit ? (int64_t)limit + 1 : -1;
}

static int sq_list_jobs(struct osm_store *st, int64_t after_seq, size_t limit, struct osm_job **out, size_t *n,
                        int64_t *next_seq, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    *out = NULL;
    *n = 0;
    *next_seq = 0;
    sqlite3_stmt *stmt = prepare(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE seq > ?1 ORDER BY seq LIMIT ?2", err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, after_seq);
    sqlite3_bind_int64(stmt, 2, page_limit(limit));
    size_t cap = 0;
    int64_t last = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (limit && *n == limit) {
            *next_seq = last;
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = osm_xrealloc(*out, cap * sizeof **out);
        }
        last = row_to_job(stmt, &(*out)[(*n)++]);
    }
    done(s, stmt);
    if (rc != SQLITE_DONE) {
        osm_job_list_free(*out, *n);
        *out = NULL;
        *n = 0;
        *next_seq = 0;
        return db_fail(st, s->db, err, "listing jobs");
    }
    return 0;
}

static int sq_set_job_stop(struct osm_store *st, const char *id, const char *reason, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    sqlite3_stmt *stmt = prepare(s, "UPDATE jobs SET stop_reason=?2, updated=?3, rev=rev+1 WHERE id=?1", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    bind_text(stmt, 2, reason);
    sqlite3_bind_int64(stmt, 3, osm_store_now());
    int rc = sqlite3_step(stmt);
    done(s, stmt);
    if (rc != SQLITE_DONE)
        return db_fail(st, s->db, err, "setting a job's stop reason");
    if (sqlite3_changes(s->db) == 0)
        return osm_err_set(err, OSM_ENOTFOUND, "no job '%s' in %s", id, st->location);
    return 0;
}

/* ---- fleet: task queries ---- */

enum { Q_INSTANCE = 1, Q_TARGET = 2, Q_JOB = 4, Q_FROM = 8, Q_TO = 16, Q_PATTERN = 32 };

/* osm_fnmatch(pattern, text): fnmatch(3) with flags 0, as the API matches
 * a key's scope (SQLite's GLOB differs: no escapes, [^ not [!). */
/* The first 64 bits of SHA-256(key id, NUL, nonce): two nonces collide once
 * in 2^64, so a fresh nonce is taken for a replay about never. */
static int64_t nonce_hash(const char *key_id, const char *nonce)
{
    size_t lk = strlen(key_id), ln = strlen(nonce);
    char *buf = osm_xmalloc(lk + ln + 1);
    memcpy(buf, key_id, lk + 1);
    memcpy(buf + lk + 1, nonce, ln);
    char hex[65];
    osm_sha256_hex(buf, lk + 1 + ln, hex);
    free(buf);
    hex[16] = 0;
    return (int64_t)strtoull(hex, NULL, 16);
}

static void sql_nonce_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *k = (const char *)sqlite3_value_text(argv[0]), *n = (const char *)sqlite3_value_text(argv[1]);
    sqlite3_result_int64(ctx, nonce_hash(k ? k : "", n ? n : ""));
}

static void sql_fnmatch(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *pattern = (const char *)sqlite3_value_text(argv[0]);
    const char *text = (const char *)sqlite3_value_text(argv[1]);
    if (!pattern || !text) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_int(ctx, fnmatch(pattern, text, 0) == 0);
}

/* The SQL of one shape of query (which filters, how many states), built
 * from fixed text only: values are bound. */
static const char *query_sql(struct sqlite_store *s, unsigned mask, size_t n_states)
{
    char **slot = &s->query_sql[mask][n_states];
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
        osm_buf_adds(&b, " AND osm_fnmatch(?8, instance)");
    osm_buf_adds(&b, " ORDER BY seq LIMIT ?2");
    *slot = osm_buf_detach(&b);
    return *slot;
}

/* Rows of one query shape, up to f->limit + 1, appended to rows/seqs. */
static int query_rows(struct sqlite_store *s, const struct osm_task_filter *f, struct osm_task **rows, int64_t **seqs,
                      size_t *n, size_t *cap, struct osm_err *err)
{
    unsigned mask = (f->instance ? Q_INSTANCE : 0) | (f->target ? Q_TARGET : 0) | (f->job_id ? Q_JOB : 0) |
                    (f->created_from ? Q_FROM : 0) | (f->created_to ? Q_TO : 0) | (f->instance_pattern ? Q_PATTERN : 0);
    sqlite3_stmt *stmt = prepare(s, query_sql(s, mask, f->n_states), err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, f->after_seq);
    sqlite3_bind_int64(stmt, 2, page_limit(f->limit));
    bind_text(stmt, 3, f->instance);
    bind_text(stmt, 4, f->target);
    bind_text(stmt, 5, f->job_id);
    sqlite3_bind_int64(stmt, 6, f->created_from);
    sqlite3_bind_int64(stmt, 7, f->created_to);
    bind_text(stmt, 8, f->instance_pattern);
    for (size_t i = 0; i < f->n_states; i++)
        bind_text(stmt, (int)(10 + i), osm_task_state_name((enum osm_task_state)f->states[i]));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *rows = osm_xrealloc(*rows, *cap * sizeof **rows);
            *seqs = osm_xrealloc(*seqs, *cap * sizeof **seqs);
        }
        row_to_task(stmt, &(*rows)[*n]);
        (*seqs)[(*n)++] = sqlite3_column_int64(stmt, 25);
    }
    done(s, stmt);
    return rc == SQLITE_DONE ? 0 : db_fail(&s->base, s->db, err, "querying tasks");
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

static int sq_query_tasks(struct osm_store *st, const struct osm_task_filter *f, struct osm_task **out, size_t *n,
                          int64_t *next_seq, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    *out = NULL;
    *n = 0;
    *next_seq = 0;
    if (f->n_states > OSM_TASK_N_STATES)
        return osm_err_set(err, OSM_EUSAGE, "a task query names %zu states; there are %d", f->n_states,
                           OSM_TASK_N_STATES);
    struct osm_task *rows = NULL;
    int64_t *seqs = NULL;
    size_t got = 0, cap = 0;
    int rc = 0;
    if (f->n_states <= 1) {
        rc = query_rows(s, f, &rows, &seqs, &got, &cap, err);
    } else {
        /* SQLite cannot read `state IN (a, b)` in seq order from one index
         * (it would sort every matching row for each page): one ordered
         * scan per state, each limited, merged below. */
        int seen[OSM_TASK_N_STATES] = {0};
        for (size_t i = 0; i < f->n_states && rc == 0; i++) {
            int state = f->states[i];
            if (state < 0 || state >= OSM_TASK_N_STATES || seen[state]++)
                continue;
            struct osm_task_filter one = *f;
            one.states = &f->states[i];
            one.n_states = 1;
            rc = query_rows(s, &one, &rows, &seqs, &got, &cap, err);
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

static int sq_count_tasks(struct osm_store *st, const char *job_id, struct osm_task_counts *out, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt = job_id ? prepare(s, "SELECT state, count(*) FROM tasks WHERE job_id=?1 GROUP BY state", err)
                                : prepare(s, "SELECT state, count(*) FROM tasks GROUP BY state", err);
    if (!stmt)
        return -1;
    if (job_id)
        bind_text(stmt, 1, job_id);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int state = osm_task_state_parse((const char *)sqlite3_column_text(stmt, 0));
        if (state >= 0)
            out->by_state[state] += sqlite3_column_int64(stmt, 1);
    }
    done(s, stmt);
    return rc == SQLITE_DONE ? 0 : db_fail(st, s->db, err, "counting tasks");
}

#define WAITING_COLUMNS "id, job_id, maint_window, not_before, latest_start, created, state, seq"
/* A row of WAITING_COLUMNS. */
static void row_to_waiting(sqlite3_stmt *stmt, struct osm_waiting_task *w)
{
    col_copy(stmt, 0, w->id, sizeof w->id);
    w->job_id = col_dup(stmt, 1);
    w->window = col_dup(stmt, 2);
    w->not_before = sqlite3_column_int64(stmt, 3);
    w->latest_start = sqlite3_column_int64(stmt, 4);
    w->created = sqlite3_column_int64(stmt, 5);
    int state = osm_task_state_parse((const char *)sqlite3_column_text(stmt, 6));
    w->state = state < 0 ? OSM_TASK_SUBMITTED : state;
    w->seq = sqlite3_column_int64(stmt, 7);
}

static void read_waiting(sqlite3_stmt *stmt, void *elem)
{
    row_to_waiting(stmt, elem);
}

static void free_waiting(void *list, size_t n)
{
    osm_waiting_free(list, n);
}

/* The waiting tasks (all when now < 0, else those due by `now`). */
static int waiting_rows(struct osm_store *st, int64_t now, struct osm_waiting_task **out, size_t *n,
                        struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    *out = NULL;
    *n = 0;
    sqlite3_stmt *stmt = now < 0 ? prepare(s,
        "SELECT " WAITING_COLUMNS " FROM tasks "
        "INDEXED BY tasks_waiting WHERE " WAITING " ORDER BY seq", err) : prepare(s,
        /* Three index ranges, named: with statistics the planner may
         * otherwise scan every task for a range it cannot size. */
        "SELECT id, job_id, maint_window, not_before, latest_start, created, state, seq FROM tasks "
        "INDEXED BY tasks_due WHERE state='submitted' "
        "UNION ALL SELECT id, job_id, maint_window, not_before, latest_start, created, state, seq FROM tasks "
        "INDEXED BY tasks_due WHERE state='scheduled' AND not_before <= ?1 "
        "UNION ALL SELECT id, job_id, maint_window, not_before, latest_start, created, state, seq FROM tasks "
        "INDEXED BY tasks_expiring WHERE state='scheduled' AND latest_start > 0 AND latest_start < ?1 AND not_before > ?1 "
        "ORDER BY seq", err);
    if (!stmt)
        return -1;
    if (now >= 0)
        sqlite3_bind_int64(stmt, 1, now);
    void *v;
    int rc = collect_rows(st, stmt, &v, n, sizeof **out, read_waiting, free_waiting, "listing waiting tasks", err);
    *out = v;
    return rc;
}

static int sq_list_waiting(struct osm_store *st, struct osm_waiting_task **out, size_t *n, struct osm_err *err)
{
    return waiting_rows(st, -1, out, n, err);
}

static int sq_list_waiting_due(struct osm_store *st, int64_t now, struct osm_waiting_task **out, size_t *n,
                               struct osm_err *err)
{
    return waiting_rows(st, now < 0 ? 0 : now, out, n, err);
}

/* Startable: unclaimed (or its lease ran out), not of a stopped job, not of
 * a job the caller skips (?5, a JSON array). */
#define STARTABLE_ROW                                                                                             \
    " AND (owner IS NULL OR lease_until < ?1) AND (job_id IS NULL OR (NOT EXISTS "                                 \
    "(SELECT 1 FROM jobs WHERE jobs.id=tasks.job_id AND jobs.stop_reason IS NOT NULL) AND job_id NOT IN "         \
    "(SELECT value FROM json_each(?5))))"
/* One state's startable tasks after the cursor (?2, ?3), as two seeks of
 * tasks_due (state, not_before, rowid): the rest of the cursor's not_before,
 * then the later ones up to now. A row value (not_before, seq) > (?2, ?3)
 * would scan every row of the cursor's not_before from its first, and a
 * bound on not_before beside the equality makes the planner sort. */
#define STARTABLE_OF(state)                                                                                       \
    "SELECT " WAITING_COLUMNS " FROM tasks INDEXED BY tasks_due WHERE state='" state "' AND not_before = ?2 AND "  \
    "seq > ?3" STARTABLE_ROW " UNION ALL SELECT " WAITING_COLUMNS " FROM tasks INDEXED BY tasks_due WHERE state='" \
    state "' AND not_before > ?2 AND not_before <= ?1" STARTABLE_ROW

static int sq_list_waiting_page(struct osm_store *st, int which, int64_t now, int64_t after_not_before,
                                int64_t after_seq, const char *skip_jobs, size_t limit, struct osm_waiting_task **out,
                                size_t *n, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
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
    sqlite3_stmt *stmt = prepare(s, sql, err);
    if (!stmt)
        return -1;
    /* ?2, ?3 and ?5 are only in the startable query; binding ?2 and ?3
     * elsewhere is harmless (the numbering leaves room for them). */
    sqlite3_bind_int64(stmt, 1, now);
    sqlite3_bind_int64(stmt, 2, after_not_before);
    sqlite3_bind_int64(stmt, 3, after_seq);
    sqlite3_bind_int64(stmt, 4, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    if (which == OSM_WAITING_STARTABLE)
        bind_text(stmt, 5, skip_jobs ? skip_jobs : "[]");
    void *v;
    int rc = collect_rows(st, stmt, &v, n, sizeof **out, read_waiting, free_waiting, "listing waiting tasks", err);
    *out = v;
    return rc;
}

/* ---- fleet: claims ---- */

/* Running or claimed: what counts against a job's max_running. A waiting
 * task counts while its claim's lease runs. Two counts, each from an index:
 * the job's running tasks (tasks_by_job_state), and its claimed waiting
 * ones (tasks_claimed), never the whole job. */
#define RUNNING_OR_CLAIMED                                                                                        \
    "SELECT (SELECT count(*) FROM tasks WHERE job_id IS ?1 AND state IN ('running','rolling_back')) + "            \
    "(SELECT count(*) FROM tasks INDEXED BY tasks_claimed WHERE job_id IS ?1 AND owner IS NOT NULL AND " WAITING  \
    " AND lease_until >= ?2)"

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

static int claim_waiting_w(void *conn, void *arg, struct osm_err *err)
{
    struct sqlite_store *s = conn;
    struct osm_store *st = &s->base;
    const struct claim_waiting_args *a = arg;
    const char *job_id = a->job_id, *owner = a->owner;
    const char *const *ids = a->ids;
    size_t n_ids = a->n_ids, *n_claimed = a->n_claimed;
    int max_running = a->max_running;
    int64_t lease_until = a->lease_until;
    char (*claimed)[40] = a->claimed;
    *n_claimed = 0;
    int64_t now = osm_store_now();
    /* The batch's transaction holds the write lock: workers on one file are
     * serialised, so the count below holds until its commit. */
    int64_t room = -1;
    if (max_running >= 0) {
        sqlite3_stmt *stmt = prepare(s, RUNNING_OR_CLAIMED, err);
        if (!stmt)
            goto fail;
        bind_text(stmt, 1, job_id);
        sqlite3_bind_int64(stmt, 2, now);
        int rc = sqlite3_step(stmt);
        int64_t busy = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
        done(s, stmt);
        if (rc != SQLITE_ROW) {
            db_fail(st, s->db, err, "counting a job's running tasks");
            goto fail;
        }
        room = max_running - busy;
    }
    sqlite3_stmt *stmt = prepare(s,
        "UPDATE tasks SET owner=?3, lease_until=?4 WHERE id=?1 AND job_id IS ?5 AND " WAITING
        " AND (owner IS NULL OR lease_until < ?2)", err);
    if (!stmt)
        goto fail;
    for (size_t i = 0; i < n_ids && (room < 0 || (int64_t)*n_claimed < room); i++) {
        bind_text(stmt, 1, ids[i]);
        sqlite3_bind_int64(stmt, 2, now);
        bind_text(stmt, 3, owner);
        sqlite3_bind_int64(stmt, 4, lease_until);
        bind_text(stmt, 5, job_id);
        int rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE) {
            done(s, stmt);
            db_fail(st, s->db, err, "claiming waiting tasks");
            goto fail;
        }
        if (sqlite3_changes(s->db) == 1)
            snprintf(claimed[(*n_claimed)++], 40, "%s", ids[i]);
    }
    done(s, stmt);
    return 0;
fail:
    *n_claimed = 0;
    return -1;
}

static int sq_claim_waiting(struct osm_store *st, const char *job_id, const char *const *ids, size_t n_ids,
                            int max_running, const char *owner, int64_t lease_until, char (*claimed)[40],
                            size_t *n_claimed, struct osm_err *err)
{
    struct claim_waiting_args a = {job_id, ids, n_ids, max_running, owner, lease_until, claimed, n_claimed};
    int rc = group_write((struct sqlite_store *)st, claim_waiting_w, &a, 1, err);
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

static int claim_orphans_w(void *conn, void *arg, struct osm_err *err)
{
    struct sqlite_store *s = conn;
    struct osm_store *st = &s->base;
    const struct claim_orphans_args *a = arg;
    const char *owner = a->owner;
    int64_t now = a->now, lease_until = a->lease_until;
    size_t max = a->max, *n_claimed = a->n_claimed;
    char (*claimed)[40] = a->claimed;
    *n_claimed = 0;
    sqlite3_stmt *stmt = prepare(s,
        "SELECT id, owner, lease_until FROM tasks WHERE state='running' OR state='rolling_back' ORDER BY seq", err);
    if (!stmt)
        goto fail;
    /* Whether an owner of this host is alive is a question for the kernel,
     * not SQL: the candidates are read, then judged one by one. */
    char (*pick)[40] = NULL;
    size_t n_pick = 0, cap = 0;
    int rc = SQLITE_DONE;
    while (n_pick < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *cur = (const char *)sqlite3_column_text(stmt, 1);
        int64_t lease = sqlite3_column_int64(stmt, 2);
        if (cur && strcmp(cur, owner) == 0)
            continue;
        if (cur && !osm_store_owner_dead(cur) && (lease >= now || osm_store_owner_alive_here(cur)))
            continue;
        if (n_pick == cap) {
            cap = cap ? cap * 2 : 16;
            pick = osm_xrealloc(pick, cap * sizeof *pick);
        }
        col_copy(stmt, 0, pick[n_pick++], 40);
    }
    if (n_pick < max && rc != SQLITE_DONE) {
        done(s, stmt);
        free(pick);
        db_fail(st, s->db, err, "finding orphaned tasks");
        goto fail;
    }
    done(s, stmt);
    stmt = prepare(s, "UPDATE tasks SET owner=?2, lease_until=?3 WHERE id=?1", err);
    if (!stmt) {
        free(pick);
        goto fail;
    }
    for (size_t i = 0; i < n_pick; i++) {
        bind_text(stmt, 1, pick[i]);
        bind_text(stmt, 2, owner);
        sqlite3_bind_int64(stmt, 3, lease_until);
        rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE) {
            done(s, stmt);
            free(pick);
            db_fail(st, s->db, err, "claiming orphaned tasks");
            goto fail;
        }
        memcpy(claimed[i], pick[i], 40);
    }
    done(s, stmt);
    free(pick);
    *n_claimed = n_pick;
    return 0;
fail:
    *n_claimed = 0;
    return -1;
}

static int sq_claim_orphans(struct osm_store *st, const char *owner, int64_t now, int64_t lease_until, size_t max,
                            char (*claimed)[40], size_t *n_claimed, struct osm_err *err)
{
    struct claim_orphans_args a = {owner, now, lease_until, max, claimed, n_claimed};
    int rc = group_write((struct sqlite_store *)st, claim_orphans_w, &a, 1, err);
    if (rc < 0)
        *n_claimed = 0;
    return rc;
}

/* ---- fleet: keys and nonces ---- */

static int sq_put_key(struct osm_store *st, const struct osm_key *k, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    sqlite3_stmt *stmt = prepare(s,
        "INSERT INTO api_keys(id, role, scope, sealed_secret, created, disabled) VALUES(?1,?2,?3,?4,?5,?6)", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, k->id);
    bind_text(stmt, 2, k->role);
    bind_text(stmt, 3, k->scope);
    bind_text(stmt, 4, k->sealed_secret);
    sqlite3_bind_int64(stmt, 5, k->created ? k->created : osm_store_now());
    sqlite3_bind_int(stmt, 6, k->disabled ? 1 : 0);
    int rc = sqlite3_step(stmt);
    done(s, stmt);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
        return osm_err_set(err, OSM_ECONFLICT, "a key with id '%s' exists in %s", k->id, st->location);
    return rc == SQLITE_DONE ? 0 : db_fail(st, s->db, err, "adding a key");
}

#define KEY_COLUMNS "id, role, scope, sealed_secret, created, disabled"

static void row_to_key(sqlite3_stmt *stmt, struct osm_key *k)
{
    memset(k, 0, sizeof *k);
    col_copy(stmt, 0, k->id, sizeof k->id);
    k->role = col_dup(stmt, 1);
    k->scope = col_dup(stmt, 2);
    k->sealed_secret = col_dup(stmt, 3);
    k->created = sqlite3_column_int64(stmt, 4);
    k->disabled = sqlite3_column_int(stmt, 5);
}

static void read_key(sqlite3_stmt *stmt, void *elem)
{
    row_to_key(stmt, elem);
}

static void free_keys(void *list, size_t n)
{
    osm_key_list_free(list, n);
}

static int sq_get_key(struct osm_store *st, const char *id, struct osm_key *out, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    sqlite3_stmt *stmt = prepare(s, "SELECT " KEY_COLUMNS " FROM api_keys WHERE id=?1", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        row_to_key(stmt, out);
    done(s, stmt);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return osm_err_set(err, OSM_ENOTFOUND, "no key '%s' in %s", id, st->location);
    return db_fail(st, s->db, err, "reading a key");
}

static int sq_list_keys(struct osm_store *st, struct osm_key **out, size_t *n, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    *out = NULL;
    *n = 0;
    sqlite3_stmt *stmt = prepare(s, "SELECT " KEY_COLUMNS " FROM api_keys ORDER BY id", err);
    if (!stmt)
        return -1;
    void *v;
    int rc = collect_rows(st, stmt, &v, n, sizeof **out, read_key, free_keys, "listing keys", err);
    *out = v;
    return rc;
}

static int sq_delete_key(struct osm_store *st, const char *id, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    sqlite3_stmt *stmt = prepare(s, "DELETE FROM api_keys WHERE id=?1", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    done(s, stmt);
    if (rc != SQLITE_DONE)
        return db_fail(st, s->db, err, "deleting a key");
    if (sqlite3_changes(s->db) == 0)
        return osm_err_set(err, OSM_ENOTFOUND, "no key '%s' in %s", id, st->location);
    return 0;
}

/* How often a connection forgets expired nonces: a DELETE on every request
 * cost as much as the insert; the upsert below treats an expired row as
 * new, so forgetting only bounds the table's size. */
#define NONCE_PURGE_EVERY 60

/* A nonce is committed with synchronous=NORMAL (a batch of nothing but
 * nonces; sqlite_group.h): in WAL mode that commit survives a crash of the
 * process (the WAL is in the OS's page cache) and only a crash of the
 * machine may lose the last ones, which the date window bounds anyway
 * (docs/auth.md). The nonces of concurrent requests share one commit. */
struct nonce_args {
    const char *key_id, *nonce;
    int64_t expires, now;
    int64_t *keys_gen;   /* NULL: not asked */
};

static int use_nonce_w(void *conn, void *arg, struct osm_err *err)
{
    struct sqlite_store *s = conn;
    struct osm_store *st = &s->base;
    const struct nonce_args *a = arg;
    if (a->now >= s->next_nonce_purge) {
        sqlite3_stmt *stmt = prepare(s, "DELETE FROM nonce_seen WHERE expires < ?1", err);
        if (!stmt)
            return -1;
        sqlite3_bind_int64(stmt, 1, a->now);
        int rc = sqlite3_step(stmt);
        done(s, stmt);
        if (rc != SQLITE_DONE)
            return db_fail(st, s->db, err, "forgetting expired nonces");
        s->next_nonce_purge = a->now + NONCE_PURGE_EVERY;
    }
    /* New, or there but expired (then it is new again with its new expiry);
     * a live one changes nothing (a replay, also one earlier in this batch). */
    sqlite3_stmt *stmt = prepare(s,
        "INSERT INTO nonce_seen(h, expires) VALUES(?1,?2) ON CONFLICT(h) "
        "DO UPDATE SET expires=excluded.expires WHERE nonce_seen.expires < ?3", err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, nonce_hash(a->key_id, a->nonce));
    sqlite3_bind_int64(stmt, 2, a->expires);
    sqlite3_bind_int64(stmt, 3, a->now);
    int rc = sqlite3_step(stmt);
    done(s, stmt);
    if (rc != SQLITE_DONE)
        return db_fail(st, s->db, err, "recording a nonce");
    int fresh = sqlite3_changes(s->db) == 1;
    if (a->keys_gen) {
        /* Read in the batch's write transaction: a key change committed
         * before it is seen; keys change outside batches only, so one read
         * serves the whole batch. */
        if (s->keys_gen_batch != s->conn.batch_seq || s->keys_gen < 0) {
            stmt = prepare(s, "SELECT n FROM keys_generation", err);
            if (!stmt)
                return -1;
            rc = sqlite3_step(stmt);
            s->keys_gen = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
            done(s, stmt);
            if (rc != SQLITE_ROW)
                return db_fail(st, s->db, err, "reading the generation of the access keys");
            s->keys_gen_batch = s->conn.batch_seq;
        }
        *a->keys_gen = s->keys_gen;
    }
    return fresh;
}

/* ---- a nonce staged for the next write ---- */

/* Is key `k` still the row in the store? 1 yes, 0 no (changed or gone). */
static int key_row_is(struct sqlite_store *s, const struct osm_key *k, struct osm_err *err)
{
    sqlite3_stmt *stmt = prepare(s, "SELECT role, scope, sealed_secret, disabled FROM api_keys WHERE id=?1", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, k->id);
    int rc = sqlite3_step(stmt);
    int same = 0;
    if (rc == SQLITE_ROW) {
        const char *role = (const char *)sqlite3_column_text(stmt, 0), *scope = (const char *)sqlite3_column_text(stmt, 1),
                   *sealed = (const char *)sqlite3_column_text(stmt, 2);
        same = role && k->role && strcmp(role, k->role) == 0 && (scope && k->scope ? strcmp(scope, k->scope) == 0 : !scope == !k->scope) &&
               sealed && k->sealed_secret && strcmp(sealed, k->sealed_secret) == 0 &&
               sqlite3_column_int(stmt, 3) == k->disabled;
    }
    done(s, stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(&s->base, s->db, err, "reading an access key");
    return same;
}

struct staged_args {
    struct staged_nonce *n;
    osm_sqlite_write_fn fn; /* NULL: the nonce alone */
    void *arg;
    int rc;                 /* fn's */
};

/* The nonce, then the write in a savepoint of its own: a write that fails
 * is undone, its nonce stays recorded (a replay must not find it new). */
static int staged_w(void *conn, void *arg, struct osm_err *err)
{
    struct sqlite_store *c = conn;
    struct staged_args *a = arg;
    struct staged_nonce *n = a->n;
    int64_t gen = -1;
    struct nonce_args na = {n->key.id, n->nonce, n->expires, n->now, &gen};
    int fresh = use_nonce_w(conn, &na, err);
    if (fresh < 0)
        return -1;
    if (!fresh) {
        n->outcome = OSM_NONCE_USED;
        return 0;
    }
    if (gen != n->keys_gen) {
        /* A key changed since the request's row was read: is it this one? */
        int same = key_row_is(c, &n->key, err);
        if (same < 0)
            return -1;
        if (!same) {
            n->outcome = OSM_NONCE_KEY_CHANGED;
            return 0;
        }
    }
    n->outcome = OSM_NONCE_FRESH;
    if (!a->fn)
        return 0;
    static const char savepoint[] = "SAVEPOINT staged", rollback[] = "ROLLBACK TO staged", release[] = "RELEASE staged";
    sqlite3_stmt *stmt = prepare(c, savepoint, err);
    if (!stmt)
        return -1;
    int rc = sqlite3_step(stmt);
    done(c, stmt);
    if (rc != SQLITE_DONE)
        return db_fail(&c->base, c->db, err, "beginning a write after its nonce");
    a->rc = a->fn(conn, a->arg, err);
    if (sqlite3_get_autocommit(c->db)) /* the transaction ended: the batch fails, the nonce with it */
        return -1;
    for (int i = a->rc < 0 ? 0 : 1; i < 2; i++) {
        stmt = prepare(c, i == 0 ? rollback : release, err);
        if (!stmt)
            return -1;
        rc = sqlite3_step(stmt);
        done(c, stmt);
        if (rc != SQLITE_DONE)
            return db_fail(&c->base, c->db, err, "ending a write after its nonce");
    }
    return 0;
}

static int staged_write(struct sqlite_store *s, osm_sqlite_write_fn fn, void *arg, int durable, struct osm_err *err)
{
    struct staged_nonce *n = &s->nonce;
    if (n->outcome == OSM_NONCE_FRESH)
        return fn ? osm_sqlite_group_run(s->group, &s->conn, fn, arg, durable, err) : 0;
    if (n->outcome == NONCE_PENDING) {
        struct staged_args a = {n, fn, arg, 0};
        if (osm_sqlite_group_run(s->group, &s->conn, staged_w, &a, durable, err) < 0) {
            n->outcome = -1; /* nothing of it was kept */
            n->err = *err;
            return -1;
        }
        if (n->outcome == OSM_NONCE_FRESH)
            return a.rc;
    }
    if (n->outcome == -1) {
        *err = n->err;
        return -1;
    }
    return osm_err_set(err, OSM_EFAIL, "state store %s: not written: the request's nonce %s", s->base.location,
                       n->outcome == OSM_NONCE_USED ? "was used before" : "came with an access key that has changed");
}

static void staged_clear(struct staged_nonce *n)
{
    free(n->nonce);
    osm_key_free(&n->key);
    memset(n, 0, sizeof *n);
}

static int sq_stage_nonce(struct osm_store *st, const char *nonce, int64_t expires, int64_t now,
                          const struct osm_key *key, int64_t keys_gen)
{
    struct staged_nonce *n = &((struct sqlite_store *)st)->nonce;
    staged_clear(n);
    n->staged = 1;
    n->outcome = NONCE_PENDING;
    n->nonce = osm_xstrdup(nonce);
    n->expires = expires;
    n->now = now;
    n->keys_gen = keys_gen;
    osm_key_copy(&n->key, key);
    return 1;
}

static int sq_settle_nonce(struct osm_store *st, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    struct staged_nonce *n = &s->nonce;
    if (!n->staged)
        return OSM_NONCE_FRESH;
    if (n->outcome == NONCE_PENDING) {
        struct osm_err ignore = OSM_ERR_INIT;
        staged_write(s, NULL, NULL, 0, &ignore);
    }
    int rc = n->outcome;
    if (rc == -1)
        *err = n->err;
    staged_clear(n);
    return rc;
}

static int sq_use_nonce(struct osm_store *st, const char *key_id, const char *nonce, int64_t expires, int64_t now,
                        struct osm_err *err)
{
    struct nonce_args a = {key_id, nonce, expires, now, NULL};
    return group_write((struct sqlite_store *)st, use_nonce_w, &a, 0, err);
}

static int sq_use_nonce_gen(struct osm_store *st, const char *key_id, const char *nonce, int64_t expires, int64_t now,
                            int64_t *keys_gen, struct osm_err *err)
{
    struct nonce_args a = {key_id, nonce, expires, now, keys_gen};
    return group_write((struct sqlite_store *)st, use_nonce_w, &a, 0, err);
}

static int sq_read_begin(struct osm_store *st, struct osm_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    sqlite3_stmt *stmt = prepare(s, "BEGIN", err);
    if (!stmt)
        return -1;
    int rc = sqlite3_step(stmt);
    done(s, stmt);
    return rc == SQLITE_DONE ? 0 : db_fail(st, s->db, err, "beginning a read");
}

static void sq_read_end(struct osm_store *st)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    struct osm_err err = OSM_ERR_INIT;
    sqlite3_stmt *stmt = prepare(s, "COMMIT", &err); /* nothing was written: ending it is all */
    if (stmt) {
        sqlite3_step(stmt);
        done(s, stmt);
    }
    rollback_quietly(s);
}

static void sq_close(struct osm_store *st)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    for (int i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(s->cache[i].stmt);
    osm_sqlite_conn_finish(&s->conn);
    staged_clear(&s->nonce);
    for (int i = 0; i < QUERY_SHAPES; i++)
        for (int j = 0; j <= OSM_TASK_N_STATES; j++)
            free(s->query_sql[i][j]);
    sqlite3_close(s->db);
    osm_sqlite_group_put(s->group);
    free(st->location);
    free(s);
}

static int open_conn(const char *db_path, int version, int as_writer, struct osm_store **out, struct osm_err *err);

static void close_writer(void *user)
{
    sq_close(user);
}

/* The first write of a process to a file opens the connection that writes
 * every batch of the process (sqlite_group.h); without it (it cannot be
 * opened) batches run on their leaders' connections. */
static void ensure_writer(struct sqlite_store *s)
{
    s->writer_asked = 1;
    if (!s->group || osm_sqlite_group_has_writer(s->group))
        return;
    struct osm_store *w;
    struct osm_err err = OSM_ERR_INIT;
    if (open_conn(s->base.location, s->version, 1, &w, &err) != 0) {
        osm_warn("store.writer", "store=%s msg=\"%s\"", s->base.location, err.msg);
        return;
    }
    struct sqlite_store *ws = (struct sqlite_store *)w;
    if (!osm_sqlite_group_adopt(s->group, &ws->conn, close_writer, ws))
        sq_close(w); /* another thread's came first */
}

static const struct osm_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .create_task = sq_create_task,
    .get_task = sq_get_task,
    .list_tasks = sq_list_tasks,
    .commit = sq_commit,
    .list_events = sq_list_events,
    .list_journal = sq_list_journal,
    .claim = sq_claim,
    .release = sq_release,
    .create_job = sq_create_job,
    .get_job = sq_get_job,
    .list_jobs = sq_list_jobs,
    .set_job_stop = sq_set_job_stop,
    .query_tasks = sq_query_tasks,
    .count_tasks = sq_count_tasks,
    .list_waiting = sq_list_waiting,
    .list_waiting_due = sq_list_waiting_due,
    .list_waiting_page = sq_list_waiting_page,
    .claim_waiting = sq_claim_waiting,
    .claim_orphans = sq_claim_orphans,
    .put_key = sq_put_key,
    .get_key = sq_get_key,
    .list_keys = sq_list_keys,
    .delete_key = sq_delete_key,
    .use_nonce = sq_use_nonce,
    .use_nonce_gen = sq_use_nonce_gen,
    .stage_nonce = sq_stage_nonce,
    .settle_nonce = sq_settle_nonce,
    .read_begin = sq_read_begin,
    .read_end = sq_read_end,
};

static int open_conn(const char *db_path, int version, int as_writer, struct osm_store **out, struct osm_err *err)
{
    *out = NULL;
    struct sqlite_store *s = osm_xcalloc(1, sizeof *s);
    s->base.ops = &sqlite_ops;
    s->keys_gen = -1;
    s->base.location = osm_xstrdup(db_path);
    if (access(db_path, F_OK) == 0 && access(db_path, R_OK | W_OK) != 0) {
        osm_err_errno(err, "state store %s: osmig must read and write it (check permissions, or use --state-dir)", db_path);
        goto fail;
    }
    int rc = sqlite3_open_v2(db_path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (!s->db) {
            osm_err_set(err, OSM_EIO, "state store %s: cannot open: out of memory", db_path);
            goto fail;
        }
        db_fail(&s->base, s->db, err, "opening");
        goto fail;
    }
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        osm_err_set(err, OSM_EIO, "state store %s: opened read-only: osmig must be able to write it and its directory", db_path);
        goto fail;
    }
    osm_sqlite_fair_busy(s->db, 10000);
    sqlite3_create_function(s->db, "osm_fnmatch", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_fnmatch, NULL, NULL);
    sqlite3_create_function(s->db, "osm_nonce_hash", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_nonce_hash, NULL,
                            NULL);
    sqlite3_extended_result_codes(s->db, 1);
    /* journal_mode is the first statement that reads the file: a file that is
     * not a database fails here. Engines that open a new store at the same
     * moment can get SQLITE_BUSY where SQLite does not wait (switching the
     * file to WAL, or a lock upgrade it refuses to avoid a deadlock): such an
     * open is tried again for up to the busy timeout. */
    for (int attempt = 0;; attempt++) {
        s->last_fail = SQLITE_OK;
        if (exec(s, "PRAGMA journal_mode=WAL", err) == 0 && exec(s, "PRAGMA synchronous=FULL", err) == 0 &&
            exec(s, "PRAGMA cache_size=-32768", err) == 0 && exec(s, "PRAGMA foreign_keys=ON", err) == 0 &&
            (as_writer || migrate(s, version, err) == 0)) /* a group's writer: its opener migrated */
            break;
        int busy = (s->last_fail & 0xff) == SQLITE_BUSY || (s->last_fail & 0xff) == SQLITE_LOCKED;
        if (!busy || attempt >= 200)
            goto fail;
        osm_err_clear(err);
        usleep(50 * 1000);
    }
    s->version = version;
    s->is_writer = as_writer;
    s->writer_asked = as_writer;
    if (!as_writer)
        s->group = osm_sqlite_group_get(s->db);
    osm_sqlite_conn_init(&s->conn, s->db, s->base.location, s);
    *out = &s->base;
    return 0;
fail:
    sq_close(&s->base);
    return -1;
}

static int open_at(const char *db_path, int version, struct osm_store **out, struct osm_err *err)
{
    return open_conn(db_path, version, 0, out, err);
}

int osm_store_sqlite_open(const char *db_path, struct osm_store **out, struct osm_err *err)
{
    return open_at(db_path, N_MIGRATIONS, out, err);
}

int osm_store_sqlite_open_at_version(const char *db_path, int version, struct osm_store **out, struct osm_err *err)
{
    if (version < 1 || version > N_MIGRATIONS)
        return osm_err_set(err, OSM_EUSAGE, "schema version %d: known versions are 1..%d", version, N_MIGRATIONS);
    return open_at(db_path, version, out, err);
}

int osm_store_sqlite_schema_latest(void)
{
    return N_MIGRATIONS;
}

void *osm_store_sqlite_handle(struct osm_store *st)
{
    return st && st->ops == &sqlite_ops ? ((struct sqlite_store *)st)->db : NULL;
}
