/* test_events_real.c: the real Leapp PES files (AlmaLinux's leapp-data,
 * $OSMIG_REALDATA/pes) load whole, and replayed over a real CentOS 7
 * package list (pkglists/CentOS7Many.tsv, docker centos:7 + development
 * tools) they give the changes the file's events say, checked here by id.
 * Skips (77) when the real data is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "osm_buf.h"
#include "test_events_util.h"
#include "testutil.h"

static char centos_pes[1024], alma_pes[1024], many_list[1024];

static const struct osm_event *by_id(const struct osm_eventset *set, long id)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->ev[i].id == id)
            return &set->ev[i];
    fail_msg("no event with id %ld", id);
    return NULL;
}

static void load(struct osm_eventset *set, const char *path)
{
    struct osm_err err = OSM_ERR_INIT;
    if (osm_events_load_file(set, path, &err) != 0)
        fail_msg("%s", err.msg);
}

static void centos_pes_file_loads_every_entry(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    load(&set, centos_pes);
    assert_int_equal(set.n, 2289); /* packageinfo entries; no modular ones to expand */
    size_t per_action[8] = {0};
    for (size_t i = 0; i < set.n; i++)
        per_action[set.ev[i].action]++;
    assert_int_equal(per_action[OSM_EV_PRESENT], 13);
    assert_int_equal(per_action[OSM_EV_REMOVED], 984);
    assert_int_equal(per_action[OSM_EV_DEPRECATED], 18);
    assert_int_equal(per_action[OSM_EV_REPLACED], 204);
    assert_int_equal(per_action[OSM_EV_SPLIT], 138);
    assert_int_equal(per_action[OSM_EV_MERGED], 259);
    assert_int_equal(per_action[OSM_EV_MOVED], 641);
    assert_int_equal(per_action[OSM_EV_RENAMED], 32);

    const struct osm_event *rel = by_id(&set, 2152); /* centos-release -> centos-linux-release */
    assert_int_equal(rel->action, OSM_EV_REPLACED);
    assert_int_equal(rel->n_in, 1);
    assert_string_equal(rel->in[0].name, "centos-release");
    assert_string_equal(rel->in[0].repo, "base");
    assert_null(rel->in[0].module);
    assert_int_equal(rel->n_out, 1);
    assert_string_equal(rel->out[0].name, "centos-linux-release");
    assert_string_equal(rel->out[0].repo, "centos8-baseos");
    assert_int_equal(rel->from_major, 7);
    assert_int_equal(rel->from_minor, 7);
    assert_int_equal(rel->to_major, 8);
    assert_int_equal(rel->to_minor, 0);
    assert_int_equal(rel->n_arches, 2);
    assert_string_equal(rel->arches[0], "x86_64");
    assert_string_equal(rel->arches[1], "aarch64");
    assert_string_equal(rel->origin, "centos-pes-events.json#2152");

    const struct osm_event *ntp = by_id(&set, 4); /* ntp -> chrony + ntpstat */
    assert_int_equal(ntp->action, OSM_EV_SPLIT);
    assert_string_equal(ntp->in[0].name, "ntp");
    assert_int_equal(ntp->n_out, 2);
    assert_string_equal(ntp->out[0].name, "chrony");
    assert_string_equal(ntp->out[1].name, "ntpstat");

    const struct osm_event *nm = by_id(&set, 2205); /* Present, no initial_release */
    assert_int_equal(nm->action, OSM_EV_PRESENT);
    assert_string_equal(nm->in[0].name, "NetworkManager");
    assert_int_equal(nm->n_out, 0);
    assert_int_equal(nm->from_major, 0);

    const struct osm_event *ipt = by_id(&set, 2211); /* EL8 -> EL9 merge */
    assert_int_equal(ipt->action, OSM_EV_MERGED);
    assert_int_equal(ipt->n_in, 3);
    assert_string_equal(ipt->out[0].name, "iptables-nft");
    assert_int_equal(ipt->to_major, 9);
    osm_eventset_free(&set);
}

static void almalinux_pes_file_loads_with_string_ids(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    load(&set, alma_pes);
    assert_int_equal(set.n, 2381);
    const struct osm_event *ev = by_id(&set, 9003); /* written "id": "9003" */
    assert_int_equal(ev->action, OSM_EV_REMOVED);
    assert_string_equal(ev->in[0].name, "unified-monitoring-agent");
    assert_string_equal(ev->origin, "almalinux-pes-events.json#9003");
    assert_string_equal(by_id(&set, 2150)->out[0].name, "almalinux-release");
    osm_eventset_free(&set);
}

/* The names of a pkglists TSV file (second column). */
static char **read_names(const char *path, size_t *n)
{
    struct osm_buf text;
    osm_buf_init(&text);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_read_file(path, &text, &err) != 0)
        fail_msg("%s", err.msg);
    char **names = NULL;
    *n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text.s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *name = strchr(line, '\t');
        assert_non_null(name);
        name++;
        *strchrnul(name, '\t') = '\0';
        names = osm_xrealloc(names, (*n + 1) * sizeof *names);
        names[(*n)++] = osm_xstrdup(name);
    }
    osm_buf_free(&text);
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static size_t count_kind(const struct osm_event_result *res, enum osm_change_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < res->n; i++)
        n += res->changes[i].kind == kind;
    return n;
}

static void check(const struct osm_event_result *res, enum osm_change_kind kind, const char *name,
                  const char *related, long id)
{
    const struct osm_event_change *c = ev_find(res, kind, name);
    if (!c)
        fail_msg("expected a change of kind %d for %s", (int)kind, name);
    assert_string_equal(c->related ? c->related : "", related);
    assert_int_equal(c->event->id, id);
}

/* CentOS 7.9 -> EL 8.6 on x86_64. Each expectation below was looked up in
 * centos-pes-events.json by its id. */
static void centos7_many_to_el8_follows_the_real_events(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    load(&set, centos_pes);
    size_t n;
    char **names = read_names(many_list, &n);
    assert_int_equal(n, 396);
    struct osm_event_result res;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_events_apply(&set, (const char *const *)names, n, 7, 9, 8, 6, "x86_64", &res, &err), 0);

    assert_int_equal(count_kind(&res, OSM_CHANGE_REMOVE), 34);
    assert_int_equal(count_kind(&res, OSM_CHANGE_INSTALL), 103);
    assert_int_equal(count_kind(&res, OSM_CHANGE_DEPRECATED), 0);
    check(&res, OSM_CHANGE_REMOVE, "centos-release", "centos-linux-release", 2152);
    check(&res, OSM_CHANGE_INSTALL, "centos-linux-release", "centos-release", 2152);
    check(&res, OSM_CHANGE_REMOVE, "python", "platform-python", 916);
    check(&res, OSM_CHANGE_REMOVE, "python-libs", "python2-libs,python3-libs", 205);
    check(&res, OSM_CHANGE_INSTALL, "python3-libs", "python-libs", 205);
    check(&res, OSM_CHANGE_REMOVE, "yum-utils", "dnf-utils", 915);
    check(&res, OSM_CHANGE_REMOVE, "rpm-python", "python3-rpm", 867);
    check(&res, OSM_CHANGE_REMOVE, "yum-plugin-ovl", "", 908);
    check(&res, OSM_CHANGE_INSTALL, "perl-interpreter", "perl", 1342);
    check(&res, OSM_CHANGE_INSTALL, "trousers-lib", "trousers", 2039);
    /* yum has no event (EL8's yum is dnf's, same name); perl and trousers
     * are among their own split's outputs: all three stay. */
    assert_null(ev_find(&res, OSM_CHANGE_REMOVE, "yum"));
    assert_null(ev_find(&res, OSM_CHANGE_REMOVE, "perl"));
    assert_null(ev_find(&res, OSM_CHANGE_REMOVE, "trousers"));
    /* ntp is not installed here, so its split does not apply. */
    assert_null(ev_find(&res, OSM_CHANGE_INSTALL, "chrony"));
    osm_event_result_free(&res);

    /* On to 9.0: trousers-lib, brought in by 8.0's split of trousers
     * (2039), is removed again in 9.0 (2310), as is trousers (2309). */
    assert_int_equal(osm_events_apply(&set, (const char *const *)names, n, 7, 9, 9, 0, "x86_64", &res, &err), 0);
    check(&res, OSM_CHANGE_REMOVE, "trousers", "", 2309);
    assert_null(ev_find(&res, OSM_CHANGE_INSTALL, "trousers-lib"));
    check(&res, OSM_CHANGE_REMOVE, "libidn", "", 2269);
    osm_event_result_free(&res);

    free_names(names, n);
    osm_eventset_free(&set);
}

int main(void)
{
    const char *real = osm_test_need_env("OSMIG_REALDATA", "the real PES files and package lists");
    snprintf(centos_pes, sizeof centos_pes, "%s/pes/centos-pes-events.json", real);
    snprintf(alma_pes, sizeof alma_pes, "%s/pes/almalinux-pes-events.json", real);
    snprintf(many_list, sizeof many_list, "%s/pkglists/CentOS7Many.tsv", real);
    if (!osm_is_file(centos_pes) || !osm_is_file(alma_pes) || !osm_is_file(many_list)) {
        fprintf(stderr, "SKIP: %s lacks pes/centos-pes-events.json, pes/almalinux-pes-events.json or "
                        "pkglists/CentOS7Many.tsv\n",
                real);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(centos_pes_file_loads_every_entry),
        cmocka_unit_test(almalinux_pes_file_loads_with_string_ids),
        cmocka_unit_test(centos7_many_to_el8_follows_the_real_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
