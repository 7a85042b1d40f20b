/* test_events_matrix.c: osmig's own event files in matrices/linux/events
 * load, swap the release package for each target, carry the EL7 -> EL8
 * changes, and (when the real data is there) say exactly what the PES
 * events they cite say. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_events_util.h"

static char events_dir[1024];

static void load_matrix(struct osm_eventset *set, const char *file)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", events_dir, file);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_events_load_file(set, path, &err) != 0)
        fail_msg("%s", err.msg);
}

static void every_matrix_events_file_loads(void **state)
{
    (void)state;
    DIR *d = opendir(events_dir);
    assert_non_null(d);
    size_t files = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        struct osm_eventset set = {0};
        load_matrix(&set, de->d_name);
        assert_true(set.n > 0);
        osm_eventset_free(&set);
        files++;
    }
    closedir(d);
    assert_int_equal(files, 7);
}

static void swap_for(const char *file, const char *installed, const char *src, const char *dst, int dst_major,
                     int dst_minor)
{
    struct osm_eventset set = {0};
    load_matrix(&set, file);
    const char *inst[] = {installed, "bash"};
    struct osm_event_result res;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_events_apply(&set, inst, 2, 7, 9, dst_major, dst_minor, "x86_64", &res, &err), 0);
    assert_int_equal(res.n, 2);
    const struct osm_event_change *in = ev_find(&res, OSM_CHANGE_INSTALL, dst);
    if (!in)
        fail_msg("%s: %s does not become %s", file, src, dst);
    assert_string_equal(in->related, src);
    assert_non_null(ev_find(&res, OSM_CHANGE_REMOVE, src));
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

static void each_target_swaps_the_release_package(void **state)
{
    (void)state;
    swap_for("alinux2.json", "centos-release", "centos-release", "alinux-release", 7, 9);
    swap_for("anolis7.json", "centos-release", "centos-release", "anolis-release", 7, 9);
    swap_for("rhel7.json", "centos-release", "centos-release", "redhat-release-server", 7, 9);
    swap_for("alinux3.json", "centos-release", "centos-release", "alinux-release", 8, 6);
    swap_for("alinux3.json", "centos-linux-release", "centos-linux-release", "alinux-release", 8, 6);
    swap_for("alinux3.json", "redhat-release-server", "redhat-release-server", "alinux-release", 8, 6);
    swap_for("anolis8.json", "centos-linux-release", "centos-linux-release", "anolis-release", 8, 6);
    swap_for("rhel8.json", "centos-linux-release", "centos-linux-release", "redhat-release", 8, 6);
}

/* CentOS 7.9 -> Alibaba Cloud Linux 3 (EL 8.x) with the common EL7 -> EL8
 * file and the target's own. */
static void centos7_to_alinux3_carries_the_el8_changes(void **state)
{
    (void)state;
    struct osm_eventset set = {0};
    load_matrix(&set, "el7-to-el8.json");
    load_matrix(&set, "alinux3.json");
    const char *inst[] = {"centos-release", "python", "python-libs", "yum", "yum-utils", "ntp", "bash"};
    struct osm_event_result res;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_events_apply(&set, inst, 7, 7, 9, 8, 6, "x86_64", &res, &err), 0);
    assert_string_equal(ev_find(&res, OSM_CHANGE_INSTALL, "alinux-release")->event->origin,
                        "alinux3.json#centos7-release");
    assert_string_equal(ev_find(&res, OSM_CHANGE_REMOVE, "python")->related, "platform-python");
    assert_string_equal(ev_find(&res, OSM_CHANGE_REMOVE, "python-libs")->related, "python2-libs,python3-libs");
    assert_string_equal(ev_find(&res, OSM_CHANGE_REMOVE, "yum-utils")->related, "dnf-utils");
    assert_string_equal(ev_find(&res, OSM_CHANGE_REMOVE, "ntp")->related, "chrony,ntpstat");
    assert_string_equal(ev_find(&res, OSM_CHANGE_INSTALL, "chrony")->event->origin, "el7-to-el8.json#pes-4");
    assert_null(ev_find(&res, OSM_CHANGE_REMOVE, "yum"));
    assert_null(ev_find(&res, OSM_CHANGE_REMOVE, "bash"));
    osm_event_result_free(&res);

    /* To an EL7 target the EL8 events stay out of the window. */
    assert_int_equal(osm_events_apply(&set, inst, 7, 7, 9, 7, 9, "x86_64", &res, &err), 0);
    assert_int_equal(res.n, 2); /* only the release swap */
    osm_event_result_free(&res);
    osm_eventset_free(&set);
}

static int same_names(const struct osm_event_pkg *a, size_t na, const struct osm_event_pkg *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].name, b[i].name) != 0)
            return 0;
    return 1;
}

/* Every event of el7-to-el8.json is "pes-ID": the PES event ID, unchanged. */
static void el7_to_el8_events_match_the_pes_data(void **state)
{
    (void)state;
    const char *real = getenv("OSMIG_REALDATA");
    char pes_path[1200];
    snprintf(pes_path, sizeof pes_path, "%s/pes/centos-pes-events.json", real ? real : "");
    if (!real || !osm_is_file(pes_path))
        skip();
    struct osm_eventset mine = {0}, pes = {0};
    load_matrix(&mine, "el7-to-el8.json");
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_events_load_file(&pes, pes_path, &err), 0);
    for (size_t i = 0; i < mine.n; i++) {
        const struct osm_event *m = &mine.ev[i];
        long id = strtol(strchr(m->origin, '#') + 5, NULL, 10); /* "...#pes-ID" */
        const struct osm_event *p = NULL;
        for (size_t k = 0; k < pes.n && !p; k++)
            if (pes.ev[k].id == id)
                p = &pes.ev[k];
        if (!p)
            fail_msg("%s: no PES event %ld", m->origin, id);
        if (m->action != p->action || !same_names(m->in, m->n_in, p->in, p->n_in) ||
            !same_names(m->out, m->n_out, p->out, p->n_out) || m->to_major != p->to_major ||
            m->to_minor != p->to_minor || m->from_major != p->from_major || m->from_minor != p->from_minor ||
            m->n_arches != p->n_arches)
            fail_msg("%s differs from PES event %ld", m->origin, id);
    }
    osm_eventset_free(&mine);
    osm_eventset_free(&pes);
}

int main(void)
{
    const char *matrices = getenv("OSMIG_MATRIX_DIR");
    if (!matrices || !*matrices) {
        fprintf(stderr, "SKIP: OSMIG_MATRIX_DIR is not set\n");
        return 77;
    }
    snprintf(events_dir, sizeof events_dir, "%s/linux/events", matrices);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_matrix_events_file_loads),
        cmocka_unit_test(each_target_swaps_the_release_package),
        cmocka_unit_test(centos7_to_alinux3_carries_the_el8_changes),
        cmocka_unit_test(el7_to_el8_events_match_the_pes_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
