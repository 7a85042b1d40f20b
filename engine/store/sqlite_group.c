/* sqlite_group.c: group commit of SQLite writes (see sqlite_group.h).
 *
 * Leader and followers, no thread of its own: a writer queues its write;
 * when no batch is being written it becomes the leader, takes every write
 * queued so far (its own among them), runs them in one transaction on its
 * own connection and wakes the writers of the batch. Writes that arrive
 * meanwhile wait for the next batch, whose leader is one of them: while one
 * fsync runs, the next batch gathers. */
#include "sqlite_group.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "store_sql.h"

/* A batch holds at most this many writes: the first of a long queue should
 * not wait for a transaction of thousands. */
#define MAX_BATCH 64

/* Every CHECKPOINT_FRAMES pages the WAL gets a checkpoint beside the
 * batches (SQLite's default is 1,000; pages written again and again, the
 * last leaves of the indexes, are copied once per checkpoint). Each is a
 * burst of copying on one core: larger ones held up requests for longer.
 * The WAL starts afresh (the checkpoint's last part, which holds the writers
 * up for a few milliseconds) once it is RESTART_FRAMES long, after batches
 * that waited for the disk; else at RESTART_ANYWAY_FRAMES (see below). */
#define CHECKPOINT_FRAMES 2000
#define RESTART_FRAMES OSM_SQLITE_CHECKPOINT_FRAMES
/* Frames the first part may leave to the second. */
#define CHECKPOINT_REST 64
/* How long the checkpoint's second part waits for readers on the WAL (the
 * writers wait with it): briefly at first; should the readers take longer,
 * it tries again later and waits twice as long, up to the most. */
#define RESTART_WAIT_MS 3
#define RESTART_WAIT_MAX_MS 48
/* The WAL's length that starts it afresh even when no batch since waited
 * for the disk (it would otherwise grow without end). */
#define RESTART_ANYWAY_FRAMES (4 * RESTART_FRAMES)
static __thread int busy_cap_ms; /* when > 0: the busy handler's limit on this thread */

struct item {
    osm_sqlite_write_fn fn;
    void *arg;
    int durable;
    int rc;
    struct osm_err *err;
    int done;
    pthread_cond_t cv;       /* its writer waits here: woken alone, not with every writer */
    struct item *next;
};

struct osm_sqlite_group {
    char *path;
    int refs;
    pthread_mutex_t mu;
    struct item *head, *tail;
    int busy;                /* a leader is writing a batch (or the checkpoint's last part runs) */
    int checkpointing;       /* a writer runs a checkpoint */
    pthread_cond_t *ckpt_cv; /* the checkpointing writer waits here for the end of the batch in flight */
    int checkpoint_at;       /* the WAL's length (frames) that starts a checkpoint */
    int restart_wait_ms;     /* the next checkpoint's wait for readers */
    int durable_since_restart; /* a batch with fsync has run since the WAL started afresh */
    struct osm_sqlite_conn *writer; /* the group's own connection for batches (adopted), or NULL */
    void (*writer_close)(void *);
    void *writer_user;
    struct osm_sqlite_group *next;
};

static pthread_mutex_t groups_mu = PTHREAD_MUTEX_INITIALIZER;
static struct osm_sqlite_group *groups;
static unsigned long long stat_batches, stat_writes; /* under groups_mu */

struct osm_sqlite_group *osm_sqlite_group_get(sqlite3 *db)
{
    const char *path = sqlite3_db_filename(db, "main");
    if (!path || !*path) /* a private (in-memory or temporary) database: a group of its own */
        path = NULL;
    pthread_mutex_lock(&groups_mu);
    struct osm_sqlite_group *g = NULL;
    for (g = path ? groups : NULL; g; g = g->next)
        if (g->path && strcmp(g->path, path) == 0)
            break;
    if (!g) {
        g = osm_xcalloc(1, sizeof *g);
        g->path = path ? osm_xstrdup(path) : NULL;
        g->checkpoint_at = CHECKPOINT_FRAMES;
        g->restart_wait_ms = RESTART_WAIT_MS;
        pthread_mutex_init(&g->mu, NULL);
        g->next = groups;
        groups = g;
    }
    g->refs++;
    pthread_mutex_unlock(&groups_mu);
    return g;
}

void osm_sqlite_group_put(struct osm_sqlite_group *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&groups_mu);
    if (--g->refs == 0) {
        if (g->writer)
            g->writer_close(g->writer_user);
        for (struct osm_sqlite_group **pp = &groups; *pp; pp = &(*pp)->next)
            if (*pp == g) {
                *pp = g->next;
                break;
            }
        pthread_mutex_destroy(&g->mu);
        free(g->path);
        free(g);
    }
    pthread_mutex_unlock(&groups_mu);
}

int osm_sqlite_group_adopt(struct osm_sqlite_group *g, struct osm_sqlite_conn *writer, void (*close_fn)(void *),
                           void *user)
{
    int adopted = 0;
    pthread_mutex_lock(&g->mu);
    if (!g->writer && g->path) {
        g->writer = writer;
        g->writer_close = close_fn;
        g->writer_user = user;
        adopted = 1;
    }
    pthread_mutex_unlock(&g->mu);
    return adopted;
}

int osm_sqlite_group_has_writer(struct osm_sqlite_group *g)
{
    pthread_mutex_lock(&g->mu);
    int has = g->writer != NULL || !g->path;
    pthread_mutex_unlock(&g->mu);
    return has;
}

void osm_sqlite_group_set_busy(sqlite3 *db, int timeout_ms)
{
    osm_sqlite_fair_busy(db, timeout_ms);
    struct osm_sqlite_group *g = osm_sqlite_group_get(db);
    pthread_mutex_lock(&g->mu);
    if (g->writer)
        osm_sqlite_fair_busy(g->writer->db, timeout_ms);
    pthread_mutex_unlock(&g->mu);
    osm_sqlite_group_put(g);
}

void osm_sqlite_group_stats(unsigned long long *batches, unsigned long long *writes)
{
    pthread_mutex_lock(&groups_mu);
    *batches = stat_batches;
    *writes = stat_writes;
    pthread_mutex_unlock(&groups_mu);
}

static const char *const control_sql[] = {
    [OSM_SQLITE_BEGIN] = "BEGIN IMMEDIATE",
    [OSM_SQLITE_COMMIT] = "COMMIT",
    [OSM_SQLITE_SAVEPOINT] = "SAVEPOINT w",
    [OSM_SQLITE_RELEASE] = "RELEASE w",
    [OSM_SQLITE_ROLLBACK_TO] = "ROLLBACK TO w",
    [OSM_SQLITE_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
    [OSM_SQLITE_SYNC_FULL] = "PRAGMA synchronous=FULL",
};

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db, (void)name;
    ((struct osm_sqlite_conn *)arg)->wal_frames = frames;
    return SQLITE_OK;
}

void osm_sqlite_conn_init(struct osm_sqlite_conn *c, sqlite3 *db, const char *location, void *user)
{
    memset(c, 0, sizeof *c);
    c->db = db;
    c->location = location;
    c->user = user;
    sqlite3_wal_hook(db, wal_hook, c); /* replaces the automatic checkpoint */
}

void osm_sqlite_conn_finish(struct osm_sqlite_conn *c)
{
    for (int i = 0; i < OSM_SQLITE_N_CONTROL; i++) {
        sqlite3_finalize(c->control[i]);
        c->control[i] = NULL;
    }
}

/* One of the batch's own statements, prepared once per connection (parsing
 * them for every batch cost a seventh of a signed request). */
static int control(struct osm_sqlite_conn *c, int which, const char *what, struct osm_err *err)
{
    sqlite3_stmt **st = &c->control[which];
    int rc = SQLITE_OK;
    if (!*st)
        rc = sqlite3_prepare_v3(c->db, control_sql[which], -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(*st);
        sqlite3_reset(*st);
        if (rc == SQLITE_DONE || rc == SQLITE_ROW)
            return 0;
    }
    int code = sqlite3_extended_errcode(c->db) & 0xff;
    if (code == SQLITE_FULL)
        osm_store_space_failed();
    return osm_err_set(err, OSM_EIO, "state store %s: %s: %s%s", c->location, what, sqlite3_errmsg(c->db),
                       code == SQLITE_BUSY || code == SQLITE_LOCKED ? " (another osmig holds the store for too long)"
                       : code == SQLITE_FULL                        ? " (the disk is full)"
                                                                    : "");
}

/* Every write of the batch fails with `e` (nothing of the batch is kept). */
static void fail_all(struct item *batch, const struct osm_err *e)
{
    for (struct item *it = batch; it; it = it->next) {
        it->rc = -1;
        if (it->err != e)
            *it->err = *e;
    }
}

static void run_batch(struct osm_sqlite_conn *c, struct item *batch)
{
    int durable = 0;
    for (struct item *it = batch; it; it = it->next)
        durable |= it->durable;
    struct osm_err e = OSM_ERR_INIT;
    /* Connections stay at FULL outside batches (store_sqlite.c's own
     * transactions rely on it). */
    if (!durable && control(c, OSM_SQLITE_SYNC_NORMAL, "choosing the durability of a batch", &e) != 0) {
        fail_all(batch, &e);
        return;
    }
    c->batch_seq++;
    if (control(c, OSM_SQLITE_BEGIN, "beginning a batch of writes", &e) != 0) {
        fail_all(batch, &e);
        goto out;
    }
    for (struct item *it = batch; it; it = it->next) {
        if (control(c, OSM_SQLITE_SAVEPOINT, "beginning a write of a batch", &e) != 0)
            break;
        it->rc = it->fn(c->user, it->arg, it->err);
        if (sqlite3_get_autocommit(c->db)) {
            /* An error that ended the transaction (I/O, disk full): the
             * batch's earlier writes went with it. */
            e = *it->err;
            if (!e.code)
                osm_err_set(&e, OSM_EIO, "state store %s: a batch of writes was rolled back: %s", c->location,
                            sqlite3_errmsg(c->db));
            break;
        }
        if (it->rc < 0 && control(c, OSM_SQLITE_ROLLBACK_TO, "undoing a failed write of a batch", &e) != 0)
            break;
        if (control(c, OSM_SQLITE_RELEASE, "ending a write of a batch", &e) != 0)
            break;
    }
    if (e.code || control(c, OSM_SQLITE_COMMIT, "committing a batch of writes", &e) != 0) {
        if (!sqlite3_get_autocommit(c->db))
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        fail_all(batch, &e);
        /* Out of space: the WAL is copied into the database and cut to
         * nothing now, as far as it can be, so that the space freed by
         * whoever makes room is enough for the next write. */
        if ((sqlite3_extended_errcode(c->db) & 0xff) == SQLITE_FULL || osm_store_full_since())
            sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    }
out:
    if (!durable) {
        struct osm_err ignore = OSM_ERR_INIT;
        /* Should this fail the connection would commit later writes without
         * fsync: better to make it unusable. */
        if (control(c, OSM_SQLITE_SYNC_FULL, "restoring durability", &ignore) != 0)
            sqlite3_exec(c->db, "PRAGMA query_only=1", NULL, NULL, NULL);
    }
}

int osm_sqlite_group_run(struct osm_sqlite_group *g, struct osm_sqlite_conn *conn, osm_sqlite_write_fn fn, void *arg,
                         int durable, struct osm_err *err)
{
    struct item self = {.fn = fn, .arg = arg, .durable = durable, .err = err};
    int led_frames = -1; /* the WAL's length after the batch this write led (none: -1) */
    pthread_cond_init(&self.cv, NULL);
    pthread_mutex_lock(&g->mu);
    if (g->tail)
        g->tail->next = &self;
    else
        g->head = &self;
    g->tail = &self;
    while (!self.done) {
        if (g->busy) {
            pthread_cond_wait(&self.cv, &g->mu);
            continue;
        }
        /* Lead: take up to MAX_BATCH writes from the head (ours is among
         * them unless the queue is longer; then we lead again after). */
        g->busy = 1;
        struct osm_sqlite_conn *use = g->writer ? g->writer : conn;
        struct item *batch = g->head, *last = batch;
        size_t n = 1;
        while (last->next && n < MAX_BATCH) {
            last = last->next;
            n++;
        }
        g->head = last->next;
        if (!g->head)
            g->tail = NULL;
        last->next = NULL;
        for (struct item *it = batch; it; it = it->next)
            g->durable_since_restart |= it->durable;
        pthread_mutex_unlock(&g->mu);

        run_batch(use, batch);

        pthread_mutex_lock(&groups_mu);
        stat_batches++;
        stat_writes += n;
        pthread_mutex_unlock(&groups_mu);
        pthread_mutex_lock(&g->mu);
        led_frames = use->wal_frames;
        use->wal_frames = 0;
        for (struct item *it = batch, *nx; it; it = nx) {
            nx = it->next; /* `it` may be gone once its writer wakes */
            it->done = 1;
            if (it != &self)
                pthread_cond_signal(&it->cv);
        }
        g->busy = 0;
        /* A checkpoint waiting for its last part goes first; else the
         * oldest waiting write leads the next batch. */
        if (g->ckpt_cv)
            pthread_cond_signal(g->ckpt_cv);
        else if (g->head && g->head != &self)
            pthread_cond_signal(&g->head->cv);
    }
    if (led_frames >= g->checkpoint_at && !g->checkpointing) {
        /* The WAL is long: copy it into the database in two parts. The
         * first (most pages, and the database's fsync) runs beside the
         * next batches; the second, once the WAL is long enough to start
         * afresh, copies the pages they appended meanwhile while no batch of
         * this process writes, and it waits (briefly) for the
         * readers still on the WAL, so that the next write starts the WAL
         * afresh. A WAL that never restarts grows: each commit then extends
         * the file, and its fsync waits for the file system's journal, with
         * all the database pages the checkpoints wrote (stalls of 100 ms
         * and more); and every batch would start another checkpoint.
         * SQLite's own checkpoint would run inside a commit and hold up its
         * batch's answers and every writer for all of it. */
        /* On this writer's own connection: the group's may be writing the
         * next batch meanwhile. */
        g->checkpointing = 1;
        pthread_mutex_unlock(&g->mu);
        int log = -1, copied = -2;
        /* Again while the batches that ran beside it appended much: the
         * part that holds up the writers should find little left. */
        for (int round = 0, before = -1; round < 4; round++) {
            /* Each round copies what the one before left (`log` is the
             * WAL's length when the round began): once that is little,
             * so is what came in meanwhile. */
            if (sqlite3_wal_checkpoint_v2(conn->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) != SQLITE_OK ||
                (before >= 0 && log - before < CHECKPOINT_REST))
                break;
            before = log;
        }
        pthread_mutex_lock(&g->mu);
        if (log < (g->durable_since_restart ? RESTART_FRAMES : RESTART_ANYWAY_FRAMES)) {
            /* Not yet: after batches without fsync (nonces alone) a longer
             * WAL costs nothing, as they do not wait for the disk. */
            g->checkpoint_at = (log > 0 ? log : 0) + CHECKPOINT_FRAMES;
            g->checkpointing = 0;
            goto out;
        }
        g->ckpt_cv = &self.cv;
        while (g->busy)
            pthread_cond_wait(&self.cv, &g->mu);
        g->ckpt_cv = NULL;
        g->busy = 1;
        pthread_mutex_unlock(&g->mu);
        busy_cap_ms = g->restart_wait_ms; /* read without the lock: only a checkpointing writer changes it */
        int rc = sqlite3_wal_checkpoint_v2(conn->db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &copied);
        busy_cap_ms = 0;
        pthread_mutex_lock(&g->mu);
        /* Readers kept the WAL (or another process wrote): try again
         * after a little more of it, not after every batch. */
        g->checkpoint_at = rc == SQLITE_OK ? CHECKPOINT_FRAMES : (log > 0 ? log : 0) + CHECKPOINT_FRAMES / 4;
        if (rc == SQLITE_OK)
            g->durable_since_restart = 0;
        g->restart_wait_ms = rc == SQLITE_OK                             ? RESTART_WAIT_MS
                             : g->restart_wait_ms * 2 > RESTART_WAIT_MAX_MS ? RESTART_WAIT_MAX_MS
                                                                          : g->restart_wait_ms * 2;
        g->busy = 0;
        if (g->head)
            pthread_cond_signal(&g->head->cv);
        g->checkpointing = 0;
    }
out:
    pthread_mutex_unlock(&g->mu);
    pthread_cond_destroy(&self.cv);
    return self.rc;
}

void osm_sqlite_group_state(sqlite3 *db, size_t *queued, int *busy)
{
    struct osm_sqlite_group *g = osm_sqlite_group_get(db);
    pthread_mutex_lock(&g->mu);
    *queued = 0;
    for (struct item *it = g->head; it; it = it->next)
        ++*queued;
    *busy = g->busy;
    pthread_mutex_unlock(&g->mu);
    osm_sqlite_group_put(g);
}

/* ---- the busy handler ---- */

static __thread struct timespec busy_since;

static int fair_busy(void *arg, int count)
{
    int timeout_ms = (int)(intptr_t)arg;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (count == 0)
        busy_since = now;
    double waited_ms = (double)(now.tv_sec - busy_since.tv_sec) * 1e3 + (double)(now.tv_nsec - busy_since.tv_nsec) / 1e6;
    if (waited_ms >= timeout_ms || (busy_cap_ms > 0 && waited_ms >= busy_cap_ms))
        return 0;
    /* A commit holds the lock for about one fsync (a millisecond or a few):
     * a quarter of a millisecond at first, then half, keeps a waiter close
     * behind it without spinning. */
    usleep(count < 8 ? 250 : 500);
    return 1;
}

void osm_sqlite_fair_busy(sqlite3 *db, int timeout_ms)
{
    sqlite3_busy_handler(db, fair_busy, (void *)(intptr_t)timeout_ms);
}
