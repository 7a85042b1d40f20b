/* test_events_apply.c: replaying package events over installed packages:
 * every action, the release-by-release chaining, the release window,
 * architecture filtering, module streams and shadowed events, on small
 * Leapp-format and osmig-format files written by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "osm_buf.h"
#include "test_events_util.h"

enum { PRESENT, REMOVED, DEPRECATED, REPLACED, SPLIT, MERGED, MOVED, RENAMED };
#define ALL "[]"

/* A Leapp file being written: pes_begin(), pes_entry()..., pes_load(). */
static struct osm_buf pes;
static int pes_count;

static void pes_begin(void)
{
    osm_buf_init(&pes);
    osm_buf_adds(&pes, "{\"packageinfo\": [");
    pes_count = 0;
}

/* `in`/`out`: comma-separated "NAME" or "NAME@MODULE:STREAM"; `arches`: JSON. */
static void pes_entry(long id, int action, const char *in, const char *out, const char *from, const char *to,
                      const char *arches)
{
    const char *sets[2] = {in, out};
    const char *keys[2] = {"in_packageset", "out_packageset"};
    osm_buf_addf(&pes, "%s{\"id\": %ld, \"action\": %d, \"architectures\": %s", pes_count++ ? "," : "", id, action,
                 arches);
    for (int s = 0; s < 2; s++) {
        osm_buf_addf(&pes, ", \"%s\": {\"set_id\": 1, \"package\": [", keys[s]);
        char *copy = osm_xstrdup(sets[s] ? sets[s] : "");
        int first = 1;
        char *save = NULL;
        for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            char *at = strchr(p, '@');
            char ms[128] = "null";
            if (at) {
                *at = '\0';
                char *colon = strchr(at + 1, ':');
                *colon = '\0';
                snprintf(ms, sizeof ms, "{\"name\": \"%s\", \"stream\": \"%s\"}", at + 1, colon + 1);
            }
            osm_buf_addf(&pes, "%s{\"name\": \"%s\", \"repository\": \"repo\", \"modulestream\": %s}",
                         first ? "" : ",", p, ms);
            first = 0;
        }
        free(copy);
        osm_buf_adds(&pes, "]}");
    }
    int fma = 0, fmi = 0, tma = 0, tmi = 0;
    sscanf(from, "%d.%d", &fma, &fmi);
    sscanf(to, "%d.%d", &tma, &tmi);
    osm_buf_addf(&pes,
                 ", \"initial_release\": {\"major_version\": %d, \"minor_version\": %d, \"os_name\": \"CentOS\"}"
                 ", \"release\": {\"major_version\": %d, \"minor_version\": %d, \"os_name\": \"CentOS\"}}",
                 fma, fmi, tma, tmi);
}

static void pes_load(struct osm_eventset *set)
{
    osm_buf_adds(&pes, "]}");
    struct osm_err err = OSM_ERR_INIT;
    int rc = osm_events_load_file(set, ev_write("pes-events.json", pes.s), &err);
    osm_buf_free(&pes);
    if (rc != 0)
        fail_msg("%s", err.msg);
}

/* Apply `set` to the NULL-terminated `installed` from src to dst on x86_64. */
static void apply(const struct osm_eventset *set, const char *const *installed, const char *src, const char *dst,
                  const char *arch, struct osm_event_result *res)
{
    size_t n = 0;
    while (installed[n])
        n++;
    int sma, smi, dma, dmi;
    sscanf(src, "%d.%d", &sma, &smi);
    sscanf(dst, "%d.%d", &dma, &dmi);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_events_apply(set, installed, n, sma, smi, dma, dmi, arch, res, &err) != 0)
        fail_msg("%s", err.msg);
}

static void assert_change(const struct osm_event_result *res, enum osm_change_kind kind, const char *name,
                          const char *related, long event_id)
{
    const struct osm_event_change *c = ev_find(res, kind, name);
    if (!c)
        fail_msg("no change of kind %d for %s", (int)kind, name);
    if (related)
        assert_string_equal(c->related ? c->related : "(none)", related);
    else
        assert_null(c->related);
    assert_non_null(c->event);
    assert_int_equal(c->event->id, event_id);
}

static void removed_event_removes_only_that_package(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(10, REMOVED, "a", NULL, "7.7", "8.0", ALL);
    pes_load(&set);
    struct osm_event_result res;
    apply(&set, (const char *[]){"a", "z", NULL}, "7.9", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 1);
    assert_change(&res, OSM_CHANGE_REMOVE, "a", NULL, 10);
    assert_string_equal(res.changes[0].event->origin, "pes-events.json#10");
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

static void renamed_and_replaced_swap_the_package(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(1, RENAMED, "a", "b", "7.7", "8.0", ALL);
    pes_entry(2, REPLACED, "c", "d", "7.7", "8.0", ALL);
    pes_load(&set);
    struct osm_event_result res;
    apply(&set, (const char *[]){"a", "c", NULL}, "7.9", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 4);
    assert_change(&res, OSM_CHANGE_REMOVE, "a", "b", 1);
    assert_change(&res, OSM_CHANGE_INSTALL, "b", "a", 1);
    assert_change(&res, OSM_CHANGE_REMOVE, "c", "d", 2);
    assert_change(&res, OSM_CHANGE_INSTALL, "d", "c", 2);
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

static void split_keeps_a_package_that_is_also_an_output(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(1, SPLIT, "iptables", "iptables,iptables-libs", "7.7", "8.0", ALL);
    pes_entry(2, SPLIT, "ntp", "chrony,ntpstat", "7.7", "8.0", ALL);
    pes_load(&set);
    struct osm_event_result res;
    apply(&set, (const char *[]){"iptables", "ntp", NULL}, "7.9", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 4);
    assert_null(ev_find(&res, OSM_CHANGE_REMOVE, "iptables"));
    assert_change(&res, OSM_CHANGE_INSTALL, "iptables-libs", "iptables", 1);
    assert_change(&res, OSM_CHANGE_REMOVE, "ntp", "chrony,ntpstat", 2);
    assert_change(&res, OSM_CHANGE_INSTALL, "chrony", "ntp", 2);
    assert_change(&res, OSM_CHANGE_INSTALL, "ntpstat", "ntp", 2);
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

static void merge_needs_any_input_other_actions_need_all(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(1, MERGED, "a,b", "ab", "7.7", "8.0", ALL);
    pes_entry(2, REPLACED, "c,d", "cd", "7.7", "8.0", ALL);
    pes_entry(3, SPLIT, "e,f", "e1,e2", "7.7", "8.0", ALL);
    pes_load(&set);
    struct osm_event_result res;
    apply(&set, (const char *[]){"a", "c", "e", NULL}, "7.9", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 2);
    assert_change(&res, OSM_CHANGE_REMOVE, "a", "ab", 1);
    assert_change(&res, OSM_CHANGE_INSTALL, "ab", "a", 1);
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

static void moved_changes_repository_not_the_set(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(1, MOVED, "a", "a", "7.7", "8.0", ALL);
    pes_load(&set);
    assert_int_equal(set.n, 1);
    assert_int_equal(set.ev[0].action, OSM_EV_MOVED);
    struct osm_event_result res;
    apply(&set, (const char *[]){"a", NULL}, "7.9", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 0);
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

static void deprecated_keeps_the_package_and_says_so(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(7, DEPRECATED, "a", NULL, "7.7", "8.0", ALL);
    pes_entry(8, DEPRECATED, "x", NULL, "7.7", "8.0", ALL);
    pes_load(&set);
    struct osm_event_result res;
    apply(&set, (const char *[]){"a", NULL}, "7.9", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 1);
    assert_change(&res, OSM_CHANGE_DEPRECATED, "a", NULL, 7);
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

/* Present puts back a package seen earlier on the way (installed at the
 * start or brought in by an earlier release), and nothing else. */
static void present_restores_a_package_seen_before(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(1, REMOVED, "a", NULL, "7.7", "8.0", ALL);
    pes_entry(2, PRESENT, "a", NULL, "8.0", "8.2", ALL);
    pes_entry(3, PRESENT, "never", NULL, "8.0", "8.2", ALL);
    pes_load(&set);
    struct osm_event_result res;
    apply(&set, (const char *[]){"a", NULL}, "7.9", "8.1", "x86_64", &res);
    assert_int_equal(res.n, 1);
    assert_change(&res, OSM_CHANGE_REMOVE, "a", NULL, 1);
    osm_event_result_free(&res);
    apply(&set, (const char *[]){"a", NULL}, "7.9", "8.2", "x86_64", &res);
    assert_int_equal(res.n, 0);
    osm_event_result_free(&res);
    osm_eventset_free(&set);

    /* b is seen only because 8.0 brought it in. */
    pes_begin();
    pes_entry(1, RENAMED, "a", "b", "7.7", "8.0", ALL);
    pes_entry(2, REMOVED, "b", NULL, "8.0", "8.1", ALL);
    pes_entry(3, PRESENT, "b", NULL, "8.1", "8.2", ALL);
    pes_load(&set);
    apply(&set, (const char *[]){"a", NULL}, "7.9", "8.2", "x86_64", &res);
    assert_int_equal(res.n, 2);
    assert_change(&res, OSM_CHANGE_REMOVE, "a", "b", 1);
    assert_change(&res, OSM_CHANGE_INSTALL, "b", "a", 3);
    osm_event_result_free(&res);
    apply(&set, (const char *[]){"a", NULL}, "7.9", "8.1", "x86_64", &res);
    assert_int_equal(res.n, 1);
    assert_change(&res, OSM_CHANGE_REMOVE, "a", NULL, 1);
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

/* A renamed to B in 8.0, B split into C and D in 8.2. */
static void events_chain_release_by_release(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(2, SPLIT, "b", "c,d", "8.0", "8.2", ALL); /* file order is not release order */
    pes_entry(1, RENAMED, "a", "b", "7.7", "8.0", ALL);
    pes_load(&set);
    struct osm_event_result res;

    apply(&set, (const char *[]){"a", NULL}, "7.9", "8.2", "x86_64", &res);
    assert_int_equal(res.n, 3);
    assert_change(&res, OSM_CHANGE_REMOVE, "a", "c,d", 1);
    assert_change(&res, OSM_CHANGE_INSTALL, "c", "a", 2);
    assert_change(&res, OSM_CHANGE_INSTALL, "d", "a", 2);
    assert_null(ev_find(&res, OSM_CHANGE_INSTALL, "b"));
    osm_event_result_free(&res);

    apply(&set, (const char *[]){"a", NULL}, "7.9", "8.1", "x86_64", &res);
    assert_int_equal(res.n, 2);
    assert_change(&res, OSM_CHANGE_REMOVE, "a", "b", 1);
    assert_change(&res, OSM_CHANGE_INSTALL, "b", "a", 1);
    osm_event_result_free(&res);

    /* From 8.0 on, A is already past its rename: only the split can apply. */
    apply(&set, (const char *[]){"a", NULL}, "8.0", "8.2", "x86_64", &res);
    assert_int_equal(res.n, 0);
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

/* Events of one release all look at the set as the release began. */
static void events_of_one_release_do_not_chain(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(1, RENAMED, "a", "b", "7.7", "8.0", ALL);
    pes_entry(2, RENAMED, "b", "c", "7.7", "8.0", ALL);
    pes_load(&set);
    struct osm_event_result res;
    apply(&set, (const char *[]){"a", NULL}, "7.9", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 2);
    assert_change(&res, OSM_CHANGE_INSTALL, "b", "a", 1);
    assert_null(ev_find(&res, OSM_CHANGE_INSTALL, "c"));
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

/* Only releases after the source and up to the target count. */
static void release_window_is_after_source_up_to_target(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(1, REMOVED, "old", NULL, "7.5", "7.9", ALL);
    pes_entry(2, REMOVED, "at-target", NULL, "8.5", "8.6", ALL);
    pes_entry(3, REMOVED, "after-target", NULL, "8.6", "8.7", ALL);
    pes_entry(4, REMOVED, "next-major", NULL, "8.6", "9.0", ALL);
    pes_load(&set);
    struct osm_event_result res;
    apply(&set, (const char *[]){"old", "at-target", "after-target", "next-major", NULL}, "7.9", "8.6", "x86_64",
          &res);
    assert_int_equal(res.n, 1);
    assert_change(&res, OSM_CHANGE_REMOVE, "at-target", NULL, 2);
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

static void events_apply_only_to_their_architectures(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(1, REMOVED, "arm-only", NULL, "7.7", "8.0", "[\"aarch64\"]");
    pes_entry(2, REMOVED, "x86-and-arm", NULL, "7.7", "8.0", "[\"x86_64\", \"aarch64\"]");
    pes_entry(3, REMOVED, "every-arch", NULL, "7.7", "8.0", ALL);
    pes_load(&set);
    const char *installed[] = {"arm-only", "x86-and-arm", "every-arch", NULL};
    struct osm_event_result res;
    apply(&set, installed, "7.9", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 2);
    assert_null(ev_find(&res, OSM_CHANGE_REMOVE, "arm-only"));
    osm_event_result_free(&res);
    apply(&set, installed, "7.9", "8.6", "aarch64", &res);
    assert_int_equal(res.n, 3);
    osm_event_result_free(&res);
    apply(&set, installed, "7.9", "8.6", "ppc64le", &res);
    assert_int_equal(res.n, 1);
    assert_change(&res, OSM_CHANGE_REMOVE, "every-arch", NULL, 3);
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

/* An event whose in-package carries a module stream applies only to a
 * package installed from that stream ("NAME@MODULE:STREAM"); without a
 * stream map, modular out-packages are dropped, as Leapp does. */
static void modular_events_need_the_stream(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(1, REMOVED, "nodejs-devel@nodejs:10", NULL, "8.2", "8.4", ALL);
    pes_entry(2, REPLACED, "php-x", "php-y@php:7.4,php-z", "8.2", "8.4", ALL);
    pes_load(&set);
    struct osm_event_result res;

    apply(&set, (const char *[]){"nodejs-devel", NULL}, "8.2", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 0);
    osm_event_result_free(&res);

    apply(&set, (const char *[]){"nodejs-devel@nodejs:12", NULL}, "8.2", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 0);
    osm_event_result_free(&res);

    apply(&set, (const char *[]){"nodejs-devel@nodejs:10", "php-x", NULL}, "8.2", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 3);
    assert_change(&res, OSM_CHANGE_REMOVE, "nodejs-devel", NULL, 1);
    assert_change(&res, OSM_CHANGE_REMOVE, "php-x", "php-z", 2);
    assert_change(&res, OSM_CHANGE_INSTALL, "php-z", "php-x", 2);
    assert_null(ev_find(&res, OSM_CHANGE_INSTALL, "php-y"));
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

/* modulestream_maps: one event per input stream, with the output streams
 * the map gives it. */
static void stream_maps_make_one_event_per_input_stream(void **state)
{
    (void)state;
    const char *text =
        "{\"packageinfo\": [{\"id\": 5, \"action\": 7, \"architectures\": [],"
        " \"in_packageset\": {\"package\": [{\"name\": \"x\", \"repository\": \"r7\", \"modulestreams\":"
        "   [null, {\"name\": \"m\", \"stream\": \"1\"}]}]},"
        " \"out_packageset\": {\"package\": [{\"name\": \"y\", \"repository\": \"r8\", \"modulestreams\":"
        "   [{\"name\": \"m\", \"stream\": \"2\"}, null]}]},"
        " \"modulestream_maps\": [{\"in_modulestream\": null, \"out_modulestream\": {\"name\": \"m\", \"stream\": \"2\"}},"
        "   {\"in_modulestream\": {\"name\": \"m\", \"stream\": \"1\"}, \"out_modulestream\": null}],"
        " \"initial_release\": {\"major_version\": 8, \"minor_version\": 2},"
        " \"release\": {\"major_version\": 8, \"minor_version\": 4}}]}";
    struct osm_eventset set = {0};
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_events_load_file(&set, ev_write("maps.json", text), &err), 0);
    assert_int_equal(set.n, 2);
    assert_null(set.ev[0].in[0].module);
    assert_string_equal(set.ev[0].out[0].module, "m");
    assert_string_equal(set.ev[0].out[0].stream, "2");
    assert_string_equal(set.ev[1].in[0].stream, "1");
    assert_null(set.ev[1].out[0].module);
    assert_int_equal(set.ev[0].id, 5);
    assert_int_equal(set.ev[1].id, 5);

    struct osm_event_result res;
    apply(&set, (const char *[]){"x", NULL}, "8.2", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 2);
    const struct osm_event_change *c = ev_find(&res, OSM_CHANGE_INSTALL, "y");
    assert_non_null(c);
    assert_string_equal(c->event->out[0].stream, "2"); /* the planner enables m:2 */
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

/* Of events with the same in-packages and initial release, only the one
 * with the latest release counts (Leapp drops the others). */
static void later_event_shadows_one_with_same_inputs(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(1, REMOVED, "a", NULL, "7.7", "8.0", ALL);
    pes_entry(2, RENAMED, "a", "a2", "7.7", "8.2", ALL);
    pes_load(&set);
    struct osm_event_result res;
    apply(&set, (const char *[]){"a", NULL}, "7.9", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 2);
    assert_change(&res, OSM_CHANGE_REMOVE, "a", "a2", 2);
    osm_event_result_free(&res);
    /* With 8.2 out of the window the 8.0 removal is the only one left. */
    apply(&set, (const char *[]){"a", NULL}, "7.9", "8.1", "x86_64", &res);
    assert_int_equal(res.n, 1);
    assert_change(&res, OSM_CHANGE_REMOVE, "a", NULL, 1);
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

/* osmig's own format: readable actions, same replay; an event without "to"
 * applies at the target, even when source and target share a release. */
static void native_events_chain_and_apply_at_target(void **state)
{
    (void)state;
    const char *text = "{\"format\": \"osmig-events\", \"version\": 1, \"events\": ["
                       " {\"id\": \"a-to-b\", \"action\": \"rename\", \"in\": [\"a\"], \"out\": [\"b\"],"
                       "  \"from\": \"7.7\", \"to\": \"8.0\"},"
                       " {\"id\": 42, \"action\": \"split\", \"in\": [\"b\"], \"out\": [\"c\", \"d\"], \"to\": \"8.2\","
                       "  \"arches\": [\"x86_64\"], \"note\": \"why\"},"
                       " {\"id\": \"release\", \"action\": \"replace\", \"in\": [\"centos-release\"],"
                       "  \"out\": [\"vendor-release\"]},"
                       " {\"action\": \"remove\", \"in\": [{\"name\": \"m\", \"module\": \"mod\", \"stream\": \"1\"}],"
                       "  \"to\": \"8\"}"
                       "]}";
    struct osm_eventset set = {0};
    struct osm_err err = OSM_ERR_INIT;
    const char *path = ev_write("mine.json", text);
    if (osm_events_load_file(&set, path, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(set.n, 4);
    assert_string_equal(set.ev[0].origin, "mine.json#a-to-b");
    assert_int_equal(set.ev[0].action, OSM_EV_RENAMED);
    assert_int_equal(set.ev[1].id, 42);
    assert_string_equal(set.ev[1].origin, "mine.json#42");
    assert_string_equal(set.ev[3].origin, "mine.json#3");
    assert_int_equal(set.ev[3].to_major, 8);
    assert_int_equal(set.ev[3].to_minor, 0);
    assert_string_equal(set.ev[3].in[0].stream, "1");

    struct osm_event_result res;
    apply(&set, (const char *[]){"a", "centos-release", NULL}, "7.9", "8.2", "x86_64", &res);
    assert_int_equal(res.n, 5);
    assert_change(&res, OSM_CHANGE_REMOVE, "a", "c,d", 0);
    assert_change(&res, OSM_CHANGE_INSTALL, "d", "a", 42);
    assert_change(&res, OSM_CHANGE_INSTALL, "vendor-release", "centos-release", 2);
    osm_event_result_free(&res);

    /* CentOS 7.9 -> a 7.9 of another vendor: only the at-target event. */
    apply(&set, (const char *[]){"a", "centos-release", NULL}, "7.9", "7.9", "x86_64", &res);
    assert_int_equal(res.n, 2);
    assert_change(&res, OSM_CHANGE_REMOVE, "centos-release", "vendor-release", 2);
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

/* A vendor swap without a release comes after every release's events,
 * even those of the target release itself. */
static void at_target_events_come_after_the_last_release(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(2152, REPLACED, "centos-release", "centos-linux-release", "7.7", "8.0", ALL);
    pes_load(&set);
    struct osm_err err = OSM_ERR_INIT;
    const char *path = ev_write("vendor.json", "{\"format\": \"osmig-events\", \"version\": 1, \"events\": ["
                                               "{\"id\": \"el7\", \"action\": \"replace\", \"in\": [\"centos-release\"],"
                                               " \"out\": [\"vendor-release\"]},"
                                               "{\"id\": \"el8\", \"action\": \"replace\", \"in\": [\"centos-linux-release\"],"
                                               " \"out\": [\"vendor-release\"]}]}");
    assert_int_equal(osm_events_load_file(&set, path, &err), 0);
    assert_int_equal(set.ev[1].to_major, OSM_EV_AT_TARGET);
    for (int minor = 0; minor <= 6; minor += 6) {
        struct osm_event_result res;
        apply(&set, (const char *[]){"centos-release", NULL}, "7.9", minor ? "8.6" : "8.0", "x86_64", &res);
        assert_int_equal(res.n, 2);
        assert_change(&res, OSM_CHANGE_REMOVE, "centos-release", "vendor-release", 2152);
        assert_change(&res, OSM_CHANGE_INSTALL, "vendor-release", "centos-release", 1);
        assert_string_equal(ev_find(&res, OSM_CHANGE_INSTALL, "vendor-release")->event->origin, "vendor.json#el8");
        osm_event_result_free(&res);
    }
    osm_eventset_free(&set);
}

static void files_of_both_formats_add_up(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    pes_begin();
    pes_entry(1, REMOVED, "a", NULL, "7.7", "8.0", ALL);
    pes_load(&set);
    struct osm_err err = OSM_ERR_INIT;
    const char *path = ev_write("more.json", "{\"format\": \"osmig-events\", \"version\": 1, \"events\": ["
                                             "{\"action\": \"remove\", \"in\": [\"b\"], \"to\": \"8.0\"}]}");
    assert_int_equal(osm_events_load_file(&set, path, &err), 0);
    assert_int_equal(set.n, 2);
    struct osm_event_result res;
    apply(&set, (const char *[]){"a", "b", "c", NULL}, "7.9", "8.6", "x86_64", &res);
    assert_int_equal(res.n, 2);
    assert_string_equal(ev_find(&res, OSM_CHANGE_REMOVE, "a")->event->origin, "pes-events.json#1");
    assert_string_equal(ev_find(&res, OSM_CHANGE_REMOVE, "b")->event->origin, "more.json#0");
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

static void bad_installed_names_and_missing_arch_fail(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    struct osm_event_result res = {0};
    struct osm_err err = OSM_ERR_INIT;
    const char *bad[] = {"ok", "x@nostream"};
    assert_int_equal(osm_events_apply(&set, bad, 2, 7, 9, 8, 6, "x86_64", &res, &err), -1);
    assert_non_null(strstr(err.msg, "x@nostream"));
    assert_int_equal(res.n, 0);
    const char *good[] = {"ok"};
    assert_int_equal(osm_events_apply(&set, good, 1, 7, 9, 8, 6, NULL, &res, &err), -1);
    assert_non_null(strstr(err.msg, "architecture"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(removed_event_removes_only_that_package),
        cmocka_unit_test(renamed_and_replaced_swap_the_package),
        cmocka_unit_test(split_keeps_a_package_that_is_also_an_output),
        cmocka_unit_test(merge_needs_any_input_other_actions_need_all),
        cmocka_unit_test(moved_changes_repository_not_the_set),
        cmocka_unit_test(deprecated_keeps_the_package_and_says_so),
        cmocka_unit_test(present_restores_a_package_seen_before),
        cmocka_unit_test(events_chain_release_by_release),
        cmocka_unit_test(events_of_one_release_do_not_chain),
        cmocka_unit_test(release_window_is_after_source_up_to_target),
        cmocka_unit_test(events_apply_only_to_their_architectures),
        cmocka_unit_test(modular_events_need_the_stream),
        cmocka_unit_test(stream_maps_make_one_event_per_input_stream),
        cmocka_unit_test(later_event_shadows_one_with_same_inputs),
        cmocka_unit_test(native_events_chain_and_apply_at_target),
        cmocka_unit_test(at_target_events_come_after_the_last_release),
        cmocka_unit_test(files_of_both_formats_add_up),
        cmocka_unit_test(bad_installed_names_and_missing_arch_fail),
    };
    return cmocka_run_group_tests(tests, ev_setup, ev_teardown);
}
