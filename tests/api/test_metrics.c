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

static void counters_render_with_escaped_labels(void **state)
{
    (void)state;
    struct osm_metrics *m = osm_metrics_new();
    const char *l1[] = {"route", "/v1/jobs", "status", "201", NULL};
    const char *l2[] = {"route", "a\"b\\c\nd", "status", "400", NULL};
    osm_metrics_counter_add(m, "osmig_api_requests_total", "API requests", l1, 1);
    osm_metrics_counter_add(m, "osmig_api_requests_total", "API requests", l1, 2);
    osm_metrics_counter_add(m, "osmig_api_requests_total", "API requests", l2, 1);
    char *text = osm_metrics_render(m);
    assert_non_null(strstr(text, "# HELP osmig_api_requests_total API requests\n"
                                 "# TYPE osmig_api_requests_total counter\n"
                                 "osmig_api_requests_total{route=\"/v1/jobs\",status=\"201\"} 3\n"));
    assert_non_null(strstr(text, "osmig_api_requests_total{route=\"a\\\"b\\\\c\\nd\",status=\"400\"} 1\n"));
    free(text);
    osm_metrics_free(m);
}

static void histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    struct osm_metrics *m = osm_metrics_new();
    const double bounds[] = {0.1, 1, 10};
    const char *l[] = {"phase", "staging", NULL};
    osm_metrics_observe(m, "osmig_phase_duration_seconds", "phases", bounds, 3, l, 0.05);
    osm_metrics_observe(m, "osmig_phase_duration_seconds", "phases", bounds, 3, l, 0.5);
    osm_metrics_observe(m, "osmig_phase_duration_seconds", "phases", bounds, 3, l, 20);
    char *text = osm_metrics_render(m);
    assert_non_null(strstr(text, "# TYPE osmig_phase_duration_seconds histogram\n"
                                 "osmig_phase_duration_seconds_bucket{phase=\"staging\",le=\"0.1\"} 1\n"
                                 "osmig_phase_duration_seconds_bucket{phase=\"staging\",le=\"1\"} 2\n"
                                 "osmig_phase_duration_seconds_bucket{phase=\"staging\",le=\"10\"} 2\n"
                                 "osmig_phase_duration_seconds_bucket{phase=\"staging\",le=\"+Inf\"} 3\n"
                                 "osmig_phase_duration_seconds_sum{phase=\"staging\"} 20.55\n"
                                 "osmig_phase_duration_seconds_count{phase=\"staging\"} 3\n"));
    free(text);
    osm_metrics_free(m);
}

static void gauge_is_set_not_added(void **state)
{
    (void)state;
    struct osm_metrics *m = osm_metrics_new();
    const char *l[] = {"state", "running", NULL};
    osm_metrics_gauge_set(m, "osmig_tasks", "tasks", l, 5);
    osm_metrics_gauge_set(m, "osmig_tasks", "tasks", l, 2);
    /* Another kind under the same name is ignored, not mixed in. */
    osm_metrics_counter_add(m, "osmig_tasks", "tasks", l, 7);
    char *text = osm_metrics_render(m);
    assert_non_null(strstr(text, "# TYPE osmig_tasks gauge\nosmig_tasks{state=\"running\"} 2\n"));
    free(text);
    osm_metrics_free(m);
}

static void declared_family_is_listed_before_its_first_sample(void **state)
{
    (void)state;
    struct osm_metrics *m = osm_metrics_new();
    const double b[] = {0.5, 1};
    osm_metrics_declare_histogram(m, "osmig_w_seconds", "writes (unit: seconds)", b, 2);
    osm_metrics_declare_gauge(m, "osmig_g", "g (unit: tasks)");
    char *text = osm_metrics_render(m);
    assert_string_equal(text, "# HELP osmig_w_seconds writes (unit: seconds)\n# TYPE osmig_w_seconds histogram\n"
                              "# HELP osmig_g g (unit: tasks)\n# TYPE osmig_g gauge\n");
    free(text);
    osm_metrics_observe(m, "osmig_w_seconds", "ignored", NULL, 0, NULL, 0.7); /* the declared bounds stay */
    text = osm_metrics_render(m);
    assert_non_null(strstr(text, "osmig_w_seconds_bucket{le=\"0.5\"} 0\nosmig_w_seconds_bucket{le=\"1\"} 1\n"));
    free(text);
    osm_metrics_free(m);
}

static void cleared_gauge_loses_every_series_but_keeps_its_help(void **state)
{
    (void)state;
    struct osm_metrics *m = osm_metrics_new();
    const char *a[] = {"job", "j-1", NULL}, *b[] = {"job", "j-2", NULL};
    osm_metrics_gauge_set(m, "osmig_job_tasks", "per job (unit: tasks)", a, 1);
    osm_metrics_gauge_set(m, "osmig_job_tasks", "per job (unit: tasks)", b, 2);
    osm_metrics_clear(m, "osmig_job_tasks");
    osm_metrics_gauge_set(m, "osmig_job_tasks", "per job (unit: tasks)", b, 3);
    char *text = osm_metrics_render(m);
    assert_string_equal(text, "# HELP osmig_job_tasks per job (unit: tasks)\n# TYPE osmig_job_tasks gauge\n"
                              "osmig_job_tasks{job=\"j-2\"} 3\n");
    free(text);
    osm_metrics_free(m);
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
    (void)state;
    struct osm_metrics *m = osm_metrics_new();
    pthread_t t[8];
    struct thread_arg a = {m, 5000};
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_many, &a), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    char *text = osm_metrics_render(m);
    assert_non_null(strstr(text, "hits_total{route=\"/healthz\"} 40000\n"));
    assert_non_null(strstr(text, "lat_seconds_count{route=\"/healthz\"} 40000\n"));
    free(text);
    osm_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_render_with_escaped_labels),
        cmocka_unit_test(histogram_buckets_are_cumulative),
        cmocka_unit_test(gauge_is_set_not_added),
        cmocka_unit_test(declared_family_is_listed_before_its_first_sample),
        cmocka_unit_test(cleared_gauge_loses_every_series_but_keeps_its_help),
        cmocka_unit_test(concurrent_updates_are_all_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
