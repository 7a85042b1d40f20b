/* test_store_group.c: group commit in the SQLite store (sqlite_group.h).
 *
 * The batches are made deterministic: another connection holds the file's
 * write lock while a first writer (the leader of a batch of one) waits for
 * it and the others queue behind; once all are queued the lock is let go,
 * and the queued writes form one batch. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_fs.h"
#include "sqlite_group.h"
#include "store.h"
#include "store_sqlite.h"
#include "teststore.h"

static char tmpdir[64];
static char dbpath[128];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/osmig-group-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(dbpath, sizeof dbpath, "%s/state.db", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return osm_remove_tree(tmpdir, NULL);
}

/* One writer thread, on a connection of its own (opened beforehand: an
 * open reads the schema in a write transaction): a job on one instance, or
 * a nonce. */
struct writer {
    struct osm_store *st;
    const char *instance;  /* a job of one task on it, or */
    const char *nonce;     /* a nonce of key k-1 */
    int rc;
    struct osm_err err;
    char job_id[40];
};

static void *write_one(void *arg)
{
    struct writer *w = arg;
    struct osm_store *st = w->st;
    if (w->nonce) {
        w->rc = osm_store_use_nonce(st, "k-1", w->nonce, 2000, 1000, &w->err);
    } else {
        static int seq;
        snprintf(w->job_id, sizeof w->job_id, "j-%s-%d", strrchr(w->instance, '/') + 1,
                 __atomic_fetch_add(&seq, 1, __ATOMIC_SEQ_CST));
        w->rc = osm_test_create_one(st, w->job_id, w->instance, "alinux3", &w->err);
    }
    return NULL;
}

static void open_writer(struct writer *w)
{
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_sqlite_open(dbpath, &w->st, &err) != 0)
        fail_msg("open: %s", err.msg);
}

/* Wait (without a deadline: the test's own timeout bounds it) until the
 * group of `db` has `queued` writes waiting, and a batch in flight when
 * `busy`. */
static void wait_for_group(sqlite3 *db, size_t queued, int busy)
{
    for (;;) {
        size_t q;
        int b;
        osm_sqlite_group_state(db, &q, &b);
        if (q == queued && b == busy)
            return;
        usleep(1000);
    }
}

static int job_exists(struct osm_store *st, const char *id)
{
    struct osm_job j;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_get_job(st, id, &j, &err) != 0)
        return 0;
    osm_job_free(&j);
    return 1;
}

static void one_batch_keeps_the_good_writes_and_refuses_the_bad_alone(void **state)
{
    (void)state;
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_sqlite_open(dbpath, &st, &err), 0);
    /* dir:/srv/busy is held by a task of an earlier job */
    struct writer first = {.st = st, .instance = "dir:/srv/busy"};
    write_one(&first);
    assert_int_equal(first.rc, 0);
    struct writer lead = {.instance = "dir:/srv/lead"};
    struct writer ws[] = {
        {.instance = "dir:/srv/a"}, {.nonce = "n-1"},           {.instance = "dir:/srv/busy"},
        {.instance = "dir:/srv/b"}, {.nonce = "n-1"},           {.instance = "dir:/srv/c"},
        {.nonce = "n-2"},           {.instance = "dir:/srv/d"},
    };
    size_t n = sizeof ws / sizeof ws[0];
    open_writer(&lead);
    for (size_t i = 0; i < n; i++)
        open_writer(&ws[i]);

    /* Another process (here: a raw connection) holds the write lock. */
    sqlite3 *lock;
    assert_int_equal(sqlite3_open(dbpath, &lock), SQLITE_OK);
    assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

    pthread_t lead_th;
    pthread_create(&lead_th, NULL, write_one, &lead);
    sqlite3 *db = osm_store_sqlite_handle(st);
    wait_for_group(db, 0, 1); /* the leader took its batch (of one) and waits for the lock */

    pthread_t th[sizeof ws / sizeof ws[0]];
    unsigned long long b0, w0, b1, w1;
    osm_sqlite_group_stats(&b0, &w0);
    for (size_t i = 0; i < n; i++) {
        pthread_create(&th[i], NULL, write_one, &ws[i]);
        wait_for_group(db, i + 1, 1); /* queued in this order */
    }
    assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    pthread_join(lead_th, NULL);
    for (size_t i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    osm_sqlite_group_stats(&b1, &w1);
    /* the leader's batch of one, then the eight queued behind it */
    assert_true(b1 - b0 == 2);
    assert_true(w1 - w0 == n + 1);

    assert_int_equal(lead.rc, 0);
    for (size_t i = 0; i < n; i++) {
        if (ws[i].nonce)
            continue;
        if (strcmp(ws[i].instance, "dir:/srv/busy") == 0) {
            assert_int_equal(ws[i].rc, -1);
            assert_int_equal(ws[i].err.code, OSM_ECONFLICT);
            if (!strstr(ws[i].err.msg, "dir:/srv/busy"))
                fail_msg("the conflict does not name the instance: %s", ws[i].err.msg);
            assert_false(job_exists(st, ws[i].job_id));
        } else {
            assert_int_equal(ws[i].rc, 0);
            assert_true(job_exists(st, ws[i].job_id));
        }
    }
    /* the nonce used twice in one batch: accepted once (the first), then a replay */
    assert_int_equal(ws[1].rc, 1);
    assert_int_equal(ws[4].rc, 0);
    assert_int_equal(ws[6].rc, 1);
    /* and still refused afterwards */
    assert_int_equal(osm_store_use_nonce(st, "k-1", "n-1", 2000, 1000, &err), 0);
    osm_store_close(lead.st);
    for (size_t i = 0; i < n; i++)
        osm_store_close(ws[i].st);
    osm_store_close(st);
}

static void writes_of_a_failed_batch_all_fail(void **state)
{
    (void)state;
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_sqlite_open(dbpath, &st, &err), 0);
    sqlite3 *db = osm_store_sqlite_handle(st);
    /* A first write: the group has its writing connection now. */
    assert_int_equal(osm_store_use_nonce(st, "k-1", "n-early", 2000, 1000, &err), 1);
    /* A batch whose BEGIN cannot take the lock within the busy timeout:
     * every write of it fails, none is half kept. */
    sqlite3 *lock;
    assert_int_equal(sqlite3_open(dbpath, &lock), SQLITE_OK);
    assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    osm_sqlite_group_set_busy(db, 50);
    assert_int_equal(osm_test_create_one(st, "j-late", "dir:/srv/late", NULL, &err), -1);
    assert_non_null(strstr(err.msg, "state.db"));
    assert_int_equal(sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    assert_false(job_exists(st, "j-late"));
    osm_store_close(st);
}

/* ---- the WAL restarts although readers never stop ---- */

#define CHURN_WRITERS 4
#define CHURN_JOBS 2000 /* per writer: some 80,000 WAL frames in all */
#define CHURN_READERS 4

static int churn_done;

static void *churn_write(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < CHURN_JOBS && w->rc == 0; i++) {
        char inst[64];
        snprintf(inst, sizeof inst, "dir:/srv/%s-%d", w->instance, i);
        w->rc = osm_test_create_one(w->st, NULL, inst, NULL, &w->err);
    }
    return NULL;
}

/* Reads one after the other, each a little long, so that one is nearly
 * always on the WAL. */
static void *churn_read(void *arg)
{
    struct osm_store *st = arg;
    while (!__atomic_load_n(&churn_done, __ATOMIC_ACQUIRE)) {
        struct osm_err err = OSM_ERR_INIT;
        if (osm_store_read_begin(st, &err) != 0)
            continue;
        struct osm_task_filter f = {.instance = "dir:/srv/none"};
        struct osm_task *tasks = NULL;
        size_t n = 0;
        int64_t next = 0;
        if (osm_store_query_tasks(st, &f, &tasks, &n, &next, &err) == 0)
            osm_task_list_free(tasks, n);
        usleep(2000);
        osm_store_read_end(st);
    }
    return NULL;
}

static void wal_restarts_although_readers_never_stop(void **state)
{
    (void)state;
    struct writer w[CHURN_WRITERS] = {0};
    static const char *const names[CHURN_WRITERS] = {"a", "b", "c", "d"};
    for (int i = 0; i < CHURN_WRITERS; i++) {
        open_writer(&w[i]);
        w[i].instance = names[i];
    }
    struct osm_store *readers[CHURN_READERS];
    pthread_t rt[CHURN_READERS], wt[CHURN_WRITERS];
    struct osm_err err = OSM_ERR_INIT;
    churn_done = 0;
    for (int i = 0; i < CHURN_READERS; i++) {
        assert_int_equal(osm_store_sqlite_open(dbpath, &readers[i], &err), 0);
        pthread_create(&rt[i], NULL, churn_read, readers[i]);
    }
    for (int i = 0; i < CHURN_WRITERS; i++)
        pthread_create(&wt[i], NULL, churn_write, &w[i]);
    for (int i = 0; i < CHURN_WRITERS; i++)
        pthread_join(wt[i], NULL);
    __atomic_store_n(&churn_done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < CHURN_READERS; i++) {
        pthread_join(rt[i], NULL);
        osm_store_close(readers[i]);
    }
    for (int i = 0; i < CHURN_WRITERS; i++) {
        if (w[i].rc != 0)
            fail_msg("writer %d: %s", i, w[i].err.msg);
    }
    /* The WAL file keeps its longest extent: a WAL that started afresh
     * after each checkpoint stays near the checkpoint's threshold (and what
     * came in meanwhile), far below what was written. */
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", dbpath);
    struct stat sb;
    assert_int_equal(stat(wal, &sb), 0);
    long frames = (long)((sb.st_size - 32) / (4096 + 24));
    unsigned long long batches, writes;
    osm_sqlite_group_stats(&batches, &writes);
    printf("# WAL at most %ld frames after %llu batches of %llu writes\n", frames, batches, writes);
    if (frames > 3 * OSM_SQLITE_CHECKPOINT_FRAMES)
        fail_msg("the WAL grew to %ld frames: it did not restart", frames);
    for (int i = 0; i < CHURN_WRITERS; i++)
        osm_store_close(w[i].st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_batch_keeps_the_good_writes_and_refuses_the_bad_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_of_a_failed_batch_all_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(wal_restarts_although_readers_never_stop, setup, teardown),
    };
    return cmocka_run_group_tests_name("store group commit", tests, NULL, NULL);
}
