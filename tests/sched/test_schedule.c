/* test_schedule.c: maintenance windows on the system tz database (injected
 * clock: every instant is given), and the rate control of jobs. */
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

static void expect_next(const struct osm_window *w, int64_t t, int64_t want_start, int64_t want_close)
{
    int64_t s = 0, c = 0;
    assert_int_equal(osm_window_next_start(w, t, &s, &c), 0);
    assert_int_equal(s, want_start);
    assert_int_equal(c, want_close);
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

static void test_new_york_gap_day_0230_opens_at_0300_edt(void **state)
{
    (void)state;
    /* 2026-03-08: 02:00 EST -> 03:00 EDT; 02:30 does not exist. */
    struct osm_window *w = window("{\"timezone\":\"America/New_York\",\"start\":\"02:30\",\"duration\":\"2h\"}");
    int64_t open = utc(2026, 3, 8, 7, 0); /* 03:00 EDT */
    expect_next(w, utc(2026, 3, 8, 5, 0), open, open + 7200);
    assert_false(osm_window_open_at(w, open - 1));
    assert_true(osm_window_open_at(w, open));
    /* The day before (EST) and after (EDT) at 02:30 local. */
    expect_next(w, utc(2026, 3, 7, 0, 0), utc(2026, 3, 7, 7, 30), utc(2026, 3, 7, 9, 30));
    expect_next(w, open + 7200, utc(2026, 3, 9, 6, 30), utc(2026, 3, 9, 8, 30));
    osm_window_free(w);
}

static void test_new_york_overlap_day_0130_is_the_first_occurrence(void **state)
{
    (void)state;
    /* 2026-11-01: 02:00 EDT -> 01:00 EST; 01:30 happens at 05:30Z and 06:30Z. */
    struct osm_window *w = window("{\"timezone\":\"America/New_York\",\"start\":\"01:30\",\"duration\":\"1h\"}");
    expect_next(w, utc(2026, 11, 1, 0, 0), utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30));
    assert_true(osm_window_open_at(w, utc(2026, 11, 1, 6, 29)));
    assert_false(osm_window_open_at(w, utc(2026, 11, 1, 6, 30))); /* the second 01:30 does not reopen it */
    expect_next(w, utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 2, 7, 30));
    osm_window_free(w);
}

static void test_berlin_gap_and_overlap_days(void **state)
{
    (void)state;
    struct osm_window *w = window("{\"timezone\":\"Europe/Berlin\",\"start\":\"02:30\",\"duration\":\"90m\"}");
    /* 2026-03-29: 02:00 CET -> 03:00 CEST (01:00Z). */
    expect_next(w, utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 30));
    /* 2026-10-25: 03:00 CEST -> 02:00 CET; the first 02:30 is CEST (00:30Z). */
    expect_next(w, utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 0));
    osm_window_free(w);
    /* The Berlin overlap hour seen from a 01:30 start: no ambiguity, CEST. */
    w = window("{\"timezone\":\"Europe/Berlin\",\"start\":\"01:30\",\"duration\":\"1h\"}");
    expect_next(w, utc(2026, 10, 24, 22, 0), utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0, 30));
    osm_window_free(w);
}

static void test_shanghai_weekend_window(void **state)
{
    (void)state;
    struct osm_window *w = window("{\"timezone\":\"Asia/Shanghai\",\"days_of_week\":[\"sat\",\"sun\"],"
                                  "\"start\":\"02:00\",\"duration\":\"4h\",\"cutoff\":\"30m\"}");
    /* Monday 2026-11-23 10:00 CST: next is Saturday 2026-11-28 02:00 CST = 27th 18:00Z. */
    int64_t sat = utc(2026, 11, 27, 18, 0);
    expect_next(w, utc(2026, 11, 23, 2, 0), sat, sat + 4 * 3600 - 1800);
    /* Inside Saturday's range: start now. */
    expect_next(w, sat + 3600, sat + 3600, sat + 4 * 3600 - 1800);
    /* Past Saturday's cutoff: Sunday. */
    expect_next(w, sat + 4 * 3600 - 1800, sat + 86400, sat + 86400 + 4 * 3600 - 1800);
    /* Sunday's, then the next Saturday's. */
    expect_next(w, sat + 86400 + 4 * 3600, sat + 7 * 86400, sat + 7 * 86400 + 4 * 3600 - 1800);
    osm_window_free(w);
}

static void test_cutoff_ends_the_start_range_before_the_close(void **state)
{
    (void)state;
    struct osm_window *w = window("{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"4h\","
                                  "\"cutoff\":1800}");
    int64_t open = utc(2026, 11, 23, 18, 0); /* 24th 02:00 CST */
    assert_true(osm_window_open_at(w, open));
    assert_true(osm_window_open_at(w, open + 3 * 3600 + 1799));
    assert_false(osm_window_open_at(w, open + 3 * 3600 + 1800));
    assert_false(osm_window_open_at(w, open - 1));
    osm_window_free(w);
}

static void test_window_spanning_midnight_stays_open_next_day(void **state)
{
    (void)state;
    /* Fridays 22:00 for 4 h in Berlin (CET, +1): 2026-11-27 21:00Z .. 28th 01:00Z. */
    struct osm_window *w = window("{\"timezone\":\"Europe/Berlin\",\"days_of_week\":[\"fri\"],\"start\":\"22:00\","
                                  "\"duration\":\"4h\"}");
    int64_t open = utc(2026, 11, 27, 21, 0);
    assert_true(osm_window_open_at(w, utc(2026, 11, 28, 0, 30))); /* Saturday 01:30 local */
    expect_next(w, utc(2026, 11, 28, 0, 30), utc(2026, 11, 28, 0, 30), open + 4 * 3600);
    assert_false(osm_window_open_at(w, open + 4 * 3600)); /* Saturday 02:00 local */
    expect_next(w, open + 4 * 3600, open + 7 * 86400, open + 7 * 86400 + 4 * 3600);
    osm_window_free(w);
}

static void test_days_of_month_last_day_in_leap_february(void **state)
{
    (void)state;
    struct osm_window *w = window("{\"timezone\":\"Asia/Shanghai\",\"days_of_month\":[15,-1],\"start\":\"03:00\","
                                  "\"duration\":\"1h\"}");
    /* 2028 is a leap year: after the 15th, the 29th. */
    expect_next(w, utc(2028, 2, 16, 0, 0), utc(2028, 2, 28, 19, 0), utc(2028, 2, 28, 20, 0));
    /* 2027 is not: the 28th. */
    expect_next(w, utc(2027, 2, 16, 0, 0), utc(2027, 2, 27, 19, 0), utc(2027, 2, 27, 20, 0));
    /* After the 29th: March 15th (not the 29th, 30th or 31st). */
    expect_next(w, utc(2028, 2, 28, 20, 0), utc(2028, 3, 14, 19, 0), utc(2028, 3, 14, 20, 0));
    osm_window_free(w);
    /* Day 31 opens only in months that have it: from April 1st, May 31st. */
    w = window("{\"timezone\":\"Asia/Shanghai\",\"days_of_month\":[31],\"start\":\"03:00\",\"duration\":\"1h\"}");
    expect_next(w, utc(2028, 4, 1, 0, 0), utc(2028, 5, 30, 19, 0), utc(2028, 5, 30, 20, 0));
    osm_window_free(w);
}

static void test_days_of_week_and_month_together_open_on_either(void **state)
{
    (void)state;
    struct osm_window *w = window("{\"timezone\":\"Asia/Shanghai\",\"days_of_week\":[\"wed\"],\"days_of_month\":[1],"
                                  "\"start\":\"00:00\",\"duration\":60}");
    /* From Thursday 2026-11-26: Tuesday December 1st comes before Wednesday the 2nd. */
    expect_next(w, utc(2026, 11, 26, 0, 0), utc(2026, 11, 30, 16, 0), utc(2026, 11, 30, 16, 1));
    expect_next(w, utc(2026, 11, 30, 16, 1), utc(2026, 12, 1, 16, 0), utc(2026, 12, 1, 16, 1));
    osm_window_free(w);
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

/* Every bad spec fails, and the message names the member. */
static void test_bad_specs_name_the_member(void **state)
{
    (void)state;
    struct {
        const char *json, *prefix, *words;
    } cases[] = {
        {"{\"timezone\":\"Mars/Olympus_Mons\",\"start\":\"02:00\",\"duration\":\"1h\"}", "window.timezone:",
         "unknown time zone"},
        {"{\"timezone\":\"../../etc/passwd\",\"start\":\"02:00\",\"duration\":\"1h\"}", "window.timezone:",
         "not a time zone name"},
        {"{\"timezone\":\"/etc/localtime\",\"start\":\"02:00\",\"duration\":\"1h\"}", "window.timezone:",
         "not a time zone name"},
        {"{\"timezone\":\"America\",\"start\":\"02:00\",\"duration\":\"1h\"}", "window.timezone:", "America"},
        {"{\"timezone\":5,\"start\":\"02:00\",\"duration\":\"1h\"}", "window.timezone:", "must be"},
        {"{\"start\":\"02:00\",\"duration\":\"1h\"}", "window.timezone:", "missing"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"25:00\",\"duration\":\"1h\"}", "window.start:", "25:00"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"2:00\",\"duration\":\"1h\"}", "window.start:", "HH:MM"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":200,\"duration\":\"1h\"}", "window.start:", "HH:MM"},
        {"{\"timezone\":\"Asia/Shanghai\",\"duration\":\"1h\"}", "window.start:", "missing"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":0}", "window.duration:", "out of range"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"0m\"}", "window.duration:", "out of range"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"7d1s\"}", "window.duration:",
         "out of range"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"4 hours\"}", "window.duration:",
         "not a duration"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":[1]}", "window.duration:", "must be"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\"}", "window.duration:", "missing"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"1h\",\"cutoff\":\"1h\"}", "window.cutoff:",
         "less than the duration"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"1h\",\"cutoff\":\"2h\"}", "window.cutoff:",
         "less than the duration"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"1h\",\"cutoff\":-60}", "window.cutoff:",
         "negative"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":3600.5}", "window.duration:", "must be"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"1h\",\"timezon\":\"x\"}",
         "window.timezon:", "unknown member"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"1h\",\"days_of_week\":\"sat\"}",
         "window.days_of_week:", "array"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"1h\",\"days_of_week\":[\"sat\",\"sabbath\"]}",
         "window.days_of_week[1]:", "sabbath"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"1h\",\"days_of_month\":[0]}",
         "window.days_of_month[0]:", "1..31"},
        {"{\"timezone\":\"Asia/Shanghai\",\"start\":\"02:00\",\"duration\":\"1h\",\"days_of_month\":[]}",
         "window.days_of_month:", "non-empty"},
        {"[1,2]", "window:", "object"},
        {"{\"timezone\":", "window:", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct osm_window *w = (struct osm_window *)&cases; /* must be reset to NULL */
        struct osm_err err = OSM_ERR_INIT;
        if (osm_window_parse(cases[i].json, &w, &err) != -1)
            fail_msg("accepted %s", cases[i].json);
        assert_null(w);
        assert_int_equal(err.code, OSM_EINPUT);
        if (strncmp(err.msg, cases[i].prefix, strlen(cases[i].prefix)) != 0 || !strstr(err.msg, cases[i].words))
            fail_msg("%s: message \"%s\" does not start with \"%s\" and say \"%s\"", cases[i].json, err.msg,
                     cases[i].prefix, cases[i].words);
    }
}

static void test_good_spec_forms_parse(void **state)
{
    (void)state;
    struct osm_window *w = window("{\"timezone\":\"Europe/Berlin\",\"days_of_week\":[\"Monday\",\"SUN\"],"
                                  "\"start\":\"23:59\",\"duration\":\"1h30m\",\"cutoff\":\"45s\"}");
    osm_window_free(w);
    w = window("{\"timezone\":\"Etc/GMT+5\",\"start\":\"00:00\",\"duration\":\"7d\"}");
    osm_window_free(w);
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
        cmocka_unit_test(test_new_york_gap_day_0230_opens_at_0300_edt),
        cmocka_unit_test(test_new_york_overlap_day_0130_is_the_first_occurrence),
        cmocka_unit_test(test_berlin_gap_and_overlap_days),
        cmocka_unit_test(test_shanghai_weekend_window),
        cmocka_unit_test(test_cutoff_ends_the_start_range_before_the_close),
        cmocka_unit_test(test_window_spanning_midnight_stays_open_next_day),
        cmocka_unit_test(test_days_of_month_last_day_in_leap_february),
        cmocka_unit_test(test_days_of_week_and_month_together_open_on_either),
        cmocka_unit_test(test_next_start_is_the_first_open_instant_all_year),
        cmocka_unit_test(test_bad_specs_name_the_member),
        cmocka_unit_test(test_good_spec_forms_parse),
        cmocka_unit_test(test_rate_limit_parse_counts_and_percentages),
        cmocka_unit_test(test_rate_limit_count_rounds_percentages_up),
        cmocka_unit_test(test_rate_ramps_up_1_2_4_8_until_the_limit),
        cmocka_unit_test(test_rate_stops_when_errors_exceed_max_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
