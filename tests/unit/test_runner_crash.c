/* test_runner_crash.c: crash injection, SQLite's way. For every N, a real
 * runner process (this binary, re-executed with --child) is made to _exit at
 * its Nth crash point (OSMIG_CRASH_AT=N: before and after every record, and
 * inside the steps); then a fresh process resumes. Every run must end
 * succeeded (or rolled_back when verification is made to fail) with exactly
 * the expected files: a non-idempotent step repeated blindly would append a
 * second line or count twice. The number of kill points is printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kind_files.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_run.h"
#include "runner.h"
#include "store.h"

static char self_exe[PATH_MAX];

/* The child: resume every task in STATE_DIR, as `osmig resume` would. */
static int child_main(const char *state_dir)
{
    kind_files_register();
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    size_t n;
    if (osm_store_open(state_dir, &st, &err) != 0 || osm_runner_resume_all(st, 0, NULL, &n, &err) != 0) {
        fprintf(stderr, "child: %s\n", err.msg);
        return 1;
    }
    osm_store_close(st);
    return 0;
}

static int run_child(const char *state_dir, long crash_at)
{
    char env_crash[64];
    snprintf(env_crash, sizeof env_crash, "OSMIG_CRASH_AT=%ld", crash_at);
    const char *env[] = {env_crash, NULL};
    const char *argv[] = {self_exe, "--child", state_dir, NULL};
    struct osm_buf errout;
    osm_buf_init(&errout);
    struct osm_run_opts opts = {.env = crash_at > 0 ? env : NULL, .errout = &errout};
    struct osm_err err = OSM_ERR_INIT;
    int status = osm_run(argv, &opts, &err);
    if (status != 0 && status != 137)
        print_error("child (crash at %ld) exited %d: %s%s\n", crash_at, status, err.msg, errout.s);
    osm_buf_free(&errout);
    return status;
}

/* One crash at point N, then a clean restart. Returns 1 when the first run
 * crashed, 0 when N is past the last crash point (it ran to the end). */
static int one_kill_point(long n, int fail_verify, const char **end_state)
{
    /* Memory-backed when possible: a kill point costs a dozen fsyncs, and
     * what is tested is a killed process, not a lost disk cache. */
    char work[64];
    snprintf(work, sizeof work, "%s/osmig-crash-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    assert_non_null(mkdtemp(work));
    char *state_dir = osm_path_join(work, "state");
    assert_int_equal(kind_files_make_root(work), 0);
    if (fail_verify) {
        char *p = osm_path_join(work, "root/FAIL_VERIFY");
        assert_int_equal(osm_write_file_atomic(p, "", 0, 0644, NULL), 0);
        free(p);
    }
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_open(state_dir, &st, &err), 0);
    struct osm_task t;
    osm_task_init(&t);
    strcpy(t.kind, KIND_FILES);
    t.instance = osm_xasprintf("dir:%s/root", work);
    assert_int_equal(osm_store_create_task(st, &t, &err), 0);
    osm_store_close(st);

    int first = run_child(state_dir, n);
    assert_true(first == 0 || first == 137);
    if (first == 137)
        assert_int_equal(run_child(state_dir, 0), 0);

    assert_int_equal(osm_store_open(state_dir, &st, &err), 0);
    struct osm_task got;
    assert_int_equal(osm_store_get_task(st, t.id, &got, &err), 0);
    *end_state = osm_task_state_name(got.state);
    if (fail_verify) {
        if (got.state != OSM_TASK_ROLLED_BACK)
            fail_msg("kill point %ld: ended %s (%s), expected rolled_back", n, *end_state, got.cause);
        if (!kind_files_is_original(work))
            fail_msg("kill point %ld: rolled back but the files are not the original ones", n);
    } else {
        if (got.state != OSM_TASK_SUCCEEDED)
            fail_msg("kill point %ld: ended %s (%s), expected succeeded", n, *end_state, got.cause);
        if (!kind_files_is_migrated(work, t.id))
            fail_msg("kill point %ld: succeeded but the files are not exactly migrated once", n);
        if (kind_files_boot_id(work) != 2)
            fail_msg("kill point %ld: %ld reboots instead of exactly one", n, kind_files_boot_id(work) - 1);
    }
    assert_true(osm_store_owner_dead(got.owner)); /* released, or its process is gone */
    osm_task_free(&got);
    osm_task_free(&t);
    osm_store_close(st);
    free(state_dir);
    assert_int_equal(osm_remove_tree(work, NULL), 0);
    return first == 137;
}

static long every_kill_point(int fail_verify)
{
    long n = 1;
    const char *end;
    while (one_kill_point(n, fail_verify, &end))
        n++;
    assert_true(n > 10); /* the points really exist */
    printf("kill points exercised (%s): %ld, each ended %s\n", fail_verify ? "rollback path" : "success path",
           n - 1, end);
    return n - 1;
}

static void killed_at_every_point_of_a_successful_task_it_still_succeeds_once(void **state)
{
    (void)state;
    every_kill_point(0);
}

static void killed_at_every_point_of_a_failing_task_it_still_rolls_back(void **state)
{
    (void)state;
    every_kill_point(1);
}

/* Claims: three engines resuming one store at once run each task once. */
static void engines_resuming_at_once_run_each_task_exactly_once(void **state)
{
    (void)state;
    enum { TASKS = 6, ENGINES = 3 };
    char base[64];
    snprintf(base, sizeof base, "%s/osmig-race-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    assert_non_null(mkdtemp(base));
    char *state_dir = osm_path_join(base, "state");
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_open(state_dir, &st, &err), 0);
    char ids[TASKS][40];
    char *works[TASKS];
    for (int i = 0; i < TASKS; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i);
        works[i] = osm_path_join(base, name);
        assert_int_equal(kind_files_make_root(works[i]), 0);
        struct osm_task t;
        osm_task_init(&t);
        strcpy(t.kind, KIND_FILES);
        t.instance = osm_xasprintf("dir:%s/root", works[i]);
        assert_int_equal(osm_store_create_task(st, &t, &err), 0);
        memcpy(ids[i], t.id, sizeof ids[i]);
        osm_task_free(&t);
    }
    pid_t pids[ENGINES];
    for (int e = 0; e < ENGINES; e++) {
        pids[e] = fork();
        if (pids[e] == 0) {
            setenv("KIND_FILES_DELAY_MS", "100", 1);
            execl(self_exe, self_exe, "--child", state_dir, (char *)NULL);
            _exit(127);
        }
    }
    for (int e = 0; e < ENGINES; e++) {
        int status;
        assert_int_equal(waitpid(pids[e], &status, 0), pids[e]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    for (int i = 0; i < TASKS; i++) {
        struct osm_task t;
        assert_int_equal(osm_store_get_task(st, ids[i], &t, &err), 0);
        assert_int_equal(t.state, OSM_TASK_SUCCEEDED);
        assert_true(kind_files_is_migrated(works[i], ids[i]));
        assert_int_equal(kind_files_boot_id(works[i]), 2);
        osm_task_free(&t);
        free(works[i]);
    }
    osm_store_close(st);
    free(state_dir);
    assert_int_equal(osm_remove_tree(base, NULL), 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child_main(argv[2]);
    ssize_t len = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (len <= 0)
        return 1;
    self_exe[len] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_at_every_point_of_a_successful_task_it_still_succeeds_once),
        cmocka_unit_test(killed_at_every_point_of_a_failing_task_it_still_rolls_back),
        cmocka_unit_test(engines_resuming_at_once_run_each_task_exactly_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
