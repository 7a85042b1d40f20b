/* task: the task record. A task is one job on one instance (an OS migration
 * now; later a classic-network-to-VPC migration or a host-maintenance
 * migration). Its kind (core/kind.h) names a table of steps; the runner
 * (core/runner.h) walks that table; the store (store.h) keeps the record
 * durable.
 *
 * States: submitted -> scheduled -> running (phase = the step's phase) ->
 * succeeded; a failure after a change -> rolling_back -> rolled_back or
 * rollback_failed (a person must act; the cause says what); a failure before
 * any change -> failed; cancelled only before any change; expired when the
 * latest start time passed before the task started. */
#ifndef OSM_TASK_H
#define OSM_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"

enum osm_task_state {
    OSM_TASK_SUBMITTED,
    OSM_TASK_SCHEDULED,
    OSM_TASK_RUNNING,
    OSM_TASK_ROLLING_BACK,
    OSM_TASK_SUCCEEDED,
    OSM_TASK_FAILED,
    OSM_TASK_ROLLED_BACK,
    OSM_TASK_ROLLBACK_FAILED,
    OSM_TASK_CANCELLED,
    OSM_TASK_EXPIRED,
};
#define OSM_TASK_N_STATES 10

const char *osm_task_state_name(enum osm_task_state s);
/* -1 when `name` is not a state. */
int osm_task_state_parse(const char *name);
/* Finished: nothing more will happen to the task without a person
 * (succeeded, failed, rolled_back, rollback_failed, cancelled, expired). */
int osm_task_state_finished(enum osm_task_state s);
/* Holds its instance: no other task may start on it (every unfinished state,
 * and rollback_failed, whose instance is in an unknown state). */
int osm_task_state_holds_instance(enum osm_task_state s);

/* One task as stored. Strings are owned (NULL when unset). */
struct osm_task {
    char id[40];
    char kind[40];
    char *instance;          /* instance URI */
    char *target;            /* e.g. "alinux3" */
    enum osm_task_state state;
    char phase[40];          /* "submitted", "prechecking", "rolling_back", ... */
    int step;                /* index of the next step in the kind's table */
    int attempted;           /* intent of `step` recorded, no outcome yet */
    int changed;             /* a step that changes the instance has begun */
    double progress;         /* 0..100 within the task */
    char *progress_msg;
    int64_t not_before;      /* unix time; 0 = now */
    char *window;            /* maintenance window spec (evaluated by the scheduler) */
    int64_t latest_start;    /* unix time; 0 = none */
    char *snapshot_set;
    char *error_code;        /* machine-readable: "step.verify", "precheck.vcpus", ... */
    char *cause;             /* human words: what happened and what to do */
    int64_t created, updated;
    char *job_id;            /* the fleet job it belongs to; NULL for a task made by `osmig migrate` */
    char *options;           /* JSON object text */
    char *data;              /* JSON object text: the steps' durable notes */
    char *owner;             /* claim: "BOOTID:PID" of the engine running it */
    int64_t lease_until;
    int64_t rev;             /* bumped by every commit */
};

/* The name of the os-migration kind (core/kind.h), as records carry it. */
#define OSM_KIND_OS_MIGRATION "os-migration"
/* The kind of a scheduled host-maintenance event's task (core/host_maintenance.h). */
#define OSM_KIND_HOST_MAINTENANCE "host-maintenance"

void osm_task_init(struct osm_task *t);
void osm_task_free(struct osm_task *t);
void osm_task_copy(struct osm_task *dst, const struct osm_task *src);
/* Replace an owned string field (value may be NULL). */
void osm_task_set_str(char **field, const char *value);

#endif
