/* test_schedule.c: the tz reader against glibc, next_start over a whole
 * year, and the rate control of jobs. The windows of given days and
 * instants, good and bad specs, are cases in tests/sched/cases/
 * (window_case.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedule.h"
#include "tzif.h"

/* A UTC instant. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return osm_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static struct osm_window *window(const char *json)
{
    struct osm_window *w = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_window_parse(json, &w, &err) != 0)
        fail_msg("parse %s: %s", json, err.msg);
    return w;
}

/* The reader agrees with glibc's localtime_r (a single-threaded test may
 * switch TZ) on every 3 hours of 2024-2040, past the files' last transition
 * too (where the POSIX rule of the footer applies). */
static void test_tz_offsets_match_glibc_2024_to_2040(void **state)
{
    (void)state;
    const char *zones[] = {"Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Sydney",
                           "America/Nuuk"};
    for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
        struct osm_tz *tz;
        struct osm_err err = OSM_ERR_INIT;
        assert_int_equal(osm_tz_load(zones[z], &tz, &err), 0);
        setenv("TZ", zones[z], 1);
        tzset();
        size_t checked = 0;
        for (int64_t t = utc(2024, 1, 1, 0, 0); t < utc(2041, 1, 1, 0, 0); t += 3 * 3600 + 17) {
            time_t tt = (time_t)t;
            struct tm tm;
            localtime_r(&tt, &tm);
            if (osm_tz_offset(tz, t) != tm.tm_gmtoff)
                fail_msg("%s at %lld: %d != glibc %ld", zones[z], (long long)t, osm_tz_offset(tz, t), tm.tm_gmtoff);
            checked++;
        }
        assert_true(checked > 40000);
        osm_tz_free(tz);
    }
    unsetenv("TZ");
    tzset();
}

/* next_start(t) is the first instant at or after t when the window is open:
 * checked every 7 minutes through both DST changes of 2026 in New York,
 * with windows that start in the gap and in the overlap. */
static void test_next_start_is_the_first_open_instant_all_year(void **state)
{
    (void)state;
    const char *specs[] = {
        "{\"timezone\":\"America/New_York\",\"start\":\"02:30\",\"duration\":\"2h\",\"cutoff\":\"10m\"}",
        "{\"timezone\":\"America/New_York\",\"days_of_week\":[\"sun\"],\"start\":\"01:30\",\"duration\":\"26h\"}",
        "{\"timezone\":\"Europe/Berlin\",\"days_of_month\":[-1],\"start\":\"23:00\",\"duration\":\"3h\"}",
    };
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        struct osm_window *w = window(specs[k]);
        int64_t prev_start = -1;
        for (int64_t t = utc(2026, 2, 20, 0, 0); t < utc(2026, 11, 20, 0, 0); t += 7 * 60) {
            int64_t s, c;
            assert_int_equal(osm_window_next_start(w, t, &s, &c), 0);
            assert_true(s >= t && c > s);
            assert_true(osm_window_open_at(w, s));
            assert_int_equal(osm_window_open_at(w, t), s == t);
            /* While closed, every instant before the next start agrees on it. */
            if (prev_start > t - 7 * 60 && prev_start >= t)
                assert_int_equal(s, prev_start);
            prev_start = s;
        }
        osm_window_free(w);
    }
}

/* ---- rate control ---- */

static void test_rate_limit_parse_counts_and_percentages(void **state)
{
    (void)state;
    int v = -1, pct = -1;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_rate_limit_parse("5", "max_concurrency", &v, &pct, &err), 0);
    assert_int_equal(v, 5);
    assert_int_equal(pct, 0);
    assert_int_equal(osm_rate_limit_parse("20%", "max_concurrency", &v, &pct, &err), 0);
    assert_int_equal(v, 20);
    assert_int_equal(pct, 1);
    const char *bad[] = {"", "-1", "5.5", "101%", "abc", "5%%", " 5", "5 ", "%", "99999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        osm_err_clear(&err);
        if (osm_rate_limit_parse(bad[i], "max_errors", &v, &pct, &err) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(err.code, OSM_EINPUT);
        assert_true(strncmp(err.msg, "max_errors: ", 12) == 0);
    }
    assert_int_equal(osm_rate_limit_parse(NULL, "max_errors", &v, &pct, &err), -1);
}

static void test_rate_limit_count_rounds_percentages_up(void **state)
{
    (void)state;
    assert_int_equal(osm_rate_limit_count(5, 0, 100, 1), 5);
    assert_int_equal(osm_rate_limit_count(20, 1, 10, 1), 2);
    assert_int_equal(osm_rate_limit_count(25, 1, 10, 1), 3);   /* 2.5 -> 3 */
    assert_int_equal(osm_rate_limit_count(10, 1, 101, 0), 11); /* 10.1 -> 11 */
    assert_int_equal(osm_rate_limit_count(100, 1, 7, 1), 7);
    /* A 1-task job: any percentage of concurrency lets its task run. */
    assert_int_equal(osm_rate_limit_count(10, 1, 1, 1), 1);
    assert_int_equal(osm_rate_limit_count(0, 1, 1, 1), 1);
    assert_int_equal(osm_rate_limit_count(0, 1, 1, 0), 0); /* 0% errors: none allowed */
    assert_int_equal(osm_rate_limit_count(0, 0, 5, 1), 1);
}

static void test_rate_ramps_up_1_2_4_8_until_the_limit(void **state)
{
    (void)state;
    char *why = (char *)"unset";
    struct osm_job_progress p = {.n_tasks = 100, .waiting = 100};
    int want[] = {1, 2, 4, 8, 10, 10, 10};
    for (int s = 0; s < 7; s++) {
        p.succeeded = s;
        p.waiting = 100 - s;
        assert_int_equal(osm_rate_allowed(&p, 10, -1, &why), want[s]);
        assert_null(why);
    }
    /* No concurrency limit: only the ramp-up. */
    p.succeeded = 5;
    assert_int_equal(osm_rate_allowed(&p, -1, -1, &why), 32);
    p.succeeded = 62;
    p.waiting = 38;
    assert_int_equal(osm_rate_allowed(&p, -1, -1, &why), 38); /* no more than are waiting */
    /* Running tasks count against the limit. */
    p = (struct osm_job_progress){.n_tasks = 100, .succeeded = 2, .running = 3, .waiting = 95};
    assert_int_equal(osm_rate_allowed(&p, 10, -1, &why), 1);
    p.running = 4;
    assert_int_equal(osm_rate_allowed(&p, 10, -1, &why), 0);
    assert_null(why);
}

static void test_rate_stops_when_errors_exceed_max_errors(void **state)
{
    (void)state;
    char *why = NULL;
    struct osm_job_progress p = {.n_tasks = 20, .succeeded = 4, .errors = 2, .waiting = 14};
    assert_int_equal(osm_rate_allowed(&p, 5, 2, &why), 5); /* 2 errors do not exceed 2 */
    assert_null(why);
    p.errors = 3;
    assert_int_equal(osm_rate_allowed(&p, 5, 2, &why), 0);
    assert_non_null(why);
    assert_non_null(strstr(why, "3 of its 20 tasks"));
    assert_non_null(strstr(why, "the 2 its max_errors allows"));
    free(why);
    /* No error limit. */
    p.errors = 15;
    assert_int_equal(osm_rate_allowed(&p, 5, -1, &why), 5);
    assert_null(why);
    /* The default "0": the first error stops the job. */
    p = (struct osm_job_progress){.n_tasks = 1, .errors = 1};
    assert_int_equal(osm_rate_allowed(&p, 1, 0, &why), 0);
    assert_non_null(why);
    free(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_offsets_match_glibc_2024_to_2040),
        cmocka_unit_test(test_next_start_is_the_first_open_instant_all_year),
        cmocka_unit_test(test_rate_limit_parse_counts_and_percentages),
        cmocka_unit_test(test_rate_limit_count_rounds_percentages_up),
        cmocka_unit_test(test_rate_ramps_up_1_2_4_8_until_the_limit),
        cmocka_unit_test(test_rate_stops_when_errors_exceed_max_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
