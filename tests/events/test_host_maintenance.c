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

/* A precheck case: the instance's free space and agent, what the failed
 * task's cause says and does not say (NULL-ended), and a history event
 * ("TYPE" and words of its message) it must have, if any. */
struct precheck_case {
    int64_t free_mib;
    int agent;
    const char *const *says, *const *not_says;
    const char *event, *event_words;
};

static void precheck_fails_as_its_case_says_and_changes_nothing(void **state)
{
    const struct precheck_case *c = *state;
    struct osm_task t;
    struct osm_store *st;
    run_on(c->free_mib, c->agent, &t, &st);
    assert_int_equal(t.state, OSM_TASK_FAILED);
    assert_int_equal(t.changed, 0);
    for (const char *const *w = c->says; *w; w++)
        if (!strstr(t.cause, *w))
            fail_msg("the cause does not say '%s': %s", *w, t.cause);
    for (const char *const *w = c->not_says; *w; w++)
        if (strstr(t.cause, *w))
            fail_msg("the cause says '%s': %s", *w, t.cause);
    assert_true(!c->event || osm_test_has_event(st, t.id, c->event, c->event_words));
    osm_task_free(&t);
    osm_store_close(st);
}

static const struct precheck_case short_disk_and_no_mover_are_named_together_and_nothing_changes = {
    100, 1,
    (const char *const[]){"100 MiB free on the system disk: Reserve at least 500 MiB system disk space",
                          "provider 'dir' cannot move instance", NULL},
    (const char *const[]){NULL}, "precheck.security-software", "/usr/local/aegis"};

static const struct precheck_case enough_space_leaves_only_the_provider_to_name = {
    4096, 0, (const char *const[]){"cannot move instance", NULL}, (const char *const[]){"Reserve at least", NULL},
    NULL, NULL};

/* One test per case, each in its own directory. */
#define PRECHECK_CASE(c) {#c, precheck_fails_as_its_case_says_and_changes_nothing, setup, teardown, (void *)&c}

int main(void)
{
    const struct CMUnitTest tests[] = {
        PRECHECK_CASE(short_disk_and_no_mover_are_named_together_and_nothing_changes),
        PRECHECK_CASE(enough_space_leaves_only_the_provider_to_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
