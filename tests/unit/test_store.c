/* test_store.c: the SQLite store's file: one that is not a store, or that
 * osmig cannot write, gives a clear error and is left alone. The store's
 * contract, on SQLite and PostgreSQL alike, is tests/fleet/test_store_contract.c. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(corrupt_store_file_gives_a_clear_error_and_is_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_store_gives_a_clear_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
