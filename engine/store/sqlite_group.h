/* sqlite_group: group commit for the SQLite store (store_sqlite.c).
 *
 * Threads of one process that write the same database file hand their
 * writes to one of them (the leader), which runs the writes queued so far in
 * one transaction, each inside its own SAVEPOINT, and commits them with one
 * fsync. A write that fails is rolled back to its savepoint alone; the others
 * of its batch are kept.
 *
 * Contract:
 * - osm_sqlite_group_run() returns only after the write's batch committed
 *   (or failed): a caller never sees its result before it is durable as
 *   asked. Its return value and error are those of its own function, unless
 *   the batch as a whole failed (BEGIN or COMMIT, or an error that ended
 *   the transaction), then -1 with that error for every write of the batch.
 * - A write function runs inside an open write transaction on the leader's
 *   connection (`conn`, not necessarily the caller's), must not BEGIN,
 *   COMMIT or ROLLBACK itself, and reports failure by returning < 0 (its
 *   changes are then rolled back to its savepoint). Values >= 0 keep its
 *   changes.
 * - A batch commits with synchronous=FULL when any of its writes is durable,
 *   else with NORMAL (in WAL mode: safe against a crash of the process, not
 *   of the machine).
 * - One group per database file per process (keyed by the file's path as
 *   SQLite resolves it), shared by all connections to it. */
#ifndef OSM_SQLITE_GROUP_H
#define OSM_SQLITE_GROUP_H

#include <sqlite3.h>

#include "osm_error.h"

struct osm_sqlite_group;

/* The WAL's length (pages) at which it starts afresh (after writes that
 * waited for the disk; a few times longer after others only), so it stays
 * near this length. */
#define OSM_SQLITE_CHECKPOINT_FRAMES 8000

/* One connection as the group uses it: the handle (synchronous=FULL outside
 * batches) and what the write functions get when it leads a batch. */
enum {
    OSM_SQLITE_BEGIN, OSM_SQLITE_COMMIT, OSM_SQLITE_SAVEPOINT, OSM_SQLITE_RELEASE, OSM_SQLITE_ROLLBACK_TO,
    OSM_SQLITE_SYNC_NORMAL, OSM_SQLITE_SYNC_FULL, OSM_SQLITE_N_CONTROL
};
struct osm_sqlite_conn {
    sqlite3 *db;
    const char *location;    /* for messages */
    void *user;              /* passed to write functions as `conn` */
    sqlite3_stmt *control[OSM_SQLITE_N_CONTROL]; /* the batch's statements, prepared on first use */
    unsigned long long batch_seq; /* bumped by each batch this connection leads (before its writes run) */
    int wal_frames;          /* the WAL's length after this connection's last commit */
};
/* Set up `c` for `db`: the connection's WAL checkpoints move out of its
 * commits (SQLite's automatic checkpoint runs inside the commit that
 * crosses 1000 pages, and its fsyncs held up the answers to every writer of
 * that batch, and the batches after): the leader of a batch that made the
 * WAL long runs one after its writers have their answers, mostly beside
 * the next batches (sqlite_group.c). */
void osm_sqlite_conn_init(struct osm_sqlite_conn *c, sqlite3 *db, const char *location, void *user);
/* Finalize the connection's statements (before sqlite3_close). */
void osm_sqlite_conn_finish(struct osm_sqlite_conn *c);

typedef int (*osm_sqlite_write_fn)(void *conn, void *arg, struct osm_err *err);

/* The group of the database file of `db` (created on first use); release
 * it with osm_sqlite_group_put(). */
struct osm_sqlite_group *osm_sqlite_group_get(sqlite3 *db);
void osm_sqlite_group_put(struct osm_sqlite_group *g);

/* Give the group a connection of its own (optional): every batch then runs
 * on it, whose page cache stays warm (on a leader's connection a batch first
 * read again each page that other connections' commits had made stale).
 * 1 adopted; 0 the group has one already, or is of a private database (the
 * caller keeps `writer`). The group calls close_fn(user) once its last
 * reference is put; `writer` must not hold a reference itself. */
int osm_sqlite_group_adopt(struct osm_sqlite_group *g, struct osm_sqlite_conn *writer, void (*close_fn)(void *),
                           void *user);
int osm_sqlite_group_has_writer(struct osm_sqlite_group *g);

/* Run `fn(user of the group's connection or the leader's, arg, err)` in the
 * next batch. */
int osm_sqlite_group_run(struct osm_sqlite_group *g, struct osm_sqlite_conn *conn, osm_sqlite_write_fn fn, void *arg,
                         int durable, struct osm_err *err);

/* A busy handler for every connection: short, even sleeps for up to
 * `timeout_ms` (SQLite's own sleeps grow to 100 ms a try, so a writer that
 * came early can wait behind many that came later). */
void osm_sqlite_fair_busy(sqlite3 *db, int timeout_ms);

/* osm_sqlite_fair_busy for `db` and for the connection its group writes
 * with, if it has one yet (tests: a short wait for a lock held elsewhere). */
void osm_sqlite_group_set_busy(sqlite3 *db, int timeout_ms);

/* Batches committed and writes in them since the start (for tests and
 * metrics). */
void osm_sqlite_group_stats(unsigned long long *batches, unsigned long long *writes);
/* For tests: how many writes wait for the file of `db`, and whether a batch
 * is being written. */
void osm_sqlite_group_state(sqlite3 *db, size_t *queued, int *busy);

#endif
