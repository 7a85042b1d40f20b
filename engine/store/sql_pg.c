/* sql_pg.c: the PostgreSQL driver of the store (store_sql.h, store_pg.h).
 *
 * One connection per store (a store is used by one thread at a time, as the
 * SQLite one). Every value travels as a parameter of PQexecParams (numbers
 * typed int8 or float8, texts left for the server to type by their place);
 * the only SQL texts are the store's constants. Lists travel as one text[]
 * parameter each, in PostgreSQL's array syntax (OSM_SQL_CAP_ARRAYS).
 *
 * Concurrency: READ COMMITTED. The store's claims lock what they count
 * (SELECT ... FOR UPDATE) and take their candidates with FOR UPDATE SKIP
 * LOCKED, so that workers never take one task twice. Schema migrations run
 * under a transaction-level advisory lock. Messages name the URL without
 * its password. */
#include "lazy_pq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "store.h"
#include "store_pg.h"
#include "store_sql.h"

extern const char *const osm_schema_pg[];
extern const int osm_schema_pg_n;

#define LOCK_MIGRATE "7283550001"
#define MAX_PARAMS 32
#define N_TEXTS 128
#define INT8OID 20
#define FLOAT8OID 701
#define TEXTOID 25

struct pg_conn {
    struct osm_sql base;
    PGconn *conn;
    char *location;
    int64_t changes;        /* rows of the last statement */
    uint64_t tx_seq;
    struct {                /* the statements in this dialect, by the address of the store's text */
        const char *key;
        char *text;
    } texts[N_TEXTS];
};

struct pg_stmt {
    struct osm_sql_stmt base;
    const char *text;
    char *own;              /* text, when not kept in the connection's table */
    int n;                  /* parameters: the highest bound */
    char *v[MAX_PARAMS];
    Oid type[MAX_PARAMS];
    char bound[MAX_PARAMS];
    PGresult *res;
    int row, rows;
};

static const struct osm_sql_driver pg_driver;

static int pg_fail(struct pg_conn *c, const PGresult *res, struct osm_err *err, const char *what)
{
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->conn);
    char clean[1024];
    snprintf(clean, sizeof clean, "%s", msg && *msg ? msg : "unknown error");
    clean[strcspn(clean, "\n")] = '\0';
    const char *hint = "";
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(c->conn) == CONNECTION_BAD)
        hint = " (the connection to the server is lost)";
    else if (state && strncmp(state, "53", 2) == 0) { /* insufficient resources: disk full, out of memory */
        hint = " (the database server is out of space or memory)";
        osm_store_space_failed();
    }
    return osm_err_set(err, OSM_EIO, "state store %s: %s: %s%s", c->location, what, clean, hint);
}

/* A constant text (the schema, BEGIN, COMMIT): the simple protocol, which
 * alone accepts several statements; never used with anything built from
 * input. */
static int run_script(struct pg_conn *c, const char *sql, struct osm_err *err, const char *what)
{
    PGresult *r = PQexec(c->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_fail(c, r, err, what);
    PQclear(r);
    return rc;
}

static void rollback_quietly(struct pg_conn *c)
{
    if (PQtransactionStatus(c->conn) != PQTRANS_IDLE)
        PQclear(PQexec(c->conn, "ROLLBACK"));
}

/* ---- statements ---- */

/* The store's SQL in this dialect: $N for ?N, and no INDEXED BY (SQLite's
 * planner hint), json_array_elements_text for json_each. */
static char *translate(const char *sql)
{
    struct osm_buf b;
    osm_buf_init(&b);
    for (const char *p = sql; *p;) {
        if (*p == '?' && p[1] >= '0' && p[1] <= '9') {
            osm_buf_addc(&b, '$');
            p++;
        } else if (strncmp(p, " INDEXED BY ", 12) == 0) {
            for (p += 12; *p && *p != ' '; p++)
                ;
        } else if (strncmp(p, "json_each(", 10) == 0) {
            osm_buf_adds(&b, "json_array_elements_text(");
            p += 10;
        } else {
            osm_buf_addc(&b, *p++);
        }
    }
    return osm_buf_detach(&b);
}

static struct osm_sql_stmt *pg_prepare(struct osm_sql *sc, const char *sql, struct osm_err *err)
{
    (void)err;
    struct pg_conn *c = (struct pg_conn *)sc;
    struct pg_stmt *s = osm_xcalloc(1, sizeof *s);
    s->base.c = sc;
    for (int i = 0; i < N_TEXTS && !s->text; i++) {
        if (c->texts[i].key == sql) {
            s->text = c->texts[i].text;
        } else if (!c->texts[i].key) {
            c->texts[i].key = sql;
            c->texts[i].text = translate(sql);
            s->text = c->texts[i].text;
        }
    }
    if (!s->text)
        s->text = s->own = translate(sql);
    return &s->base;
}

static void set_param(struct osm_sql_stmt *ss, int i, char *v, Oid type)
{
    struct pg_stmt *s = (struct pg_stmt *)ss;
    if (i < 1 || i > MAX_PARAMS) {
        free(v);
        return;
    }
    free(s->v[i - 1]);
    s->v[i - 1] = v;
    s->type[i - 1] = type;
    s->bound[i - 1] = 1;
    if (i > s->n)
        s->n = i;
}

static void pg_bind_text(struct osm_sql_stmt *s, int i, const char *v)
{
    set_param(s, i, v ? osm_xstrdup(v) : NULL, 0);
}

static void pg_bind_i64(struct osm_sql_stmt *s, int i, int64_t v)
{
    set_param(s, i, osm_xasprintf("%lld", (long long)v), INT8OID);
}

static void pg_bind_f64(struct osm_sql_stmt *s, int i, double v)
{
    set_param(s, i, osm_xasprintf("%.17g", v), FLOAT8OID);
}

static int pg_step(struct osm_sql_stmt *ss, const char *what, struct osm_err *err)
{
    struct pg_stmt *s = (struct pg_stmt *)ss;
    struct pg_conn *c = (struct pg_conn *)ss->c;
    if (!s->res) {
        if (PQstatus(c->conn) == CONNECTION_BAD && PQtransactionStatus(c->conn) != PQTRANS_INTRANS)
            PQreset(c->conn); /* a server restart between operations costs nothing more */
        for (int i = 0; i < s->n; i++)
            if (!s->bound[i])
                s->type[i] = TEXTOID; /* a number the text skips: typed, or the server refuses it */
        PGresult *r = PQexecParams(c->conn, s->text, s->n, s->type, (const char *const *)s->v, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            char code[6] = ""; /* the SQLSTATE, kept past PQclear */
            const char *sqlstate = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            snprintf(code, sizeof code, "%s", sqlstate ? sqlstate : "");
            pg_fail(c, r, err, what);
            PQclear(r);
            c->changes = 0;
            if (strcmp(code, "23505") == 0)
                return OSM_SQL_UNIQUE;
            if (strcmp(code, "23503") == 0)
                return OSM_SQL_FOREIGN_KEY;
            return OSM_SQL_FAIL;
        }
        s->res = r;
        s->rows = PQntuples(r);
        s->row = 0;
        c->changes = strtoll(PQcmdTuples(r), NULL, 10);
    }
    if (s->row >= s->rows)
        return OSM_SQL_DONE;
    s->row++;
    return OSM_SQL_ROW;
}

static const char *pg_col_text(struct osm_sql_stmt *ss, int i)
{
    struct pg_stmt *s = (struct pg_stmt *)ss;
    return PQgetisnull(s->res, s->row - 1, i) ? NULL : PQgetvalue(s->res, s->row - 1, i);
}

static int64_t pg_col_i64(struct osm_sql_stmt *s, int i)
{
    const char *v = pg_col_text(s, i);
    return v ? strtoll(v, NULL, 10) : 0;
}

static double pg_col_f64(struct osm_sql_stmt *s, int i)
{
    const char *v = pg_col_text(s, i);
    return v ? strtod(v, NULL) : 0;
}

static int64_t pg_changes(struct osm_sql *c)
{
    return ((struct pg_conn *)c)->changes;
}

static void pg_reset(struct osm_sql_stmt *ss)
{
    struct pg_stmt *s = (struct pg_stmt *)ss;
    PQclear(s->res);
    s->res = NULL;
}

static void pg_finish(struct osm_sql_stmt *ss)
{
    struct pg_stmt *s = (struct pg_stmt *)ss;
    PQclear(s->res);
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->own);
    free(s);
}

/* ---- transactions ---- */

static int pg_write(struct osm_sql *sc, osm_sql_write_fn fn, void *arg, int durable, struct osm_err *err)
{
    struct pg_conn *c = (struct pg_conn *)sc;
    if (run_script(c, "BEGIN", err, "BEGIN") != 0)
        return -1;
    c->tx_seq++;
    /* A write that need not survive a crash of the database's machine
     * (a request's nonce, whose replay the date window bounds) does not
     * wait for the WAL flush. */
    if (!durable && run_script(c, "SET LOCAL synchronous_commit TO off", err, "choosing the durability of a write") != 0)
        goto fail;
    int rc = fn(sc, arg, err);
    if (rc < 0 || run_script(c, "COMMIT", err, "COMMIT") != 0)
        goto fail;
    return rc;
fail:
    rollback_quietly(c);
    return -1;
}

static int pg_in_transaction(struct osm_sql *c)
{
    PGTransactionStatusType t = PQtransactionStatus(((struct pg_conn *)c)->conn);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

static uint64_t pg_tx_seq(struct osm_sql *c)
{
    return ((struct pg_conn *)c)->tx_seq;
}

static int pg_lock(struct osm_sql *c, int64_t key, struct osm_err *err)
{
    struct osm_sql_stmt *s = pg_prepare(c, "SELECT pg_advisory_xact_lock(?1)", err);
    pg_bind_i64(s, 1, key);
    int rc = pg_step(s, "taking a lock", err);
    pg_finish(s);
    return rc < 0 ? -1 : 0;
}

static void pg_analyze(struct osm_sql *sc, const char *table)
{
    struct pg_conn *c = (struct pg_conn *)sc;
    char sql[128];
    snprintf(sql, sizeof sql, "ANALYZE %s", table);
    PQclear(PQexec(c->conn, sql));
}

/* ---- pattern: fnmatch as a regular expression ---- */

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

/* ---- schema ---- */

static int migrate(struct pg_conn *c, struct osm_err *err)
{
    if (run_script(c, "BEGIN", err, "BEGIN") != 0)
        return -1;
    /* Two engines opening a new database at once: one migrates, the other waits. */
    if (run_script(c, "SELECT pg_advisory_xact_lock(" LOCK_MIGRATE ")", err, "locking the schema") != 0)
        goto fail;
    PGresult *r = PQexec(c->conn, "SELECT to_regclass('schema_version') IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_fail(c, r, err, "reading the schema");
        PQclear(r);
        goto fail;
    }
    int have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    int version = 0;
    if (!have) {
        if (run_script(c, "CREATE TABLE schema_version(version integer NOT NULL); INSERT INTO schema_version VALUES(0)",
                       err, "creating the schema") != 0)
            goto fail;
    } else {
        r = PQexec(c->conn, "SELECT max(version) FROM schema_version");
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            pg_fail(c, r, err, "reading the schema version");
            PQclear(r);
            goto fail;
        }
        version = PQgetisnull(r, 0, 0) ? 0 : atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    if (version > osm_schema_pg_n) {
        osm_err_set(err, OSM_EUNSUPPORTED,
                    "state store %s: schema version %d is newer than this osmig knows (%d); use a newer osmig",
                    c->location, version, osm_schema_pg_n);
        goto fail;
    }
    /* DDL is transactional in PostgreSQL: every migration and the version
     * bump commit together or not at all. */
    for (int v = version + 1; v <= osm_schema_pg_n; v++) {
        char what[64], bump[64];
        snprintf(what, sizeof what, "migrating the schema to version %d", v);
        snprintf(bump, sizeof bump, "UPDATE schema_version SET version=%d", v);
        if (run_script(c, osm_schema_pg[v - 1], err, what) != 0 || run_script(c, bump, err, what) != 0)
            goto fail;
    }
    return run_script(c, "COMMIT", err, "COMMIT");
fail:
    rollback_quietly(c);
    return -1;
}

/* ---- open, close ---- */

static void pg_close(struct osm_sql *sc)
{
    struct pg_conn *c = (struct pg_conn *)sc;
    if (c->conn)
        PQfinish(c->conn);
    for (int i = 0; i < N_TEXTS; i++)
        free(c->texts[i].text);
    free(c->location);
    free(c);
}

static const struct osm_sql_dialect pg_dialect = {
    .instance_matches = "instance ~ ?8",
    .pattern_arg = fnmatch_regex,
    .nonce_purge = "DELETE FROM nonces WHERE expires < ?5",
    /* New, or there but expired (new again); a concurrent use of the same
     * nonce waits on the key and then changes nothing. */
    .nonce_record = "INSERT INTO nonces(key_id, nonce, expires) VALUES(?1,?2,?4) ON CONFLICT (key_id, nonce) "
                    "DO UPDATE SET expires=excluded.expires WHERE nonces.expires < ?5",
    .keys_generation = NULL,
};

static const struct osm_sql_driver pg_driver = {
    .name = "postgresql",
    .caps = OSM_SQL_CAP_ARRAYS,
    .dialect = &pg_dialect,
    .prepare = pg_prepare,
    .bind_text = pg_bind_text,
    .bind_i64 = pg_bind_i64,
    .bind_f64 = pg_bind_f64,
    .step = pg_step,
    .col_text = pg_col_text,
    .col_i64 = pg_col_i64,
    .col_f64 = pg_col_f64,
    .changes = pg_changes,
    .reset = pg_reset,
    .finish = pg_finish,
    .write = pg_write,
    .in_transaction = pg_in_transaction,
    .tx_seq = pg_tx_seq,
    .lock = pg_lock,
    .analyze = pg_analyze,
    .close = pg_close,
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
    struct pg_conn *c = osm_xcalloc(1, sizeof *c);
    c->base.drv = &pg_driver;
    c->location = osm_store_pg_redact(url);
    c->base.location = c->location;
    if (connect_url(url, c->location, &c->conn, err) != 0 || migrate(c, err) != 0) {
        pg_close(&c->base);
        return -1;
    }
    *out = osm_store_new(&pg_driver, &c->base, osm_xstrdup(c->location));
    return 0;
}

int osm_store_pg_schema_latest(void)
{
    return osm_schema_pg_n;
}

void *osm_store_pg_handle(struct osm_store *st)
{
    struct osm_sql *c = st ? osm_store_sql(st, &pg_driver) : NULL;
    return c ? ((struct pg_conn *)c)->conn : NULL;
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
                     atoi(PQgetvalue(r, 0, 0)) == osm_schema_pg_n;
        PQclear(r);
        if (latest) {
            r = PQexec(conn, "SET session_replication_role = replica;"
                             "TRUNCATE task_events, step_journal, tasks, jobs, api_keys, nonces, audit RESTART IDENTITY");
            drop = PQresultStatus(r) != PGRES_COMMAND_OK;
            PQclear(r);
        } else {
            drop = 1;
        }
    }
    if (drop) {
        PGresult *r = PQexec(conn,
            "DROP TABLE IF EXISTS task_events, step_journal, tasks, jobs, api_keys, nonces, audit, schema_version CASCADE;"
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
