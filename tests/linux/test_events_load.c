/* test_events_load.c: a missing events file is an error naming it, and a bad
 * entry after a hundred good ones throws the whole file away. Every other
 * kind of bad file is a case in tests/linux/events/ (events_case.c). */
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
        cmocka_unit_test(missing_file_is_an_error_naming_it),
        cmocka_unit_test(a_bad_late_entry_discards_the_whole_file),
    };
    return cmocka_run_group_tests(tests, ev_setup, ev_teardown);
}
