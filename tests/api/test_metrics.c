/* test_metrics: the Prometheus text of engine/fleet/metrics.c, and that counts
 * from many threads at once are all kept. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

/* Each case starts with a new, empty set of metrics (*state). */
static int setup(void **state)
{
    *state = osm_metrics_new();
    return 0;
}

static int teardown(void **state)
{
    osm_metrics_free(*state);
    return 0;
}

/* The rendered text holds `want` (exactly: is `want`). */
static void assert_renders(struct osm_metrics *m, const char *want, int exactly)
{
    char *text = osm_metrics_render(m);
    if (exactly ? strcmp(text, want) != 0 : !strstr(text, want))
        fail_msg("the metrics text lacks:\n%s\nit is:\n%s", want, text);
    free(text);
}

static void counters_render_with_escaped_labels(void **state)
{
    struct osm_metrics *m = *state;
    const char *l1[] = {"route", "/v1/jobs", "status", "201", NULL};
    const char *l2[] = {"route", "a\"b\\c\nd", "status", "400", NULL};
    osm_metrics_counter_add(m, "osmig_api_requests_total", "API requests", l1, 1);
    osm_metrics_counter_add(m, "osmig_api_requests_total", "API requests", l1, 2);
    osm_metrics_counter_add(m, "osmig_api_requests_total", "API requests", l2, 1);
    assert_renders(m, "# HELP osmig_api_requests_total API requests\n"
                      "# TYPE osmig_api_requests_total counter\n"
                      "osmig_api_requests_total{route=\"/v1/jobs\",status=\"201\"} 3\n", 0);
    assert_renders(m, "osmig_api_requests_total{route=\"a\\\"b\\\\c\\nd\",status=\"400\"} 1\n", 0);
}

static void histogram_buckets_are_cumulative(void **state)
{
    struct osm_metrics *m = *state;
    const double bounds[] = {0.1, 1, 10};
    const char *l[] = {"phase", "staging", NULL};
    osm_metrics_observe(m, "osmig_phase_duration_seconds", "phases", bounds, 3, l, 0.05);
    osm_metrics_observe(m, "osmig_phase_duration_seconds", "phases", bounds, 3, l, 0.5);
    osm_metrics_observe(m, "osmig_phase_duration_seconds", "phases", bounds, 3, l, 20);
    assert_renders(m, "# TYPE osmig_phase_duration_seconds histogram\n"
                      "osmig_phase_duration_seconds_bucket{phase=\"staging\",le=\"0.1\"} 1\n"
                      "osmig_phase_duration_seconds_bucket{phase=\"staging\",le=\"1\"} 2\n"
                      "osmig_phase_duration_seconds_bucket{phase=\"staging\",le=\"10\"} 2\n"
                      "osmig_phase_duration_seconds_bucket{phase=\"staging\",le=\"+Inf\"} 3\n"
                      "osmig_phase_duration_seconds_sum{phase=\"staging\"} 20.55\n"
                      "osmig_phase_duration_seconds_count{phase=\"staging\"} 3\n", 0);
}

static void gauge_is_set_not_added(void **state)
{
    struct osm_metrics *m = *state;
    const char *l[] = {"state", "running", NULL};
    osm_metrics_gauge_set(m, "osmig_tasks", "tasks", l, 5);
    osm_metrics_gauge_set(m, "osmig_tasks", "tasks", l, 2);
    /* Another kind under the same name is ignored, not mixed in. */
    osm_metrics_counter_add(m, "osmig_tasks", "tasks", l, 7);
    assert_renders(m, "# TYPE osmig_tasks gauge\nosmig_tasks{state=\"running\"} 2\n", 0);
}

static void declared_family_is_listed_before_its_first_sample(void **state)
{
    struct osm_metrics *m = *state;
    const double b[] = {0.5, 1};
    osm_metrics_declare_histogram(m, "osmig_w_seconds", "writes (unit: seconds)", b, 2);
    osm_metrics_declare_gauge(m, "osmig_g", "g (unit: tasks)");
    assert_renders(m, "# HELP osmig_w_seconds writes (unit: seconds)\n# TYPE osmig_w_seconds histogram\n"
                      "# HELP osmig_g g (unit: tasks)\n# TYPE osmig_g gauge\n", 1);
    osm_metrics_observe(m, "osmig_w_seconds", "ignored", NULL, 0, NULL, 0.7); /* the declared bounds stay */
    assert_renders(m, "osmig_w_seconds_bucket{le=\"0.5\"} 0\nosmig_w_seconds_bucket{le=\"1\"} 1\n", 0);
}

static void cleared_gauge_loses_every_series_but_keeps_its_help(void **state)
{
    struct osm_metrics *m = *state;
    const char *a[] = {"job", "j-1", NULL}, *b[] = {"job", "j-2", NULL};
    osm_metrics_gauge_set(m, "osmig_job_tasks", "per job (unit: tasks)", a, 1);
    osm_metrics_gauge_set(m, "osmig_job_tasks", "per job (unit: tasks)", b, 2);
    osm_metrics_clear(m, "osmig_job_tasks");
    osm_metrics_gauge_set(m, "osmig_job_tasks", "per job (unit: tasks)", b, 3);
    assert_renders(m, "# HELP osmig_job_tasks per job (unit: tasks)\n# TYPE osmig_job_tasks gauge\n"
                      "osmig_job_tasks{job=\"j-2\"} 3\n", 1);
}

struct thread_arg {
    struct osm_metrics *m;
    int n;
};

static void *count_many(void *p)
{
    struct thread_arg *a = p;
    const char *l[] = {"route", "/healthz", NULL};
    for (int i = 0; i < a->n; i++) {
        osm_metrics_counter_add(a->m, "hits_total", "hits", l, 1);
        osm_metrics_observe(a->m, "lat_seconds", "lat", osm_metrics_seconds_bounds, osm_metrics_n_seconds_bounds, l,
                            0.001);
    }
    return NULL;
}

static void concurrent_updates_are_all_counted(void **state)
{
    struct osm_metrics *m = *state;
    pthread_t t[8];
    struct thread_arg a = {m, 5000};
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_many, &a), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    assert_renders(m, "hits_total{route=\"/healthz\"} 40000\n", 0);
    assert_renders(m, "lat_seconds_count{route=\"/healthz\"} 40000\n", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(counters_render_with_escaped_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(histogram_buckets_are_cumulative, setup, teardown),
        cmocka_unit_test_setup_teardown(gauge_is_set_not_added, setup, teardown),
        cmocka_unit_test_setup_teardown(declared_family_is_listed_before_its_first_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(cleared_gauge_loses_every_series_but_keeps_its_help, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_updates_are_all_counted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
