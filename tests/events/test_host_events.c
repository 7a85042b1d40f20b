/* test_host_events.c: scheduled host-maintenance events (engine/sched/
 * host_events.c) on a real SQLite store, with an injected clock (placement
 * alone is case data: tests/events/place): import all or nothing and once per
 * event, in the window across DST changes; reschedule refused
 * after the latest time or in the past; expiry by the scheduler's pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_events.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "scheduler.h"
#include "store.h"
#include "tzif.h"
#include "testutil.h"
#include "teststore.h"

OSM_TEST_TMPDIR(tmpdir, "events")

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return osm_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static char *write_events(const char *name, const char *text)
{
    char *path = osm_path_join(tmpdir, name);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_write_file_atomic(path, text, strlen(text), 0644, &err), 0);
    return path;
}

/* TEXT written as tmpdir/NAME and loaded into e; the test fails when it
 * does not load. */
static void load_good(const char *name, const char *text, struct osm_host_events *e)
{
    char *path = write_events(name, text);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_host_events_load(path, e, &err) != 0)
        fail_msg("%s", err.msg);
    free(path);
}

static struct osm_store *open_store(void)
{
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_open(tmpdir, &st, &err) != 0)
        fail_msg("%s", err.msg);
    return st;
}

static const char *const EVENTS =
    "{\"windows\": {\"dir:/srv/web01\": {\"timezone\": \"America/New_York\", \"start\": \"01:30\", \"duration\": \"1h\"}},\n"
    " \"events\": [\n"
    "  {\"id\": \"e-1\", \"instance\": \"dir:/srv/web01\", \"kind\": \"SystemMaintenance.Redeploy\",\n"
    "   \"scheduled\": \"2026-10-31T12:00:00Z\", \"latest\": \"2026-11-03T12:00:00Z\"},\n"
    "  {\"id\": \"e-2\", \"instance\": \"dir:/srv/web02\", \"kind\": \"SystemMaintenance.Redeploy\",\n"
    "   \"scheduled\": \"2026-11-02T12:00:00Z\", \"latest\": \"2026-11-04T12:00:00Z\"},\n"
    "  {\"id\": \"e-old\", \"instance\": \"dir:/srv/web03\", \"kind\": \"SystemMaintenance.Redeploy\",\n"
    "   \"scheduled\": \"2026-09-01T12:00:00Z\", \"latest\": \"2026-09-02T12:00:00Z\"}]}\n";

static void import_makes_one_job_once_per_event(void **state)
{
    (void)state;
    struct osm_host_events e;
    load_good("events.json", EVENTS, &e);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(e.n, 3);
    struct osm_store *st = open_store();
    struct osm_host_import res[3];
    char job[40];
    int64_t now = utc(2026, 10, 1, 0, 0);
    if (osm_host_events_import(st, &e, now, res, job, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(job[0] != '\0');
    assert_int_equal(res[0].status, OSM_HOST_CREATED);
    assert_int_equal(res[0].in_window, 1);
    assert_int_equal(res[0].at, utc(2026, 11, 1, 5, 30));
    assert_int_equal(res[1].status, OSM_HOST_CREATED);
    assert_int_equal(res[1].at, utc(2026, 11, 2, 12, 0));
    assert_int_equal(res[2].status, OSM_HOST_PASSED);
    struct osm_task t;
    osm_task_init(&t);
    assert_int_equal(osm_store_get_task(st, res[0].task_id, &t, &err), 0);
    assert_string_equal(t.kind, OSM_KIND_HOST_MAINTENANCE);
    assert_int_equal(t.state, OSM_TASK_SCHEDULED);
    assert_int_equal(t.not_before, utc(2026, 11, 1, 5, 30));
    assert_int_equal(t.latest_start, utc(2026, 11, 3, 12, 0));
    assert_string_equal(t.job_id, job);
    assert_non_null(strstr(t.options, "\"id\":\"e-1\""));
    osm_task_free(&t);
    /* again: nothing new, each event names its task */
    struct osm_host_import again[3];
    char job2[40];
    assert_int_equal(osm_host_events_import(st, &e, now, again, job2, &err), 0);
    assert_string_equal(job2, "");
    assert_int_equal(again[0].status, OSM_HOST_ALREADY);
    assert_string_equal(again[0].task_id, res[0].task_id);
    assert_int_equal(again[1].status, OSM_HOST_ALREADY);
    struct osm_task_counts c;
    assert_int_equal(osm_store_count_tasks(st, NULL, &c, &err), 0);
    assert_int_equal(c.by_state[OSM_TASK_SCHEDULED], 2);
    osm_store_close(st);
    osm_host_events_free(&e);
}

static void import_is_all_or_nothing_when_an_instance_is_held(void **state)
{
    (void)state;
    struct osm_store *st = open_store();
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task held;
    osm_task_init(&held);
    strcpy(held.kind, OSM_KIND_OS_MIGRATION);
    held.instance = osm_xstrdup("dir:/srv/web02");
    held.target = osm_xstrdup("alinux3");
    assert_int_equal(osm_store_create_task(st, &held, &err), 0);
    struct osm_host_events e;
    load_good("events.json", EVENTS, &e);
    struct osm_host_import res[3];
    char job[40];
    assert_int_equal(osm_host_events_import(st, &e, utc(2026, 10, 1, 0, 0), res, job, &err), -1);
    assert_int_equal(err.code, OSM_ECONFLICT);
    assert_non_null(strstr(err.msg, "dir:/srv/web02"));
    struct osm_task_counts c;
    assert_int_equal(osm_store_count_tasks(st, NULL, &c, &err), 0);
    assert_int_equal(c.by_state[OSM_TASK_SCHEDULED], 0); /* e-1 was not written either */
    assert_int_equal(c.by_state[OSM_TASK_SUBMITTED], 1); /* the os-migration only */
    osm_task_free(&held);
    osm_store_close(st);
    osm_host_events_free(&e);
}

/* ECS's DescribeInstanceHistoryEvents answer as it comes, with the map of
 * its instance ids to osmig instances: the events still to come only. */
static const char *const ECS_ANSWER =
    "{\"RequestId\": \"473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E\", \"TotalCount\": 3, \"PageNumber\": 1, \"PageSize\": 10,\n"
    " \"instances\": {\"i-uf678mass4zvr9n1a\": \"dir:/srv/web01\", \"i-uf678mass4zvr9n1b\": \"dir:/srv/web02\"},\n"
    " \"windows\": {\"dir:/srv/web01\": {\"timezone\": \"America/New_York\", \"start\": \"01:30\", \"duration\": \"1h\"}},\n"
    " \"InstanceSystemEventSet\": {\"InstanceSystemEventType\": [\n"
    "  {\"EventId\": \"e-uf64yvznlao4jl2c0001\", \"InstanceId\": \"i-uf678mass4zvr9n1a\",\n"
    "   \"EventType\": {\"Code\": 1, \"Name\": \"SystemMaintenance.Redeploy\"},\n"
    "   \"EventCycleStatus\": {\"Code\": 24, \"Name\": \"Scheduled\"}, \"EventPublishTime\": \"2026-10-20T06:32:31Z\",\n"
    "   \"NotBefore\": \"2026-10-31T12:00:00Z\", \"ImpactLevel\": \"100\",\n"
    "   \"ExtendedAttribute\": {\"InitialNotBefore\": \"2026-11-03T12:00:00Z\"}},\n"
    "  {\"EventId\": \"e-uf64yvznlao4jl2c0002\", \"InstanceId\": \"i-uf678mass4zvr9n1b\",\n"
    "   \"EventType\": {\"Code\": 1, \"Name\": \"SystemMaintenance.Reboot\"},\n"
    "   \"EventCycleStatus\": {\"Code\": 34, \"Name\": \"Executed\"}, \"NotBefore\": \"2026-09-01T12:00:00Z\",\n"
    "   \"EventFinishTime\": \"2026-09-01T12:10:00Z\", \"ExtendedAttribute\": {}}]}}\n";

static void ecs_answer_is_imported_with_its_latest_schedule_time(void **state)
{
    (void)state;
    struct osm_host_events e;
    load_good("ecs.json", ECS_ANSWER, &e);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(e.n, 1); /* the executed one is over */
    assert_string_equal(e.ev[0].id, "e-uf64yvznlao4jl2c0001");
    assert_string_equal(e.ev[0].instance, "dir:/srv/web01");
    assert_string_equal(e.ev[0].kind, "SystemMaintenance.Redeploy");
    assert_int_equal(e.ev[0].scheduled, utc(2026, 10, 31, 12, 0));
    assert_int_equal(e.ev[0].latest, utc(2026, 11, 3, 12, 0));
    struct osm_store *st = open_store();
    struct osm_host_import res[1];
    char job[40];
    if (osm_host_events_import(st, &e, utc(2026, 10, 1, 0, 0), res, job, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(res[0].status, OSM_HOST_CREATED);
    assert_int_equal(res[0].in_window, 1);
    assert_int_equal(res[0].at, utc(2026, 11, 1, 5, 30)); /* New York's window, as the file form */
    struct osm_task t;
    osm_task_init(&t);
    assert_int_equal(osm_store_get_task(st, res[0].task_id, &t, &err), 0);
    assert_int_equal(t.latest_start, utc(2026, 11, 3, 12, 0));
    osm_task_free(&t);
    osm_store_close(st);
    osm_host_events_free(&e);
    /* an answer without the map, an unmapped instance, no latest time: named */
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"{\"InstanceSystemEventSet\": {\"InstanceSystemEventType\": []}}", "instances: is required"},
        {"{\"instances\": {}, \"InstanceSystemEventSet\": {\"InstanceSystemEventType\": [{\"EventId\": \"e-1\", "
         "\"InstanceId\": \"i-x\", \"EventType\": {\"Name\": \"SystemMaintenance.Reboot\"}, \"NotBefore\": "
         "\"2026-10-31T12:00:00Z\", \"ExtendedAttribute\": {\"InitialNotBefore\": \"2026-11-03T12:00:00Z\"}}]}}",
         "InstanceSystemEventType[0]: InstanceId i-x is not in \"instances\""},
        {"{\"instances\": {\"i-x\": \"dir:/srv/x\"}, \"InstanceSystemEventSet\": {\"InstanceSystemEventType\": "
         "[{\"EventId\": \"e-1\", \"InstanceId\": \"i-x\", \"EventType\": {\"Name\": \"SystemMaintenance.Reboot\"}, "
         "\"NotBefore\": \"2026-10-31T12:00:00Z\"}]}}",
         "InstanceSystemEventType[0]: has no ExtendedAttribute.InitialNotBefore"},
        {"{\"instances\": {}, \"extra\": 1, \"InstanceSystemEventSet\": {\"InstanceSystemEventType\": []}}",
         "unknown member 'extra'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *p = write_events("ecs-bad.json", bad[i].text);
        osm_err_clear(&err);
        assert_int_equal(osm_host_events_load(p, &e, &err), -1);
        if (!strstr(err.msg, bad[i].says) || !strstr(err.msg, p))
            fail_msg("case %zu: '%s' does not say '%s'", i, err.msg, bad[i].says);
        free(p);
    }
}

static void malformed_events_are_named_and_refused(void **state)
{
    (void)state;
    struct {
        const char *text, *says;
    } bad[] = {
        {"{\"events\": [{\"id\": \"e-1\", \"instance\": \"dir:/a\", \"kind\": \"k\", \"scheduled\": \"2026-02-30T00:00:00Z\","
         " \"latest\": \"2026-03-01T00:00:00Z\"}]}",
         "events[0].scheduled: '2026-02-30T00:00:00Z' is not an RFC 3339 time"},
        {"{\"events\": [{\"id\": \"e-1\", \"instance\": \"dir:/a\", \"kind\": \"k\", \"scheduled\": \"2026-03-02T00:00:00Z\","
         " \"latest\": \"2026-03-01T00:00:00Z\"}]}",
         "events[0]: latest schedule time 2026-03-01T00:00:00Z is before the scheduled time"},
        {"{\"events\": [{\"id\": \"e-1\", \"instance\": \"dir:/a\", \"kind\": \"k\", \"scheduled\": \"2026-03-01T00:00:00Z\","
         " \"latest\": \"2026-03-02T00:00:00Z\"}, {\"id\": \"e-2\", \"instance\": \"dir:/a\", \"kind\": \"k\","
         " \"scheduled\": \"2026-03-01T00:00:00Z\", \"latest\": \"2026-03-02T00:00:00Z\"}]}",
         "events[1]: instance dir:/a has two events, e-1 and e-2"},
        {"{\"windows\": {\"dir:/a\": {\"timezone\": \"Mars/Olympus\", \"start\": \"02:00\", \"duration\": \"1h\"}},"
         " \"events\": [{\"id\": \"e-1\", \"instance\": \"dir:/a\", \"kind\": \"k\", \"scheduled\": \"2026-03-01T00:00:00Z\","
         " \"latest\": \"2026-03-02T00:00:00Z\"}]}",
         "windows[\"dir:/a\"]"},
        {"{\"events\": [{\"id\": \"e-1\", \"kind\": \"k\", \"scheduled\": \"2026-03-01T00:00:00Z\","
         " \"latest\": \"2026-03-02T00:00:00Z\"}]}",
         "events[0].instance: is required"},
        {"{\"evnets\": []}", "evnets: unknown member"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *path = write_events("bad.json", bad[i].text);
        struct osm_host_events e;
        struct osm_err err = OSM_ERR_INIT;
        assert_int_equal(osm_host_events_load(path, &e, &err), -1);
        assert_int_equal(err.code, OSM_EINPUT);
        if (!strstr(err.msg, bad[i].says) || !strstr(err.msg, "bad.json"))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.msg, bad[i].says);
        free(path);
    }
}

/* Import EVENTS at `now` into a fresh store; e-1's task id into id. */
static struct osm_store *imported(int64_t now, char id[40])
{
    struct osm_host_events e;
    load_good("events.json", EVENTS, &e);
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st = open_store();
    struct osm_host_import res[3];
    char job[40];
    if (osm_host_events_import(st, &e, now, res, job, &err) != 0)
        fail_msg("%s", err.msg);
    snprintf(id, 40, "%s", res[0].task_id);
    osm_host_events_free(&e);
    return st;
}

/* The events imported as of 2026-10-01 into a new store: the first task. */
struct imported {
    struct osm_store *st;
    char id[40];
    int64_t now;
    struct osm_err err;
};

static void import_events(struct imported *f)
{
    f->now = utc(2026, 10, 1, 0, 0);
    f->st = imported(f->now, f->id);
    f->err = (struct osm_err)OSM_ERR_INIT;
}

static void reschedule_refuses_a_time_after_the_latest_one_in_the_seed_words(void **state)
{
    (void)state;
    struct imported f;
    import_events(&f);
    struct osm_task t;
    osm_task_init(&t);
    assert_int_equal(osm_host_event_reschedule(f.st, f.id, utc(2026, 11, 3, 12, 1), f.now, &t, &f.err), -1);
    assert_int_equal(f.err.code, OSM_EINPUT);
    assert_non_null(strstr(f.err.msg, "The new migration time cannot be later than the Latest Schedule Time"));
    assert_non_null(strstr(f.err.msg, "2026-11-03T12:01:00Z is after 2026-11-03T12:00:00Z"));
    /* in the past */
    assert_int_equal(osm_host_event_reschedule(f.st, f.id, f.now - 1, f.now, &t, &f.err), -1);
    assert_int_equal(f.err.code, OSM_EINPUT);
    assert_non_null(strstr(f.err.msg, "is in the past"));
    /* the task is as it was */
    assert_int_equal(osm_store_get_task(f.st, f.id, &t, &f.err), 0);
    assert_int_equal(t.not_before, utc(2026, 11, 1, 5, 30));
    osm_task_free(&t);
    osm_store_close(f.st);
}

static void reschedule_across_the_fall_change_in_new_york_keeps_the_latest_time(void **state)
{
    (void)state;
    struct imported f;
    import_events(&f);
    /* the admin asks for 01:30 local on 11-02, after the change: EST, 06:30 UTC */
    int64_t when;
    assert_int_equal(osm_host_local_time("America/New_York", "2026-11-02T01:30", &when, &f.err), 0);
    assert_int_equal(when, utc(2026, 11, 2, 6, 30));
    struct osm_task t;
    osm_task_init(&t);
    assert_int_equal(osm_host_event_reschedule(f.st, f.id, when, f.now, &t, &f.err), 0);
    assert_int_equal(t.not_before, utc(2026, 11, 2, 6, 30));
    assert_int_equal(t.state, OSM_TASK_SCHEDULED);
    osm_task_free(&t);
    /* 01:30 on the overlap day is the first one, EDT: 05:30 UTC */
    assert_int_equal(osm_host_local_time("America/New_York", "2026-11-01T01:30", &when, &f.err), 0);
    assert_int_equal(when, utc(2026, 11, 1, 5, 30));
    /* the latest time is 07:00 EST on 11-03; 07:01 local is refused */
    assert_int_equal(osm_host_local_time("America/New_York", "2026-11-03T07:01", &when, &f.err), 0);
    assert_int_equal(osm_host_event_reschedule(f.st, f.id, when, f.now, NULL, &f.err), -1);
    assert_non_null(strstr(f.err.msg, "cannot be later than the Latest Schedule Time"));
    assert_int_equal(osm_host_local_time("America/New_York", "2026-11-03T07:00", &when, &f.err), 0);
    assert_int_equal(osm_host_event_reschedule(f.st, f.id, when, f.now, NULL, &f.err), 0);
    /* the history says what moved */
    assert_true(osm_test_has_event(f.st, f.id, "rescheduled", "from 2026-11-02T06:30:00Z to 2026-11-03T12:00:00Z"));
    osm_store_close(f.st);
}

static void reschedule_refuses_a_task_that_is_not_waiting_or_not_an_event(void **state)
{
    (void)state;
    struct imported f;
    import_events(&f);
    struct osm_task t;
    osm_task_init(&t);
    assert_int_equal(osm_store_get_task(f.st, f.id, &t, &f.err), 0);
    t.state = OSM_TASK_RUNNING;
    struct osm_task_change ch = {.task = &t, .expect_state = -1, .expect_rev = -1};
    assert_int_equal(osm_store_commit(f.st, &ch, &f.err), 0);
    osm_task_free(&t);
    assert_int_equal(osm_host_event_reschedule(f.st, f.id, f.now + 3600, f.now, NULL, &f.err), -1);
    assert_int_equal(f.err.code, OSM_ECONFLICT);
    assert_non_null(strstr(f.err.msg, "is running"));
    struct osm_task m;
    osm_task_init(&m);
    strcpy(m.kind, OSM_KIND_OS_MIGRATION);
    m.instance = osm_xstrdup("dir:/srv/other");
    assert_int_equal(osm_store_create_task(f.st, &m, &f.err), 0);
    assert_int_equal(osm_host_event_reschedule(f.st, m.id, f.now + 3600, f.now, NULL, &f.err), -1);
    assert_int_equal(f.err.code, OSM_EUSAGE);
    osm_task_free(&m);
    osm_store_close(f.st);
}

static void task_not_started_by_the_latest_time_expires_with_that_cause(void **state)
{
    (void)state;
    char id[40];
    struct osm_store *st = imported(utc(2026, 10, 1, 0, 0), id);
    struct osm_err err = OSM_ERR_INIT;
    struct osm_sched_result r;
    /* a pass just before the latest time leaves it waiting (no capacity to start it) */
    assert_int_equal(osm_scheduler_pass(st, utc(2026, 11, 3, 12, 0), "test", 60, 0, &r, &err), 0);
    osm_sched_result_free(&r);
    struct osm_task t;
    osm_task_init(&t);
    assert_int_equal(osm_store_get_task(st, id, &t, &err), 0);
    assert_int_equal(t.state, OSM_TASK_SCHEDULED);
    osm_task_free(&t);
    /* a pass a second after it expires it, saying so */
    assert_int_equal(osm_scheduler_pass(st, utc(2026, 11, 3, 12, 0) + 1, "test", 60, 0, &r, &err), 0);
    assert_true(r.n_expired >= 1);
    osm_sched_result_free(&r);
    assert_int_equal(osm_store_get_task(st, id, &t, &err), 0);
    assert_int_equal(t.state, OSM_TASK_EXPIRED);
    assert_string_equal(t.error_code, "schedule.expired");
    assert_non_null(strstr(t.cause, "latest start time, 2026-11-03T12:00:00Z"));
    osm_task_free(&t);
    /* and an expired task can no longer be rescheduled */
    assert_int_equal(osm_host_event_reschedule(st, id, utc(2026, 11, 3, 13, 0), utc(2026, 11, 3, 12, 30), NULL, &err),
                     -1);
    assert_int_equal(err.code, OSM_ECONFLICT);
    osm_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OSM_TEST(import_makes_one_job_once_per_event),
        OSM_TEST(import_is_all_or_nothing_when_an_instance_is_held),
        OSM_TEST(malformed_events_are_named_and_refused),
        OSM_TEST(ecs_answer_is_imported_with_its_latest_schedule_time),
        OSM_TEST(reschedule_refuses_a_time_after_the_latest_one_in_the_seed_words),
        OSM_TEST(reschedule_across_the_fall_change_in_new_york_keeps_the_latest_time),
        OSM_TEST(reschedule_refuses_a_task_that_is_not_waiting_or_not_an_event),
        OSM_TEST(task_not_started_by_the_latest_time_expires_with_that_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
