/* task: the task model. A task is one job on one instance (an OS migration
 * now; later a classic-network-to-VPC migration or a host-maintenance
 * migration). Its kind names a table of steps; each step belongs to a phase
 * (what users see) and says whether it is idempotent and whether it changes
 * the instance. The runner (runner.h) walks that table; the store (store.h)
 * keeps the task durable.
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

void osm_task_init(struct osm_task *t);
void osm_task_free(struct osm_task *t);
void osm_task_copy(struct osm_task *dst, const struct osm_task *src);
/* Replace an owned string field (value may be NULL). */
void osm_task_set_str(char **field, const char *value);

/* ---- kinds and steps ---- */

struct osm_step_ctx; /* runner.h */

/* 0 done, -1 failed (err set). */
typedef int (*osm_step_fn)(struct osm_step_ctx *ctx, struct osm_err *err);
/* Did a non-idempotent step whose intent has no outcome happen?
 * 1 yes (completely), 0 no (nothing of it happened, safe to run), -1 cannot
 * tell or half done (err set; the task then rolls back). */
typedef int (*osm_step_check_fn)(struct osm_step_ctx *ctx, struct osm_err *err);

struct osm_step {
    const char *name;        /* unique within the kind: "stage", "reboot-1" */
    const char *phase;       /* what users see: "staging", "rebooting" */
    osm_step_fn run;         /* NULL until a backend registers it */
    osm_step_check_fn check; /* required when !idempotent */
    int idempotent;          /* safe to run again after a crash mid-way */
    int changes_instance;    /* once begun, a failure needs a rollback */
};

struct osm_task_kind {
    const char *name;              /* "os-migration" */
    struct osm_step *steps;
    size_t n_steps;
    struct osm_step rollback;      /* must be idempotent; run on failure after a change */
};

/* The kinds this program knows. Registering a kind with the name of one
 * already known replaces it (tests). The table must outlive its use. */
void osm_task_kind_register(const struct osm_task_kind *kind);
const struct osm_task_kind *osm_task_kind_find(const char *name);

/* The os-migration kind: prechecks, snapshot, stage, reboot, upgrade,
 * reboot, verify; rollback restores the snapshot set. Its step functions are
 * provided by the backends through this call (step names: "precheck",
 * "snapshot", "stage", "reboot-1", "upgrade", "reboot-2", "verify",
 * "rollback"). -1 when `step` is not one of them or a non-idempotent step
 * comes without a check. A step left unregistered fails with a clear cause. */
#define OSM_KIND_OS_MIGRATION "os-migration"
int osm_os_migration_provide(const char *step, osm_step_fn run, osm_step_check_fn check, struct osm_err *err);

#endif
