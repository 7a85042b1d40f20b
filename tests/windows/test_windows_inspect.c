/* Inspecting real Windows hives: every fact, the case-insensitive volume,
 * odd and missing values explained, unreadable hives refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "osm_windows.h"
#include "testutil.h"
#include "win_fixture.h"

static json_t *inspect(const char *name)
{
    json_t *o = NULL;
    struct osm_err err = OSM_ERR_INIT;
    char rel[256];
    snprintf(rel, sizeof rel, "roots/%s", name);
    int rc = osm_windows_inspect(win_fixture(rel), &o, &err);
    if (rc != 0)
        fail_msg("inspect %s: %s", name, err.msg);
    return o;
}

static const char *s(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static long long i(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static int has_warning(const json_t *o, const char *needle)
{
    size_t k;
    json_t *w;
    json_array_foreach(json_object_get(o, "warnings"), k, w) if (strstr(json_string_value(w), needle)) return 1;
    return 0;
}

static void is_root_matches_windows_volumes_case_insensitively(void **state)
{
    (void)state;
    assert_true(osm_windows_is_root(win_fixture("roots/w2019-dc-zh")));
    assert_true(osm_windows_is_root(win_fixture("roots/w2022-realdata"))); /* windows/system32/config/software */
    assert_false(osm_windows_is_root(win_fixture("media/2019-en")));
    assert_false(osm_windows_is_root("/nonexistent"));
}

static void inspect_2019_datacenter_chinese(void **state)
{
    (void)state;
    json_t *o = inspect("w2019-dc-zh");
    assert_string_equal(s(o, "os"), "windows");
    assert_string_equal(s(o, "edition_id"), "ServerDatacenter");
    assert_string_equal(s(o, "edition"), "datacenter");
    assert_string_equal(s(o, "installation_type"), "Server");
    assert_false(json_is_true(json_object_get(o, "server_core")));
    assert_int_equal(i(o, "build"), 17763);
    assert_string_equal(s(o, "release"), "2019");
    assert_string_equal(s(o, "version"), "10.0");
    assert_string_equal(s(o, "language"), "zh-CN");
    assert_string_equal(s(o, "install_language_id"), "0804");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "ui_languages"), 0)), "zh-CN");
    assert_string_equal(s(o, "product_type"), "ServerNT");
    assert_string_equal(s(o, "architecture"), "x86_64");
    assert_false(json_is_true(json_object_get(o, "pending_reboot")));
    assert_false(json_is_true(json_object_get(o, "unfinished_upgrade")));
    assert_true(i(o, "windows_dir_bytes") >= 65536);
    assert_int_equal(json_array_size(json_object_get(o, "warnings")), 0);
    json_decref(o);
}

static void inspect_2008r2_reads_current_version_and_build_number(void **state)
{
    (void)state;
    json_t *o = inspect("w2008r2-std-en");
    assert_int_equal(i(o, "build"), 7601);
    assert_string_equal(s(o, "release"), "2008r2");
    assert_string_equal(s(o, "version"), "6.1");
    assert_string_equal(s(o, "edition"), "standard");
    assert_string_equal(s(o, "language"), "en-US");
    json_decref(o);
}

static void inspect_2012r2_core_and_evaluation(void **state)
{
    (void)state;
    json_t *o = inspect("w2012r2-std-core-en");
    assert_string_equal(s(o, "installation_type"), "Server Core");
    assert_true(json_is_true(json_object_get(o, "server_core")));
    assert_string_equal(s(o, "release"), "2012r2");
    assert_string_equal(s(o, "version"), "6.3");
    json_decref(o);
    o = inspect("w2012r2-eval-en");
    assert_string_equal(s(o, "edition"), "standard");
    assert_true(json_is_true(json_object_get(o, "evaluation")));
    json_decref(o);
}

static void inspect_32bit_and_client(void **state)
{
    (void)state;
    json_t *o = inspect("w2008r2-std-x86");
    assert_string_equal(s(o, "architecture"), "i386");
    json_decref(o);
    o = inspect("w10-client");
    assert_string_equal(s(o, "product_type"), "WinNT");
    assert_true(has_warning(o, "Professional"));
    json_decref(o);
}

static void inspect_sees_pending_reboot_and_unfinished_upgrade(void **state)
{
    (void)state;
    json_t *o = inspect("w2019-pending");
    assert_true(json_is_true(json_object_get(o, "pending_reboot")));
    assert_int_equal(json_array_size(json_object_get(o, "pending_reasons")), 2);
    assert_true(json_is_true(json_object_get(o, "unfinished_upgrade")));
    json_decref(o);
}

static void inspect_real_virt_v2v_2022_export(void **state)
{
    (void)state;
    json_t *o = inspect("w2022-realdata");
    assert_string_equal(s(o, "product_name"), "Windows Server 2022 Phony Edition");
    assert_string_equal(s(o, "edition"), "standard");
    assert_int_equal(i(o, "build"), 20348);
    assert_int_equal(i(o, "ubr"), 0x647);
    assert_string_equal(s(o, "release"), "2022");
    /* that export has no Nls key: the language is unknown, and said so */
    assert_true(json_is_null(json_object_get(o, "language")));
    assert_true(has_warning(o, "InstallLanguage"));
    json_decref(o);
}

static void inspect_odd_values_become_warnings(void **state)
{
    (void)state;
    json_t *o = inspect("w-odd");
    assert_true(json_is_null(json_object_get(o, "build")));
    assert_true(has_warning(o, "CurrentBuild 'abc' is not a build number"));
    assert_true(json_is_null(json_object_get(o, "edition_id")));
    assert_true(has_warning(o, "value 'EditionID' is missing"));
    /* InstallLanguage stored as a DWORD: used, with a warning */
    assert_true(has_warning(o, "InstallLanguage' is a REG_DWORD"));
    json_decref(o);
}

static void inspect_refuses_a_corrupt_hive_and_a_non_windows_root(void **state)
{
    (void)state;
    json_t *o = NULL;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_windows_inspect(win_fixture("roots/corrupt"), &o, &err), -1);
    assert_null(o);
    assert_non_null(strstr(err.msg, "SOFTWARE hive"));
    assert_int_equal(osm_windows_inspect(win_fixture("media/2019-en"), &o, &err), -1);
    assert_non_null(strstr(err.msg, "not a Windows system volume"));
}

static void printer_shows_the_facts(void **state)
{
    (void)state;
    json_t *o = inspect("w2012r2-dc-core-zh");
    char *buf = osm_test_render(osm_windows_print_facts, o);
    assert_non_null(strstr(buf, "installation type:  Server Core"));
    assert_non_null(strstr(buf, "install language:   zh-CN"));
    assert_non_null(strstr(buf, "build:              9600"));
    free(buf);
    json_decref(o);
}

int main(void)
{
    int fx = win_fixture_build();
    if (fx)
        return fx;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(is_root_matches_windows_volumes_case_insensitively),
        cmocka_unit_test(inspect_2019_datacenter_chinese),
        cmocka_unit_test(inspect_2008r2_reads_current_version_and_build_number),
        cmocka_unit_test(inspect_2012r2_core_and_evaluation),
        cmocka_unit_test(inspect_32bit_and_client),
        cmocka_unit_test(inspect_sees_pending_reboot_and_unfinished_upgrade),
        cmocka_unit_test(inspect_real_virt_v2v_2022_export),
        cmocka_unit_test(inspect_odd_values_become_warnings),
        cmocka_unit_test(inspect_refuses_a_corrupt_hive_and_a_non_windows_root),
        cmocka_unit_test(printer_shows_the_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
