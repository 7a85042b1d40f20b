/* test_runner.c: the phase runner on the test-files kind and on os-migration,
 * in one process (crash injection is in test_runner_crash.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kind_files.h"
#include "osm_buf.h"
#include "os_migration.h"
#include "osm_fs.h"
#include "runner.h"
#include "store.h"
#include "testutil.h"

static char work[OSM_TEST_DIR_MAX];
static char state_dir[300];
static struct osm_store *st;

static int setup(void **state)
{
    (void)state;
    if (osm_test_mkdtemp(work, "runner") != 0)
        return -1;
    snprintf(state_dir, sizeof state_dir, "%s/state", work);
    struct osm_err err = OSM_ERR_INIT;
    if (kind_files_make_root(work) != 0 || osm_store_open(state_dir, &st, &err) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    osm_store_close(st);
    return osm_remove_tree(work, NULL);
}

static void submit(const char *kind, const char *instance, struct osm_task *t)
{
    struct osm_err err = OSM_ERR_INIT;
    osm_task_init(t);
    snprintf(t->kind, sizeof t->kind, "%s", kind);
    t->instance = osm_xstrdup(instance);
    if (osm_store_create_task(st, t, &err) != 0)
        fail_msg("create: %s", err.msg);
}

static void submit_files(struct osm_task *t)
{
    char *uri = osm_xasprintf("dir:%s/root", work);
    submit(KIND_FILES, uri, t);
    free(uri);
}

static void run_and_reload(struct osm_task *t)
{
    struct osm_err err = OSM_ERR_INIT;
    if (osm_runner_run(st, t->id, NULL, &err) != 0)
        fail_msg("run: %s", err.msg);
    char id[40];
    memcpy(id, t->id, sizeof id);
    osm_task_free(t);
    assert_int_equal(osm_store_get_task(st, id, t, &err), 0);
}

static void touch(const char *rel)
{
    char *p = osm_path_join(work, rel);
    assert_int_equal(osm_write_file_atomic(p, "x", 1, 0644, NULL), 0);
    free(p);
}

static int count_journal(const char *id, const char *what, const char *result)
{
    struct osm_journal_entry *j;
    size_t n;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_list_journal(st, id, &j, &n, &err), 0);
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += strcmp(j[i].what, what) == 0 && (!result || (j[i].result && strcmp(j[i].result, result) == 0));
    osm_journal_free(j, n);
    return c;
}

/* The claim as the store holds it at each event the runner records. */
struct lease_seen {
    int64_t longest;   /* the most lease_until - now seen */
    int events;
};

static void note_lease(void *user, const struct osm_task *t, const char *type, const char *message)
{
    (void)type, (void)message;
    struct lease_seen *ls = user;
    struct osm_task cur;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_get_task(st, t->id, &cur, &err) != 0)
        fail_msg("get: %s", err.msg);
    if (cur.owner && cur.lease_until - osm_store_now() > ls->longest)
        ls->longest = cur.lease_until - osm_store_now();
    ls->events++;
    osm_task_free(&cur);
}

static void claim_uses_the_callers_lease_from_the_first_claim(void **state)
{
    (void)state;
    struct osm_task t;
    submit_files(&t);
    struct lease_seen ls = {0};
    struct osm_runner_opts opts = {.on_event = note_lease, .user = &ls, .lease_seconds = 7};
    struct osm_err err = OSM_ERR_INIT;
    if (osm_runner_run(st, t.id, &opts, &err) != 0)
        fail_msg("run: %s", err.msg);
    assert_true(ls.events > 0);
    assert_true(ls.longest > 0);
    assert_true(ls.longest <= 7);
    osm_task_free(&t);
}

static void task_runs_every_step_to_success(void **state)
{
    (void)state;
    struct osm_task t;
    submit_files(&t);
    run_and_reload(&t);
    assert_string_equal(osm_task_state_name(t.state), "succeeded");
    assert_string_equal(t.phase, "succeeded");
    assert_true(t.progress >= 100.0);
    assert_string_equal(t.snapshot_set, "files-snapshot");
    assert_null(t.owner); /* released */
    assert_true(kind_files_is_migrated(work, t.id));
    assert_int_equal(count_journal(t.id, "intent", NULL), 7);
    assert_int_equal(count_journal(t.id, "outcome", "ok"), 7);
    assert_int_equal(kind_files_boot_id(work), 2);
    /* A step's own event sits in the history between its start and its end. */
    struct osm_task_event *ev;
    size_t n;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_list_events(st, t.id, &ev, &n, &err), 0);
    size_t i = 0;
    while (i < n && !(strcmp(ev[i].type, "step.start") == 0 && strcmp(ev[i].message, "rename") == 0))
        i++;
    assert_true(i + 2 < n);
    assert_string_equal(ev[i + 1].type, "renamed");
    assert_string_equal(ev[i + 2].type, "step.done");
    assert_string_equal(ev[n - 1].type, "succeeded");
    osm_task_events_free(ev, n);
    osm_task_free(&t);
}

static void failure_after_a_change_rolls_back_and_restores_the_files(void **state)
{
    (void)state;
    touch("root/FAIL_VERIFY");
    struct osm_task t;
    submit_files(&t);
    run_and_reload(&t);
    assert_string_equal(osm_task_state_name(t.state), "rolled_back");
    assert_string_equal(t.error_code, "step.verify");
    assert_non_null(strstr(t.cause, "FAIL_VERIFY"));
    assert_true(kind_files_is_original(work));
    assert_int_equal(count_journal(t.id, "outcome", "failed"), 1);

    /* Retry once the cause is gone: the same task succeeds. */
    char *p = osm_path_join(work, "root/FAIL_VERIFY");
    unlink(p);
    free(p);
    char *snap = osm_path_join(work, "snapshot");
    osm_remove_tree(snap, NULL); /* a retry takes a new snapshot */
    free(snap);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_runner_retry(st, t.id, &err), 0);
    run_and_reload(&t);
    assert_string_equal(osm_task_state_name(t.state), "succeeded");
    assert_null(t.cause);
    assert_true(kind_files_is_migrated(work, t.id));
    osm_task_free(&t);
}

static void failed_rollback_says_what_a_person_must_do(void **state)
{
    (void)state;
    touch("root/FAIL_VERIFY");
    touch("root/FAIL_ROLLBACK");
    struct osm_task t;
    submit_files(&t);
    run_and_reload(&t);
    assert_string_equal(osm_task_state_name(t.state), "rollback_failed");
    assert_non_null(strstr(t.cause, "FAIL_VERIFY"));   /* why it rolled back */
    assert_non_null(strstr(t.cause, "FAIL_ROLLBACK")); /* why the rollback failed */
    assert_non_null(strstr(t.cause, "a person must"));
    assert_non_null(strstr(t.cause, "files-snapshot"));
    assert_non_null(strstr(t.cause, t.id));

    /* It still holds the instance. */
    struct osm_task other;
    osm_task_init(&other);
    strcpy(other.kind, KIND_FILES);
    other.instance = osm_xstrdup(t.instance);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_create_task(st, &other, &err), -1);
    assert_non_null(strstr(err.msg, "rollback failed"));
    osm_task_free(&other);

    /* The person fixes it and asks again: the rollback runs again. */
    char *p = osm_path_join(work, "root/FAIL_ROLLBACK");
    unlink(p);
    free(p);
    assert_int_equal(osm_runner_request_rollback(st, t.id, &err), 0);
    run_and_reload(&t);
    assert_string_equal(osm_task_state_name(t.state), "rolled_back");
    assert_true(kind_files_is_original(work));
    osm_task_free(&t);
}

static void failure_before_any_change_ends_failed_without_rollback(void **state)
{
    (void)state;
    char *counter = osm_path_join(work, "root/data/counter");
    unlink(counter);
    free(counter);
    struct osm_task t;
    submit_files(&t);
    run_and_reload(&t);
    assert_string_equal(osm_task_state_name(t.state), "failed");
    assert_string_equal(t.error_code, "step.check");
    assert_int_equal(t.changed, 0);
    assert_int_equal(count_journal(t.id, "intent", NULL), 1); /* no rollback intent */
    osm_task_free(&t);
}

static int no_step(struct osm_step_ctx *ctx, struct osm_err *err)
{
    (void)ctx;
    return osm_err_set(err, OSM_EFAIL, "not run");
}

static void os_migration_without_families_fails_with_a_clear_cause(void **state)
{
    (void)state;
    struct osm_task t;
    char *uri = osm_xasprintf("dir:%s/root", work);
    submit(OSM_KIND_OS_MIGRATION, uri, &t);
    free(uri);
    run_and_reload(&t);
    assert_string_equal(osm_task_state_name(t.state), "failed");
    assert_non_null(strstr(t.cause, "precheck"));
    assert_non_null(strstr(t.cause, "provides no"));
    osm_task_free(&t);

    /* A family whose upgrade (not idempotent) has no check is refused, and
     * so is one that lacks a step. */
    struct osm_family_migration m = {.precheck = no_step, .stage = no_step, .upgrade = no_step, .verify = no_step};
    struct osm_family fam = {.name = "test", .migration = &m};
    const struct osm_family *const table[] = {&fam, NULL};
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_os_migration_use(table, &err), -1);
    assert_non_null(strstr(err.msg, "check"));
    m.upgrade_check = (osm_step_check_fn)no_step;
    m.stage = NULL;
    assert_int_equal(osm_os_migration_use(table, &err), -1);
    assert_non_null(strstr(err.msg, "lacks a step"));
}

static void cancel_only_before_any_change(void **state)
{
    (void)state;
    struct osm_task t;
    submit_files(&t);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_runner_cancel(st, t.id, &err), 0);
    run_and_reload(&t); /* a cancelled task does not run */
    assert_string_equal(osm_task_state_name(t.state), "cancelled");
    assert_true(kind_files_is_original(work));
    assert_int_equal(osm_runner_cancel(st, t.id, &err), -1);
    assert_int_equal(err.code, OSM_ECONFLICT);

    /* Retried, it runs; once it changed the instance it cannot be cancelled. */
    assert_int_equal(osm_runner_retry(st, t.id, &err), 0);
    run_and_reload(&t);
    assert_string_equal(osm_task_state_name(t.state), "succeeded");
    assert_int_equal(osm_runner_cancel(st, t.id, &err), -1);
    assert_non_null(strstr(err.msg, "already succeeded"));

    /* A running task that has changed the instance refuses. */
    t.state = OSM_TASK_RUNNING;
    t.changed = 1;
    strcpy(t.phase, "upgrading");
    struct osm_task_change ch = {.task = &t, .expect_state = OSM_TASK_SUCCEEDED, .expect_rev = -1};
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    assert_int_equal(osm_runner_cancel(st, t.id, &err), -1);
    assert_non_null(strstr(err.msg, "can no longer be cancelled"));
    osm_task_free(&t);
}

static void schedule_waits_for_not_before_and_expires_after_latest_start(void **state)
{
    (void)state;
    struct osm_task t;
    struct osm_err err = OSM_ERR_INIT;
    osm_task_init(&t);
    strcpy(t.kind, KIND_FILES);
    t.instance = osm_xasprintf("dir:%s/root", work);
    t.not_before = osm_store_now() + 3600;
    assert_int_equal(osm_store_create_task(st, &t, &err), 0);
    run_and_reload(&t);
    assert_string_equal(osm_task_state_name(t.state), "scheduled");
    assert_true(kind_files_is_original(work));
    size_t n;
    assert_int_equal(osm_runner_count_resumable(st, 0, &n, &err), 0);
    assert_int_equal(n, 0); /* not due */

    /* Its latest start has passed: it expires instead of starting. */
    t.not_before = 0;
    t.latest_start = osm_store_now() - 10;
    struct osm_task_change ch = {.task = &t, .expect_state = OSM_TASK_SCHEDULED, .expect_rev = -1};
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    run_and_reload(&t);
    assert_string_equal(osm_task_state_name(t.state), "expired");
    assert_string_equal(t.error_code, "schedule.expired");
    assert_true(kind_files_is_original(work));
    osm_task_free(&t);
}

int main(void)
{
    kind_files_register();
    const struct CMUnitTest tests[] = {
        OSM_TEST(task_runs_every_step_to_success),
        OSM_TEST(claim_uses_the_callers_lease_from_the_first_claim),
        OSM_TEST(failure_after_a_change_rolls_back_and_restores_the_files),
        OSM_TEST(failed_rollback_says_what_a_person_must_do),
        OSM_TEST(failure_before_any_change_ends_failed_without_rollback),
        OSM_TEST(os_migration_without_families_fails_with_a_clear_cause),
        OSM_TEST(cancel_only_before_any_change),
        OSM_TEST(schedule_waits_for_not_before_and_expires_after_latest_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
