/* host_events: scheduled host-maintenance events (after
 * ../shared/seeds/physical-server-migration-notice.md): the provider moves
 * an instance off its physical server at a scheduled time that the admin may
 * change, never past the event's latest schedule time.
 *
 * An event (instance, kind, scheduled time, latest schedule time) comes from
 * an events file (docs/host-events.md); importing it makes one task of kind
 * "host-maintenance" (OSM_KIND_HOST_MAINTENANCE, task.h; its steps are the
 * core's) per event, in one job: all or nothing. The task starts
 * at the event's place (osm_host_event_place): the first opening of the
 * instance's maintenance window at or after the scheduled time when that is
 * before the latest time, else the last opening before the scheduled time
 * from now on, else the scheduled time; its latest start is the latest
 * schedule time, so the scheduler (scheduler.h) expires it, with that cause,
 * when it has not started by then. The clock is always a parameter. */
#ifndef OSM_HOST_EVENTS_H
#define OSM_HOST_EVENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"
#include "store.h"

struct osm_host_event {
    char *id;            /* the provider's event id: unique in the file */
    char *instance;      /* instance URI (the caller may make it canonical before import) */
    char *kind;          /* e.g. "SystemMaintenance.Redeploy" */
    int64_t scheduled;   /* the provider's NotBefore */
    int64_t latest;      /* the latest schedule time (ECS: ExtendedAttribute.InitialNotBefore) */
    char *window;        /* the instance's maintenance window spec (schedule.h), or NULL */
};

struct osm_host_events {
    char *path;
    struct osm_host_event *ev;
    size_t n;
};

/* Read an events file; errors name the file and the member
 * ("events.json: events[2].latest: ..."): a malformed time, a latest time
 * before the scheduled one, a bad window, an event id listed twice, two
 * events of one instance. */
int osm_host_events_load(const char *path, struct osm_host_events *out, struct osm_err *err);
/* The same from parsed JSON (a request's body); errors start with `name`. */
int osm_host_events_parse(json_t *j, const char *name, struct osm_host_events *out, struct osm_err *err);
void osm_host_events_free(struct osm_host_events *e);
/* ECS's own DescribeInstanceHistoryEvents answer (host_events_ecs.c): is
 * `j` one? Its events still to come in this file's form ({"events",
 * "windows"}; new reference), or NULL with err naming the entry. Both
 * loaders take either form. */
int osm_host_events_is_ecs(json_t *j);
json_t *osm_host_events_from_ecs(json_t *j, const char *file, struct osm_err *err);

/* Where the task of `ev` goes, as of `now`: *at, and `words` saying why.
 * 1 placed in the instance's window, 0 at the scheduled time (or now, when
 * that has passed), -1 the latest schedule time has passed (nothing to place). */
int osm_host_event_place(const struct osm_host_event *ev, int64_t now, int64_t *at, char *words, size_t words_size);

enum osm_host_import_status { OSM_HOST_CREATED, OSM_HOST_ALREADY, OSM_HOST_PASSED };
struct osm_host_import {
    int status;
    char task_id[40];    /* created, or the task imported before */
    int64_t at;          /* created: when it starts */
    int in_window;
};

/* Import the events as of `now`: res[i] says what became of ev[i]. Events
 * imported before (a task with the same event id on the same instance) and
 * events whose latest time has passed are left out; the rest are created in
 * one job (job_id; "" when none) or not at all (another task holds an
 * instance: OSM_ECONFLICT naming it). */
int osm_host_events_import(struct osm_store *st, const struct osm_host_events *e, int64_t now,
                           struct osm_host_import *res, char job_id[40], struct osm_err *err);

/* What an import did, for `osmig events import --json` and POST /v1/events:
 * {"job": id|null, "events": [{"id", "instance", "status": "created" |
 * "already-imported" | "latest-time-passed", "task", "starts", "in_window",
 * "latest"}]}. */
json_t *osm_host_import_json(const struct osm_host_events *e, const struct osm_host_import *res, const char *job_id);

/* Move a waiting host-maintenance task to `when`. Refused (OSM_EINPUT) when
 * `when` is after the latest schedule time, in the seed's words ("The new
 * migration time cannot be later than the Latest Schedule Time"), or before
 * `now`; OSM_ECONFLICT when the task has started or finished; OSM_EUSAGE
 * when it is not a host-maintenance task. The task as written in *out. */
int osm_host_event_reschedule(struct osm_store *st, const char *task_id, int64_t when, int64_t now,
                              struct osm_task *out, struct osm_err *err);

/* A local wall-clock time "YYYY-MM-DDTHH:MM[:SS]" in IANA zone `zone` as an
 * instant, as the console's "Scheduled Date" and "Scheduled Time" are: in a
 * DST gap the first valid instant after it, in an overlap the first
 * occurrence (tzif.h). OSM_EINPUT naming the text or the zone. */
int osm_host_local_time(const char *zone, const char *text, int64_t *out, struct osm_err *err);

#endif
