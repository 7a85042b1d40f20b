/* runner: runs a task's steps from its kind's table, crash-safely.
 *
 * Before a step acts the runner records its intent, after it the outcome
 * (store.h: one transaction each, with the task's new position). An engine
 * killed at any instant and started again continues from the right step: a
 * step whose intent has no outcome is run again when idempotent; otherwise
 * the step's check says whether it happened (never repeated blindly). A
 * failure after anything changed goes to rolling_back and runs the kind's
 * rollback step; before any change it ends as failed. The runner claims a
 * task before touching it, so two engines never run the same task.
 *
 * Crash injection (tests): OSMIG_CRASH_AT=N makes the process _exit(137) at
 * the Nth crash point: just before and just after every record the runner
 * writes, and wherever a step calls osm_step_crash_point(); OSMIG_CRASH_AT=
 * WHERE (not a number) at the first point of that name a step passes. */
#ifndef OSM_RUNNER_H
#define OSM_RUNNER_H

#include <stddef.h>

#include "osm_error.h"
#include "store.h"
#include "kind.h"
#include "task.h"

struct osm_instance;

struct osm_runner_opts {
    /* Called for every history event the runner records, and for progress. */
    void (*on_event)(void *user, const struct osm_task *t, const char *type, const char *message);
    void (*on_progress)(void *user, const struct osm_task *t);
    void *user;
    /* How long the runner's claim lasts unless renewed, from the first
     * claim on (0: 300 s). `osmig serve --lease` passes its own. */
    int64_t lease_seconds;
};

/* What a step sees. */
struct osm_step_ctx {
    struct osm_store *store;
    struct osm_task *task;              /* current fields; use the helpers below to change them */
    const struct osm_task_kind *kind;
    const struct osm_step *step;
    int step_index;                     /* -1 for the rollback step */
    const struct osm_runner_opts *opts;
    struct osm_instance *inst;          /* opened on first osm_step_instance() */
};

/* The task's instance, opened on first use. NULL with err set on failure. */
struct osm_instance *osm_step_instance(struct osm_step_ctx *ctx, struct osm_err *err);
/* Progress within the current step, 0..1, with a short message. Persisted
 * (at most about once a second) and passed to on_progress. */
void osm_step_progress(struct osm_step_ctx *ctx, double fraction, const char *message);
/* A durable note in the task (e.g. the boot id before a reboot, for the
 * reboot's check). Written to the store before it returns. */
int osm_step_note_set(struct osm_step_ctx *ctx, const char *key, const char *value, struct osm_err *err);
/* The note's value, or NULL. Valid until the next note is set. */
const char *osm_step_note(struct osm_step_ctx *ctx, const char *key);
int osm_step_set_snapshot_set(struct osm_step_ctx *ctx, const char *set_id, struct osm_err *err);
/* Append an event to the task's history ("boot", "boot 2 of 2: id ..."). */
int osm_step_event(struct osm_step_ctx *ctx, const char *type, const char *message, struct osm_err *err);
/* A place where a test may kill the engine (OSMIG_CRASH_AT). */
void osm_step_crash_point(const char *where);

/* Run task `id` until it is finished or waits for its schedule.
 * 0: ran (see the task's state), 1: another live engine holds it,
 * -1: the store failed or the task cannot run here (unknown kind). */
int osm_runner_run(struct osm_store *st, const char *id, const struct osm_runner_opts *opts, struct osm_err *err);
/* Run every unfinished task that no live engine holds and that is due
 * (`osmig resume`); with `interrupted_only`, only those osm_runner_count_resumable()
 * counts as interrupted. *n_run counts the tasks run. Errors of single tasks
 * are logged and do not stop the others; -1 only when the store fails. */
int osm_runner_resume_all(struct osm_store *st, int interrupted_only, const struct osm_runner_opts *opts,
                          size_t *n_run, struct osm_err *err);
/* How many tasks osm_runner_resume_all() would run now; with
 * `interrupted_only`, only those an engine began and left (running or
 * rolling back, or claimed by an engine that is gone), not tasks that were
 * submitted and never picked up (those are the scheduler's). */
int osm_runner_count_resumable(struct osm_store *st, int interrupted_only, size_t *n, struct osm_err *err);

/* Cancel a task that has not changed its instance. OSM_ECONFLICT otherwise. */
int osm_runner_cancel(struct osm_store *st, const char *id, struct osm_err *err);
/* Queue a finished, unsuccessful task again from its first step (failed,
 * rolled_back, cancelled, expired), or its rollback again (rollback_failed).
 * The caller then runs it. */
int osm_runner_retry(struct osm_store *st, const char *id, struct osm_err *err);
/* Ask for a rollback of a succeeded task (its snapshot set was kept) or of a
 * task whose rollback failed. */
int osm_runner_request_rollback(struct osm_store *st, const char *id, struct osm_err *err);

#endif
