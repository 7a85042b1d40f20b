/* test_scheduler.c: scheduler passes end to end on a real SQLite store with
 * jobs, and on PostgreSQL too when OSMIG_TEST_PG_URL names a server
 * (tests/fleet/with_pg.sh starts one). The clock is injected: every pass is
 * given its `now` (in 2030, so leases given at those times have not run out
 * by the real clock). Each case starts from an empty store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "scheduler.h"
#include "store.h"
#include "store_pg.h"
#include "tzif.h"
#include "testutil.h"
#include "teststore.h"

static char tmpdir[OSM_TEST_DIR_MAX];
static const char *pg_url; /* NULL: SQLite in tmpdir */
static struct osm_store *st;
static const char *owner;

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return osm_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static int setup(void **state)
{
    (void)state;
    if (osm_test_mkdtemp(tmpdir, "sched") != 0)
        return -1;
    struct osm_err err = OSM_ERR_INIT;
    static int pg_dropped; /* the first case drops the schema, the others empty the rows */
    if (pg_url && osm_store_pg_reset(pg_url, !pg_dropped++, &err) != 0) {
        fprintf(stderr, "reset %s: %s\n", pg_url, err.msg);
        return -1;
    }
    if (osm_store_open_location(pg_url ? pg_url : tmpdir, &st, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    owner = osm_store_self_owner();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    osm_store_close(st);
    st = NULL;
    return osm_remove_tree(tmpdir, NULL);
}

/* A job of n tasks on instances dir:/srv/NAME-i, each with the schedule
 * given; ids written to ids[i]. */
static void make_job(const char *name, const char *max_conc, const char *max_err, size_t n, const char *window,
                     int64_t not_before, int64_t latest_start, char (*ids)[40], char job_id[40])
{
    struct osm_job job;
    osm_job_init(&job);
    job.name = osm_xstrdup(name);
    job.max_concurrency = max_conc ? osm_xstrdup(max_conc) : NULL;
    job.max_errors = max_err ? osm_xstrdup(max_err) : NULL;
    job.spec = osm_xstrdup("{}");
    struct osm_task *tasks = osm_xcalloc(n, sizeof *tasks);
    for (size_t i = 0; i < n; i++) {
        osm_task_init(&tasks[i]);
        strcpy(tasks[i].kind, OSM_KIND_OS_MIGRATION);
        tasks[i].instance = osm_xasprintf("dir:/srv/%s-%zu", name, i);
        tasks[i].target = osm_xstrdup("alinux3");
        tasks[i].window = window ? osm_xstrdup(window) : NULL;
        tasks[i].not_before = not_before;
        tasks[i].latest_start = latest_start;
    }
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_create_job(st, &job, tasks, n, &err) != 0)
        fail_msg("create job %s: %s", name, err.msg);
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], tasks[i].id, 40);
    memcpy(job_id, job.id, 40);
    osm_task_list_free(tasks, n);
    osm_job_free(&job);
}

static struct osm_task get(const char *id)
{
    struct osm_task t;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_get_task(st, id, &t, &err) != 0)
        fail_msg("get %s: %s", id, err.msg);
    return t;
}

/* What the runner would do to a task: move it to `state`. */
static void set_state(const char *id, enum osm_task_state state)
{
    struct osm_task t = get(id);
    int was = (int)t.state;
    t.state = state;
    struct osm_task_change ch = {.task = &t, .expect_state = was, .expect_rev = -1, .event_type = "state"};
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    osm_task_free(&t);
}

/* A pass of a caller that can run `capacity` tasks now. */
static struct osm_sched_result pass_cap(int64_t now, size_t capacity)
{
    struct osm_sched_result r;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_scheduler_pass(st, now, owner, 300, capacity, &r, &err) != 0)
        fail_msg("pass: %s", err.msg);
    return r;
}

/* A pass with room for every task these cases make. */
static struct osm_sched_result pass(int64_t now)
{
    return pass_cap(now, 100000);
}

/* A pass at `now` claims exactly `n` tasks. */
static void pass_claims(int64_t now, size_t n)
{
    struct osm_sched_result r = pass(now);
    assert_int_equal(r.n_claimed, n);
    osm_sched_result_free(&r);
}

/* The task ran and ended in `end`. */
static void run_to(const char *id, enum osm_task_state end)
{
    set_state(id, OSM_TASK_RUNNING);
    set_state(id, end);
}

static int claimed(const struct osm_sched_result *r, const char *id)
{
    for (size_t i = 0; i < r->n_claimed; i++)
        if (strcmp(r->claimed[i], id) == 0)
            return 1;
    return 0;
}

static void test_pass_expires_tasks_past_their_latest_start(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    char ids[2][40], other[1][40], job[40], job2[40];
    make_job("late", NULL, "5", 2, NULL, 0, now - 1, ids, job);
    make_job("ontime", NULL, "5", 1, NULL, 0, now, other, job2);
    struct osm_sched_result r = pass(now);
    assert_int_equal(r.n_waiting, 3);
    assert_int_equal(r.n_expired, 2);
    for (int i = 0; i < 2; i++) {
        struct osm_task t = get(ids[i]);
        assert_int_equal(t.state, OSM_TASK_EXPIRED);
        assert_string_equal(t.error_code, "schedule.expired");
        assert_non_null(strstr(t.cause, "latest start time, 2030-01-07T11:59:59Z"));
        assert_false(claimed(&r, ids[i]));
        assert_true(osm_test_has_event(st, ids[i], "expired", "2030-01-07T11:59:59Z"));
        osm_task_free(&t);
    }
    /* At its latest start exactly, a task may still start. */
    assert_true(claimed(&r, other[0]));
    osm_sched_result_free(&r);
}

/* Saturdays 02:00-06:00 in Shanghai; a Monday noon before one, and when it
 * opens (2030-01-12 02:00 CST). */
#define WEEKEND_WINDOW                                                                               \
    "{\"timezone\":\"Asia/Shanghai\",\"days_of_week\":[\"sat\"],\"start\":\"02:00\",\"duration\":\"4h\"," \
    "\"cutoff\":\"30m\"}"
#define WEEKEND_MONDAY utc(2030, 1, 7, 4, 0)
#define WEEKEND_OPEN utc(2030, 1, 11, 18, 0)

static void test_pass_schedules_tasks_for_their_window_and_writes_once(void **state)
{
    (void)state;
    const char *win = WEEKEND_WINDOW;
    int64_t monday = WEEKEND_MONDAY, open = WEEKEND_OPEN;
    char ids[3][40], job[40];
    make_job("weekend", NULL, NULL, 3, win, 0, 0, ids, job);
    struct osm_sched_result r = pass(monday);
    assert_int_equal(r.n_scheduled, 3);
    assert_int_equal(r.n_claimed, 0);
    int64_t rev[3];
    for (int i = 0; i < 3; i++) {
        struct osm_task t = get(ids[i]);
        assert_int_equal(t.state, OSM_TASK_SCHEDULED);
        assert_int_equal(t.not_before, open); /* the row tells when it starts */
        assert_true(osm_test_has_event(st, ids[i], "scheduled", "2030-01-11T18:00:00Z"));
        rev[i] = t.rev;
        osm_task_free(&t);
    }
    osm_sched_result_free(&r);
    /* A later pass before the window neither reads nor writes them. */
    r = pass(monday + 86400);
    assert_int_equal(r.n_waiting, 0);
    assert_int_equal(r.n_scheduled, 0);
    for (int i = 0; i < 3; i++) {
        struct osm_task t = get(ids[i]);
        assert_int_equal(t.rev, rev[i]);
        osm_task_free(&t);
    }
    osm_sched_result_free(&r);
    /* In the window: due; the ramp-up starts one of them. */
    r = pass(open + 60);
    assert_int_equal(r.n_due, 3);
    assert_int_equal(r.n_claimed, 1);
    assert_string_equal(r.claimed[0], ids[0]);
    osm_sched_result_free(&r);
    /* Past Saturday's cutoff the two left wait for the next Saturday. */
    r = pass(open + 4 * 3600 - 1800);
    assert_int_equal(r.n_due, 0);
    assert_int_equal(r.n_scheduled, 3);
    for (int i = 1; i < 3; i++) {
        struct osm_task t = get(ids[i]);
        assert_int_equal(t.not_before, open + 7 * 86400);
        osm_task_free(&t);
    }
    osm_sched_result_free(&r);
}

/* A task placed at creation as a pass would place it: its row tells when it
 * starts, and the pass that follows finds nothing to write. */
static void test_a_task_placed_at_creation_is_the_row_a_pass_would_write(void **state)
{
    (void)state;
    const char *win = WEEKEND_WINDOW;
    int64_t monday = WEEKEND_MONDAY, open = WEEKEND_OPEN;
    struct osm_task t;
    osm_task_init(&t);
    char words[256];
    int64_t nb = -1;
    /* Due now: left as is. */
    assert_int_equal(osm_scheduler_place(&t, monday, &nb, words, sizeof words), 0);
    assert_int_equal(nb, -1);
    /* A later start time. */
    t.not_before = monday + 3600;
    assert_int_equal(osm_scheduler_place(&t, monday, &nb, words, sizeof words), 1);
    assert_int_equal(nb, monday + 3600);
    assert_non_null(strstr(words, "waiting for its start time, 2030-01-07T05:00:00Z"));
    /* A window closed now: its next opening; open now: due. */
    t.not_before = 0;
    t.window = osm_xstrdup(win);
    assert_int_equal(osm_scheduler_place(&t, monday, &nb, words, sizeof words), 1);
    assert_int_equal(nb, open);
    assert_non_null(strstr(words, "maintenance window: next start 2030-01-11T18:00:00Z"));
    assert_int_equal(osm_scheduler_place(&t, open + 60, &nb, words, sizeof words), 0);
    /* Past the latest start, or a window that cannot be used: the pass says so. */
    t.latest_start = monday - 1;
    assert_int_equal(osm_scheduler_place(&t, monday, &nb, words, sizeof words), 0);
    t.latest_start = 0;
    osm_task_set_str(&t.window, "{\"days_of_week\":[\"someday\"]}");
    assert_int_equal(osm_scheduler_place(&t, monday, &nb, words, sizeof words), 0);
    osm_task_free(&t);

    /* Created so, a pass writes nothing of it; in its window it starts. */
    struct osm_job job;
    osm_job_init(&job);
    job.spec = osm_xstrdup("{}");
    osm_task_init(&t);
    strcpy(t.kind, OSM_KIND_OS_MIGRATION);
    t.instance = osm_xstrdup("dir:/srv/placed");
    t.window = osm_xstrdup(win);
    assert_int_equal(osm_scheduler_place(&t, monday, &nb, words, sizeof words), 1);
    t.state = OSM_TASK_SCHEDULED;
    t.not_before = nb;
    osm_task_set_str(&t.progress_msg, words);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_create_job(st, &job, &t, 1, &err) != 0)
        fail_msg("create: %s", err.msg);
    assert_true(osm_test_has_event(st, t.id, "submitted", "next start 2030-01-11T18:00:00Z"));
    struct osm_task before = get(t.id);
    struct osm_sched_result r = pass(monday);
    assert_int_equal(r.n_claimed, 0);
    osm_sched_result_free(&r);
    struct osm_task after = get(t.id);
    assert_int_equal(after.rev, before.rev);
    assert_int_equal(after.state, OSM_TASK_SCHEDULED);
    assert_false(osm_test_has_event(st, t.id, "scheduled", NULL));
    pass_claims(open + 60, 1);
    osm_task_free(&before);
    osm_task_free(&after);
    osm_task_free(&t);
    osm_job_free(&job);
}

static void test_pass_waits_for_not_before_then_starts(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    char ids[1][40], job[40];
    make_job("later", NULL, NULL, 1, NULL, now + 3600, 0, ids, job);
    struct osm_sched_result r = pass(now);
    assert_int_equal(r.n_scheduled, 1);
    struct osm_task t = get(ids[0]);
    assert_int_equal(t.state, OSM_TASK_SCHEDULED);
    assert_int_equal(t.not_before, now + 3600);
    assert_true(osm_test_has_event(st, ids[0], "scheduled", "2030-01-07T13:00:00Z"));
    osm_task_free(&t);
    osm_sched_result_free(&r);
    r = pass(now + 3600);
    assert_int_equal(r.n_claimed, 1);
    assert_true(claimed(&r, ids[0]));
    osm_sched_result_free(&r);
}

static void test_pass_claims_within_concurrency_and_ramp_up(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    char ids[6][40], job[40];
    make_job("ramp", "2", "5", 6, NULL, 0, 0, ids, job);
    /* Nothing succeeded yet: one at a time. */
    struct osm_sched_result r = pass(now);
    assert_int_equal(r.n_due, 6);
    assert_int_equal(r.n_claimed, 1);
    assert_string_equal(r.claimed[0], ids[0]);
    osm_sched_result_free(&r);
    /* Claimed, not yet running: still counts. */
    pass_claims(now + 10, 0);
    set_state(ids[0], OSM_TASK_RUNNING);
    pass_claims(now + 20, 0);
    /* One succeeded: two at once (and max_concurrency 2 caps the ramp-up). */
    set_state(ids[0], OSM_TASK_SUCCEEDED);
    r = pass(now + 30);
    assert_int_equal(r.n_claimed, 2);
    assert_true(claimed(&r, ids[1]) && claimed(&r, ids[2]));
    osm_sched_result_free(&r);
    run_to(ids[1], OSM_TASK_SUCCEEDED);
    run_to(ids[2], OSM_TASK_SUCCEEDED);
    pass_claims(now + 40, 2); /* 2^3 = 8, but max_concurrency 2 */
}

static void test_percent_concurrency_of_a_one_task_job_starts_it(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    char ids[1][40], job[40];
    make_job("single", "10%", "0", 1, NULL, 0, 0, ids, job);
    pass_claims(now, 1);
}

static void test_job_stops_when_errors_exceed_max_errors(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    char ids[5][40], job[40];
    make_job("errors", "5", "1", 5, NULL, 0, 0, ids, job);
    run_to(ids[0], OSM_TASK_FAILED);
    /* One error does not exceed 1: tasks still start. */
    struct osm_sched_result r = pass(now);
    assert_int_equal(r.n_jobs_stopped, 0);
    assert_int_equal(r.n_claimed, 1);
    osm_sched_result_free(&r);
    run_to(ids[1], OSM_TASK_ROLLED_BACK);
    r = pass(now + 10);
    assert_int_equal(r.n_jobs_stopped, 1);
    assert_int_equal(r.n_claimed, 0);
    osm_sched_result_free(&r);
    struct osm_job j;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_get_job(st, job, &j, &err), 0);
    assert_non_null(j.stop_reason);
    assert_non_null(strstr(j.stop_reason, "2 of its 5 tasks"));
    assert_non_null(strstr(j.stop_reason, "max_errors"));
    osm_job_free(&j);
    /* Stopped stays stopped; it is not stopped again, and its tasks are not
     * read (they would fill the pass's pages). */
    r = pass(now + 20);
    assert_int_equal(r.n_jobs_stopped, 0);
    assert_int_equal(r.n_claimed, 0);
    assert_int_equal(r.n_due, 0);
    osm_sched_result_free(&r);
}

static void test_tasks_without_a_job_have_no_rate_limit(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    char ids[3][40];
    for (int i = 0; i < 3; i++) {
        struct osm_task t;
        osm_task_init(&t);
        strcpy(t.kind, OSM_KIND_OS_MIGRATION);
        t.instance = osm_xasprintf("dir:/srv/lone-%d", i);
        struct osm_err err = OSM_ERR_INIT;
        assert_int_equal(osm_store_create_task(st, &t, &err), 0);
        memcpy(ids[i], t.id, 40);
        osm_task_free(&t);
    }
    struct osm_sched_result r = pass(now);
    assert_int_equal(r.n_claimed, 3);
    for (int i = 0; i < 3; i++)
        assert_true(claimed(&r, ids[i]));
    osm_sched_result_free(&r);
}

static void make_loose(const char *name, size_t n, int64_t not_before, char (*ids)[40])
{
    for (size_t i = 0; i < n; i++) {
        struct osm_task t;
        osm_task_init(&t);
        strcpy(t.kind, OSM_KIND_OS_MIGRATION);
        t.instance = osm_xasprintf("dir:/srv/%s-%zu", name, i);
        t.not_before = not_before;
        struct osm_err err = OSM_ERR_INIT;
        assert_int_equal(osm_store_create_task(st, &t, &err), 0);
        memcpy(ids[i], t.id, 40);
        osm_task_free(&t);
    }
}

/* A pass claims no more than the caller can run, reads a bounded page
 * rather than every due task, and takes them in start order: earliest
 * not_before first, then the order of creation. */
static void test_a_pass_claims_at_most_its_capacity_in_start_order(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    static char ids[200][40];
    char early[1][40];
    make_loose("cap", 200, now - 10, ids);
    struct osm_sched_result r = pass_cap(now, 3);
    assert_int_equal(r.n_claimed, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(r.claimed[i], ids[i]);
    assert_true(r.n_waiting < 200);
    osm_sched_result_free(&r);
    /* claimed ones are not offered again: the next three */
    r = pass_cap(now + 1, 3);
    assert_int_equal(r.n_claimed, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(r.claimed[i], ids[3 + i]);
    osm_sched_result_free(&r);
    /* made last but meant to start first */
    make_loose("early", 1, now - 100, early);
    r = pass_cap(now + 2, 1);
    assert_int_equal(r.n_claimed, 1);
    assert_string_equal(r.claimed[0], early[0]);
    osm_sched_result_free(&r);
    /* no room: nothing claimed, though tasks are due */
    r = pass_cap(now + 3, 0);
    assert_int_equal(r.n_claimed, 0);
    assert_true(r.n_due > 0);
    osm_sched_result_free(&r);
}

/* Jobs that can start nothing (stopped for errors) or little (at their
 * concurrency limit) ahead in start order do not keep a job behind them
 * waiting, however many tasks they have. */
static void test_stopped_or_full_jobs_do_not_starve_the_jobs_behind(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    static char stopped[300][40], full[300][40];
    char behind[1][40], sj[40], fj[40], bj[40];
    make_job("stopped", NULL, NULL, 300, NULL, 0, 0, stopped, sj);
    make_job("full", "1", NULL, 300, NULL, 0, 0, full, fj);
    make_job("behind", NULL, NULL, 1, NULL, 0, 0, behind, bj);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_set_job_stop(st, sj, "stopped by the test", &err), 0);
    struct osm_sched_result r = pass_cap(now, 8);
    assert_int_equal(r.n_claimed, 2);
    assert_true(claimed(&r, full[0]));
    assert_true(claimed(&r, behind[0]));
    for (size_t i = 0; i < 300; i++)
        assert_false(claimed(&r, stopped[i]));
    osm_sched_result_free(&r);
}

static void test_task_with_a_bad_window_fails_naming_the_member(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    char ids[1][40], job[40];
    make_job("badwin", NULL, NULL, 1, "{\"timezone\":\"Asia/Shanghai\",\"start\":\"25:00\",\"duration\":\"1h\"}", 0, 0,
             ids, job);
    struct osm_sched_result r = pass(now);
    assert_int_equal(r.n_claimed, 0);
    struct osm_task t = get(ids[0]);
    assert_int_equal(t.state, OSM_TASK_FAILED);
    assert_string_equal(t.error_code, "schedule.window");
    assert_non_null(strstr(t.cause, "window.start"));
    osm_task_free(&t);
    osm_sched_result_free(&r);
}

/* Two jobs with different limits in one pass, each held to its own. */
static void test_each_job_is_held_to_its_own_limits(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    char a[4][40], b[4][40], ja[40], jb[40];
    make_job("ja", NULL, NULL, 4, NULL, 0, 0, a, ja);
    make_job("jb", "1", NULL, 4, NULL, 0, 0, b, jb);
    for (int i = 0; i < 3; i++) { /* ja: 3 succeeded -> ramp-up 8, 1 waiting */
        set_state(a[i], OSM_TASK_RUNNING);
        set_state(a[i], OSM_TASK_SUCCEEDED);
        set_state(b[i], OSM_TASK_RUNNING);
        set_state(b[i], OSM_TASK_SUCCEEDED);
    }
    struct osm_sched_result r = pass(now);
    assert_int_equal(r.n_due, 2);
    assert_int_equal(r.n_claimed, 2);
    assert_true(claimed(&r, a[3]) && claimed(&r, b[3]));
    osm_sched_result_free(&r);
}

/* A pass writes at most 500 rows (each is a transaction), expiries first,
 * and claims due tasks whatever the budget; the next pass writes the rest. */
static void test_a_pass_writes_at_most_500_rows_and_still_claims(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    static char late[520][40], many[30][40];
    char late_job[40], many_job[40], due_ids[1][40], due_job[40];
    make_job("late", NULL, NULL, 520, NULL, 0, now - 60, late, late_job);
    make_job("many", NULL, NULL, 30, NULL, now + 3600, 0, many, many_job);
    make_job("now", NULL, NULL, 1, NULL, 0, 0, due_ids, due_job);
    /* The expiries use the whole budget: the tasks that start later are
     * not even read this pass. */
    struct osm_sched_result r = pass(now);
    assert_int_equal(r.n_expired, 500);
    assert_int_equal(r.n_scheduled, 0);
    assert_int_equal(r.n_claimed, 1);
    assert_string_equal(r.claimed[0], due_ids[0]);
    osm_sched_result_free(&r);
    struct osm_task_counts c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_count_tasks(st, late_job, &c, &err), 0);
    assert_int_equal(c.by_state[OSM_TASK_EXPIRED], 500);
    assert_int_equal(c.by_state[OSM_TASK_SUBMITTED], 20);
    assert_int_equal(osm_store_count_tasks(st, many_job, &c, &err), 0);
    assert_int_equal(c.by_state[OSM_TASK_SUBMITTED], 30);
    r = pass(now + 1);
    assert_int_equal(r.n_expired, 20);
    assert_int_equal(r.n_claimed, 0);
    osm_sched_result_free(&r);
    assert_int_equal(osm_store_count_tasks(st, late_job, &c, &err), 0);
    assert_int_equal(c.by_state[OSM_TASK_EXPIRED], 520);
    /* the rows of waiting tasks: at least 8 a pass (more while the pass is
     * young), so 30 within 4 passes */
    for (int i = 2; i < 6; i++) {
        r = pass(now + i);
        osm_sched_result_free(&r);
    }
    assert_int_equal(osm_store_count_tasks(st, many_job, &c, &err), 0);
    assert_int_equal(c.by_state[OSM_TASK_SCHEDULED], 30);
}

/* The store's read for a pass: submitted tasks, and scheduled ones due or
 * past their latest start by `now`; not those scheduled for later. */
static void test_store_lists_only_tasks_due_by_now(void **state)
{
    (void)state;
    int64_t now = utc(2030, 1, 7, 12, 0);
    char sub[1][40], later[1][40], due[1][40], expiring[1][40], soon_exp[1][40], j[5][40];
    make_job("sub", NULL, NULL, 1, NULL, now + 3600, 0, sub, j[0]);
    make_job("later", NULL, NULL, 1, NULL, now + 3600, now + 7200, later, j[1]);
    make_job("due", NULL, NULL, 1, NULL, now + 60, 0, due, j[2]);
    make_job("expiring", NULL, NULL, 1, NULL, now + 3600, now + 30, expiring, j[3]);
    make_job("soonexp", NULL, NULL, 1, NULL, now + 3600, now + 7200, soon_exp, j[4]);
    const char *sched[] = {later[0], due[0], expiring[0], soon_exp[0]};
    for (int i = 0; i < 4; i++)
        set_state(sched[i], OSM_TASK_SCHEDULED);
    struct osm_waiting_task *w;
    size_t n;
    struct osm_err err = OSM_ERR_INIT;
    /* At now + 60: the submitted one, the one due at now + 60, the one whose
     * latest start (now + 30) passed; in the order they were created. */
    assert_int_equal(osm_store_list_waiting_due(st, now + 60, &w, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(w[0].id, sub[0]);
    assert_string_equal(w[1].id, due[0]);
    assert_string_equal(w[2].id, expiring[0]);
    osm_waiting_free(w, n);
    /* At now + 30 the second is not due yet, and the third, at its latest
     * start exactly, has not expired. */
    assert_int_equal(osm_store_list_waiting_due(st, now + 30, &w, &n, &err), 0);
    assert_int_equal(n, 1);
    osm_waiting_free(w, n);
    /* Everything waits in list_waiting. */
    assert_int_equal(osm_store_list_waiting(st, &w, &n, &err), 0);
    assert_int_equal(n, 5);
    osm_waiting_free(w, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OSM_TEST(test_pass_expires_tasks_past_their_latest_start),
        OSM_TEST(test_pass_schedules_tasks_for_their_window_and_writes_once),
        OSM_TEST(test_pass_waits_for_not_before_then_starts),
        OSM_TEST(test_a_task_placed_at_creation_is_the_row_a_pass_would_write),
        OSM_TEST(test_pass_claims_within_concurrency_and_ramp_up),
        OSM_TEST(test_percent_concurrency_of_a_one_task_job_starts_it),
        OSM_TEST(test_job_stops_when_errors_exceed_max_errors),
        OSM_TEST(test_tasks_without_a_job_have_no_rate_limit),
        OSM_TEST(test_task_with_a_bad_window_fails_naming_the_member),
        OSM_TEST(test_each_job_is_held_to_its_own_limits),
        OSM_TEST(test_a_pass_writes_at_most_500_rows_and_still_claims),
        OSM_TEST(test_a_pass_claims_at_most_its_capacity_in_start_order),
        OSM_TEST(test_stopped_or_full_jobs_do_not_starve_the_jobs_behind),
        OSM_TEST(test_store_lists_only_tasks_due_by_now),
    };
    int failed = cmocka_run_group_tests_name("scheduler: sqlite", tests, NULL, NULL);
    pg_url = getenv("OSMIG_TEST_PG_URL");
    if (pg_url && *pg_url)
        failed += cmocka_run_group_tests_name("scheduler: postgresql", tests, NULL, NULL);
    else
        printf("scheduler: postgresql skipped (OSMIG_TEST_PG_URL is not set; tests/fleet/pg_server.sh starts a server)\n");
    return failed ? 1 : 0;
}
