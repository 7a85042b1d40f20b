/* Inspecting real Windows hives: every fact, the case-insensitive volume,
 * odd and missing values explained, unreadable hives refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
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

/* One fact of an inspection, as a case states it: "KEY=VALUE" (a string
 * member as it is, any other as compact JSON: 7601, true, null,
 * ["zh-CN"]), "KEY[]=N" (an array of N), "KEY>=N" (a number at least N) or
 * "warning~TEXT" (a warning says TEXT). */
static void assert_fact(const json_t *o, const char *fact)
{
    size_t k;
    json_t *w;
    if (strncmp(fact, "warning~", 8) == 0) {
        json_array_foreach(json_object_get(o, "warnings"), k, w) if (strstr(json_string_value(w), fact + 8)) return;
        fail_msg("no warning says '%s'", fact + 8);
    }
    const char *op = fact + strcspn(fact, "[>=");
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)(op - fact), fact);
    const json_t *v = json_object_get(o, key);
    if (op[0] == '[' || op[0] == '>') {
        long long want = atoll(op + (op[0] == '[' ? 3 : 2));
        long long have = op[0] == '[' ? (long long)json_array_size(v) : json_integer_value(v);
        if (op[0] == '[' ? have != want : have < want)
            fail_msg("%s: %lld", fact, have);
        return;
    }
    char *text = !v ? strdup("(missing)") : json_is_string(v) ? strdup(json_string_value(v))
                                                              : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (strcmp(text, op + 1) != 0)
        fail_msg("%s: it is %s", fact, text);
    free(text);
}

/* What inspecting a root of the fixtures gives (NULL-ended facts). */
struct inspect_case {
    const char *root;
    const char *const *facts;
};

static void inspect_gives_the_facts_of_its_case(void **state)
{
    const struct inspect_case *c = *state;
    json_t *o = inspect(c->root);
    for (const char *const *f = c->facts; *f; f++)
        assert_fact(o, *f);
    json_decref(o);
}

#define FACTS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct inspect_case inspect_2019_datacenter_chinese = {
    "w2019-dc-zh", FACTS("os=windows", "edition_id=ServerDatacenter", "edition=datacenter", "installation_type=Server",
                         "server_core=false", "build=17763", "release=2019", "version=10.0", "language=zh-CN",
                         "install_language_id=0804", "ui_languages=[\"zh-CN\"]", "product_type=ServerNT",
                         "architecture=x86_64", "pending_reboot=false", "unfinished_upgrade=false",
                         "windows_dir_bytes>=65536", "warnings[]=0")};

static const struct inspect_case inspect_2008r2_reads_current_version_and_build_number = {
    "w2008r2-std-en", FACTS("build=7601", "release=2008r2", "version=6.1", "edition=standard", "language=en-US")};

static const struct inspect_case inspect_2012r2_core = {
    "w2012r2-std-core-en",
    FACTS("installation_type=Server Core", "server_core=true", "release=2012r2", "version=6.3")};

static const struct inspect_case inspect_2012r2_evaluation = {"w2012r2-eval-en",
                                                              FACTS("edition=standard", "evaluation=true")};

static const struct inspect_case inspect_32bit = {"w2008r2-std-x86", FACTS("architecture=i386")};

static const struct inspect_case inspect_client = {"w10-client", FACTS("product_type=WinNT", "warning~Professional")};

static const struct inspect_case inspect_sees_pending_reboot_and_unfinished_upgrade = {
    "w2019-pending", FACTS("pending_reboot=true", "pending_reasons[]=2", "unfinished_upgrade=true")};

/* That export has no Nls key: the language is unknown, and said so. */
static const struct inspect_case inspect_real_virt_v2v_2022_export = {
    "w2022-realdata", FACTS("product_name=Windows Server 2022 Phony Edition", "edition=standard", "build=20348",
                            "ubr=1607", "release=2022", "language=null", "warning~InstallLanguage")};

/* InstallLanguage stored as a DWORD: used, with a warning. */
static const struct inspect_case inspect_odd_values_become_warnings = {
    "w-odd", FACTS("build=null", "warning~CurrentBuild 'abc' is not a build number", "edition_id=null",
                   "warning~value 'EditionID' is missing", "warning~InstallLanguage' is a REG_DWORD")};

static void is_root_matches_windows_volumes_case_insensitively(void **state)
{
    (void)state;
    assert_true(osm_windows_is_root(win_fixture("roots/w2019-dc-zh")));
    assert_true(osm_windows_is_root(win_fixture("roots/w2022-realdata"))); /* windows/system32/config/software */
    assert_false(osm_windows_is_root(win_fixture("media/2019-en")));
    assert_false(osm_windows_is_root("/nonexistent"));
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

/* One test per inspect case, named after it. */
#define INSPECT_CASE(c) {#c, inspect_gives_the_facts_of_its_case, NULL, NULL, (void *)&c}

int main(void)
{
    int fx = win_fixture_build();
    if (fx)
        return fx;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(is_root_matches_windows_volumes_case_insensitively),
        INSPECT_CASE(inspect_2019_datacenter_chinese),
        INSPECT_CASE(inspect_2008r2_reads_current_version_and_build_number),
        INSPECT_CASE(inspect_2012r2_core),
        INSPECT_CASE(inspect_2012r2_evaluation),
        INSPECT_CASE(inspect_32bit),
        INSPECT_CASE(inspect_client),
        INSPECT_CASE(inspect_sees_pending_reboot_and_unfinished_upgrade),
        INSPECT_CASE(inspect_real_virt_v2v_2022_export),
        INSPECT_CASE(inspect_odd_values_become_warnings),
        cmocka_unit_test(inspect_refuses_a_corrupt_hive_and_a_non_windows_root),
        cmocka_unit_test(printer_shows_the_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
