/* sql_sqlite.c: the SQLite driver of the store (store_sql.h, store_sqlite.h).
 *
 * WAL mode with a busy timeout so that several osmig processes can share the
 * file; synchronous=FULL because a recorded intent or outcome must survive a
 * crash of the machine, not only of the process (writes that ask for less:
 * request nonces, sqlite_group.h). Every write transaction goes through the
 * group commit of the file (sqlite_group.h): the writes of a process's
 * threads share transactions and fsyncs. The schema is versioned: the files
 * schema/sqlite_N.sql, each run in one transaction that also bumps
 * schema_version, so a store is always at exactly one version. */
#include <fnmatch.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_log.h"
#include "sqlite_group.h"
#include "store.h"
#include "store_sql.h"
#include "store_sqlite.h"

extern const char *const osm_schema_sqlite[];
extern const int osm_schema_sqlite_n;

/* Prepared statements are kept, keyed by the address of their (static) SQL
 * text: parsing them again for every record cost a third of a record. */
#define STMT_CACHE 64
struct sq_stmt {
    struct osm_sql_stmt base;
    const char *sql;   /* the key: the caller's text */
    sqlite3_stmt *stmt;
    int in_use;
};

struct sq_conn {
    struct osm_sql base;
    sqlite3 *db;
    char *path;
    struct sq_stmt cache[STMT_CACHE];
    struct osm_sqlite_group *group; /* writes of this process to the file, committed together */
    struct osm_sqlite_conn conn;
    int last_fail;     /* SQLite result code of the last db_fail (open's retry reads it) */
    int version;       /* the schema version it was opened at */
    int writer_asked;  /* this connection has made sure its group has a writer */
};

static const struct osm_sql_driver sqlite_driver;

static int db_fail(struct sq_conn *c, struct osm_err *err, const char *what)
{
    int code = sqlite3_extended_errcode(c->db);
    c->last_fail = code;
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
        osm_store_space_failed();
        break;
    }
    return osm_err_set(err, ecode, "state store %s: %s: %s%s", c->path, what, sqlite3_errmsg(c->db), hint);
}

static int exec(struct sq_conn *c, const char *sql, const char *what, struct osm_err *err)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(c, err, what ? what : sql);
    return 0;
}

static void rollback_quietly(struct sq_conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- statements ---- */

/* `sql` without PostgreSQL's row locks (FOR UPDATE [OF t] [SKIP LOCKED]):
 * a SQLite write transaction holds the whole file. NULL when it has none. */
static char *without_row_locks(const char *sql)
{
    const char *at = strstr(sql, " FOR UPDATE");
    if (!at)
        return NULL;
    struct osm_buf b;
    osm_buf_init(&b);
    const char *p = sql;
    while (at) {
        osm_buf_add(&b, p, (size_t)(at - p));
        p = at + strlen(" FOR UPDATE");
        if (strncmp(p, " OF ", 4) == 0)
            for (p += 4; *p && *p != ' ' && *p != ')'; p++)
                ;
        if (strncmp(p, " SKIP LOCKED", 12) == 0)
            p += 12;
        at = strstr(p, " FOR UPDATE");
    }
    osm_buf_adds(&b, p);
    return osm_buf_detach(&b);
}

static struct osm_sql_stmt *sq_prepare(struct osm_sql *sc, const char *sql, struct osm_err *err)
{
    struct sq_conn *c = (struct sq_conn *)sc;
    struct sq_stmt *slot = NULL;
    for (int i = 0; i < STMT_CACHE; i++) {
        struct sq_stmt *e = &c->cache[i];
        if (e->sql == sql && !e->in_use) {
            e->in_use = 1;
            return &e->base;
        }
        if (!e->sql && !slot)
            slot = e;
    }
    char *own = without_row_locks(sql);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(c->db, own ? own : sql, -1, slot ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, NULL);
    free(own);
    if (rc != SQLITE_OK) {
        db_fail(c, err, "preparing a query");
        return NULL;
    }
    if (!slot) { /* the cache is full: a statement of its own */
        slot = osm_xcalloc(1, sizeof *slot);
        slot->base.c = sc;
        slot->stmt = stmt;
        return &slot->base;
    }
    slot->base.c = sc;
    slot->sql = sql;
    slot->stmt = stmt;
    slot->in_use = 1;
    return &slot->base;
}

static sqlite3_stmt *raw(struct osm_sql_stmt *s)
{
    return ((struct sq_stmt *)s)->stmt;
}

static void sq_bind_text(struct osm_sql_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(raw(s), i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(raw(s), i);
}

static void sq_bind_i64(struct osm_sql_stmt *s, int i, int64_t v)
{
    sqlite3_bind_int64(raw(s), i, v);
}

static void sq_bind_f64(struct osm_sql_stmt *s, int i, double v)
{
    sqlite3_bind_double(raw(s), i, v);
}

static int sq_step(struct osm_sql_stmt *s, const char *what, struct osm_err *err)
{
    int rc = sqlite3_step(raw(s));
    if (rc == SQLITE_ROW)
        return OSM_SQL_ROW;
    if (rc == SQLITE_DONE)
        return OSM_SQL_DONE;
    db_fail((struct sq_conn *)s->c, err, what);
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return OSM_SQL_UNIQUE;
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return OSM_SQL_FOREIGN_KEY;
    return OSM_SQL_FAIL;
}

static const char *sq_col_text(struct osm_sql_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(raw(s), i);
}

static int64_t sq_col_i64(struct osm_sql_stmt *s, int i)
{
    return sqlite3_column_int64(raw(s), i);
}

static double sq_col_f64(struct osm_sql_stmt *s, int i)
{
    return sqlite3_column_double(raw(s), i);
}

static int64_t sq_changes(struct osm_sql *c)
{
    return sqlite3_changes(((struct sq_conn *)c)->db);
}

static void sq_reset(struct osm_sql_stmt *s)
{
    sqlite3_reset(raw(s));
}

static void sq_finish(struct osm_sql_stmt *s)
{
    struct sq_stmt *e = (struct sq_stmt *)s;
    if (!e->sql) {
        sqlite3_finalize(e->stmt);
        free(e);
        return;
    }
    sqlite3_reset(e->stmt);
    sqlite3_clear_bindings(e->stmt);
    e->in_use = 0;
}

/* A one-step statement of the connection's own (BEGIN, COMMIT), cached. */
static int run_simple(struct sq_conn *c, const char *sql, const char *what, struct osm_err *err)
{
    struct osm_sql_stmt *s = sq_prepare(&c->base, sql, err);
    if (!s)
        return -1;
    int rc = sq_step(s, what, err);
    sq_finish(s);
    return rc < 0 ? -1 : 0;
}

/* ---- writes: the group commit ---- */

static int open_conn(const char *db_path, int version, int as_writer, struct sq_conn **out, struct osm_err *err);
static void close_conn(struct sq_conn *c);

static void close_writer(void *user)
{
    close_conn(user);
}

/* The first write of a process to a file opens the connection that writes
 * every batch of the process (sqlite_group.h); without it (it cannot be
 * opened) batches run on their leaders' connections. */
static void ensure_writer(struct sq_conn *c)
{
    c->writer_asked = 1;
    if (!c->group || osm_sqlite_group_has_writer(c->group))
        return;
    struct sq_conn *w;
    struct osm_err err = OSM_ERR_INIT;
    if (open_conn(c->path, c->version, 1, &w, &err) != 0) {
        osm_warn("store.writer", "store=%s msg=\"%s\"", c->path, err.msg);
        return;
    }
    if (!osm_sqlite_group_adopt(c->group, &w->conn, close_writer, w))
        close_conn(w); /* another thread's came first */
}

struct trampoline {
    osm_sql_write_fn fn;
    void *arg;
};

static int trampoline_w(void *conn, void *arg, struct osm_err *err)
{
    const struct trampoline *t = arg;
    return t->fn(conn, t->arg, err);
}

static int sq_write(struct osm_sql *sc, osm_sql_write_fn fn, void *arg, int durable, struct osm_err *err)
{
    struct sq_conn *c = (struct sq_conn *)sc;
    if (!c->writer_asked)
        ensure_writer(c);
    struct trampoline t = {fn, arg};
    return osm_sqlite_group_run(c->group, &c->conn, trampoline_w, &t, durable, err);
}

static int sq_in_transaction(struct osm_sql *c)
{
    return !sqlite3_get_autocommit(((struct sq_conn *)c)->db);
}

static uint64_t sq_tx_seq(struct osm_sql *c)
{
    return ((struct sq_conn *)c)->conn.batch_seq;
}

static int sq_lock(struct osm_sql *c, int64_t key, struct osm_err *err)
{
    (void)c, (void)key, (void)err;
    return 0; /* the batch's transaction holds the file's write lock */
}

static int sq_read_begin(struct osm_sql *sc, struct osm_err *err)
{
    return run_simple((struct sq_conn *)sc, "BEGIN", "beginning a read", err);
}

static void sq_read_end(struct osm_sql *sc)
{
    struct sq_conn *c = (struct sq_conn *)sc;
    struct osm_err err = OSM_ERR_INIT;
    run_simple(c, "COMMIT", "ending a read", &err); /* nothing was written: ending it is all */
    rollback_quietly(c);
}

/* ---- SQL functions ---- */

/* osm_fnmatch(pattern, text): fnmatch(3) with flags 0, as the API matches
 * a key's scope (SQLite's GLOB differs: no escapes, [^ not [!). */
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

/* osm_nonce_hash(key_id, nonce): schema 5 turns the nonces into hashes. */
static void sql_nonce_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *k = (const char *)sqlite3_value_text(argv[0]), *n = (const char *)sqlite3_value_text(argv[1]);
    sqlite3_result_int64(ctx, osm_nonce_hash(k ? k : "", n ? n : ""));
}

static char *pattern_as_is(const char *pattern)
{
    return osm_xstrdup(pattern);
}

/* ---- schema ---- */

static int read_int(struct sq_conn *c, const char *sql, int *out, struct osm_err *err)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(c->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return db_fail(c, err, "reading the schema");
    int rc = sqlite3_step(stmt);
    *out = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 0 : db_fail(c, err, "reading the schema");
}

static int schema_version(struct sq_conn *c, int *version, struct osm_err *err)
{
    *version = 0;
    int have;
    if (read_int(c, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_version'", &have, err) != 0)
        return -1;
    if (!have) {
        /* A database with tables but no schema_version is someone else's. */
        int others;
        if (read_int(c, "SELECT count(*) FROM sqlite_master", &others, err) != 0)
            return -1;
        if (others)
            return osm_err_set(err, OSM_EINPUT,
                               "state store %s: this SQLite database is not an osmig store (no schema_version table); "
                               "point --state-dir elsewhere", c->path);
        return 0;
    }
    return read_int(c, "SELECT max(version) FROM schema_version", version, err);
}

static int migrate(struct sq_conn *c, int target, struct osm_err *err)
{
    int version;
    if (exec(c, "BEGIN IMMEDIATE", NULL, err) != 0)
        return -1;
    if (schema_version(c, &version, err) != 0)
        goto fail;
    if (version > osm_schema_sqlite_n) {
        osm_err_set(err, OSM_EUNSUPPORTED,
                    "state store %s: schema version %d is newer than this osmig knows (%d); use a newer osmig", c->path,
                    version, osm_schema_sqlite_n);
        goto fail;
    }
    if (version == 0 &&
        exec(c, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)", "updating the schema", err) != 0)
        goto fail;
    if (exec(c, "COMMIT", NULL, err) != 0)
        goto fail;
    /* One transaction per migration: a crash leaves the store at a version. */
    for (int v = version + 1; v <= target; v++) {
        char bump[96];
        snprintf(bump, sizeof bump, "DELETE FROM schema_version; INSERT INTO schema_version VALUES(%d)", v);
        if (exec(c, "BEGIN IMMEDIATE", NULL, err) != 0)
            return -1;
        int cur;
        if (schema_version(c, &cur, err) != 0)
            goto fail;
        if (cur >= v) { /* another process migrated meanwhile */
            exec(c, "COMMIT", NULL, err);
            continue;
        }
        char what[64];
        snprintf(what, sizeof what, "migrating the schema to version %d", v);
        if (exec(c, osm_schema_sqlite[v - 1], what, err) != 0 || exec(c, bump, "updating the schema", err) != 0 ||
            exec(c, "COMMIT", NULL, err) != 0)
            goto fail;
    }
    return 0;
fail:
    rollback_quietly(c);
    return -1;
}

/* ---- open, close ---- */

static void close_conn(struct sq_conn *c)
{
    for (int i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(c->cache[i].stmt);
    osm_sqlite_conn_finish(&c->conn);
    sqlite3_close(c->db);
    osm_sqlite_group_put(c->group);
    free(c->path);
    free(c);
}

static void sq_close(struct osm_sql *c)
{
    close_conn((struct sq_conn *)c);
}

static int open_conn(const char *db_path, int version, int as_writer, struct sq_conn **out, struct osm_err *err)
{
    *out = NULL;
    struct sq_conn *c = osm_xcalloc(1, sizeof *c);
    c->base.drv = &sqlite_driver;
    c->path = osm_xstrdup(db_path);
    c->base.location = c->path;
    if (access(db_path, F_OK) == 0 && access(db_path, R_OK | W_OK) != 0) {
        osm_err_errno(err, "state store %s: osmig must read and write it (check permissions, or use --state-dir)", db_path);
        goto fail;
    }
    int rc = sqlite3_open_v2(db_path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (!c->db) {
            osm_err_set(err, OSM_EIO, "state store %s: cannot open: out of memory", db_path);
            goto fail;
        }
        db_fail(c, err, "opening");
        goto fail;
    }
    if (sqlite3_db_readonly(c->db, "main") == 1) {
        osm_err_set(err, OSM_EIO, "state store %s: opened read-only: osmig must be able to write it and its directory", db_path);
        goto fail;
    }
    osm_sqlite_fair_busy(c->db, 10000);
    sqlite3_create_function(c->db, "osm_fnmatch", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_fnmatch, NULL, NULL);
    sqlite3_create_function(c->db, "osm_nonce_hash", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_nonce_hash, NULL,
                            NULL);
    sqlite3_extended_result_codes(c->db, 1);
    /* journal_mode is the first statement that reads the file: a file that is
     * not a database fails here. Engines that open a new store at the same
     * moment can get SQLITE_BUSY where SQLite does not wait (switching the
     * file to WAL, or a lock upgrade it refuses to avoid a deadlock): such an
     * open is tried again for up to the busy timeout. */
    for (int attempt = 0;; attempt++) {
        c->last_fail = SQLITE_OK;
        if (exec(c, "PRAGMA journal_mode=WAL", "updating the schema", err) == 0 &&
            exec(c, "PRAGMA synchronous=FULL", "updating the schema", err) == 0 &&
            exec(c, "PRAGMA cache_size=-32768", "updating the schema", err) == 0 &&
            exec(c, "PRAGMA foreign_keys=ON", "updating the schema", err) == 0 &&
            (as_writer || migrate(c, version, err) == 0)) /* a group's writer: its opener migrated */
            break;
        int busy = (c->last_fail & 0xff) == SQLITE_BUSY || (c->last_fail & 0xff) == SQLITE_LOCKED;
        if (!busy || attempt >= 200)
            goto fail;
        osm_err_clear(err);
        usleep(50 * 1000);
    }
    c->version = version;
    c->writer_asked = as_writer;
    if (!as_writer)
        c->group = osm_sqlite_group_get(c->db);
    osm_sqlite_conn_init(&c->conn, c->db, c->path, c);
    *out = c;
    return 0;
fail:
    close_conn(c);
    return -1;
}

static const struct osm_sql_dialect sqlite_dialect = {
    .instance_matches = "osm_fnmatch(?8, instance)",
    .pattern_arg = pattern_as_is,
    .nonce_purge = "DELETE FROM nonce_seen WHERE expires < ?5",
    /* New, or there but expired (then it is new again with its new expiry);
     * a live one changes nothing (a replay, also one earlier in this batch). */
    .nonce_record = "INSERT INTO nonce_seen(h, expires) VALUES(?3,?4) ON CONFLICT(h) "
                    "DO UPDATE SET expires=excluded.expires WHERE nonce_seen.expires < ?5",
    .keys_generation = "SELECT n FROM keys_generation",
};

static const struct osm_sql_driver sqlite_driver = {
    .name = "sqlite",
    .caps = OSM_SQL_CAP_SCAN_PER_STATE | OSM_SQL_CAP_STAGE_NONCE,
    .dialect = &sqlite_dialect,
    .prepare = sq_prepare,
    .bind_text = sq_bind_text,
    .bind_i64 = sq_bind_i64,
    .bind_f64 = sq_bind_f64,
    .step = sq_step,
    .col_text = sq_col_text,
    .col_i64 = sq_col_i64,
    .col_f64 = sq_col_f64,
    .changes = sq_changes,
    .reset = sq_reset,
    .finish = sq_finish,
    .write = sq_write,
    .in_transaction = sq_in_transaction,
    .tx_seq = sq_tx_seq,
    .lock = sq_lock,
    .read_begin = sq_read_begin,
    .read_end = sq_read_end,
    .close = sq_close,
};

static int open_at(const char *db_path, int version, struct osm_store **out, struct osm_err *err)
{
    struct sq_conn *c;
    *out = NULL;
    if (open_conn(db_path, version, 0, &c, err) != 0)
        return -1;
    *out = osm_store_new(&sqlite_driver, &c->base, osm_xstrdup(db_path));
    return 0;
}

int osm_store_sqlite_open(const char *db_path, struct osm_store **out, struct osm_err *err)
{
    return open_at(db_path, osm_schema_sqlite_n, out, err);
}

int osm_store_sqlite_open_at_version(const char *db_path, int version, struct osm_store **out, struct osm_err *err)
{
    if (version < 1 || version > osm_schema_sqlite_n)
        return osm_err_set(err, OSM_EUSAGE, "schema version %d: known versions are 1..%d", version, osm_schema_sqlite_n);
    return open_at(db_path, version, out, err);
}

int osm_store_sqlite_schema_latest(void)
{
    return osm_schema_sqlite_n;
}

void *osm_store_sqlite_handle(struct osm_store *st)
{
    struct osm_sql *c = st ? osm_store_sql(st, &sqlite_driver) : NULL;
    return c ? ((struct sq_conn *)c)->db : NULL;
}
