/* test_host_maintenance.c: the host-maintenance kind run by the real runner
 * on a `dir` instance: the seed's preparation checked at precheck (500 MiB
 * free on the system disk, security software a warning) and every problem
 * named at once; no provider can move an instance yet, so the task ends
 * failed there, having changed nothing. */
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
#include "runner.h"
#include "store.h"
#include "testutil.h"
#include "teststore.h"

OSM_TEST_TMPDIR(tmpdir, "hostmaint")

/* A dir instance described by a descriptor with `free_mib` free; with
 * `agent`, Security Center's folder in its root. Runs a host-maintenance
 * task on it and returns it (caller frees). */
static void run_on(int64_t free_mib, int agent, struct osm_task *t, struct osm_store **out_st)
{
    struct osm_err err = OSM_ERR_INIT;
    char *root = osm_path_join(tmpdir, "root"), *desc = osm_path_join(tmpdir, "web01.json");
    char *aegis = osm_path_join(root, "usr/local/aegis");
    assert_int_equal(osm_mkdir_p(agent ? aegis : root, 0755, &err), 0);
    char *text = osm_xasprintf("{\"name\": \"web01\", \"root\": \"%s\", \"facts\": {\"system_disk_free_mib\": %lld}}",
                               root, (long long)free_mib);
    assert_int_equal(osm_write_file_atomic(desc, text, strlen(text), 0644, &err), 0);
    struct osm_store *st;
    assert_int_equal(osm_store_open(tmpdir, &st, &err), 0);
    osm_task_init(t);
    strcpy(t->kind, OSM_KIND_HOST_MAINTENANCE);
    t->instance = osm_xasprintf("dir:%s", desc);
    t->target = osm_xstrdup("SystemMaintenance.Redeploy");
    assert_int_equal(osm_store_create_task(st, t, &err), 0);
    if (osm_runner_run(st, t->id, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    char id[40];
    snprintf(id, sizeof id, "%s", t->id);
    osm_task_free(t);
    osm_task_init(t);
    assert_int_equal(osm_store_get_task(st, id, t, &err), 0);
    *out_st = st;
    free(text), free(aegis), free(desc), free(root);
}

static void short_disk_and_no_mover_are_named_together_and_nothing_changes(void **state)
{
    (void)state;
    struct osm_task t;
    struct osm_store *st;
    run_on(100, 1, &t, &st);
    assert_int_equal(t.state, OSM_TASK_FAILED);
    assert_int_equal(t.changed, 0);
    assert_non_null(strstr(t.cause, "100 MiB free on the system disk: Reserve at least 500 MiB system disk space"));
    assert_non_null(strstr(t.cause, "provider 'dir' cannot move instance"));
    assert_true(osm_test_has_event(st, t.id, "precheck.security-software", "/usr/local/aegis"));
    osm_task_free(&t);
    osm_store_close(st);
}

static void enough_space_leaves_only_the_provider_to_name(void **state)
{
    (void)state;
    struct osm_task t;
    struct osm_store *st;
    run_on(4096, 0, &t, &st);
    assert_int_equal(t.state, OSM_TASK_FAILED);
    assert_null(strstr(t.cause, "Reserve at least"));
    assert_non_null(strstr(t.cause, "cannot move instance"));
    osm_task_free(&t);
    osm_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OSM_TEST(short_disk_and_no_mover_are_named_together_and_nothing_changes),
        OSM_TEST(enough_space_leaves_only_the_provider_to_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
