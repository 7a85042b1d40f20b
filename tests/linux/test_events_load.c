/* test_events_load.c: every kind of bad package-events file fails with an
 * error naming the file, the entry and what is wrong, and leaves the set
 * as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_events_util.h"

#define REL(ma, mi) "{\"major_version\": " #ma ", \"minor_version\": " #mi "}"
#define PKGS(...) "{\"package\": [" __VA_ARGS__ "]}"
#define PKG(n) "{\"name\": \"" n "\", \"repository\": \"base\", \"module_stream\": null}"
/* A valid Leapp entry with one field replaced: pass the fields in order. */
#define PES_ENTRY(id, action, in, out, from, to, arches)                                                          \
    "{\"id\": " id ", \"action\": " action ", \"in_packageset\": " in ", \"out_packageset\": " out                 \
    ", \"initial_release\": " from ", \"release\": " to ", \"architectures\": " arches "}"
#define GOOD_ENTRY PES_ENTRY("1", "1", PKGS(PKG("a")), "null", REL(7, 7), REL(8, 0), "[]")
#define PES(...) "{\"packageinfo\": [" GOOD_ENTRY ", " __VA_ARGS__ "]}"

#define NATIVE(...) "{\"format\": \"osmig-events\", \"version\": 1, \"events\": [" __VA_ARGS__ "]}"
#define NATIVE_GOOD "{\"action\": \"remove\", \"in\": [\"a\"], \"to\": \"8.0\"}"

/* Load a good file, then `text`: the second load must fail with an error
 * that contains each of the NULL-terminated `needles`, and the set must
 * still hold exactly the good file's event. */
static void expect_rejected(const char *text, const char *const *needles)
{
    struct osm_eventset set = {0};
    struct osm_err err = OSM_ERR_INIT;
    const char *good = ev_write("good.json", "{\"packageinfo\": [" GOOD_ENTRY "]}");
    assert_int_equal(osm_events_load_file(&set, good, &err), 0);
    assert_int_equal(set.n, 1);

    const char *path = ev_write("bad-events.json", text);
    assert_int_equal(osm_events_load_file(&set, path, &err), -1);
    assert_int_equal(err.code, OSM_EINPUT);
    if (!strstr(err.msg, "bad-events.json"))
        fail_msg("error does not name the file: %s", err.msg);
    for (size_t i = 0; needles[i]; i++)
        if (!strstr(err.msg, needles[i]))
            fail_msg("error lacks \"%s\": %s", needles[i], err.msg);
    assert_int_equal(set.n, 1);
    assert_string_equal(set.ev[0].origin, "good.json#1");
    assert_string_equal(set.ev[0].in[0].name, "a");
    osm_eventset_free(&set);
}

#define REJECT(text, ...) expect_rejected(text, (const char *[]){__VA_ARGS__, NULL})

static void malformed_json_is_rejected_with_its_position(void **state)
{
    (void)state;
    REJECT("{\"packageinfo\": [" GOOD_ENTRY, "malformed JSON", "line 1");
    REJECT("", "malformed JSON");
}

static void files_of_neither_format_are_rejected(void **state)
{
    (void)state;
    REJECT("[1, 2]", "not a package events file");
    REJECT("{\"events\": []}", "not a package events file");
    REJECT("{\"packageinfo\": {}}", "\"packageinfo\" must be a list");
    REJECT("{\"format\": \"other\", \"version\": 1, \"events\": []}", "\"format\" must be \"osmig-events\"");
}

static void pes_wrong_types_are_rejected(void **state)
{
    (void)state;
    REJECT(PES("17"), "packageinfo[1]", "not an object");
    REJECT(PES(PES_ENTRY("\"x\"", "1", PKGS(PKG("a")), "null", REL(7, 7), REL(8, 0), "[]")), "packageinfo[1]",
           "\"id\" must be an integer");
    REJECT(PES(PES_ENTRY("9", "\"3\"", PKGS(PKG("a")), "null", REL(7, 7), REL(8, 0), "[]")), "packageinfo[1] (id 9)",
           "\"action\" must be an integer");
    REJECT(PES(PES_ENTRY("9", "1", "[]", "null", REL(7, 7), REL(8, 0), "[]")), "(id 9)",
           "in_packageset must be an object");
    REJECT(PES(PES_ENTRY("9", "1", PKGS("{\"name\": 5}"), "null", REL(7, 7), REL(8, 0), "[]")), "(id 9)",
           "in_packageset.package[0]", "\"name\" must be a non-empty string");
    REJECT(PES(PES_ENTRY("9", "1", PKGS("{\"name\": \"a\", \"repository\": 3}"), "null", REL(7, 7), REL(8, 0),
                         "[]")),
           "(id 9)", "\"repository\" must be a string");
    REJECT(PES(PES_ENTRY("9", "1", PKGS("{\"name\": \"a\", \"modulestream\": \"nodejs:10\"}"), "null", REL(7, 7),
                         REL(8, 0), "[]")),
           "(id 9)", "module stream");
    REJECT(PES(PES_ENTRY("9", "1", PKGS(PKG("a")), "null", REL(7, 7), REL(8, 0), "\"x86_64\"")), "(id 9)",
           "\"architectures\" must be a list");
    REJECT(PES(PES_ENTRY("9", "1", PKGS(PKG("a")), "null", REL(7, 7), REL(8, 0), "[\"i686\"]")), "(id 9)",
           "architectures[0]");
}

static void pes_unknown_actions_are_rejected(void **state)
{
    (void)state;
    REJECT(PES(PES_ENTRY("9", "8", PKGS(PKG("a")), "null", REL(7, 7), REL(8, 0), "[]")), "(id 9)",
           "unknown action 8");
    REJECT(PES(PES_ENTRY("9", "-1", PKGS(PKG("a")), "null", REL(7, 7), REL(8, 0), "[]")), "unknown action -1");
}

static void pes_missing_in_or_out_is_rejected(void **state)
{
    (void)state;
    REJECT(PES("{\"id\": 9, \"action\": 1, \"release\": " REL(8, 0) "}"), "(id 9)", "\"in_packageset\" is missing");
    REJECT(PES(PES_ENTRY("9", "1", PKGS(), "null", REL(7, 7), REL(8, 0), "[]")), "(id 9)", "has no packages");
    REJECT(PES(PES_ENTRY("9", "3", PKGS(PKG("a")), "null", REL(7, 7), REL(8, 0), "[]")), "(id 9)",
           "replace needs packages in \"out_packageset\"");
    REJECT(PES(PES_ENTRY("9", "4", PKGS(PKG("a")), PKGS(), REL(7, 7), REL(8, 0), "[]")), "split needs packages");
    REJECT(PES("{\"id\": 9, \"action\": 1, \"in_packageset\": " PKGS(PKG("a")) "}"), "(id 9)",
           "\"release\" is missing");
}

static void pes_bad_releases_are_rejected(void **state)
{
    (void)state;
    REJECT(PES(PES_ENTRY("9", "1", PKGS(PKG("a")), "null", REL(7, 7), "{\"major_version\": \"8\", \"minor_version\": 0}",
                         "[]")),
           "(id 9)", "\"release\" must be");
    REJECT(PES(PES_ENTRY("9", "1", PKGS(PKG("a")), "null", REL(7, 7), REL(8, -1), "[]")), "\"release\" must be");
    REJECT(PES(PES_ENTRY("9", "1", PKGS(PKG("a")), "null", "\"7.7\"", REL(8, 0), "[]")), "(id 9)",
           "\"initial_release\" must be");
}

static void native_bad_entries_are_rejected(void **state)
{
    (void)state;
    REJECT("{\"format\": \"osmig-events\", \"version\": 2, \"events\": []}", "unsupported version 2");
    REJECT("{\"format\": \"osmig-events\", \"events\": []}", "\"version\" must be an integer");
    REJECT("{\"format\": \"osmig-events\", \"version\": 1}", "\"events\" must be a list");
    REJECT("{\"format\": \"osmig-events\", \"version\": 1, \"events\": [], \"evnets\": []}",
           "unknown top-level field \"evnets\"");
    REJECT(NATIVE(NATIVE_GOOD ", " "{\"id\": \"boom\", \"action\": \"explode\", \"in\": [\"a\"]}"), "events[1] (id boom)",
           "unknown action \"explode\"");
    REJECT(NATIVE(NATIVE_GOOD ", " "{\"action\": 3, \"in\": [\"a\"], \"out\": [\"b\"]}"), "events[1]",
           "\"action\" must be one of");
    REJECT(NATIVE("{\"id\": 7, \"action\": \"remove\", \"to\": \"8.0\"}"), "events[0] (id 7)",
           "\"in\" must list at least one package");
    REJECT(NATIVE("{\"action\": \"rename\", \"in\": [\"a\"], \"to\": \"8.0\"}"), "rename needs packages in \"out\"");
    REJECT(NATIVE("{\"action\": \"remove\", \"in\": [\"a\"], \"out\": [\"b\"]}"), "remove takes no \"out\"");
    REJECT(NATIVE("{\"action\": \"remove\", \"in\": \"a\"}"), "\"in\" must be a list");
    REJECT(NATIVE("{\"action\": \"remove\", \"in\": [\"a b\"]}"), "in[0]", "not a package name");
    REJECT(NATIVE("{\"action\": \"remove\", \"in\": [\"a@nodejs\"]}"), "in[0]", "NAME@MODULE:STREAM");
    REJECT(NATIVE("{\"action\": \"remove\", \"in\": [{\"name\": \"a\", \"module\": \"m\"}]}"), "go together");
    REJECT(NATIVE("{\"action\": \"remove\", \"in\": [\"a\"], \"arches\": [\"sparc\"]}"), "arches[0]");
    REJECT(NATIVE("{\"action\": \"remove\", \"in\": [\"a\"], \"colour\": \"red\"}"), "unknown field \"colour\"");
    REJECT(NATIVE("{\"id\": [1], \"action\": \"remove\", \"in\": [\"a\"]}"), "\"id\" must be");
}

static void native_bad_release_strings_are_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {"\"8.x\"", "\"8.6.1\"", "\"8.\"", "\"\"", "\"v8\"", "8.6", "\"-8.0\"",
                                      "\"123456.0\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, NATIVE(NATIVE_GOOD ", " "{\"action\": \"remove\", \"in\": [\"a\"], \"to\": %s}"),
                 bad[i]);
        REJECT(text, "events[1]", "\"to\" must be a release");
        snprintf(text, sizeof text, NATIVE("{\"action\": \"remove\", \"in\": [\"a\"], \"from\": %s}"), bad[i]);
        REJECT(text, "events[0]", "\"from\" must be a release");
    }
}

static void missing_file_is_an_error_naming_it(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_events_load_file(&set, "/nonexistent/osmig/events.json", &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/osmig/events.json"));
    assert_int_equal(set.n, 0);
    assert_null(set.ev);
}

/* The error of a late entry: every good entry before it is thrown away. */
static void a_bad_late_entry_discards_the_whole_file(void **state)
{
    (void)state;
    struct osm_buf text;
    osm_buf_init(&text);
    osm_buf_adds(&text, "{\"packageinfo\": [");
    for (int i = 0; i < 100; i++)
        osm_buf_addf(&text, "%s" PES_ENTRY("%d", "1", PKGS(PKG("p%d")), "null", REL(7, 7), REL(8, 0), "[]"),
                     i ? "," : "", i + 100, i);
    osm_buf_adds(&text, "," PES_ENTRY("777", "12", PKGS(PKG("a")), "null", REL(7, 7), REL(8, 0), "[]") "]}");
    expect_rejected(text.s, (const char *[]){"packageinfo[100] (id 777)", "unknown action 12", NULL});
    osm_buf_free(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(malformed_json_is_rejected_with_its_position),
        cmocka_unit_test(files_of_neither_format_are_rejected),
        cmocka_unit_test(pes_wrong_types_are_rejected),
        cmocka_unit_test(pes_unknown_actions_are_rejected),
        cmocka_unit_test(pes_missing_in_or_out_is_rejected),
        cmocka_unit_test(pes_bad_releases_are_rejected),
        cmocka_unit_test(native_bad_entries_are_rejected),
        cmocka_unit_test(native_bad_release_strings_are_rejected),
        cmocka_unit_test(missing_file_is_an_error_naming_it),
        cmocka_unit_test(a_bad_late_entry_discards_the_whole_file),
    };
    return cmocka_run_group_tests(tests, ev_setup, ev_teardown);
}
