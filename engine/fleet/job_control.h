/* job_control: what an admin does to a whole job, for the API
 * (api_routes_job_ops.c) and `osmig jobs` on a local store alike.
 *
 * A job is "active", "paused" (no task of it starts; running ones go on) or
 * "cancelled". max_concurrency "0" (or "0%") is a pause. Each change is
 * written at the rev the caller read the job at, with an audit entry naming
 * `actor`: 0 done (job updated in place), 1 the job moved meanwhile
 * (nothing written; read it again), -1 with err: OSM_ECONFLICT when the job's
 * state forbids it (a cancelled job; a resume that leaves max_concurrency
 * 0), OSM_ENOTFOUND when it is gone. Scope checks are the caller's. */
#ifndef OSM_JOB_CONTROL_H
#define OSM_JOB_CONTROL_H

#include <stddef.h>

#include <jansson.h>

#include "osm_error.h"
#include "store.h"

int osm_job_pause(struct osm_store *st, struct osm_job *job, const char *actor, const char *reason,
                  struct osm_err *err);
/* Active again, its stop reason (errors over the limit) cleared; a new
 * max_concurrency when given. */
int osm_job_resume(struct osm_store *st, struct osm_job *job, const char *actor, const char *max_concurrency,
                   struct osm_err *err);
/* New limits (NULL: kept); OSM_EINPUT naming the field when one is not "N"
 * or "N%". */
int osm_job_set_limits(struct osm_store *st, struct osm_job *job, const char *actor, const char *max_concurrency,
                       const char *max_errors, struct osm_err *err);

struct osm_job_cancel_result {
    size_t cancelled;        /* tasks cancelled (not started, or running without a change yet) */
    size_t rolled_back;      /* running tasks sent to roll back */
    size_t failed;           /* tasks that could not be stopped (logged) */
};
/* Cancelled: no task of it starts again; every task not started is
 * cancelled; running ones finish, or with `rollback` roll back (one that
 * changed its instance restores its snapshot set after its current step;
 * one that has not is cancelled). Each task changed gets an audit entry. */
int osm_job_cancel(struct osm_store *st, struct osm_job *job, const char *actor, int rollback, const char *reason,
                   struct osm_job_cancel_result *res, struct osm_err *err);

/* max_concurrency "0" or "0%": the job is paused. */
int osm_job_limit_is_zero(const char *limit);
/* The job as the API shows it: its tasks' kind, limits, state, counts by state, progress,
 * "created_by" and its audit trail. NULL with err on a store error. */
json_t *osm_job_to_json(struct osm_store *st, const struct osm_job *j, struct osm_err *err);

/* Task `t` (initialised) as one of a job's: an os-migration of instance
 * `canon` (canonical) to `target` with its options (JSON text, taken), its
 * schedule, placed now as the scheduler would (scheduled with its start
 * time, when it has one), so the scheduler's pass has nothing to rewrite. */
void osm_job_task_init(struct osm_task *t, const char *canon, const char *target, char *options, int64_t not_before,
                       int64_t latest_start, const char *window, int64_t now);

/* An admin releases task `id` stuck in rollback_failed (its instance in a
 * state nobody knows, held so that nothing else starts on it): it ends
 * failed, error code "released", the cause saying who released it, why,
 * and that the instance was left as the failed rollback left it; the
 * instance is free again. `reason` is required. OSM_ECONFLICT in any other
 * state. */
int osm_task_release(struct osm_store *st, const char *id, const char *actor, const char *reason,
                     struct osm_err *err);

/* Is TARGET a target of an OS family that can migrate (the table of
 * families, with the extra matrix files)? 1 yes, 0 no, -1 a matrix file
 * does not load (err set). For job creates and `osmig migrate`. */
int osm_known_target(const char *target, const char *const *files, size_t n, struct osm_err *err);

#endif
