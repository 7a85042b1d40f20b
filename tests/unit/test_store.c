/* test_store.c: the SQLite task store on real database files. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "store.h"
#include "store_sqlite.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/osmig-store-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    chmod(tmpdir, 0700);
    return osm_remove_tree(tmpdir, NULL);
}

static struct osm_store *open_store(void)
{
    struct osm_store *st = NULL;
    struct osm_err err = OSM_ERR_INIT;
    int rc = osm_store_open(tmpdir, &st, &err);
    if (rc != 0)
        fail_msg("open: %s", err.msg);
    return st;
}

static void add_task(struct osm_store *st, const char *instance, struct osm_task *t)
{
    struct osm_err err = OSM_ERR_INIT;
    osm_task_init(t);
    strcpy(t->kind, OSM_KIND_OS_MIGRATION);
    t->instance = osm_xstrdup(instance);
    t->target = osm_xstrdup("alinux3");
    if (osm_store_create_task(st, t, &err) != 0)
        fail_msg("create: %s", err.msg);
}

static void creates_lists_newest_first_and_reopens(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_task a, b;
    add_task(st, "dir:/srv/a", &a);
    add_task(st, "dir:/srv/b", &b);
    osm_store_close(st);

    st = open_store(); /* a second open: no migration, same data */
    struct osm_task *list;
    size_t n;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_list_tasks(st, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, b.id); /* newest first */
    assert_string_equal(list[1].id, a.id);
    assert_string_equal(list[1].instance, "dir:/srv/a");
    assert_int_equal(list[1].state, OSM_TASK_SUBMITTED);
    assert_string_equal(list[1].target, "alinux3");
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
    struct osm_task a, b;
    add_task(st, "dir:/srv/web01", &a);

    osm_task_init(&b);
    strcpy(b.kind, OSM_KIND_OS_MIGRATION);
    b.instance = osm_xstrdup("dir:/srv/web01");
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_create_task(st, &b, &err), -1);
    assert_int_equal(err.code, OSM_ECONFLICT);
    assert_non_null(strstr(err.msg, a.id));
    assert_non_null(strstr(err.msg, "dir:/srv/web01"));

    /* Once the first is finished, a new task may start. */
    a.state = OSM_TASK_ROLLED_BACK;
    strcpy(a.phase, "rolled_back");
    struct osm_task_change ch = {.task = &a, .expect_state = OSM_TASK_SUBMITTED, .expect_rev = -1};
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    b.id[0] = '\0';
    assert_int_equal(osm_store_create_task(st, &b, &err), 0);

    /* Bringing the first back to life (retry) now conflicts with the second. */
    a.state = OSM_TASK_SUBMITTED;
    ch.expect_state = OSM_TASK_ROLLED_BACK;
    assert_int_equal(osm_store_commit(st, &ch, &err), -1);
    assert_int_equal(err.code, OSM_ECONFLICT);
    assert_non_null(strstr(err.msg, b.id));
    osm_task_free(&a);
    osm_task_free(&b);
    osm_store_close(st);
}

static void history_and_journal_are_append_only(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_task t;
    add_task(st, "dir:/srv/h", &t);
    struct osm_err err = OSM_ERR_INIT;
    t.state = OSM_TASK_RUNNING;
    struct osm_journal_entry j = {.step_index = 0, .step = "precheck", .what = "intent"};
    struct osm_task_change ch = {.task = &t, .expect_state = OSM_TASK_SUBMITTED, .expect_rev = -1,
                                 .event_type = "step.start", .event_message = "precheck", .journal = &j};
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    /* A commit expecting a state the task is not in writes nothing. */
    ch.expect_state = OSM_TASK_SUBMITTED;
    ch.event_type = "should-not-appear";
    assert_int_equal(osm_store_commit(st, &ch, &err), 1);

    struct osm_task_event *ev;
    size_t n;
    assert_int_equal(osm_store_list_events(st, t.id, &ev, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ev[0].type, "submitted");
    assert_string_equal(ev[1].type, "step.start");
    osm_task_events_free(ev, n);

    sqlite3 *db = osm_store_sqlite_handle(st);
    assert_non_null(db);
    char *msg = NULL;
    assert_int_not_equal(sqlite3_exec(db, "UPDATE task_events SET message='rewritten'", NULL, NULL, &msg), SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM task_events", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM step_journal", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE step_journal SET result='ok'", NULL, NULL, NULL), SQLITE_OK);

    struct osm_journal_entry *jl;
    assert_int_equal(osm_store_list_journal(st, t.id, &jl, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(jl[0].what, "intent");
    assert_null(jl[0].result);
    osm_journal_free(jl, n);
    osm_task_free(&t);
    osm_store_close(st);
}

static void store_at_schema_1_migrates_keeping_its_tasks(void **state)
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

static void store_newer_than_the_program_is_refused(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    assert_int_equal(sqlite3_exec(osm_store_sqlite_handle(st), "UPDATE schema_version SET version=99", NULL, NULL, NULL), SQLITE_OK);
    osm_store_close(st);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_open(tmpdir, &st, &err), -1);
    assert_non_null(strstr(err.msg, "schema version 99"));
    assert_non_null(strstr(err.msg, "state.db"));
}

static void corrupt_store_file_gives_a_clear_error_and_is_left_alone(void **state)
{
    (void)state;
    char *db_path = osm_path_join(tmpdir, "state.db");
    const char junk[] = "this is not a database, it is a text file that someone put here\n";
    char big[8192];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = junk[i % (sizeof junk - 1)];
    assert_int_equal(osm_write_file_atomic(db_path, big, sizeof big, 0600, NULL), 0);
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_open(tmpdir, &st, &err), -1);
    assert_int_equal(err.code, OSM_EINPUT);
    assert_non_null(strstr(err.msg, db_path));
    assert_non_null(strstr(err.msg, "not"));
    struct osm_buf b;
    osm_buf_init(&b);
    assert_int_equal(osm_read_file(db_path, &b, NULL), 0);
    assert_int_equal(b.len, sizeof big);
    assert_memory_equal(b.s, big, sizeof big);
    osm_buf_free(&b);

    /* Another program's SQLite database is not taken over either. */
    assert_int_equal(unlink(db_path), 0);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE photos(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(osm_store_open(tmpdir, &st, &err), -1);
    assert_non_null(strstr(err.msg, "not an osmig store"));
    free(db_path);
}

/* The checks of unwritable_store_gives_a_clear_error, as a plain function
 * (it may run in a child without privileges): 0 when all hold. */
static int unwritable_checks(char *why, size_t size)
{
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    char *db_path = osm_path_join(tmpdir, "ro-file/state.db");
    int bad = 0;
    if (osm_store_open(NULL, &st, &err) != -1 || !strstr(err.msg, db_path) || !strstr(err.msg, "write"))
        bad = snprintf(why, size, "read-only state.db: %s", err.msg);
    char *sub = osm_path_join(tmpdir, "ro-dir/state");
    if (!bad && (osm_store_open(sub, &st, &err) != -1 || !strstr(err.msg, sub)))
        bad = snprintf(why, size, "state dir in a read-only dir: %s", err.msg);
    free(sub);
    free(db_path);
    return bad;
}

static void unwritable_store_gives_a_clear_error(void **state)
{
    (void)state;
    char *dir = osm_path_join(tmpdir, "ro-file");
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_open(dir, &st, &err), 0);
    osm_store_close(st);
    char *db_path = osm_path_join(dir, "state.db");
    assert_int_equal(chmod(db_path, 0444), 0);
    assert_int_equal(chmod(dir, 0555), 0);
    char *ro = osm_path_join(tmpdir, "ro-dir");
    assert_int_equal(mkdir(ro, 0555), 0);
    assert_int_equal(chmod(tmpdir, 0755), 0);
    setenv("OSMIG_STATE_DIR", dir, 1);
    char why[2100] = "";
    if (geteuid() != 0) {
        assert_int_equal(unwritable_checks(why, sizeof why), 0);
    } else {
        /* root writes through permissions: check as nobody in a child. */
        int pipefd[2];
        assert_int_equal(pipe(pipefd), 0);
        pid_t child = fork();
        if (child == 0) {
            close(pipefd[0]);
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(2);
            int bad = unwritable_checks(why, sizeof why);
            ssize_t w = write(pipefd[1], why, strlen(why));
            (void)w;
            _exit(bad ? 1 : 0);
        }
        close(pipefd[1]);
        ssize_t r = read(pipefd[0], why, sizeof why - 1);
        why[r > 0 ? r : 0] = '\0';
        close(pipefd[0]);
        int status;
        waitpid(child, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("as nobody: %s (status %d)", why, status);
    }
    unsetenv("OSMIG_STATE_DIR");
    chmod(dir, 0700);
    chmod(ro, 0700);
    free(ro);
    free(db_path);
    free(dir);
}

static void claim_is_exclusive_until_the_owner_dies(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_task t;
    add_task(st, "dir:/srv/claim", &t);
    struct osm_err err = OSM_ERR_INIT;
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
    assert_int_equal(osm_store_claim(st, t.id, self, far, &err), 0); /* held */
    /* A live engine on this host keeps its task even past its lease. */
    assert_int_equal(osm_store_claim(st, t.id, other, osm_store_now() - 1, &err), 1);
    assert_int_equal(osm_store_claim(st, t.id, self, far, &err), 0);
    close(pipefd[1]);
    int status;
    waitpid(child, &status, 0);
    assert_int_equal(osm_store_claim(st, t.id, self, far, &err), 1); /* its owner is gone */

    /* An owner on another host holds it until the lease runs out. */
    assert_int_equal(osm_store_release(st, t.id, self, &err), 0);
    assert_int_equal(osm_store_claim(st, t.id, "elsewhere/boot:1", osm_store_now() - 1, &err), 1);
    assert_int_equal(osm_store_claim(st, t.id, self, far, &err), 1); /* lease expired */
    assert_int_equal(osm_store_release(st, t.id, self, &err), 0);
    assert_int_equal(osm_store_claim(st, t.id, "elsewhere/boot:1", far, &err), 1);
    assert_int_equal(osm_store_claim(st, t.id, self, far, &err), 0);
    free(other);
    osm_task_free(&t);
    osm_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(creates_lists_newest_first_and_reopens, setup, teardown),
        cmocka_unit_test_setup_teardown(second_unfinished_task_on_an_instance_is_refused_naming_the_first, setup, teardown),
        cmocka_unit_test_setup_teardown(history_and_journal_are_append_only, setup, teardown),
        cmocka_unit_test_setup_teardown(store_at_schema_1_migrates_keeping_its_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(store_newer_than_the_program_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_store_file_gives_a_clear_error_and_is_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_store_gives_a_clear_error, setup, teardown),
        cmocka_unit_test_setup_teardown(claim_is_exclusive_until_the_owner_dies, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
