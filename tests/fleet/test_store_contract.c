/* test_store_contract.c: the fleet contract of the task store (store.h),
 * the same cases against every store: SQLite on a real file, and PostgreSQL
 * when OSMIG_TEST_PG_URL names a server (tests/fleet/pg_server.sh starts
 * one; the ctest wrapper does that). Each case starts from an empty store:
 * osmig's tables in the database at OSMIG_TEST_PG_URL are emptied or
 * dropped, so never point it at a database whose tasks matter. */
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "osm_buf.h"
#include "kind_files.h"
#include "osm_fs.h"
#include "runner.h"
#include "store.h"
#include "store_pg.h"
#include "store_sqlite.h"
#include "teststore.h"

/* ---- the store under test ---- */

static int use_pg;            /* set by the group: 0 SQLite, 1 PostgreSQL */
static const char *pg_url;
static char tmpdir[256];

static struct osm_store *open_store(void)
{
    struct osm_store *st = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_open_location(use_pg ? pg_url : tmpdir, &st, &err) != 0)
        fail_msg("open %s: %s", use_pg ? "postgresql" : tmpdir, err.msg);
    return st;
}

/* Run SQL on the store's own connection, as an intruder would; 0 when it
 * succeeded, else -1 with the database's message in `msg`. */
static int raw_exec(struct osm_store *st, const char *sql, char *msg, size_t size)
{
    msg[0] = '\0';
    if (use_pg)
        return osm_store_pg_exec_raw(st, sql, msg, size);
    char *m = NULL;
    int rc = sqlite3_exec(osm_store_sqlite_handle(st), sql, NULL, NULL, &m);
    if (m)
        snprintf(msg, size, "%s", m);
    sqlite3_free(m);
    return rc == SQLITE_OK ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/osmig-contract-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    if (use_pg) {
        /* An empty database: drop whatever the previous case left. */
        struct osm_err err = OSM_ERR_INIT;
        if (osm_store_pg_reset(pg_url, 0, &err) != 0) {
            fprintf(stderr, "reset %s: %s\n", pg_url, err.msg);
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return osm_remove_tree(tmpdir, NULL);
}

/* ---- helpers ---- */

/* A job of n tasks on instances PREFIX-0 .. PREFIX-(n-1); ids in job->id and
 * ids[i] (when ids is given). */
static int make_job(struct osm_store *st, struct osm_job *job, const char *token, const char *prefix, size_t n,
                    char (*ids)[40], struct osm_err *err)
{
    osm_job_init(job);
    job->client_token = token ? osm_xstrdup(token) : NULL;
    job->name = osm_xstrdup(prefix);
    job->max_concurrency = osm_xstrdup("10%");
    job->spec = osm_xstrdup("{\"targets\":1}");
    struct osm_task *tasks = osm_xcalloc(n ? n : 1, sizeof *tasks);
    for (size_t i = 0; i < n; i++) {
        char inst[128];
        snprintf(inst, sizeof inst, "dir:/srv/%s-%zu", prefix, i);
        osm_test_task_for(&tasks[i], inst, i % 2 ? "alinux3" : "rocky9");
        if (i % 3 == 0)
            tasks[i].window = osm_xstrdup("sat 02:00-04:00");
    }
    int rc = osm_store_create_job(st, job, tasks, n, err);
    for (size_t i = 0; i < n; i++) {
        if (ids)
            memcpy(ids[i], tasks[i].id, 40);
        osm_task_free(&tasks[i]);
    }
    free(tasks);
    return rc;
}

static void set_state(struct osm_store *st, const char *id, enum osm_task_state state)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task t;
    if (osm_store_get_task(st, id, &t, &err) != 0)
        fail_msg("get %s: %s", id, err.msg);
    t.state = state;
    snprintf(t.phase, sizeof t.phase, "%s", osm_task_state_name(state));
    struct osm_task_change ch = {.task = &t, .expect_state = -1, .expect_rev = t.rev, .event_type = "state",
                                 .event_message = osm_task_state_name(state)};
    if (osm_store_commit(st, &ch, &err) != 0)
        fail_msg("commit %s: %s", id, err.msg);
    osm_task_free(&t);
}

static size_t count_query(struct osm_store *st, const struct osm_task_filter *f)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task *list;
    size_t n;
    int64_t next;
    if (osm_store_query_tasks(st, f, &list, &n, &next, &err) != 0)
        fail_msg("query: %s", err.msg);
    osm_task_list_free(list, n);
    return n;
}

static size_t count_jobs(struct osm_store *st)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_job *jobs;
    size_t n;
    int64_t next;
    if (osm_store_list_jobs(st, 0, 0, &jobs, &n, &next, &err) != 0)
        fail_msg("list jobs: %s", err.msg);
    osm_job_list_free(jobs, n);
    return n;
}

/* ---- cases ---- */

static void create_job_writes_the_job_and_every_task_with_its_job_id(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_job job;
    char ids[5][40];
    assert_int_equal(make_job(st, &job, NULL, "web", 5, ids, &err), 0);
    assert_true(job.id[0] != '\0');

    struct osm_job got;
    assert_int_equal(osm_store_get_job(st, job.id, &got, &err), 0);
    assert_string_equal(got.name, "web");
    assert_string_equal(got.max_concurrency, "10%");
    assert_null(got.max_errors);
    assert_null(got.client_token);
    assert_string_equal(got.spec, "{\"targets\":1}");
    osm_job_free(&got);

    struct osm_task t;
    assert_int_equal(osm_store_get_task(st, ids[3], &t, &err), 0);
    assert_string_equal(t.job_id, job.id);
    assert_string_equal(t.instance, "dir:/srv/web-3");
    assert_string_equal(t.target, "alinux3");
    assert_string_equal(t.window, "sat 02:00-04:00");
    assert_int_equal(t.state, OSM_TASK_SUBMITTED);
    osm_task_free(&t);
    struct osm_task_event *ev;
    size_t n;
    assert_int_equal(osm_store_list_events(st, ids[0], &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].type, "submitted");
    osm_task_events_free(ev, n);

    assert_int_equal(osm_store_get_job(st, "j-nosuch", &got, &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    assert_non_null(strstr(err.msg, "j-nosuch"));

    assert_int_equal(osm_store_set_job_stop(st, job.id, "3 errors, limit 2", &err), 0);
    assert_int_equal(osm_store_get_job(st, job.id, &got, &err), 0);
    assert_string_equal(got.stop_reason, "3 errors, limit 2");
    assert_int_equal(got.rev, 1);
    osm_job_free(&got);
    assert_int_equal(osm_store_set_job_stop(st, job.id, NULL, &err), 0);
    assert_int_equal(osm_store_get_job(st, job.id, &got, &err), 0);
    assert_null(got.stop_reason);
    osm_job_free(&got);
    assert_int_equal(osm_store_set_job_stop(st, "j-nosuch", "x", &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    osm_job_free(&job);
    osm_store_close(st);
}

static void create_job_with_a_known_client_token_returns_that_job_and_writes_nothing(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_job a, b;
    assert_int_equal(make_job(st, &a, "tok-1", "web", 3, NULL, &err), 0);
    /* The same request again (other instances even): the first job. */
    assert_int_equal(make_job(st, &b, "tok-1", "db", 4, NULL, &err), 1);
    assert_string_equal(b.id, a.id);
    assert_int_equal(count_jobs(st), 1);
    struct osm_task_filter all = {0};
    assert_int_equal(count_query(st, &all), 3);
    osm_job_free(&b);
    /* Another token is another job. */
    assert_int_equal(make_job(st, &b, "tok-2", "db", 4, NULL, &err), 0);
    assert_string_not_equal(b.id, a.id);
    assert_int_equal(count_jobs(st), 2);
    osm_job_free(&a);
    osm_job_free(&b);
    osm_store_close(st);
}

static void create_job_on_a_busy_instance_fails_whole_naming_both_and_leaves_nothing(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task holder;
    osm_test_task_for(&holder, "dir:/srv/web-2", "alinux3");
    assert_int_equal(osm_store_create_task(st, &holder, &err), 0);

    struct osm_job job;
    assert_int_equal(make_job(st, &job, "tok-busy", "web", 4, NULL, &err), -1);
    assert_int_equal(err.code, OSM_ECONFLICT);
    assert_non_null(strstr(err.msg, "dir:/srv/web-2"));
    assert_non_null(strstr(err.msg, holder.id));
    osm_job_free(&job);
    /* Nothing of it: no job, no task on the other instances, the token free. */
    assert_int_equal(count_jobs(st), 0);
    struct osm_task_filter f = {.instance = "dir:/srv/web-0"};
    assert_int_equal(count_query(st, &f), 0);
    struct osm_task_filter all = {0};
    assert_int_equal(count_query(st, &all), 1);

    /* An instance named twice in one job is refused the same way. */
    struct osm_task twice[2];
    osm_test_task_for(&twice[0], "dir:/srv/dup", NULL);
    osm_test_task_for(&twice[1], "dir:/srv/dup", NULL);
    osm_job_init(&job);
    assert_int_equal(osm_store_create_job(st, &job, twice, 2, &err), -1);
    assert_int_equal(err.code, OSM_ECONFLICT);
    assert_non_null(strstr(err.msg, "dir:/srv/dup"));
    assert_non_null(strstr(err.msg, "more than once"));
    osm_task_free(&twice[0]);
    osm_task_free(&twice[1]);
    assert_int_equal(count_jobs(st), 0);

    /* Once the holder finished, the same token creates the job. */
    set_state(st, holder.id, OSM_TASK_SUCCEEDED);
    assert_int_equal(make_job(st, &job, "tok-busy", "web", 4, NULL, &err), 0);
    assert_int_equal(count_jobs(st), 1);
    osm_job_free(&job);
    osm_task_free(&holder);
    osm_store_close(st);
}

/* A key's scope (an fnmatch pattern) filters in the query: pages of one are
 * full and together hold exactly the instances fnmatch() accepts, for
 * stars, question marks, brackets (negated too), escapes and '/'. */
static void query_by_instance_pattern_matches_fnmatch_and_fills_pages(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    static const char *const instances[] = {"dir:/srv/web-1", "dir:/srv/web-2", "dir:/srv/db-1", "dir:/srv/web-10",
                                            "dir:/srv/a*b", "dir:/srv/axb", "dir:/srv/x.y", "dir:/srv/xzy",
                                            "dir:/other/web-1", "dir:/srv/[w]"};
    size_t n_inst = sizeof instances / sizeof instances[0];
    for (size_t i = 0; i < n_inst; i++) {
        struct osm_task t;
        osm_test_task_for(&t, instances[i], "alinux3");
        if (osm_store_create_task(st, &t, &err) != 0)
            fail_msg("create %s: %s", instances[i], err.msg);
        osm_task_free(&t);
    }
    static const char *const patterns[] = {"dir:/srv/web-*", "dir:/srv/web-?", "dir:/srv/[wd]*-1", "dir:/srv/[!w]*",
                                           "dir:/srv/[^wd]*", "dir:/srv/a\\*b", "dir:/srv/x.y", "*web-1",
                                           "dir:/srv/[[:alpha:]]b-1", "dir:/srv/[w", "dir:/srv/\\[w]", "nothing*"};
    for (size_t k = 0; k < sizeof patterns / sizeof patterns[0]; k++) {
        size_t want = 0;
        for (size_t i = 0; i < n_inst; i++)
            want += fnmatch(patterns[k], instances[i], 0) == 0;
        struct osm_task_filter f = {.instance_pattern = patterns[k], .limit = 1};
        size_t got = 0;
        for (int pages = 0; pages <= (int)n_inst + 1; pages++) {
            struct osm_task *tasks;
            size_t n;
            int64_t next;
            if (osm_store_query_tasks(st, &f, &tasks, &n, &next, &err) != 0)
                fail_msg("query %s: %s", patterns[k], err.msg);
            if (next)
                assert_int_equal(n, 1); /* a page before the last is full */
            for (size_t i = 0; i < n; i++) {
                if (fnmatch(patterns[k], tasks[i].instance, 0) != 0)
                    fail_msg("pattern %s: %s is not a match", patterns[k], tasks[i].instance);
                got++;
            }
            osm_task_list_free(tasks, n);
            if (!next)
                break;
            f.after_seq = next;
        }
        if (got != want)
            fail_msg("pattern %s: %zu tasks, fnmatch accepts %zu", patterns[k], got, want);
    }
    osm_store_close(st);
}

static void query_pages_by_seq_under_filters_with_no_row_twice_and_none_missed(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_job a, b;
    char ids_a[23][40], ids_b[6][40];
    assert_int_equal(make_job(st, &a, NULL, "a", 23, ids_a, &err), 0);
    struct osm_task lone;
    osm_test_task_for(&lone, "dir:/srv/lone", "alinux3");
    assert_int_equal(osm_store_create_task(st, &lone, &err), 0);
    assert_int_equal(make_job(st, &b, NULL, "b", 6, ids_b, &err), 0);
    for (int i = 0; i < 23; i += 4)
        set_state(st, ids_a[i], OSM_TASK_RUNNING);
    set_state(st, ids_a[1], OSM_TASK_FAILED);

    /* Every page size walks all of job a, in creation order, exactly once. */
    for (size_t limit = 1; limit <= 24; limit += 5) {
        struct osm_task_filter f = {.job_id = a.id, .limit = limit};
        size_t seen = 0;
        int pages = 0;
        do {
            struct osm_task *list;
            size_t n;
            int64_t next;
            assert_int_equal(osm_store_query_tasks(st, &f, &list, &n, &next, &err), 0);
            assert_true(n <= limit);
            for (size_t i = 0; i < n; i++) {
                assert_true(seen < 23);
                assert_string_equal(list[i].id, ids_a[seen]);
                assert_string_equal(list[i].job_id, a.id);
                seen++;
            }
            osm_task_list_free(list, n);
            assert_true(next == 0 || n == limit);
            f.after_seq = next;
            pages++;
        } while (f.after_seq);
        assert_int_equal(seen, 23);
        assert_int_equal(pages, (23 + limit - 1) / limit);
    }

    /* Several states page in seq order too, across pages, none twice. */
    int waiting_or_running[] = {OSM_TASK_RUNNING, OSM_TASK_SUBMITTED, OSM_TASK_RUNNING};
    for (size_t limit = 1; limit <= 8; limit += 3) {
        struct osm_task_filter fm = {.states = waiting_or_running, .n_states = 3, .job_id = a.id, .limit = limit};
        size_t seen = 0;
        do {
            struct osm_task *list;
            size_t n;
            int64_t next;
            assert_int_equal(osm_store_query_tasks(st, &fm, &list, &n, &next, &err), 0);
            for (size_t i = 0; i < n; i++) {
                if (seen == 1) /* ids_a[1] failed: not listed */
                    seen++;
                assert_true(seen < 23);
                assert_string_equal(list[i].id, ids_a[seen]);
                seen++;
            }
            osm_task_list_free(list, n);
            fm.after_seq = next;
        } while (fm.after_seq);
        assert_int_equal(seen, 23);
    }

    int running_or_failed[] = {OSM_TASK_RUNNING, OSM_TASK_FAILED};
    struct osm_task_filter f = {.states = running_or_failed, .n_states = 2};
    assert_int_equal(count_query(st, &f), 7);
    f.job_id = b.id;
    assert_int_equal(count_query(st, &f), 0);
    struct osm_task_filter by_target = {.target = "alinux3"};
    assert_int_equal(count_query(st, &by_target), 11 + 1 + 3);
    by_target.job_id = a.id;
    assert_int_equal(count_query(st, &by_target), 11);
    struct osm_task_filter by_instance = {.instance = "dir:/srv/b-5"};
    struct osm_task *list;
    size_t n;
    int64_t next;
    assert_int_equal(osm_store_query_tasks(st, &by_instance, &list, &n, &next, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, ids_b[5]);
    assert_int_equal(next, 0);
    osm_task_list_free(list, n);
    /* Creation times come from the clock: bounds taken from the rows
     * themselves (job a first, job b last) hold whatever second it is. */
    struct osm_task_filter later = {.created_from = b.created + 1};
    assert_int_equal(count_query(st, &later), 0);
    struct osm_task_filter window = {.created_from = a.created, .created_to = b.created + 1};
    assert_int_equal(count_query(st, &window), 30);
    struct osm_task_filter before = {.created_to = a.created};
    assert_int_equal(count_query(st, &before), 0);
    struct osm_task_filter job_b = {.created_from = b.created, .job_id = b.id};
    assert_int_equal(count_query(st, &job_b), 6);

    int bogus[] = {42};
    struct osm_task_filter bad = {.states = bogus, .n_states = 1};
    assert_int_equal(osm_store_query_tasks(st, &bad, &list, &n, &next, &err), -1);
    assert_int_equal(err.code, OSM_EUSAGE);

    /* Jobs page the same way. */
    struct osm_job *jobs;
    assert_int_equal(osm_store_list_jobs(st, 0, 1, &jobs, &n, &next, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(jobs[0].id, a.id);
    assert_int_not_equal(next, 0);
    osm_job_list_free(jobs, n);
    assert_int_equal(osm_store_list_jobs(st, next, 1, &jobs, &n, &next, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(jobs[0].id, b.id);
    assert_int_equal(next, 0);
    osm_job_list_free(jobs, n);

    osm_task_free(&lone);
    osm_job_free(&a);
    osm_job_free(&b);
    osm_store_close(st);
}

static void count_tasks_counts_by_state_per_job_and_overall(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_job a, b;
    char ids[6][40];
    assert_int_equal(make_job(st, &a, NULL, "a", 6, ids, &err), 0);
    assert_int_equal(make_job(st, &b, NULL, "b", 2, NULL, &err), 0);
    set_state(st, ids[0], OSM_TASK_RUNNING);
    set_state(st, ids[1], OSM_TASK_RUNNING);
    set_state(st, ids[2], OSM_TASK_FAILED);
    set_state(st, ids[3], OSM_TASK_SCHEDULED);
    struct osm_task_counts c;
    assert_int_equal(osm_store_count_tasks(st, a.id, &c, &err), 0);
    assert_int_equal(c.by_state[OSM_TASK_RUNNING], 2);
    assert_int_equal(c.by_state[OSM_TASK_FAILED], 1);
    assert_int_equal(c.by_state[OSM_TASK_SCHEDULED], 1);
    assert_int_equal(c.by_state[OSM_TASK_SUBMITTED], 2);
    assert_int_equal(c.by_state[OSM_TASK_SUCCEEDED], 0);
    assert_int_equal(osm_store_count_tasks(st, NULL, &c, &err), 0);
    assert_int_equal(c.by_state[OSM_TASK_SUBMITTED], 4);
    assert_int_equal(c.by_state[OSM_TASK_RUNNING], 2);
    assert_int_equal(osm_store_count_tasks(st, "j-nosuch", &c, &err), 0);
    assert_int_equal(c.by_state[OSM_TASK_SUBMITTED], 0);
    osm_job_free(&a);
    osm_job_free(&b);
    osm_store_close(st);
}

static void list_waiting_gives_exactly_the_submitted_and_scheduled_tasks(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_job a;
    char ids[5][40];
    assert_int_equal(make_job(st, &a, NULL, "a", 5, ids, &err), 0);
    struct osm_task lone;
    osm_test_task_for(&lone, "dir:/srv/lone", NULL);
    lone.not_before = 12345;
    lone.latest_start = 67890;
    assert_int_equal(osm_store_create_task(st, &lone, &err), 0);
    set_state(st, ids[1], OSM_TASK_RUNNING);
    set_state(st, ids[2], OSM_TASK_CANCELLED);
    set_state(st, ids[3], OSM_TASK_SCHEDULED);

    struct osm_waiting_task *w;
    size_t n;
    assert_int_equal(osm_store_list_waiting(st, &w, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(w[0].id, ids[0]);
    assert_string_equal(w[0].job_id, a.id);
    assert_string_equal(w[0].window, "sat 02:00-04:00");
    assert_int_equal(w[0].state, OSM_TASK_SUBMITTED);
    assert_string_equal(w[1].id, ids[3]);
    assert_int_equal(w[1].state, OSM_TASK_SCHEDULED);
    assert_string_equal(w[2].id, ids[4]);
    assert_null(w[2].window);
    assert_string_equal(w[3].id, lone.id);
    assert_null(w[3].job_id);
    assert_int_equal(w[3].not_before, 12345);
    assert_int_equal(w[3].latest_start, 67890);
    assert_true(w[3].created > 0);
    osm_waiting_free(w, n);
    osm_task_free(&lone);
    osm_job_free(&a);
    osm_store_close(st);
}

static void claim_waiting_respects_max_running_and_skips_claimed_tasks(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_job a;
    char ids[6][40];
    assert_int_equal(make_job(st, &a, NULL, "a", 6, ids, &err), 0);
    const char *idp[6];
    for (int i = 0; i < 6; i++)
        idp[i] = ids[i];
    int64_t far = osm_store_now() + 3600;
    char claimed[6][40];
    size_t n;

    set_state(st, ids[0], OSM_TASK_RUNNING); /* counts against the limit */
    assert_int_equal(osm_store_claim_waiting(st, a.id, idp, 6, 3, "w1/b:1", far, claimed, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(claimed[0], ids[1]);
    assert_string_equal(claimed[1], ids[2]);
    /* Full: another worker gets nothing. */
    assert_int_equal(osm_store_claim_waiting(st, a.id, idp, 6, 3, "w2/b:1", far, claimed, &n, &err), 0);
    assert_int_equal(n, 0);
    /* No limit: only the unclaimed waiting ones, never a claimed one again. */
    assert_int_equal(osm_store_claim_waiting(st, a.id, idp, 6, -1, "w2/b:1", far, claimed, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(claimed[0], ids[3]);
    assert_string_equal(claimed[2], ids[5]);
    struct osm_task t;
    assert_int_equal(osm_store_get_task(st, ids[1], &t, &err), 0);
    assert_string_equal(t.owner, "w1/b:1");
    assert_int_equal(t.lease_until, far);
    assert_int_equal(t.state, OSM_TASK_SUBMITTED);
    osm_task_free(&t);

    /* A claim whose lease ran out neither counts nor protects. */
    struct osm_job b;
    char bid[3][40];
    assert_int_equal(make_job(st, &b, NULL, "b", 3, bid, &err), 0);
    const char *bp[3] = {bid[0], bid[1], bid[2]};
    assert_int_equal(osm_store_claim_waiting(st, b.id, bp, 3, 2, "w1/b:1", 1000, claimed, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(osm_store_claim_waiting(st, b.id, bp, 3, 2, "w2/b:1", far, claimed, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(claimed[0], bid[0]);
    /* Ids of another job are not taken under this one. */
    assert_int_equal(osm_store_claim_waiting(st, a.id, bp, 3, -1, "w3/b:1", far, claimed, &n, &err), 0);
    assert_int_equal(n, 0);

    /* Tasks without a job have their own limit, under job NULL. */
    struct osm_task lone[2];
    const char *lp[2];
    for (int i = 0; i < 2; i++) {
        char inst[64];
        snprintf(inst, sizeof inst, "dir:/srv/lone-%d", i);
        osm_test_task_for(&lone[i], inst, NULL);
        assert_int_equal(osm_store_create_task(st, &lone[i], &err), 0);
        lp[i] = lone[i].id;
    }
    assert_int_equal(osm_store_claim_waiting(st, a.id, lp, 2, -1, "w3/b:1", far, claimed, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(osm_store_claim_waiting(st, NULL, lp, 2, 1, "w3/b:1", far, claimed, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(claimed[0], lone[0].id);
    assert_int_equal(osm_store_claim_waiting(st, NULL, lp, 2, 1, "w4/b:1", far, claimed, &n, &err), 0);
    assert_int_equal(n, 0);
    osm_task_free(&lone[0]);
    osm_task_free(&lone[1]);

    /* A task naming a job that does not exist is refused, naming it. */
    struct osm_task orphan;
    osm_test_task_for(&orphan, "dir:/srv/orphan", NULL);
    orphan.job_id = osm_xstrdup("j-nosuch");
    assert_int_equal(osm_store_create_task(st, &orphan, &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    assert_non_null(strstr(err.msg, "j-nosuch"));
    osm_task_free(&orphan);
    osm_job_free(&a);
    osm_job_free(&b);
    osm_store_close(st);
}

/* Two workers, each with its own connection, claim one job's tasks at once. */
struct racer {
    const char *job_id;
    const char *const *ids;
    size_t n_ids;
    const char *owner;
    pthread_barrier_t *go;
    char claimed[40][40];
    size_t n;
    int rc;
    char msg[2048];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct osm_store *st = NULL;
    struct osm_err err = OSM_ERR_INIT;
    r->rc = osm_store_open_location(use_pg ? pg_url : tmpdir, &st, &err);
    pthread_barrier_wait(r->go);
    if (r->rc == 0)
        r->rc = osm_store_claim_waiting(st, r->job_id, r->ids, r->n_ids, 5, r->owner, osm_store_now() + 3600,
                                        r->claimed, &r->n, &err);
    if (r->rc != 0)
        snprintf(r->msg, sizeof r->msg, "%s", err.msg);
    osm_store_close(st);
    return NULL;
}

static void two_workers_racing_never_claim_a_task_twice_nor_pass_the_limit(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    for (int round = 0; round < 8; round++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "r%d", round);
        struct osm_job job;
        char ids[12][40];
        assert_int_equal(make_job(st, &job, NULL, prefix, 12, ids, &err), 0);
        const char *idp[12];
        for (int i = 0; i < 12; i++)
            idp[i] = ids[i];
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        struct racer r[2] = {{.job_id = job.id, .ids = idp, .n_ids = 12, .owner = "w1/b:1", .go = &go},
                             {.job_id = job.id, .ids = idp, .n_ids = 12, .owner = "w2/b:1", .go = &go}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&th[i], NULL, race, &r[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&go);
        for (int i = 0; i < 2; i++)
            if (r[i].rc != 0)
                fail_msg("worker %d: %s", i, r[i].msg);
        assert_int_equal(r[0].n + r[1].n, 5);
        for (size_t i = 0; i < r[0].n; i++)
            for (size_t j = 0; j < r[1].n; j++)
                assert_string_not_equal(r[0].claimed[i], r[1].claimed[j]);
        /* The store agrees: 5 owned, each by the worker that was told so. */
        size_t owned = 0;
        for (int i = 0; i < 12; i++) {
            struct osm_task t;
            assert_int_equal(osm_store_get_task(st, ids[i], &t, &err), 0);
            if (t.owner) {
                owned++;
                int found = 0;
                for (int w = 0; w < 2; w++)
                    for (size_t k = 0; k < r[w].n; k++)
                        if (strcmp(r[w].claimed[k], t.id) == 0 && strcmp(r[w].owner, t.owner) == 0)
                            found = 1;
                assert_true(found);
            }
            osm_task_free(&t);
        }
        assert_int_equal(owned, 5);
        osm_job_free(&job);
    }
    osm_store_close(st);
}

static void claim_orphans_takes_a_task_whose_lease_ran_out_or_owner_died_and_leaves_a_live_one(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    const int64_t now = 2000000000; /* the clock, injected */
    /* A process of this host that is gone: a reaped child. */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    int status;
    waitpid(child, &status, 0);
    const char *self = osm_store_self_owner();
    char *dead_here = osm_xasprintf("%.*s:%ld", (int)(strrchr(self, ':') - self), self, (long)child);

    struct {
        const char *instance;
        enum osm_task_state state;
        const char *owner;
        int64_t lease;
        int orphan;
    } cases[] = {
        {"dir:/srv/expired", OSM_TASK_RUNNING, "elsewhere/boot:7", now - 1, 1},
        {"dir:/srv/live", OSM_TASK_RUNNING, "elsewhere/boot:8", now + 300, 0},
        {"dir:/srv/dead-here", OSM_TASK_ROLLING_BACK, dead_here, now + 300, 1},
        {"dir:/srv/alive-here", OSM_TASK_RUNNING, self, now - 1, 0},
        {"dir:/srv/waiting", OSM_TASK_SUBMITTED, "elsewhere/boot:9", now - 1, 0},
        {"dir:/srv/done", OSM_TASK_SUCCEEDED, "elsewhere/boot:9", now - 1, 0},
    };
    char ids[6][40];
    for (int i = 0; i < 6; i++) {
        struct osm_task t;
        osm_test_task_for(&t, cases[i].instance, NULL);
        t.state = cases[i].state;
        t.owner = osm_xstrdup(cases[i].owner);
        t.lease_until = cases[i].lease;
        assert_int_equal(osm_store_create_task(st, &t, &err), 0);
        memcpy(ids[i], t.id, 40);
        osm_task_free(&t);
    }
    char claimed[8][40];
    size_t n;
    assert_int_equal(osm_store_claim_orphans(st, "taker/boot:1", now, now + 300, 8, claimed, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(claimed[0], ids[0]);
    assert_string_equal(claimed[1], ids[2]);
    struct osm_task t;
    assert_int_equal(osm_store_get_task(st, ids[0], &t, &err), 0);
    assert_string_equal(t.owner, "taker/boot:1");
    assert_int_equal(t.lease_until, now + 300);
    osm_task_free(&t);
    assert_int_equal(osm_store_get_task(st, ids[1], &t, &err), 0);
    assert_string_equal(t.owner, "elsewhere/boot:8");
    osm_task_free(&t);
    /* Taken now, so not again; and `max` is honoured. */
    assert_int_equal(osm_store_claim_orphans(st, "other/boot:1", now, now + 300, 8, claimed, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(osm_store_claim_orphans(st, "other/boot:1", now + 1000, now + 2000, 1, claimed, &n, &err), 0);
    assert_int_equal(n, 1);
    free(dead_here);
    osm_store_close(st);
}

static void keys_are_put_got_listed_and_deleted(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_key k = {.id = "k-ops", .role = "operator", .scope = "dir:/srv/web*", .sealed_secret = "sealed:abc",
                        .created = 1700000000};
    assert_int_equal(osm_store_put_key(st, &k, &err), 0);
    struct osm_key k2 = {.id = "k-admin", .role = "admin", .sealed_secret = "sealed:def", .disabled = 1};
    assert_int_equal(osm_store_put_key(st, &k2, &err), 0);
    assert_int_equal(osm_store_put_key(st, &k, &err), -1);
    assert_int_equal(err.code, OSM_ECONFLICT);
    assert_non_null(strstr(err.msg, "k-ops"));
    struct osm_key bad = {.id = "k-bad", .role = "root", .sealed_secret = "x"};
    assert_int_equal(osm_store_put_key(st, &bad, &err), -1);
    assert_int_equal(err.code, OSM_EUSAGE);
    assert_non_null(strstr(err.msg, "root"));

    struct osm_key got;
    assert_int_equal(osm_store_get_key(st, "k-ops", &got, &err), 0);
    assert_string_equal(got.role, "operator");
    assert_string_equal(got.scope, "dir:/srv/web*");
    assert_string_equal(got.sealed_secret, "sealed:abc");
    assert_int_equal(got.created, 1700000000);
    assert_int_equal(got.disabled, 0);
    osm_key_free(&got);
    struct osm_key *list;
    size_t n;
    assert_int_equal(osm_store_list_keys(st, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, "k-admin");
    assert_null(list[0].scope);
    assert_int_equal(list[0].disabled, 1);
    assert_true(list[0].created > 0);
    osm_key_list_free(list, n);

    assert_int_equal(osm_store_delete_key(st, "k-ops", &err), 0);
    assert_int_equal(osm_store_get_key(st, "k-ops", &got, &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    assert_int_equal(osm_store_delete_key(st, "k-ops", &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    assert_int_equal(osm_store_list_keys(st, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    osm_key_list_free(list, n);
    osm_store_close(st);
}

static void a_nonce_is_new_once_a_replay_until_it_expires(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_use_nonce(st, "k-1", "n-abc", 1300, 1000, &err), 1);
    assert_int_equal(osm_store_use_nonce(st, "k-1", "n-abc", 1300, 1100, &err), 0); /* replay */
    assert_int_equal(osm_store_use_nonce(st, "k-2", "n-abc", 1300, 1100, &err), 1); /* another key's */
    assert_int_equal(osm_store_use_nonce(st, "k-1", "n-abc", 1300, 1300, &err), 0); /* valid until 1300 */
    assert_int_equal(osm_store_use_nonce(st, "k-1", "n-abc", 1700, 1301, &err), 1); /* forgotten */
    assert_int_equal(osm_store_use_nonce(st, "k-1", "n-abc", 1700, 1302, &err), 0);
    osm_store_close(st);
}

static void commit_checks_state_and_rev_and_writes_nothing_when_stale(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task t;
    osm_test_task_for(&t, "dir:/srv/rev", "alinux3");
    assert_int_equal(osm_store_create_task(st, &t, &err), 0);
    assert_int_equal(t.rev, 0);
    t.state = OSM_TASK_RUNNING;
    osm_task_set_str(&t.data, "{\"boot\":\"a\"}");
    struct osm_journal_entry j = {.step_index = 0, .step = "precheck", .what = "intent"};
    struct osm_task_change ch = {.task = &t, .expect_state = OSM_TASK_SUBMITTED, .expect_rev = 0,
                                 .event_type = "state", .event_message = "running", .journal = &j};
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    /* A stale rev writes nothing: no field, no event, no journal entry. */
    t.state = OSM_TASK_CANCELLED;
    ch.expect_state = -1;
    ch.expect_rev = 0;
    ch.event_type = "should-not-appear";
    assert_int_equal(osm_store_commit(st, &ch, &err), 1);
    ch.expect_rev = -1;
    ch.expect_state = OSM_TASK_SUBMITTED; /* a stale state likewise */
    assert_int_equal(osm_store_commit(st, &ch, &err), 1);
    struct osm_task got;
    assert_int_equal(osm_store_get_task(st, t.id, &got, &err), 0);
    assert_int_equal(got.state, OSM_TASK_RUNNING);
    assert_int_equal(got.rev, 1);
    assert_string_equal(got.data, "{\"boot\":\"a\"}");
    osm_task_free(&got);
    struct osm_task_event *ev;
    size_t n;
    assert_int_equal(osm_store_list_events(st, t.id, &ev, &n, &err), 0);
    assert_int_equal(n, 2);
    osm_task_events_free(ev, n);
    struct osm_journal_entry *jl;
    assert_int_equal(osm_store_list_journal(st, t.id, &jl, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(jl[0].step, "precheck");
    osm_journal_free(jl, n);
    /* The right rev writes. */
    ch.expect_state = -1;
    ch.expect_rev = 1;
    ch.journal = NULL;
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    assert_int_equal(osm_store_get_task(st, t.id, &got, &err), 0);
    assert_int_equal(got.state, OSM_TASK_CANCELLED);
    assert_int_equal(got.rev, 2);
    osm_task_free(&got);
    /* An unknown task is an error, not a stale one. */
    snprintf(t.id, sizeof t.id, "t-nosuch");
    assert_int_equal(osm_store_commit(st, &ch, &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    osm_task_free(&t);
    osm_store_close(st);
}

static void history_and_journal_refuse_update_and_delete(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task t;
    osm_test_task_for(&t, "dir:/srv/h", NULL);
    assert_int_equal(osm_store_create_task(st, &t, &err), 0);
    t.state = OSM_TASK_RUNNING;
    struct osm_journal_entry j = {.step_index = 0, .step = "precheck", .what = "intent"};
    struct osm_task_change ch = {.task = &t, .expect_state = -1, .expect_rev = -1, .event_type = "step.start",
                                 .journal = &j};
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    char msg[512];
    assert_int_equal(raw_exec(st, "UPDATE task_events SET message='rewritten'", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "append-only"));
    assert_int_equal(raw_exec(st, "DELETE FROM task_events", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "append-only"));
    assert_int_equal(raw_exec(st, "UPDATE step_journal SET result='ok'", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "append-only"));
    assert_int_equal(raw_exec(st, "DELETE FROM step_journal", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "append-only"));
    /* Appending still works, and nothing was lost. */
    ch.journal = NULL;
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    struct osm_task_event *ev;
    size_t n;
    assert_int_equal(osm_store_list_events(st, t.id, &ev, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_null(ev[1].message);
    osm_task_events_free(ev, n);
    osm_task_free(&t);
    osm_store_close(st);
}

/* The audit trail: a job's creator is recorded for the job and each task in
 * the create's transaction; later entries append; none can be changed. */
static void job_create_records_its_creator_for_the_job_and_each_task_and_the_trail_is_append_only(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_job job;
    osm_job_init(&job);
    job.created_by = osm_xstrdup("OSMKEYCREATOR");
    struct osm_task tasks[2];
    osm_test_task_for(&tasks[0], "dir:/srv/audit-0", NULL);
    osm_test_task_for(&tasks[1], "dir:/srv/audit-1", NULL);
    assert_int_equal(osm_store_create_job(st, &job, tasks, 2, &err), 0);
    struct osm_audit_entry *e;
    size_t n;
    assert_int_equal(osm_store_audit_list(st, job.id, &e, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].action, "created");
    assert_string_equal(e[0].actor, "OSMKEYCREATOR");
    osm_audit_free(e, n);
    assert_int_equal(osm_store_audit_list(st, tasks[1].id, &e, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].actor, "OSMKEYCREATOR");
    assert_string_equal(e[0].detail, job.id);
    osm_audit_free(e, n);
    assert_int_equal(osm_store_audit_add(st, tasks[1].id, "cancelled", "local:root", "no longer needed", &err), 0);
    assert_int_equal(osm_store_audit_list(st, tasks[1].id, &e, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(e[1].action, "cancelled");
    assert_string_equal(e[1].actor, "local:root");
    assert_true(e[1].seq > e[0].seq);
    osm_audit_free(e, n);
    char msg[512];
    assert_int_equal(raw_exec(st, "UPDATE audit SET actor='someone else'", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "append-only"));
    assert_int_equal(raw_exec(st, "DELETE FROM audit", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "append-only"));
    for (int i = 0; i < 2; i++)
        osm_task_free(&tasks[i]);
    osm_job_free(&job);
    osm_store_close(st);
}

/* A paused job starts nothing: its tasks are not startable and a claim of
 * them (a scheduler that read the job before the pause) takes none; the
 * change is written only at the rev it was decided at, with its audit entry. */
static void a_paused_job_starts_nothing_and_a_stale_job_change_writes_nothing(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_job job;
    char ids[3][40];
    assert_int_equal(make_job(st, &job, NULL, "pause", 3, ids, &err), 0);
    const char *idp[3] = {ids[0], ids[1], ids[2]};
    char job_id[40];
    memcpy(job_id, job.id, sizeof job_id);
    osm_job_free(&job);
    assert_int_equal(osm_store_get_job(st, job_id, &job, &err), 0);
    int64_t rev = job.rev;
    assert_true(job.state == NULL || strcmp(job.state, "active") == 0);
    osm_task_set_str(&job.state, "paused");
    assert_int_equal(osm_store_update_job(st, &job, rev, "OSMKEYADMIN", "paused", "for the night", &err), 0);
    /* The same change again at the old rev: the job moved, nothing written. */
    assert_int_equal(osm_store_update_job(st, &job, rev, "OSMKEYADMIN", "paused", NULL, &err), 1);
    struct osm_audit_entry *e;
    size_t n;
    assert_int_equal(osm_store_audit_list(st, job.id, &e, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].action, "paused");
    assert_string_equal(e[0].detail, "for the night");
    osm_audit_free(e, n);
    struct osm_waiting_task *w;
    assert_int_equal(osm_store_list_waiting_page(st, OSM_WAITING_STARTABLE, osm_store_now() + 86400 * 30, INT64_MIN,
                                                 0, NULL, 100, &w, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_true(!w[i].job_id || strcmp(w[i].job_id, job.id) != 0);
    osm_waiting_free(w, n);
    char claimed[3][40];
    assert_int_equal(osm_store_claim_waiting(st, job.id, idp, 3, -1, "w1/b:1", osm_store_now() + 60, claimed, &n,
                                             &err), 0);
    assert_int_equal(n, 0);
    /* Active again: they start. */
    osm_task_set_str(&job.state, "active");
    assert_int_equal(osm_store_update_job(st, &job, job.rev, "OSMKEYADMIN", "resumed", NULL, &err), 0);
    assert_int_equal(osm_store_claim_waiting(st, job.id, idp, 3, -1, "w1/b:1", osm_store_now() + 60, claimed, &n,
                                             &err), 0);
    assert_int_equal(n, 3);
    struct osm_job none;
    osm_job_init(&none);
    snprintf(none.id, sizeof none.id, "j-none");
    assert_int_equal(osm_store_update_job(st, &none, -1, "x", "paused", NULL, &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    osm_job_free(&job);
    osm_store_close(st);
}

/* A key's secret, disabled flag and expiry change in place; its role and
 * scope do not. */
static void a_key_update_changes_secret_disabled_and_expiry_only(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_key k = {0};
    snprintf(k.id, sizeof k.id, "OSMKEYUPDATE");
    k.role = osm_xstrdup("operator");
    k.scope = osm_xstrdup("dir:/srv/a*");
    k.sealed_secret = osm_xstrdup("sealed-1");
    assert_int_equal(osm_store_put_key(st, &k, &err), 0);
    struct osm_key got;
    assert_int_equal(osm_store_get_key(st, k.id, &got, &err), 0);
    assert_int_equal(got.expires, 0);
    osm_key_free(&got);
    osm_task_set_str(&k.sealed_secret, "sealed-2");
    osm_task_set_str(&k.role, "admin"); /* not written */
    k.disabled = 1;
    k.expires = 1900000000;
    assert_int_equal(osm_store_update_key(st, &k, &err), 0);
    assert_int_equal(osm_store_get_key(st, k.id, &got, &err), 0);
    assert_string_equal(got.sealed_secret, "sealed-2");
    assert_string_equal(got.role, "operator");
    assert_string_equal(got.scope, "dir:/srv/a*");
    assert_int_equal(got.disabled, 1);
    assert_int_equal(got.expires, 1900000000);
    osm_key_free(&got);
    snprintf(k.id, sizeof k.id, "OSMKEYNONE");
    assert_int_equal(osm_store_update_key(st, &k, &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    osm_key_free(&k);
    osm_store_close(st);
}

/* ---- the task store's own contract (as tests/unit/test_store.c, on every store) ---- */

static void tasks_list_newest_first_and_survive_a_reopen(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task a, b;
    osm_test_task_for(&a, "dir:/srv/a", "alinux3");
    osm_test_task_for(&b, "dir:/srv/b", NULL);
    assert_int_equal(osm_store_create_task(st, &a, &err), 0);
    assert_int_equal(osm_store_create_task(st, &b, &err), 0);
    osm_store_close(st);
    st = open_store(); /* a second open: no migration, same data */
    struct osm_task *list;
    size_t n;
    assert_int_equal(osm_store_list_tasks(st, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, b.id);
    assert_string_equal(list[1].id, a.id);
    assert_string_equal(list[1].instance, "dir:/srv/a");
    assert_string_equal(list[1].target, "alinux3");
    assert_null(list[0].target);
    assert_null(list[1].job_id);
    assert_string_equal(list[1].options, "{}");
    osm_task_list_free(list, n);
    struct osm_task got;
    assert_int_equal(osm_store_get_task(st, "t-nosuch", &got, &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    assert_non_null(strstr(err.msg, "t-nosuch"));
    osm_task_free(&a);
    osm_task_free(&b);
    osm_store_close(st);
}

static void second_unfinished_task_on_an_instance_is_refused_naming_the_first(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task a, b;
    osm_test_task_for(&a, "dir:/srv/web01", NULL);
    assert_int_equal(osm_store_create_task(st, &a, &err), 0);
    osm_test_task_for(&b, "dir:/srv/web01", NULL);
    assert_int_equal(osm_store_create_task(st, &b, &err), -1);
    assert_int_equal(err.code, OSM_ECONFLICT);
    assert_non_null(strstr(err.msg, a.id));
    assert_non_null(strstr(err.msg, "dir:/srv/web01"));
    /* Once the first is finished, a new task may start... */
    a.state = OSM_TASK_ROLLED_BACK;
    struct osm_task_change ch = {.task = &a, .expect_state = OSM_TASK_SUBMITTED, .expect_rev = -1};
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    b.id[0] = '\0';
    assert_int_equal(osm_store_create_task(st, &b, &err), 0);
    /* ...and bringing the first back to life conflicts with it, writing nothing. */
    a.state = OSM_TASK_SUBMITTED;
    ch.expect_state = OSM_TASK_ROLLED_BACK;
    ch.event_type = "retried";
    assert_int_equal(osm_store_commit(st, &ch, &err), -1);
    assert_int_equal(err.code, OSM_ECONFLICT);
    assert_non_null(strstr(err.msg, b.id));
    struct osm_task got;
    assert_int_equal(osm_store_get_task(st, a.id, &got, &err), 0);
    assert_int_equal(got.state, OSM_TASK_ROLLED_BACK);
    osm_task_free(&got);
    osm_task_free(&a);
    osm_task_free(&b);
    osm_store_close(st);
}

static void claim_is_exclusive_until_the_owner_dies_or_its_lease_runs_out(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task t;
    osm_test_task_for(&t, "dir:/srv/claim", NULL);
    assert_int_equal(osm_store_create_task(st, &t, &err), 0);
    int64_t far = osm_store_now() + 3600;
    /* A live owner on this host: a child that waits for us. */
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t child = fork();
    if (child == 0) {
        char c;
        close(pipefd[1]);
        ssize_t r = read(pipefd[0], &c, 1);
        _exit(r < 0);
    }
    close(pipefd[0]);
    const char *self = osm_store_self_owner();
    char *other = osm_xasprintf("%.*s:%ld", (int)(strrchr(self, ':') - self), self, (long)child);
    assert_int_equal(osm_store_claim(st, t.id, other, far, &err), 1);
    assert_int_equal(osm_store_claim(st, t.id, self, far, &err), 0);
    /* A live engine of this host keeps its task even past its lease. */
    assert_int_equal(osm_store_claim(st, t.id, other, 1000, &err), 1);
    assert_int_equal(osm_store_claim(st, t.id, self, far, &err), 0);
    close(pipefd[1]);
    int status;
    waitpid(child, &status, 0);
    assert_int_equal(osm_store_claim(st, t.id, self, far, &err), 1); /* its owner is gone */
    /* An owner elsewhere holds it until its lease runs out. */
    assert_int_equal(osm_store_release(st, t.id, self, &err), 0);
    assert_int_equal(osm_store_claim(st, t.id, "elsewhere/boot:1", 1000, &err), 1);
    assert_int_equal(osm_store_claim(st, t.id, self, far, &err), 1);
    assert_int_equal(osm_store_release(st, t.id, self, &err), 0);
    assert_int_equal(osm_store_claim(st, t.id, "elsewhere/boot:1", far, &err), 1);
    assert_int_equal(osm_store_claim(st, t.id, self, far, &err), 0);
    assert_int_equal(osm_store_claim(st, "t-nosuch", self, far, &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    free(other);
    osm_task_free(&t);
    osm_store_close(st);
}

/* The phase runner, unchanged, on this store: real file work (kind_files). */
static void the_runner_migrates_a_task_and_rolls_back_a_failed_one_on_this_store(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    kind_files_register();
    assert_int_equal(kind_files_make_root(tmpdir), 0);
    char *uri = osm_xasprintf("dir:%s/root", tmpdir);
    struct osm_task t;
    osm_test_task_for(&t, uri, NULL);
    strcpy(t.kind, KIND_FILES);
    assert_int_equal(osm_store_create_task(st, &t, &err), 0);
    if (osm_runner_run(st, t.id, NULL, &err) != 0)
        fail_msg("run: %s", err.msg);
    struct osm_task got;
    assert_int_equal(osm_store_get_task(st, t.id, &got, &err), 0);
    assert_int_equal(got.state, OSM_TASK_SUCCEEDED);
    assert_null(got.owner);
    assert_true(kind_files_is_migrated(tmpdir, t.id));
    struct osm_journal_entry *j;
    size_t n;
    assert_int_equal(osm_store_list_journal(st, t.id, &j, &n, &err), 0);
    assert_int_equal(n, 14); /* 7 steps: intent and outcome each */
    osm_journal_free(j, n);
    osm_task_free(&got);

    /* A failure after a change rolls the files back. */
    char *fail = osm_path_join(tmpdir, "root/FAIL_VERIFY");
    assert_int_equal(osm_write_file_atomic(fail, "x", 1, 0644, NULL), 0);
    char *root = osm_path_join(tmpdir, "root");
    char *snap = osm_path_join(tmpdir, "snapshot");
    assert_int_equal(osm_remove_tree(root, NULL), 0);
    osm_remove_tree(snap, NULL);
    assert_int_equal(kind_files_make_root(tmpdir), 0);
    assert_int_equal(osm_write_file_atomic(fail, "x", 1, 0644, NULL), 0);
    struct osm_task t2;
    osm_test_task_for(&t2, uri, NULL);
    strcpy(t2.kind, KIND_FILES);
    assert_int_equal(osm_store_create_task(st, &t2, &err), 0);
    if (osm_runner_run(st, t2.id, NULL, &err) != 0)
        fail_msg("run: %s", err.msg);
    assert_int_equal(osm_store_get_task(st, t2.id, &got, &err), 0);
    assert_int_equal(got.state, OSM_TASK_ROLLED_BACK);
    assert_string_equal(got.error_code, "step.verify");
    assert_true(kind_files_is_original(tmpdir));
    osm_task_free(&got);
    osm_free_all(fail, root, snap, uri);
    osm_task_free(&t);
    osm_task_free(&t2);
    osm_store_close(st);
}

static void *open_and_close(void *arg)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st = NULL;
    int *rc = arg;
    *rc = osm_store_open_location(use_pg ? pg_url : tmpdir, &st, &err);
    if (*rc != 0)
        fprintf(stderr, "concurrent open: %s\n", err.msg);
    osm_store_close(st);
    return NULL;
}

static void engines_opening_an_empty_store_at_once_all_get_one_schema(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    if (use_pg && osm_store_pg_reset(pg_url, 1, &err) != 0)
        fail_msg("reset: %s", err.msg);
    pthread_t th[3];
    int rc[3] = {-1, -1, -1};
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, open_and_close, &rc[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rc[i], 0);
    struct osm_store *st = open_store();
    char msg[256];
    assert_int_equal(raw_exec(st, "SELECT 1 FROM schema_version", msg, sizeof msg), 0);
    struct osm_job job;
    assert_int_equal(make_job(st, &job, NULL, "after", 2, NULL, &err), 0);
    osm_job_free(&job);
    osm_store_close(st);
}

static void store_with_a_newer_schema_is_refused_naming_it(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    char msg[256];
    assert_int_equal(raw_exec(st, "UPDATE schema_version SET version=99", msg, sizeof msg), 0);
    osm_store_close(st);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_open_location(use_pg ? pg_url : tmpdir, &st, &err), -1);
    assert_int_equal(err.code, OSM_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "schema version 99"));
    assert_non_null(strstr(err.msg, use_pg ? "postgresql://" : "state.db"));
}

/* No server needed: a URL's password never reaches a message. */
static void postgresql_errors_name_the_url_without_its_password(void **state)
{
    (void)state;
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    /* Port 1 on loopback: nothing listens, the connection is refused. */
    assert_int_equal(osm_store_open_location("postgresql://osm:s3cret@127.0.0.1:1/fleet?connect_timeout=5&password=s3cret",
                                             &st, &err), -1);
    assert_null(st);
    assert_int_equal(err.code, OSM_EIO);
    assert_non_null(strstr(err.msg, "postgresql://osm@127.0.0.1:1/fleet?connect_timeout=5"));
    assert_null(strstr(err.msg, "s3cret"));
    char *r = osm_store_pg_redact("postgres://u:p%40ss@db.example:5432/osmig");
    assert_string_equal(r, "postgres://u@db.example:5432/osmig");
    free(r);
    r = osm_store_pg_redact("postgresql:///osmig?host=/run/pg&password=x&user=u");
    assert_string_equal(r, "postgresql:///osmig?host=/run/pg&user=u");
    free(r);
    r = osm_store_pg_redact("postgresql://db.example/osmig");
    assert_string_equal(r, "postgresql://db.example/osmig");
    free(r);
}

/* SQLite only: a store of the runner's schema (2) takes the fleet schema and
 * keeps its tasks. */
static void sqlite_store_at_schema_2_migrates_to_the_fleet_schema_keeping_its_tasks(void **state)
{
    (void)state;
    char *db_path = osm_path_join(tmpdir, "state.db");
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_sqlite_open_at_version(db_path, 2, &st, &err), 0);
    char msg[256];
    assert_int_equal(raw_exec(st,
        "INSERT INTO tasks(id, kind, instance, target, state, phase, created, updated) "
        "VALUES('t-old', 'os-migration', 'dir:/srv/old', 'alinux3', 'submitted', 'submitted', 100, 100)",
        msg, sizeof msg), 0);
    osm_store_close(st);
    st = open_store();
    struct osm_task t;
    assert_int_equal(osm_store_get_task(st, "t-old", &t, &err), 0);
    assert_null(t.job_id);
    osm_task_free(&t);
    struct osm_waiting_task *w;
    size_t n;
    assert_int_equal(osm_store_list_waiting(st, &w, &n, &err), 0);
    assert_int_equal(n, 1);
    osm_waiting_free(w, n);
    osm_store_close(st);
    free(db_path);
}

/* SQLite only: nonces recorded under schema 4 (key and text) are still
 * replays once the store keeps them as hashes (schema 5). */
static void sqlite_nonces_of_schema_4_are_still_refused_after_the_migration(void **state)
{
    (void)state;
    char *db_path = osm_path_join(tmpdir, "state.db");
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_sqlite_open_at_version(db_path, 4, &st, &err), 0);
    char msg[256];
    assert_int_equal(raw_exec(st, "INSERT INTO nonces(key_id, nonce, expires) VALUES('k-1', 'live', 2000), ('k-1', 'old', 1500)",
                              msg, sizeof msg), 0);
    osm_store_close(st);
    st = open_store();
    assert_int_equal(osm_store_use_nonce(st, "k-1", "live", 2000, 1600, &err), 0);
    assert_int_equal(osm_store_use_nonce(st, "k-2", "live", 2000, 1600, &err), 1); /* another key's own */
    assert_int_equal(osm_store_use_nonce(st, "k-1", "old", 2500, 1600, &err), 1);  /* expired: new again */
    assert_int_equal(osm_store_use_nonce(st, "k-1", "new", 2000, 1600, &err), 1);
    assert_int_equal(osm_store_use_nonce(st, "k-1", "new", 2000, 1601, &err), 0);
    osm_store_close(st);
    free(db_path);
}

/* SQLite only: a store of the first schema (tasks and history) takes every
 * later one and keeps its tasks. */
static void sqlite_store_at_schema_1_migrates_keeping_its_tasks(void **state)
{
    (void)state;
    char *db_path = osm_path_join(tmpdir, "state.db");
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_sqlite_open_at_version(db_path, 1, &st, &err), 0);
    sqlite3 *db = osm_store_sqlite_handle(st);
    /* A version-1 row, written the way version 1 wrote it. */
    assert_int_equal(sqlite3_exec(db,
        "INSERT INTO tasks(id, kind, instance, target, state, phase, created, updated) "
        "VALUES('t-old', 'os-migration', 'dir:/srv/old', 'alinux3', 'rolled_back', 'rolled_back', 100, 100);"
        "INSERT INTO task_events(task_id, at, type, message) VALUES('t-old', 100, 'submitted', 'v1');",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name='step_journal'", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 0); /* really at version 1 */
    sqlite3_finalize(q);
    osm_store_close(st);

    st = open_store();
    db = osm_store_sqlite_handle(st);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), osm_store_sqlite_schema_latest());
    sqlite3_finalize(q);
    struct osm_task t;
    assert_int_equal(osm_store_get_task(st, "t-old", &t, &err), 0);
    assert_int_equal(t.state, OSM_TASK_ROLLED_BACK);
    assert_int_equal(t.step, 0);
    assert_int_equal(t.not_before, 0);
    assert_string_equal(t.data, "{}");
    osm_task_free(&t);
    struct osm_task_event *ev;
    size_t n;
    assert_int_equal(osm_store_list_events(st, "t-old", &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    osm_task_events_free(ev, n);
    osm_store_close(st);
    free(db_path);
}

/* A store as the code before the store's rules moved over SQL drivers wrote
 * it (tests/fleet/fixtures: a dump of api_fill's job of 4 tasks and one key):
 * it opens, reads and takes writes. */
static void a_store_written_by_the_earlier_code_opens_reads_and_writes(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    struct osm_buf sql;
    osm_buf_init(&sql);
    const char *fixture = use_pg ? OSM_FIXTURE_DIR "/pg_v2.sql" : OSM_FIXTURE_DIR "/sqlite_v5.sql";
    if (osm_read_file(fixture, &sql, &err) != 0)
        fail_msg("%s: %s", fixture, err.msg);
    char msg[512];
    if (use_pg) {
        /* Loaded into an empty database on a connection of its own (the
         * dump empties its search_path). */
        struct osm_store *st = open_store();
        assert_int_equal(raw_exec(st, "DROP TABLE IF EXISTS task_events, step_journal, tasks, jobs, api_keys, nonces, audit, "
                                      "schema_version CASCADE; DROP FUNCTION IF EXISTS osmig_append_only() CASCADE",
                                  msg, sizeof msg), 0);
        if (raw_exec(st, sql.s, msg, sizeof msg) != 0)
            fail_msg("loading %s: %s", fixture, msg);
        osm_store_close(st);
    } else {
        char *db_path = osm_path_join(tmpdir, "state.db");
        sqlite3 *db;
        assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sql.s, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        free(db_path);
    }
    osm_buf_free(&sql);

    struct osm_store *st = open_store();
    struct osm_task *list;
    size_t n;
    assert_int_equal(osm_store_list_tasks(st, &list, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(list[0].state, OSM_TASK_SUBMITTED);
    assert_non_null(list[0].job_id);
    struct osm_job job;
    assert_int_equal(osm_store_get_job(st, list[0].job_id, &job, &err), 0);
    struct osm_task_counts counts;
    assert_int_equal(osm_store_count_tasks(st, job.id, &counts, &err), 0);
    assert_int_equal(counts.by_state[OSM_TASK_SUBMITTED], 4);
    assert_string_equal(job.state, "active"); /* jobs made before pausing existed run */
    osm_job_free(&job);
    struct osm_task_event *ev;
    assert_int_equal(osm_store_list_events(st, list[0].id, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].type, "submitted");
    osm_task_events_free(ev, n);
    struct osm_key *keys;
    assert_int_equal(osm_store_list_keys(st, &keys, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0].role, "operator");
    assert_int_equal(keys[0].expires, 0); /* keys made before expiry existed never expire */
    osm_key_list_free(keys, 1);
    /* Writes: a commit of an old task, a new job, a nonce. */
    list[0].state = OSM_TASK_CANCELLED;
    struct osm_task_change ch = {.task = &list[0], .expect_state = OSM_TASK_SUBMITTED, .expect_rev = 0,
                                 .event_type = "state", .event_message = "cancelled"};
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    osm_task_list_free(list, 4);
    struct osm_job after;
    assert_int_equal(make_job(st, &after, "token-after", "after", 3, NULL, &err), 0);
    osm_job_free(&after);
    assert_int_equal(osm_store_use_nonce(st, "k-1", "n-1", osm_store_now() + 60, osm_store_now(), &err), 1);
    assert_int_equal(osm_store_use_nonce(st, "k-1", "n-1", osm_store_now() + 60, osm_store_now(), &err), 0);
    osm_store_close(st);
}

/* Which states hold their instance: the store's indexes and queries agree
 * with osm_task_state_holds_instance(), state by state. */
static void a_task_holds_its_instance_exactly_in_the_states_that_say_so(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    for (int s = 0; s < OSM_TASK_N_STATES; s++) {
        char inst[64];
        snprintf(inst, sizeof inst, "dir:/srv/holds-%d", s);
        struct osm_task a, b;
        osm_test_task_for(&a, inst, NULL);
        assert_int_equal(osm_store_create_task(st, &a, &err), 0);
        a.state = (enum osm_task_state)s;
        struct osm_task_change ch = {.task = &a, .expect_state = -1, .expect_rev = -1};
        assert_int_equal(osm_store_commit(st, &ch, &err), 0);
        osm_test_task_for(&b, inst, NULL);
        int rc = osm_store_create_task(st, &b, &err);
        if (osm_task_state_holds_instance((enum osm_task_state)s)) {
            assert_int_equal(rc, -1);
            assert_int_equal(err.code, OSM_ECONFLICT);
            assert_non_null(strstr(err.msg, a.id)); /* the holder is found by the same rule */
        } else {
            assert_int_equal(rc, 0);
            b.state = OSM_TASK_CANCELLED; /* out of the way of the next state's */
            ch.task = &b;
            assert_int_equal(osm_store_commit(st, &ch, &err), 0);
        }
        osm_task_free(&a);
        osm_task_free(&b);
    }
    osm_store_close(st);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define CONTRACT_CASES                                                                          \
    CASE(create_job_writes_the_job_and_every_task_with_its_job_id),                              \
    CASE(create_job_with_a_known_client_token_returns_that_job_and_writes_nothing),              \
    CASE(create_job_on_a_busy_instance_fails_whole_naming_both_and_leaves_nothing),              \
    CASE(query_pages_by_seq_under_filters_with_no_row_twice_and_none_missed),                    \
    CASE(query_by_instance_pattern_matches_fnmatch_and_fills_pages),                             \
    CASE(count_tasks_counts_by_state_per_job_and_overall),                                       \
    CASE(list_waiting_gives_exactly_the_submitted_and_scheduled_tasks),                          \
    CASE(claim_waiting_respects_max_running_and_skips_claimed_tasks),                            \
    CASE(two_workers_racing_never_claim_a_task_twice_nor_pass_the_limit),                        \
    CASE(claim_orphans_takes_a_task_whose_lease_ran_out_or_owner_died_and_leaves_a_live_one),    \
    CASE(keys_are_put_got_listed_and_deleted),                                                   \
    CASE(a_nonce_is_new_once_a_replay_until_it_expires),                                         \
    CASE(commit_checks_state_and_rev_and_writes_nothing_when_stale),                             \
    CASE(history_and_journal_refuse_update_and_delete),                                          \
    CASE(tasks_list_newest_first_and_survive_a_reopen),                                          \
    CASE(second_unfinished_task_on_an_instance_is_refused_naming_the_first),                     \
    CASE(claim_is_exclusive_until_the_owner_dies_or_its_lease_runs_out),                         \
    CASE(the_runner_migrates_a_task_and_rolls_back_a_failed_one_on_this_store),                  \
    CASE(engines_opening_an_empty_store_at_once_all_get_one_schema),                             \
    CASE(store_with_a_newer_schema_is_refused_naming_it),                                        \
    CASE(a_store_written_by_the_earlier_code_opens_reads_and_writes),                            \
    CASE(a_task_holds_its_instance_exactly_in_the_states_that_say_so),                           \
    CASE(job_create_records_its_creator_for_the_job_and_each_task_and_the_trail_is_append_only), \
    CASE(a_paused_job_starts_nothing_and_a_stale_job_change_writes_nothing),                     \
    CASE(a_key_update_changes_secret_disabled_and_expiry_only)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        CONTRACT_CASES,
        CASE(sqlite_store_at_schema_1_migrates_keeping_its_tasks),
        CASE(sqlite_store_at_schema_2_migrates_to_the_fleet_schema_keeping_its_tasks),
        CASE(sqlite_nonces_of_schema_4_are_still_refused_after_the_migration),
        CASE(postgresql_errors_name_the_url_without_its_password),
    };
    const struct CMUnitTest pg_tests[] = {CONTRACT_CASES};
    use_pg = 0;
    int failed = cmocka_run_group_tests_name("store contract: sqlite", sqlite_tests, NULL, NULL);
    pg_url = getenv("OSMIG_TEST_PG_URL");
    if (pg_url && *pg_url) {
        use_pg = 1;
        failed += cmocka_run_group_tests_name("store contract: postgresql", pg_tests, NULL, NULL);
    } else {
        printf("store contract: postgresql skipped (OSMIG_TEST_PG_URL is not set; tests/fleet/pg_server.sh starts a server)\n");
    }
    return failed ? 1 : 0;
}
