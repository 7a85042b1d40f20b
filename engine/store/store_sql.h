/* store_sql: the SQL driver beneath the store (private to engine/store).
 *
 * The store's rules (store_rules.c: which task holds an instance, claims and
 * leases, commits with an expected state or rev, the idempotent job create,
 * paging) are written once, in SQL that both dialects run, over this thin
 * driver, as git's refs.c sits over struct ref_storage_be. A driver knows
 * how to prepare, bind, step and read a statement in its dialect, and how to
 * run a write transaction; nothing of tasks, jobs or keys.
 *
 * Contract:
 * - SQL texts given to prepare() are static: a driver may key a cache by
 *   their address. Parameters are written ?1, ?2, ...; each driver spells
 *   the few clauses one dialect lacks (see "Dialect" below).
 * - write() runs fn in one transaction on a connection of the driver's
 *   choosing (SQLite: the group commit's, sqlite_group.h), commits it, and
 *   returns fn's value; fn < 0 undoes fn's changes. fn must not BEGIN or
 *   COMMIT. After a failed statement fn must return < 0 (PostgreSQL has
 *   aborted the transaction by then).
 * - Errors carry the store's location and what was being done. */
#ifndef OSM_STORE_SQL_H
#define OSM_STORE_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"
#include "store.h"

struct osm_store;
struct osm_sql_driver;

/* The head of each driver's connection and statement. */
struct osm_sql {
    const struct osm_sql_driver *drv;
    const char *location; /* for messages: the file, or the URL without its password */
    /* What the rules read once per write transaction of this connection
     * (the keys' generation: keys change outside batches only). */
    uint64_t memo_tx;
    int64_t memo;
};
struct osm_sql_stmt {
    struct osm_sql *c;
};

/* step(): a row, the end, or a failure (err set; the kinds the rules
 * tell apart have their own codes). */
enum { OSM_SQL_DONE = 0, OSM_SQL_ROW = 1, OSM_SQL_FAIL = -1, OSM_SQL_UNIQUE = -2, OSM_SQL_FOREIGN_KEY = -3 };

typedef int (*osm_sql_write_fn)(struct osm_sql *c, void *arg, struct osm_err *err);

/* Capabilities: what a dialect does better one way than the other. */
enum {
    /* Lists bind as one array parameter (PostgreSQL's text[]): bulk
     * statements cost one round trip instead of one per element. */
    OSM_SQL_CAP_ARRAYS = 1,
    /* `state IN (a, b)` is not read in seq order from one index (SQLite):
     * a query of several states runs one ordered scan per state. */
    OSM_SQL_CAP_SCAN_PER_STATE = 2,
    /* Writes of a process share transactions (SQLite's group commit), so a
     * request's nonce rides along with its write for free: the store may
     * stage it (osm_store_stage_nonce) instead of committing it alone. */
    OSM_SQL_CAP_STAGE_NONCE = 4,
};

/* Dialect:
 * - `INDEXED BY name` is SQLite's; the PostgreSQL driver drops it.
 * - `FOR UPDATE [OF t] [SKIP LOCKED]` is PostgreSQL's; the SQLite driver
 *   drops it (its write transaction holds the whole file).
 * - `json_each(?N)` reads a JSON array of text (SQLite's json_each,
 *   PostgreSQL's json_array_elements_text); select its `value`.
 * Texts that differ beyond these come from the driver: */
struct osm_sql_dialect {
    /* Matching an fnmatch(3) pattern against `instance`, with the
     * pattern as ?8 (as pattern_arg() makes it). */
    const char *instance_matches;
    char *(*pattern_arg)(const char *fnmatch_pattern);
    /* The schema's nonce table: forget those expired before ?5; record
     * one (key ?1, nonce ?2, its hash ?3, expires ?4, now ?5), new or
     * expired (a row changed) or live (none changed). */
    const char *nonce_purge;
    const char *nonce_record;
    /* The generation of the access keys (NULL: the schema has none). */
    const char *keys_generation;
};

struct osm_sql_driver {
    const char *name; /* "sqlite", "postgresql" */
    unsigned caps;
    const struct osm_sql_dialect *dialect;

    struct osm_sql_stmt *(*prepare)(struct osm_sql *c, const char *sql, struct osm_err *err);
    void (*bind_text)(struct osm_sql_stmt *s, int i, const char *v); /* NULL: SQL NULL */
    void (*bind_i64)(struct osm_sql_stmt *s, int i, int64_t v);
    void (*bind_f64)(struct osm_sql_stmt *s, int i, double v);
    /* OSM_SQL_ROW, OSM_SQL_DONE, or < 0 with err naming `what`. */
    int (*step)(struct osm_sql_stmt *s, const char *what, struct osm_err *err);
    const char *(*col_text)(struct osm_sql_stmt *s, int i); /* NULL when NULL */
    int64_t (*col_i64)(struct osm_sql_stmt *s, int i);
    double (*col_f64)(struct osm_sql_stmt *s, int i);
    /* Rows the last statement of `c` changed. */
    int64_t (*changes)(struct osm_sql *c);
    /* Run it again with new bindings (the ones not bound again are kept). */
    void (*reset)(struct osm_sql_stmt *s);
    void (*finish)(struct osm_sql_stmt *s);

    int (*write)(struct osm_sql *c, osm_sql_write_fn fn, void *arg, int durable, struct osm_err *err);
    /* Inside write(): is the transaction still open? (an I/O error may end it) */
    int (*in_transaction)(struct osm_sql *c);
    /* A number that changes with each write transaction of `c`. */
    uint64_t (*tx_seq)(struct osm_sql *c);
    /* Inside write(): serialise with the other transactions that take
     * `key` (SQLite: its write transaction does already). */
    int (*lock)(struct osm_sql *c, int64_t key, struct osm_err *err);
    /* Reads between read_begin and read_end see one snapshot (NULL: none). */
    int (*read_begin)(struct osm_sql *c, struct osm_err *err);
    void (*read_end)(struct osm_sql *c);
    /* After a bulk insert into `table`: refresh the planner's statistics
     * (NULL: nothing to do). Best effort. */
    void (*analyze)(struct osm_sql *c, const char *table);
    void (*close)(struct osm_sql *c);
};

/* The store's side of a handle (struct osm_store's impl). */
#define OSM_QUERY_SHAPES 64
struct osm_store_impl {
    const struct osm_sql_driver *drv;
    struct osm_sql *sql;
    /* query_tasks's SQL, one text per combination of filters: its address
     * keys the driver's statement cache. */
    char *query_sql[OSM_QUERY_SHAPES][OSM_TASK_N_STATES + 1];
    int64_t next_nonce_purge; /* when a nonce write next forgets expired nonces */
    struct osm_staged_nonce { /* a request's nonce for the next write (OSM_SQL_CAP_STAGE_NONCE) */
        int staged;
        int outcome;          /* pending, OSM_NONCE_*, or -1 (failed: err) */
        char *nonce;
        int64_t expires, now, keys_gen;
        struct osm_key key;
        struct osm_err err;
    } nonce;
};

/* Every write transaction of the rules: drv->write(), after the staged
 * nonce when there is one (store_nonce.c). */
int osm_store_write(struct osm_store *st, osm_sql_write_fn fn, void *arg, int durable, struct osm_err *err);
void osm_store_nonce_clear(struct osm_store *st);

/* A store over an open driver connection (takes `c` and `location`). */
struct osm_store *osm_store_new(const struct osm_sql_driver *drv, struct osm_sql *c, char *location);
/* The driver connection of a store of driver `drv`, else NULL. */
struct osm_sql *osm_store_sql(struct osm_store *st, const struct osm_sql_driver *drv);

/* The first 64 bits of SHA-256(key id, NUL, nonce) (SQLite keeps nonces so). */
int64_t osm_nonce_hash(const char *key_id, const char *nonce);

/* Drivers: a write failed for lack of space / a write committed
 * (osm_store_full_since). */
void osm_store_space_failed(void);
void osm_store_space_ok(void);

#endif
