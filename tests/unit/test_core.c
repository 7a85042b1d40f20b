/* test_core.c: the engine's shared helpers and the dir provider. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_run.h"
#include "providers/provider.h"

#include "testutil.h"

OSM_TEST_TMPDIR(tmpdir, "core")

static void buf_grows_and_formats(void **state)
{
    (void)state;
    struct osm_buf b;
    osm_buf_init(&b);
    assert_string_equal(b.s, "");
    for (int i = 0; i < 1000; i++)
        osm_buf_addf(&b, "%d,", i);
    assert_int_equal(b.len, strlen(b.s));
    assert_memory_equal(b.s, "0,1,2,", 6);
    assert_non_null(strstr(b.s, ",999,"));
    char *s = osm_buf_detach(&b);
    assert_string_equal(b.s, "");
    free(s);
}

static void path_join_collapses_slashes(void **state)
{
    (void)state;
    char *p = osm_path_join("/srv/root/", "/etc/os-release");
    assert_string_equal(p, "/srv/root/etc/os-release");
    free(p);
    p = osm_path_join("/", "/etc");
    assert_string_equal(p, "/etc");
    free(p);
}

static void atomic_write_replaces_whole_file(void **state)
{
    (void)state;
    char *p = osm_path_join(tmpdir, "f.txt");
    assert_int_equal(osm_write_file_atomic(p, "old", 3, 0644, NULL), 0);
    assert_int_equal(osm_write_file_atomic(p, "new content", 11, 0644, NULL), 0);
    struct osm_buf b;
    osm_buf_init(&b);
    assert_int_equal(osm_read_file(p, &b, NULL), 0);
    assert_string_equal(b.s, "new content");
    osm_buf_free(&b);
    free(p);
}

static void run_captures_output_and_status(void **state)
{
    (void)state;
    struct osm_buf out;
    osm_buf_init(&out);
    const char *argv[] = {"sh", "-c", "printf hello; exit 7", NULL};
    struct osm_run_opts o = {.out = &out};
    assert_int_equal(osm_run(argv, &o, NULL), 7);
    assert_string_equal(out.s, "hello");
    osm_buf_free(&out);
    /* stdin is delivered and arguments are never re-parsed by a shell */
    const char *cat[] = {"cat", NULL};
    struct osm_buf out2;
    osm_buf_init(&out2);
    struct osm_run_opts o2 = {.out = &out2, .stdin_data = "a;b $(x)", .stdin_len = 8};
    assert_int_equal(osm_run(cat, &o2, NULL), 0);
    assert_string_equal(out2.s, "a;b $(x)");
    osm_buf_free(&out2);
}

static void dir_instance_lists_disks_and_rejects_unknown_params(void **state)
{
    (void)state;
    char *root = osm_path_join(tmpdir, "root");
    char *data = osm_path_join(tmpdir, "data");
    assert_int_equal(osm_mkdir_p(root, 0755, NULL), 0);
    assert_int_equal(osm_mkdir_p(data, 0755, NULL), 0);
    char *uri = osm_xasprintf("dir:%s?disk=%s", root, data);
    struct osm_instance *inst;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_instance_open(uri, &inst, &err), 0);
    assert_int_equal(inst->n_disks, 2);
    assert_true(inst->disks[0].system);
    assert_string_equal(inst->disks[1].path, data);
    assert_int_equal(inst->disks[1].kind, OSM_DISK_TREE);
    osm_instance_close(inst);
    free(uri);

    uri = osm_xasprintf("dir:%s?bogus=1", root);
    assert_int_equal(osm_instance_open(uri, &inst, &err), -1);
    assert_non_null(strstr(err.msg, "bogus"));
    free(uri);

    uri = osm_xasprintf("dir:%s?disk=%s/etc", root, root);
    char *etc = osm_path_join(root, "etc");
    mkdir(etc, 0755);
    free(etc);
    assert_int_equal(osm_instance_open(uri, &inst, &err), -1);
    assert_non_null(strstr(err.msg, "inside the system root"));
    free(uri);
    free(root);
    free(data);
}

static void descriptor_overrides_facts(void **state)
{
    (void)state;
    char *root = osm_path_join(tmpdir, "r2");
    assert_int_equal(osm_mkdir_p(root, 0755, NULL), 0);
    char *desc = osm_path_join(tmpdir, "web01.json");
    const char *json = "{\"name\":\"web01\",\"root\":\"r2\",\"facts\":{\"vcpus\":1,\"memory_mib\":1024,"
                       "\"heartbeat\":\"2020-01-01T00:00:00Z\",\"region\":\"cn-hangzhou\",\"authorized\":false}}";
    assert_int_equal(osm_write_file_atomic(desc, json, strlen(json), 0644, NULL), 0);
    char *uri = osm_xasprintf("dir:%s", desc);
    struct osm_instance *inst;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_instance_open(uri, &inst, &err), 0);
    assert_string_equal(inst->name, "web01");
    assert_string_equal(inst->root, root);
    struct osm_facts f;
    assert_int_equal(osm_instance_facts(inst, &f, &err), 0);
    assert_int_equal(f.vcpus, 1);
    assert_int_equal(f.memory_bytes, 1024LL * 1048576);
    assert_int_equal(f.heartbeat, 1577836800);
    assert_string_equal(f.region, "cn-hangzhou");
    assert_int_equal(f.authorized, 0);
    osm_instance_close(inst);

    const char *bad = "{\"root\":\"r2\",\"facts\":{\"vcpu\":1}}";
    assert_int_equal(osm_write_file_atomic(desc, bad, strlen(bad), 0644, NULL), 0);
    assert_int_equal(osm_instance_open(uri, &inst, &err), 0);
    assert_int_equal(osm_instance_facts(inst, &f, &err), -1);
    assert_non_null(strstr(err.msg, "facts.vcpu"));
    osm_instance_close(inst);
    free(uri);
    free(desc);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_grows_and_formats),
        cmocka_unit_test(path_join_collapses_slashes),
        cmocka_unit_test(atomic_write_replaces_whole_file),
        cmocka_unit_test(run_captures_output_and_status),
        cmocka_unit_test(dir_instance_lists_disks_and_rejects_unknown_params),
        cmocka_unit_test(descriptor_overrides_facts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
