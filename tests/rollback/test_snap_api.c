/* The C API the engine uses: create with progress, list, restore, delete, on
 * a small real tree in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "osm_fs.h"
#include "osm_snapshot.h"

#include "testutil.h"

OSM_TEST_TMPDIR(dir, "apitest")

struct seen {
    int calls;
    uint64_t max_bytes, max_files;
};

static void on_progress(void *ctx, const struct osm_snap_progress *p)
{
    struct seen *s = ctx;
    s->calls++;
    assert_non_null(p->phase);
    assert_true(p->bytes_done <= p->bytes_total || p->bytes_total == 0);
    if (p->bytes_done > s->max_bytes)
        s->max_bytes = p->bytes_done;
    if (p->files_done > s->max_files)
        s->max_files = p->files_done;
}

static void write_file(const char *path, const char *text)
{
    struct osm_err e = OSM_ERR_INIT;
    assert_int_equal(osm_write_file_atomic(path, text, strlen(text), 0644, &e), 0);
}

static void create_restore_delete_through_the_api(void **state)
{
    (void)state;
    char *root = osm_path_join(dir, "root"), *store = osm_path_join(dir, "store");
    char *f = osm_path_join(root, "f"), *g = osm_path_join(root, "g");
    assert_int_equal(mkdir(root, 0755), 0);
    write_file(f, "first version of f\n");
    char *uri = osm_xasprintf("dir:%s", root);
    struct osm_instance *inst = NULL;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_instance_open(uri, &inst, &err), 0);

    struct seen seen = {0};
    struct osm_snap_opts o = {.store = store, .progress = on_progress, .progress_ctx = &seen};
    char id[64];
    assert_int_equal(osm_snap_create(inst, "api", &o, id, &err), 0);
    assert_true(seen.calls > 0);
    assert_int_equal(seen.max_bytes, strlen("first version of f\n"));
    assert_int_equal(seen.max_files, 1);

    struct osm_snap_info *infos;
    size_t n;
    assert_int_equal(osm_snap_list(inst, &o, &infos, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(infos[0].id, id);
    assert_string_equal(infos[0].state, "ready");
    assert_string_equal(infos[0].label, "api");
    assert_int_equal(infos[0].n_disks, 1);
    osm_snap_list_free(infos, n);

    write_file(f, "second\n");
    write_file(g, "new file\n");
    int ok = 0;
    assert_int_equal(osm_snap_restore(inst, id, &o, &ok, &err), 0);
    assert_int_equal(ok, 1);
    struct osm_buf b;
    osm_buf_init(&b);
    assert_int_equal(osm_read_file(f, &b, &err), 0);
    assert_string_equal(b.s, "first version of f\n");
    osm_buf_free(&b);
    assert_int_equal(access(g, F_OK), -1);

    assert_int_equal(osm_snap_verify(inst, "no-such-set", &o, &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no-such-set"));

    assert_int_equal(osm_snap_delete(inst, id, &o, &err), 0);
    assert_int_equal(osm_snap_list(inst, &o, &infos, &n, &err), 0);
    assert_int_equal(n, 0);
    osm_snap_list_free(infos, n);
    osm_instance_close(inst);
    free(uri);
    free(root);
    free(store);
    free(f);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OSM_TEST(create_restore_delete_through_the_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
