/* test_task_cli.c: the task commands of the real `osmig` binary ($OSMIG_BIN)
 * against a real store: tasks, task show, cancel, retry, resume and the
 * background resume started by any command that opens the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_run.h"
#include "store.h"

static char work[256];
static const char *bin;
static struct osm_buf out, errout;

static int setup(void **state)
{
    (void)state;
    snprintf(work, sizeof work, "/tmp/osmig-taskcli-XXXXXX");
    osm_buf_init(&out);
    osm_buf_init(&errout);
    return mkdtemp(work) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    osm_buf_free(&out);
    osm_buf_free(&errout);
    return osm_remove_tree(work, NULL);
}

/* Run osmig with --state-dir WORK and up to 3 more arguments. */
static int osmig(int auto_resume, const char *a1, const char *a2, const char *a3)
{
    const char *argv[8] = {bin, "--state-dir", work, a1, a2, a3, NULL};
    const char *env_off[] = {"OSMIG_NO_AUTO_RESUME=1", NULL};
    osm_buf_reset(&out);
    osm_buf_reset(&errout);
    struct osm_run_opts o = {.env = auto_resume ? NULL : env_off, .out = &out, .errout = &errout};
    struct osm_err err = OSM_ERR_INIT;
    int st = osm_run(argv, &o, &err);
    if (st < 0)
        fail_msg("running %s: %s", bin, err.msg);
    return st;
}

static void submit(const char *instance, struct osm_task *t)
{
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_open(work, &st, &err), 0);
    osm_task_init(t);
    strcpy(t->kind, OSM_KIND_OS_MIGRATION);
    t->instance = osm_xstrdup(instance);
    t->target = osm_xstrdup("alinux3");
    assert_int_equal(osm_store_create_task(st, t, &err), 0);
    osm_store_close(st);
}

static json_t *show_json(const char *id)
{
    assert_int_equal(osmig(0, "task", "show", id), 0);
    /* --json after the id */
    const char *argv[] = {bin, "--state-dir", work, "task", "show", id, "--json", NULL};
    const char *env_off[] = {"OSMIG_NO_AUTO_RESUME=1", NULL};
    osm_buf_reset(&out);
    struct osm_run_opts o = {.env = env_off, .out = &out, .errout = &errout};
    assert_int_equal(osm_run(argv, &o, NULL), 0);
    json_error_t je;
    json_t *j = json_loads(out.s, 0, &je);
    if (!j)
        fail_msg("task show --json is not JSON: %s\n%s", je.text, out.s);
    return j;
}

static void tasks_lists_newest_first_as_text_and_json(void **state)
{
    (void)state;
    /* No store yet: reading creates nothing. */
    assert_int_equal(osmig(0, "tasks", NULL, NULL), 0);
    assert_non_null(strstr(out.s, "no tasks"));
    assert_int_equal(osmig(0, "task", "show", "t-000000000000"), 1);
    assert_non_null(strstr(errout.s, "no task store"));
    assert_int_equal(osmig(0, "resume", NULL, NULL), 0);
    char *db = osm_path_join(work, "state.db");
    assert_false(osm_is_file(db));
    free(db);
    struct osm_task a, b;
    submit("dir:/srv/a", &a);
    submit("dir:/srv/b", &b);
    assert_int_equal(osmig(0, "tasks", NULL, NULL), 0);
    char *pa = strstr(out.s, a.id), *pb = strstr(out.s, b.id);
    assert_non_null(pa);
    assert_non_null(pb);
    assert_true(pb < pa);
    assert_int_equal(osmig(0, "tasks", "--json", NULL), 0);
    json_t *j = json_loads(out.s, 0, NULL);
    assert_non_null(j);
    json_t *tasks = json_object_get(j, "tasks");
    assert_int_equal(json_array_size(tasks), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tasks, 0), "id")), b.id);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tasks, 1), "state")), "submitted");
    json_decref(j);
    osm_task_free(&a);
    osm_task_free(&b);
}

static void cancel_then_retry_runs_the_task_and_show_tells_why_it_failed(void **state)
{
    (void)state;
    struct osm_task t;
    submit("dir:/srv/c", &t);
    assert_int_equal(osmig(0, "cancel", t.id, NULL), 0);
    assert_non_null(strstr(out.s, "cancelled"));
    assert_int_equal(osmig(0, "cancel", t.id, NULL), 1);
    assert_non_null(strstr(errout.s, "already cancelled"));

    /* os-migration steps are not provided by this binary yet: the retry runs
     * and fails at the prechecks, before any change, and says so. */
    char *root = osm_path_join(work, "root");
    assert_int_equal(osm_mkdir_p(root, 0755, NULL), 0);
    free(root);
    assert_int_equal(osmig(0, "retry", t.id, "--yes"), 1);
    assert_non_null(strstr(out.s, "failed"));
    assert_non_null(strstr(out.s, "precheck"));

    json_t *j = show_json(t.id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "step.precheck");
    json_t *hist = json_object_get(j, "history");
    assert_true(json_array_size(hist) >= 4); /* submitted, cancelled, retried, started, ... */
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 0), "type")), "submitted");
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 1), "type")), "cancelled");
    json_decref(j);

    assert_int_equal(osmig(0, "task", "show", t.id), 0);
    assert_non_null(strstr(out.s, "state:        failed"));
    assert_non_null(strstr(out.s, "cause:"));
    assert_non_null(strstr(out.s, "history:"));
    osm_task_free(&t);
}

static void bad_requests_fail_clearly(void **state)
{
    (void)state;
    struct osm_task t;
    submit("dir:/srv/d", &t);
    assert_int_equal(osmig(0, "task", "show", "t-nosuch"), 1);
    assert_non_null(strstr(errout.s, "t-nosuch"));
    assert_int_equal(osmig(0, "task", "show", NULL), 2);
    assert_int_equal(osmig(0, "cancel", NULL, NULL), 2);
    assert_int_equal(osmig(0, "tasks", "--bogus", NULL), 2);
    assert_int_equal(osmig(0, "retry", t.id, "--yes"), 1); /* submitted: nothing to retry */
    assert_non_null(strstr(errout.s, "only a failed"));
    assert_int_equal(osmig(0, "rollback", t.id, "--yes"), 1);
    osm_task_free(&t);

    /* A corrupt store: a clear error naming it, and the file left as it was. */
    char *db = osm_path_join(work, "state.db");
    char junk[4096];
    memset(junk, 'x', sizeof junk);
    unlink(db);
    char *wal = osm_xasprintf("%s-wal", db), *shm = osm_xasprintf("%s-shm", db);
    unlink(wal);
    unlink(shm);
    assert_int_equal(osm_write_file_atomic(db, junk, sizeof junk, 0600, NULL), 0);
    assert_int_equal(osmig(0, "tasks", NULL, NULL), 1);
    assert_non_null(strstr(errout.s, db));
    struct osm_buf b;
    osm_buf_init(&b);
    assert_int_equal(osm_read_file(db, &b, NULL), 0);
    assert_int_equal(b.len, sizeof junk);
    osm_buf_free(&b);
    free(wal);
    free(shm);
    free(db);
}

/* A pid that surely belongs to no process now. */
static long dead_pid(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

static void a_command_resumes_a_task_its_dead_engine_left_running_and_says_so(void **state)
{
    (void)state;
    char *root = osm_path_join(work, "root");
    assert_int_equal(osm_mkdir_p(root, 0755, NULL), 0);
    char *uri = osm_xasprintf("dir:%s", root);
    struct osm_task t;
    submit(uri, &t);
    /* As an engine killed during the prechecks leaves it. */
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_open(work, &st, &err), 0);
    const char *self = osm_store_self_owner();
    char *owner = osm_xasprintf("%.*s:%ld", (int)(strrchr(self, ':') - self), self, dead_pid());
    assert_int_equal(osm_store_claim(st, t.id, owner, osm_store_now() + 3600, &err), 1);
    t.state = OSM_TASK_RUNNING;
    t.attempted = 1;
    strcpy(t.phase, "prechecking");
    struct osm_task_change ch = {.task = &t, .expect_state = OSM_TASK_SUBMITTED, .expect_rev = -1};
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    osm_store_close(st);

    /* A task submitted and never started is the scheduler's, not the resumer's. */
    struct osm_task idle;
    submit("dir:/srv/idle", &idle);

    /* Asked not to, listing leaves it alone and starts nothing. */
    assert_int_equal(osmig(1, "--no-auto-resume", "tasks", NULL), 0);
    assert_null(strstr(errout.s ? errout.s : "", "background"));
    json_t *still = show_json(t.id);
    assert_string_equal(json_string_value(json_object_get(still, "state")), "running");
    json_decref(still);

    /* Listing starts a background resume and says so; the task leaves `running`. */
    assert_int_equal(osmig(1, "tasks", NULL, NULL), 0);
    assert_non_null(strstr(errout.s, "1 interrupted task of"));
    assert_non_null(strstr(errout.s, "resumed in the background"));
    const char *final = NULL;
    for (int i = 0; i < 300 && !final; i++) {
        json_t *j = show_json(t.id);
        if (json_is_true(json_object_get(j, "finished")))
            final = strcmp(json_string_value(json_object_get(j, "state")), "failed") == 0 ? "failed" : "other";
        json_decref(j);
        if (!final) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    assert_non_null(final);
    assert_string_equal(final, "failed"); /* precheck re-run (idempotent); not provided in this build */
    json_t *ij = show_json(idle.id);
    assert_string_equal(json_string_value(json_object_get(ij, "state")), "submitted");
    json_decref(ij);
    osm_task_free(&idle);
    char *log = osm_path_join(work, "resume.log");
    assert_true(osm_is_file(log));
    free(log);
    /* Nothing interrupted is left; an explicit resume starts the idle task. */
    assert_int_equal(osmig(0, "resume", "--interrupted", NULL), 0);
    assert_non_null(strstr(out.s, "resumed 0 tasks"));
    assert_int_equal(osmig(0, "resume", NULL, NULL), 0);
    assert_non_null(strstr(out.s, "resumed 1 task"));
    free(owner);
    free(uri);
    free(root);
    osm_task_free(&t);
}

int main(void)
{
    bin = getenv("OSMIG_BIN");
    if (!bin || access(bin, X_OK) != 0) {
        fprintf(stderr, "test_task_cli: OSMIG_BIN (the osmig binary) is not set or not executable; run under ctest\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tasks_lists_newest_first_as_text_and_json, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_then_retry_runs_the_task_and_show_tells_why_it_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_requests_fail_clearly, setup, teardown),
        cmocka_unit_test_setup_teardown(a_command_resumes_a_task_its_dead_engine_left_running_and_says_so, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
