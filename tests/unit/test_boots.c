/* test_boots.c: the boots of an os-migration as a list (boots.h): made
 * from the instance descriptor with its limits, malformed limits refused by
 * name, and run by the os-migration on a dir: root (whose reboots are
 * simulated: each gives a fresh boot id), a task of the osmig before the
 * list (steps reboot-1/reboot-2 in its notes) resuming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boots.h"
#include "os_migration.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "runner.h"
#include "store.h"
#include "testutil.h"

static char work[OSM_TEST_DIR_MAX];
static struct osm_store *st;

static int setup(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_test_mkdtemp(work, "boots") != 0)
        return -1;
    char *root = osm_path_join(work, "root/etc");
    char *sd = osm_path_join(work, "state");
    int rc = osm_mkdir_p(root, 0755, &err) == 0 && osm_store_open(sd, &st, &err) == 0 ? 0 : -1;
    free(root);
    free(sd);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    osm_store_close(st);
    return osm_remove_tree(work, NULL);
}

static json_t *plan_of(const char *descriptor, struct osm_err *err)
{
    json_t *d = descriptor ? json_loads(descriptor, 0, NULL) : NULL;
    json_t *boots = NULL;
    int rc = osm_boots_plan(d, "/srv/vms/web01.json", &boots, err);
    json_decref(d);
    assert_true(rc == 0 ? boots != NULL : boots == NULL);
    return boots;
}

static json_int_t limit_of(const json_t *boots, size_t i)
{
    return json_integer_value(json_object_get(json_array_get(boots, i), "limit_s"));
}

static const char *field(const json_t *boots, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(boots, i), key));
}

static void default_list_is_a_boot_before_the_upgrade_then_one_into_the_target(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    json_t *b = plan_of(NULL, &err);
    assert_int_equal(json_array_size(b), 2);
    assert_string_equal(field(b, 0, "name"), "reboot-1");
    assert_string_equal(field(b, 0, "phase"), "before-upgrade");
    assert_string_equal(field(b, 0, "kernel"), "running");
    assert_int_equal(limit_of(b, 0), 300);
    assert_string_equal(field(b, 1, "name"), "reboot-2");
    assert_string_equal(field(b, 1, "phase"), "into-target");
    assert_string_equal(field(b, 1, "kernel"), "target");
    assert_int_equal(limit_of(b, 1), 600);
    char *said = osm_boots_describe(b);
    assert_string_equal(said, "reboot-1 (before-upgrade: the kernel that runs now, within 300 s), "
                              "reboot-2 (into-target: the target's kernel, within 600 s)");
    free(said);
    /* What is noted on a task reads back as the same list. */
    char *text = json_dumps(b, JSON_COMPACT);
    json_t *back = NULL;
    assert_int_equal(osm_boots_parse(text, &back, &err), 0);
    assert_true(json_equal(b, back));
    free(text);
    json_decref(back);
    json_decref(b);
}

static void descriptor_limits_apply_by_name_then_phase_then_to_every_boot(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    json_t *b = plan_of("{\"boot_timeout_s\": 240}", &err);
    assert_int_equal(limit_of(b, 0), 240);
    assert_int_equal(limit_of(b, 1), 240);
    json_decref(b);
    b = plan_of("{\"boot_timeout_s\": 240, \"boot_limits\": {\"into-target\": 120}}", &err);
    assert_int_equal(limit_of(b, 0), 240);
    assert_int_equal(limit_of(b, 1), 120);
    json_decref(b);
    b = plan_of("{\"boot_limits\": {\"before-upgrade\": 90, \"reboot-1\": 45, \"into-target\": 900}}", &err);
    assert_int_equal(limit_of(b, 0), 45);
    assert_int_equal(limit_of(b, 1), 900);
    json_decref(b);
}

static void malformed_limit_is_refused_naming_the_descriptor_the_key_and_the_value(void **state)
{
    (void)state;
    static const struct {
        const char *descriptor, *says;
    } cases[] = {
        {"{\"boot_limits\": {\"into-target\": \"abc\"}}", "boot_limits.into-target is \"abc\""},
        {"{\"boot_limits\": {\"into-target\": 0}}", "boot_limits.into-target is 0"},
        {"{\"boot_limits\": {\"reboot-1\": 86401}}", "boot_limits.reboot-1 is 86401"},
        {"{\"boot_limits\": {\"into-target\": 1.5}}", "boot_limits.into-target is 1.5"},
        {"{\"boot_timeout_s\": -3}", "boot_timeout_s is -3"},
        {"{\"boot_limits\": {\"reboot-9\": 60}}", "boot_limits.reboot-9: no boot or phase of that name"},
        {"{\"boot_limits\": 60}", "boot_limits must be an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct osm_err err = OSM_ERR_INIT;
        assert_null(plan_of(cases[i].descriptor, &err));
        if (!strstr(err.msg, cases[i].says) || !strstr(err.msg, "instance descriptor /srv/vms/web01.json"))
            fail_msg("%s: %s", cases[i].descriptor, err.msg);
    }
    struct osm_err err = OSM_ERR_INIT;
    json_t *b = NULL;
    assert_int_equal(osm_boots_parse("[{\"name\": \"x\", \"phase\": \"sideways\", \"kernel\": \"running\", "
                                     "\"limit_s\": 5}]", &b, &err), -1);
    assert_non_null(strstr(err.msg, "boot 1: its phase"));
}

#define BOOT(n, p) "{\"name\": \"" n "\", \"phase\": \"" p "\", \"kernel\": \"running\", \"limit_s\": 5}"

static void list_of_boots_that_cannot_run_is_refused(void **state)
{
    (void)state;
    static const struct {
        const char *list, *says;
    } cases[] = {
        {"[]", "the task's list of boots: no boot into the target"},
        {"[" BOOT("a", "before-upgrade") "]", "no boot into the target"},
        {"[" BOOT("a", "before-upgrade") "," BOOT("a", "into-target") "]", "boot 2: two boots have the same name"},
        {"[" BOOT("b", "into-target") "," BOOT("a", "before-upgrade") "]",
         "boot 2: a boot before the upgrade comes after a boot into the target"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct osm_err err = OSM_ERR_INIT;
        json_t *b = NULL;
        assert_int_equal(osm_boots_parse(cases[i].list, &b, &err), -1);
        assert_null(b);
        if (!strstr(err.msg, cases[i].says))
            fail_msg("%s: %s", cases[i].list, err.msg);
    }
    /* Two boots into the target, after one before the upgrade: runnable. */
    struct osm_err err = OSM_ERR_INIT;
    json_t *b = NULL;
    const char *ok = "[" BOOT("a", "before-upgrade") "," BOOT("b", "into-target") "," BOOT("c", "into-target") "]";
    assert_int_equal(osm_boots_parse(ok, &b, &err), 0);
    json_decref(b);
}

/* ---- the os-migration on a dir: root ---- */

static int nothing(struct osm_step_ctx *ctx, struct osm_err *err)
{
    (void)ctx, (void)err;
    return 0;
}

static int upgrade_not_done(struct osm_step_ctx *ctx, struct osm_err *err)
{
    (void)ctx, (void)err;
    return 0;
}

static int boot_setup_runs;

static int boot_setup(struct osm_step_ctx *ctx, struct osm_err *err)
{
    boot_setup_runs++;
    (void)ctx, (void)err;
    return 0;
}

static const struct osm_family_migration test_migration = {
    .precheck = nothing, .stage = nothing, .upgrade = nothing, .upgrade_check = upgrade_not_done,
    .verify = nothing, .boot = boot_setup,
};
static const struct osm_family test_family = {.name = "test", .migration = &test_migration};

static void use_test_family(void)
{
    static const struct osm_family *const table[] = {&test_family, NULL};
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_os_migration_use(table, &err), 0);
}

/* A task on a dir: descriptor of the root with `extra` in it. */
static void submit(const char *extra, struct osm_task *t)
{
    struct osm_err err = OSM_ERR_INIT;
    char *desc = osm_path_join(work, "web01.json");
    char *root = osm_path_join(work, "root");
    char *text = osm_xasprintf("{\"root\": \"%s\"%s%s}", root, extra ? ", " : "", extra ? extra : "");
    assert_int_equal(osm_write_file_atomic(desc, text, strlen(text), 0644, &err), 0);
    osm_task_init(t);
    snprintf(t->kind, sizeof t->kind, "%s", OSM_KIND_OS_MIGRATION);
    t->instance = osm_xasprintf("dir:%s", desc);
    t->options = osm_xasprintf("{\"target\": \"test\", \"snapshot_store\": \"%s/snaps\"}", work);
    free(desc);
    free(root);
    free(text);
}

static void create(struct osm_task *t)
{
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_create_task(st, t, &err) != 0)
        fail_msg("create: %s", err.msg);
}

/* Runs the task, then reads it back into *t; its state must be `want`. */
static void run_expecting(struct osm_task *t, enum osm_task_state want)
{
    struct osm_err err = OSM_ERR_INIT;
    char *id = osm_xstrdup(t->id);
    int rc = osm_runner_run(st, id, NULL, &err);
    osm_task_free(t);
    if (rc != 0 || osm_store_get_task(st, id, t, &err) != 0)
        fail_msg("task %s: %s", id, err.msg);
    free(id);
    if (t->state != want)
        fail_msg("state %s: %s", osm_task_state_name(t->state), t->cause ? t->cause : "");
}

/* The "boot" events of the task's history, joined by "\n". */
static char *boot_events(const char *id)
{
    struct osm_task_event *ev;
    size_t n;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_list_events(st, id, &ev, &n, &err), 0);
    struct osm_buf b;
    osm_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ev[i].type, "boot") == 0)
            osm_buf_addf(&b, "%s\n", ev[i].message);
    osm_task_events_free(ev, n);
    return osm_buf_detach(&b);
}

static json_t *notes(const struct osm_task *t)
{
    json_t *d = json_loads(t->data, 0, NULL);
    assert_true(json_is_object(d));
    return d;
}

static void migration_runs_each_boot_of_the_list_with_its_limit_and_records_its_outcome(void **state)
{
    (void)state;
    use_test_family();
    boot_setup_runs = 0;
    struct osm_task t;
    submit("\"boot_limits\": {\"into-target\": 120}", &t);
    create(&t);
    run_expecting(&t, OSM_TASK_SUCCEEDED);
    char *ev = boot_events(t.id);
    if (!strstr(ev, "reboot-1 (before-upgrade): instance up in ") || !strstr(ev, " of 300 s, boot id dir-") ||
        !strstr(ev, "reboot-2 (into-target): instance up in ") || !strstr(ev, " of 120 s, boot id dir-"))
        fail_msg("boot events: %s", ev);
    free(ev);
    json_t *d = notes(&t);
    json_t *boots = NULL;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_boots_parse(json_string_value(json_object_get(d, "boots")), &boots, &err), 0);
    assert_int_equal(limit_of(boots, 1), 120);
    json_t *o2 = json_loads(json_string_value(json_object_get(d, "reboot-2.outcome")), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(o2, "boot_id")),
                        json_string_value(json_object_get(d, "boot")));
    assert_string_equal(json_string_value(json_object_get(o2, "phase")), "into-target");
    assert_int_equal(json_integer_value(json_object_get(o2, "limit_s")), 120);
    assert_true(json_is_real(json_object_get(o2, "seconds")));
    assert_int_equal(boot_setup_runs, 1); /* the family readied the boot into the target once */
    json_decref(o2);
    json_decref(boots);
    json_decref(d);
    osm_task_free(&t);
}

static void malformed_descriptor_limit_fails_the_precheck_before_any_change(void **state)
{
    (void)state;
    use_test_family();
    struct osm_task t;
    submit("\"boot_limits\": {\"into-target\": \"soon\"}", &t);
    create(&t);
    run_expecting(&t, OSM_TASK_FAILED);
    if (!strstr(t.cause, "step precheck failed") || !strstr(t.cause, "boot_limits.into-target is \"soon\""))
        fail_msg("cause: %s", t.cause);
    osm_task_free(&t);
}

/* A task the osmig before the list left between its two reboot steps: at
 * step 3 (then reboot-1) with its intent recorded and a boot after the noted
 * one (it happened), no list noted. It resumes: reboot-1 is found done, not
 * repeated; reboot-2 runs; the list is noted from the instance. */
static void task_of_the_steps_reboot_1_and_2_resumes_without_repeating_a_boot(void **state)
{
    (void)state;
    use_test_family();
    struct osm_task t;
    submit(NULL, &t);
    create(&t);
    t.state = OSM_TASK_RUNNING;
    t.step = 3;
    t.attempted = 1;
    t.changed = 1;
    snprintf(t.phase, sizeof t.phase, "rebooting");
    osm_task_set_str(&t.data, "{\"family\": \"test\", \"fstab\": \"absent\", \"reboot-1.before\": \"first\", "
                              "\"boot\": \"dir-1.000000001\"}");
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task_change ch = {.task = &t, .expect_state = -1, .expect_rev = -1};
    assert_int_equal(osm_store_commit(st, &ch, &err), 0);
    run_expecting(&t, OSM_TASK_SUCCEEDED);
    char *ev = boot_events(t.id);
    if (strstr(ev, "reboot-1") || !strstr(ev, "reboot-2 (into-target): instance up"))
        fail_msg("boot events: %s", ev);
    free(ev);
    json_t *d = notes(&t);
    assert_non_null(json_object_get(d, "boots"));
    assert_string_equal(json_string_value(json_object_get(d, "reboot-1.before")), "first");
    json_decref(d);
    osm_task_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OSM_TEST(default_list_is_a_boot_before_the_upgrade_then_one_into_the_target),
        OSM_TEST(descriptor_limits_apply_by_name_then_phase_then_to_every_boot),
        OSM_TEST(malformed_limit_is_refused_naming_the_descriptor_the_key_and_the_value),
        OSM_TEST(list_of_boots_that_cannot_run_is_refused),
        OSM_TEST(migration_runs_each_boot_of_the_list_with_its_limit_and_records_its_outcome),
        OSM_TEST(malformed_descriptor_limit_fails_the_precheck_before_any_change),
        OSM_TEST(task_of_the_steps_reboot_1_and_2_resumes_without_repeating_a_boot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
