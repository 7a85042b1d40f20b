/* cmd_events.c: scheduled host-maintenance events (docs/host-events.md).
 *
 *   osmig events import FILE [--json] [--state-dir DIR]
 *   osmig events reschedule TASK_ID TIME [--timezone ZONE] [--json] [--state-dir DIR]
 *
 * import: each event becomes a host-maintenance task, placed in the
 * instance's maintenance window, never past the latest schedule time; all
 * the new ones in one job, or none. reschedule: a new migration time, an
 * RFC 3339 instant or a local time in ZONE (by default the zone of the
 * instance's window), refused after the latest schedule time or in the past. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_tasks.h"
#include "host_events.h"
#include "osm_cli.h"
#include "osm_time.h"
#include "provider.h"

static const char usage_text[] =
    "usage: osmig events import FILE [--json] [--state-dir DIR]\n"
    "       osmig events reschedule TASK_ID TIME [--timezone ZONE] [--json] [--state-dir DIR]\n"
    "  import      make a host-maintenance task of each event in FILE, in the instance's maintenance\n"
    "              window, never later than the event's latest schedule time\n"
    "  reschedule  move a waiting host-maintenance task to TIME: RFC 3339 (2026-11-02T06:30:00Z), or a\n"
    "              local time (2026-11-02T01:30) in ZONE, by default the zone of the instance's window\n";

struct args {
    int json;
    const char *state_dir, *zone;
    int first;
};

static int parse(int argc, char **argv, struct args *a, int want)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"timezone", required_argument, NULL, 'z'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    memset(a, 0, sizeof *a);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            a->json = 1;
        else if (c == 's')
            a->state_dir = optarg;
        else if (c == 'z' && want == 2)
            a->zone = optarg;
        else if (c == 'h') {
            fputs(usage_text, stdout);
            return 1;
        } else {
            fputs(usage_text, stderr);
            return OSM_EXIT_USAGE;
        }
    }
    if (argc - optind != want)
        return osm_cli_usage("events %s takes %s", argv[0], want == 1 ? "one events file" : "a task id and a time");
    a->first = optind;
    return 0;
}

static int import(int argc, char **argv)
{
    struct args a;
    int rc = parse(argc, argv, &a, 1);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    struct osm_err err = OSM_ERR_INIT;
    struct osm_host_events e;
    if (osm_host_events_load(argv[a.first], &e, &err) != 0)
        return osm_cli_fail(&err);
    /* one identity per instance, as every other entry point keys on */
    for (size_t i = 0; i < e.n; i++) {
        char *canon = NULL;
        if (osm_instance_canonical_uri(e.ev[i].instance, &canon, &err) != 0) {
            osm_err_prefix(&err, "%s: events[%zu].instance", e.path, i);
            osm_host_events_free(&e);
            return osm_cli_fail(&err);
        }
        free(e.ev[i].instance);
        e.ev[i].instance = canon;
    }
    struct osm_store *st;
    if (osm_cli_open_store(a.state_dir, 0, &st, &err) != 0) {
        osm_host_events_free(&e);
        return osm_cli_fail(&err);
    }
    struct osm_host_import *res = osm_xcalloc(e.n + 1, sizeof *res);
    char job[40];
    int status = OSM_EXIT_OK;
    if (osm_host_events_import(st, &e, (int64_t)time(NULL), res, job, &err) != 0) {
        status = osm_cli_fail(&err);
    } else if (a.json) {
        json_t *o = osm_host_import_json(&e, res, job);
        osm_cli_print_json(o);
        json_decref(o);
    } else {
        char t[32], l[32];
        for (size_t i = 0; i < e.n; i++) {
            const struct osm_host_import *r = &res[i];
            if (r->status == OSM_HOST_CREATED)
                printf("%s %s: task %s starts %s%s (latest schedule time %s)\n", e.ev[i].id, e.ev[i].instance,
                       r->task_id, osm_time_iso(r->at, t), r->in_window ? " in its maintenance window" : "",
                       osm_time_iso(e.ev[i].latest, l));
            else if (r->status == OSM_HOST_ALREADY)
                printf("%s %s: imported before as task %s\n", e.ev[i].id, e.ev[i].instance, r->task_id);
            else
                printf("%s %s: not imported: its latest schedule time, %s, has passed\n", e.ev[i].id,
                       e.ev[i].instance, osm_time_iso(e.ev[i].latest, l));
        }
        if (job[0])
            printf("job %s\n", job);
    }
    free(res);
    osm_store_close(st);
    osm_host_events_free(&e);
    return status;
}

/* The zone of the task's event window (options.event.window.timezone). */
static char *window_zone(const struct osm_task *t)
{
    json_t *o = t->options ? json_loads(t->options, 0, NULL) : NULL;
    json_t *z = json_object_get(json_object_get(json_object_get(o, "event"), "window"), "timezone");
    char *zone = json_is_string(z) ? osm_xstrdup(json_string_value(z)) : NULL;
    json_decref(o);
    return zone;
}

static int reschedule(int argc, char **argv)
{
    struct args a;
    int rc = parse(argc, argv, &a, 2);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    const char *id = argv[a.first], *text = argv[a.first + 1];
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    if (osm_cli_open_store(a.state_dir, 1, &st, &err) != 0)
        return osm_cli_fail(&err);
    int64_t when = 0;
    struct osm_task t;
    osm_task_init(&t);
    int status = OSM_EXIT_OK;
    if (osm_time_parse(text, &when) != 0) {
        /* a local time: in --timezone, or in the instance's window's zone */
        char *zone = a.zone ? osm_xstrdup(a.zone) : NULL;
        if (!zone && osm_store_get_task(st, id, &t, &err) == 0)
            zone = window_zone(&t);
        if (!zone && !err.code)
            osm_err_set(&err, OSM_EUSAGE,
                        "'%s' is not an RFC 3339 time, and task %s's instance has no maintenance window whose zone "
                        "would say what local time it is: give --timezone ZONE",
                        text, id);
        if (zone && osm_host_local_time(zone, text, &when, &err) != 0)
            osm_err_prefix(&err, "%s", zone);
        free(zone);
        osm_task_free(&t);
        osm_task_init(&t);
    }
    if (err.code || osm_host_event_reschedule(st, id, when, (int64_t)time(NULL), &t, &err) != 0) {
        status = osm_cli_fail(&err);
    } else if (a.json) {
        json_t *o = osm_task_to_json(&t);
        osm_cli_print_json(o);
        json_decref(o);
    } else {
        char w[32], l[32];
        printf("%s rescheduled to %s (latest schedule time %s)\n", t.id, osm_time_iso(t.not_before, w),
               osm_time_iso(t.latest_start, l));
    }
    osm_task_free(&t);
    osm_store_close(st);
    return status;
}

int cmd_events(int argc, char **argv)
{
    static const struct osm_cli_subcommand subs[] = {{"import", import}, {"reschedule", reschedule}};
    return osm_cli_subcommand(argc, argv, usage_text, subs, sizeof subs / sizeof subs[0]);
}
