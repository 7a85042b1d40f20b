/* test_events_matrix.c: osmig's own event files in matrices/linux/events
 * all load, and (when the real data is there) say exactly what the PES
 * events they cite say. What they do for each target (the release swap, the
 * EL7 -> EL8 changes) is in the cases tests/linux/events/matrix-*.case. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_events_util.h"
#include "testutil.h"

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
    const char *matrices = osm_test_need_env("OSMIG_MATRIX_DIR", "the matrices of the source tree");
    snprintf(events_dir, sizeof events_dir, "%s/linux/events", matrices);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_matrix_events_file_loads),
        cmocka_unit_test(el7_to_el8_events_match_the_pes_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
