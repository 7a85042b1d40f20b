/* Windows prechecks and upgrade paths: every inhibitor id, every path of the
 * seed's table, and the hops (2008 R2 -> 2012 R2 -> 2019). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "osm_windows.h"
#include "win_fixture.h"
#include "win_paths.h"

#define GiB (1024LL * 1024 * 1024)

static struct osm_facts good(void)
{
    struct osm_facts f = {.vcpus = 4, .memory_bytes = 8 * GiB, .system_disk_free_bytes = 60 * GiB,
                          .system_disk_size_bytes = 100 * GiB, .authorized = 1};
    strcpy(f.region, "cn-hangzhou");
    return f;
}

static json_t *assess_f(const char *root, const struct osm_facts *f, const char *target, int *rc)
{
    json_t *r = NULL;
    struct osm_err err = OSM_ERR_INIT;
    char rel[256];
    snprintf(rel, sizeof rel, "roots/%s", root);
    *rc = osm_windows_assess(win_fixture(rel), f, target, &r, &err);
    if (*rc < 0)
        fail_msg("assess %s -> %s: %s", root, target, err.msg);
    return r;
}

static json_t *assess(const char *root, const char *target, int *rc)
{
    struct osm_facts f = good();
    return assess_f(root, &f, target, rc);
}

static const json_t *inhibitor(const json_t *r, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "inhibitors"), i, v) if (!strcmp(json_string_value(json_object_get(v, "id")), id)) return v;
    return NULL;
}

static void assert_only_inhibitor(const json_t *r, const char *id)
{
    const json_t *v = inhibitor(r, id);
    if (!v || json_array_size(json_object_get(r, "inhibitors")) != 1) {
        char *d = json_dumps(json_object_get(r, "inhibitors"), 0);
        fail_msg("expected only %s, got %s", id, d);
    }
    /* every inhibitor names the fact, the limit and the remedy */
    assert_true(strlen(json_string_value(json_object_get(v, "fact"))) > 0);
    assert_true(strlen(json_string_value(json_object_get(v, "limit"))) > 0);
    assert_true(strlen(json_string_value(json_object_get(v, "remedy"))) > 0);
    assert_true(json_is_true(json_object_get(r, "inhibited")));
}

static void hop_is(const json_t *r, size_t n, const char *from, const char *to, long long build)
{
    const json_t *h = json_array_get(json_object_get(r, "hops"), n);
    assert_non_null(h);
    assert_string_equal(json_string_value(json_object_get(json_object_get(h, "from"), "release")), from);
    assert_string_equal(json_string_value(json_object_get(json_object_get(h, "to"), "release")), to);
    assert_int_equal(json_integer_value(json_object_get(h, "build")), build);
}

static void path_2012r2_datacenter_to_2016_and_2019(void **state)
{
    (void)state;
    int rc;
    json_t *r = assess("w2012r2-dc-en", "2019", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(json_object_get(r, "hops")), 1);
    hop_is(r, 0, "2012r2", "2019", 17763);
    json_decref(r);
    r = assess("w2012r2-dc-core-zh", "2016-datacenter", &rc);
    assert_int_equal(rc, 0);
    hop_is(r, 0, "2012r2", "2016", 14393);
    json_decref(r);
}

static void path_2008r2_goes_through_2012r2_in_two_hops(void **state)
{
    (void)state;
    int rc;
    json_t *r = assess("w2008r2-std-en", "2019", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(json_object_get(r, "hops")), 2);
    hop_is(r, 0, "2008r2", "2012r2", 9600);
    hop_is(r, 1, "2012r2", "2019", 17763);
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(r, "hops"), 0), "transitional")));
    json_decref(r);
    r = assess("w2008r2-ent-zh", "2012r2", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(json_object_get(r, "hops")), 1);
    json_decref(r);
}

static void path_edition_upgrades_within_a_release(void **state)
{
    (void)state;
    int rc;
    json_t *r = assess("w2012r2-std-en", "2012r2-datacenter", &rc);
    assert_int_equal(rc, 0);
    hop_is(r, 0, "2012r2", "2012r2", 9600);
    json_decref(r);
    r = assess("w2016-std-en", "2016-datacenter", &rc);
    assert_int_equal(rc, 0);
    json_decref(r);
    /* 2012 R2 Standard -> 2019 goes through 2012 R2 Datacenter */
    r = assess("w2012r2-std-en", "2019", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(json_object_get(r, "hops")), 2);
    json_decref(r);
}

static void path_2019_datacenter_to_2022(void **state)
{
    (void)state;
    int rc;
    json_t *r = assess("w2019-dc-core-en", "2022", &rc);
    assert_int_equal(rc, 0);
    hop_is(r, 0, "2019", "2022", 20348);
    json_decref(r);
}

static void no_path_names_what_is_reachable(void **state)
{
    (void)state;
    int rc;
    json_t *r = assess("w2016-dc-en", "2019", &rc); /* 2016 Datacenter is not in the table */
    assert_int_equal(rc, 1);
    assert_only_inhibitor(r, "windows_no_path");
    json_decref(r);
    r = assess("w2008r2-dc-en", "2012r2", &rc); /* only Standard/Enterprise 2008 R2 */
    assert_only_inhibitor(r, "windows_no_path");
    json_decref(r);
    r = assess("w2012r2-dc-en", "2022", &rc); /* 2012r2 -> 2019 -> 2022: reachable in two hops */
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(json_object_get(r, "hops")), 2);
    json_decref(r);
    r = assess("w2012r2-dc-en", "2012r2", &rc);
    assert_only_inhibitor(r, "windows_already_target");
    json_decref(r);
}

static void resources_vcpu_memory_free_space(void **state)
{
    (void)state;
    int rc;
    struct osm_facts f = good();
    f.vcpus = 1;
    json_t *r = assess_f("w2012r2-dc-en", &f, "2019", &rc);
    assert_int_equal(rc, 1);
    assert_only_inhibitor(r, "windows_vcpus");
    assert_string_equal(json_string_value(json_object_get(inhibitor(r, "windows_vcpus"), "fact")), "1 vCPUs");
    json_decref(r);
    f = good();
    f.memory_bytes = GiB;
    r = assess_f("w2012r2-dc-en", &f, "2019", &rc);
    assert_only_inhibitor(r, "windows_memory");
    json_decref(r);
    f = good();
    f.system_disk_free_bytes = 19 * GiB;
    r = assess_f("w2012r2-dc-en", &f, "2019", &rc);
    assert_only_inhibitor(r, "windows_free_space");
    json_decref(r);
    f = good();
    f.region[0] = '\0';
    f.vcpus = 0;
    r = assess_f("w2012r2-dc-en", &f, "2019", &rc); /* unknown facts: warnings, not inhibitors */
    assert_int_equal(rc, 0);
    assert_true(json_array_size(json_object_get(r, "warnings")) >= 2);
    json_decref(r);
}

static void free_space_must_exceed_the_windows_directory(void **state)
{
    (void)state;
    json_t *wf = NULL, *r = NULL;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_windows_inspect(win_fixture("roots/w2012r2-dc-en"), &wf, &err), 0);
    json_object_set_new(wf, "windows_dir_bytes", json_integer(30 * GiB));
    struct osm_facts f = good();
    f.system_disk_free_bytes = 25 * GiB;
    assert_int_equal(osm_windows_assess_facts(wf, &f, "2019", &r, &err), 1);
    assert_only_inhibitor(r, "windows_free_space_windows_dir");
    json_decref(r);
    json_decref(wf);
}

static void region_must_offer_windows_migration(void **state)
{
    (void)state;
    int rc;
    struct osm_facts f = good();
    strcpy(f.region, "mars-north-1");
    json_t *r = assess_f("w2012r2-dc-en", &f, "2019", &rc);
    assert_only_inhibitor(r, "windows_region");
    json_decref(r);
}

static void system_rules_of_windows_setup(void **state)
{
    (void)state;
    int rc;
    json_t *r = assess("w2016-std-de", "2016-datacenter", &rc);
    assert_only_inhibitor(r, "windows_language");
    json_decref(r);
    r = assess("w2008r2-std-x86", "2012r2", &rc);
    assert_only_inhibitor(r, "windows_32bit");
    json_decref(r);
    r = assess("w2012r2-eval-en", "2012r2-datacenter", &rc);
    assert_only_inhibitor(r, "windows_evaluation");
    json_decref(r);
    r = assess("w2012r2-dc-en", "2016-standard", &rc);
    assert_non_null(inhibitor(r, "windows_datacenter_to_standard"));
    json_decref(r);
    r = assess("w2012r2-dc-core-zh", "2019-datacenter-desktop", &rc);
    assert_only_inhibitor(r, "windows_installation_type_switch");
    json_decref(r);
    r = assess("w2012r2-dc-core-zh", "2019-datacenter-core", &rc);
    assert_int_equal(rc, 0);
    json_decref(r);
    r = assess("w10-client", "2019", &rc);
    assert_non_null(inhibitor(r, "windows_not_server"));
    json_decref(r);
}

static void pending_reboot_and_unfinished_upgrade_inhibit(void **state)
{
    (void)state;
    int rc;
    json_t *r = assess("w2019-pending", "2022", &rc);
    assert_int_equal(rc, 1);
    assert_non_null(inhibitor(r, "windows_pending_reboot"));
    assert_non_null(inhibitor(r, "windows_unfinished_upgrade"));
    assert_int_equal(json_array_size(json_object_get(r, "inhibitors")), 2);
    json_decref(r);
}

static void unknown_source_inhibits_instead_of_crashing(void **state)
{
    (void)state;
    int rc;
    json_t *r = assess("w-odd", "2019", &rc);
    assert_int_equal(rc, 1);
    assert_non_null(inhibitor(r, "windows_source_unknown"));
    json_decref(r);
}

static void bad_targets_are_usage_errors(void **state)
{
    (void)state;
    json_t *r = NULL;
    struct osm_err err = OSM_ERR_INIT;
    struct osm_facts f = good();
    assert_int_equal(osm_windows_assess(win_fixture("roots/w2012r2-dc-en"), &f, "2030", &r, &err), -1);
    assert_non_null(strstr(err.msg, "unknown Windows Server release '2030'"));
    assert_int_equal(osm_windows_assess(win_fixture("roots/w2012r2-dc-en"), &f, "2019-ultimate", &r, &err), -1);
    assert_int_equal(err.code, OSM_EUSAGE);
    assert_null(r);
}

static void report_printer_lists_hops_and_inhibitors(void **state)
{
    (void)state;
    int rc;
    struct osm_facts f = good();
    f.vcpus = 1;
    json_t *r = assess_f("w2008r2-std-en", &f, "2019", &rc);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    osm_windows_print_report(fp, r);
    fclose(fp);
    assert_non_null(strstr(buf, "hop 1: 2008r2 standard -> 2012r2 datacenter (build 9600) [transitional]"));
    assert_non_null(strstr(buf, "hop 2: 2012r2 datacenter -> 2019 datacenter (build 17763)"));
    assert_non_null(strstr(buf, "INHIBITOR windows_vcpus"));
    free(buf);
    json_decref(r);
}

static void matrix_errors_name_the_file(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    char path[] = "/tmp/osmig-winmatrix-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_true(write(fd, "{\"releases\": 3}", 15) == 15);
    close(fd);
    assert_null(win_matrix_load(path, &err));
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "\"releases\" must be an array"));
    unlink(path);
}

static void matrix_paths_for_osmig_matrix(void **state)
{
    (void)state;
    json_t *paths = NULL;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_windows_matrix_paths(&paths, &err), 0);
    assert_int_equal(json_array_size(paths), 6);
    json_t *first = json_array_get(paths, 0);
    assert_string_equal(json_string_value(json_object_get(first, "from")), "Windows Server 2008 R2");
    assert_string_equal(json_string_value(json_object_get(first, "to")), "Windows Server 2012 R2");
    assert_true(json_is_true(json_object_get(first, "transitional")));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    osm_windows_print_paths(f, paths);
    fclose(f);
    assert_non_null(strstr(buf, "standard,enterprise"));
    assert_non_null(strstr(buf, "transitional"));
    free(buf);
    json_decref(paths);
}

int main(void)
{
    int fx = win_fixture_build();
    if (fx)
        return fx;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(path_2012r2_datacenter_to_2016_and_2019),
        cmocka_unit_test(path_2008r2_goes_through_2012r2_in_two_hops),
        cmocka_unit_test(path_edition_upgrades_within_a_release),
        cmocka_unit_test(path_2019_datacenter_to_2022),
        cmocka_unit_test(no_path_names_what_is_reachable),
        cmocka_unit_test(resources_vcpu_memory_free_space),
        cmocka_unit_test(free_space_must_exceed_the_windows_directory),
        cmocka_unit_test(region_must_offer_windows_migration),
        cmocka_unit_test(system_rules_of_windows_setup),
        cmocka_unit_test(pending_reboot_and_unfinished_upgrade_inhibit),
        cmocka_unit_test(unknown_source_inhibits_instead_of_crashing),
        cmocka_unit_test(bad_targets_are_usage_errors),
        cmocka_unit_test(report_printer_lists_hops_and_inhibitors),
        cmocka_unit_test(matrix_errors_name_the_file),
        cmocka_unit_test(matrix_paths_for_osmig_matrix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
