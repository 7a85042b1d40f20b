/* schedule: when a task may start. Pure functions of a spec and a clock, so
 * tests inject the time.
 *
 * Maintenance window spec (JSON text, kept in osm_task.window):
 *   {"timezone": "Asia/Shanghai",          IANA zone name (required)
 *    "days_of_week": ["sat","sun"],         and/or
 *    "days_of_month": [1, 15, -1],          (-1: the last day of the month)
 *    "start": "02:00",                      local wall-clock time
 *    "duration": "4h" | "90m" | 14400,      seconds when a number; <= 7 days
 *    "cutoff": "30m" | 1800}                no start later than this before the end
 * A window opens on each listed day (every day when neither list is given)
 * at `start` local time; on a DST gap the start moves to the first valid
 * local time after it, on a DST overlap the first occurrence counts. A task
 * may start at t when t is in [open, close - cutoff). */
#ifndef OSM_SCHEDULE_H
#define OSM_SCHEDULE_H

#include <stdint.h>

#include "osm_error.h"

struct osm_window;

/* Parse and validate a spec; errors name the member ("window.start: ..."). */
int osm_window_parse(const char *json_text, struct osm_window **out, struct osm_err *err);
void osm_window_free(struct osm_window *w);
/* The earliest t' >= t at which a task may start, with *close the end of
 * that window's start range (close - cutoff). -1 when none within a year. */
int osm_window_next_start(const struct osm_window *w, int64_t t, int64_t *start, int64_t *close);
/* 1 when a task may start at t. */
int osm_window_open_at(const struct osm_window *w, int64_t t);

/* Rate control of a job: a limit as "N" or "N%" of the job's task count. */
int osm_rate_limit_parse(const char *text, const char *field, int *value, int *percent, struct osm_err *err);
/* The limit as a count of tasks of a job with n_tasks (a percentage rounds
 * up, never below 1 for concurrency). */
int osm_rate_limit_count(int value, int percent, int64_t n_tasks, int at_least_one);

/* How many more tasks of a job may start now. Ramp-up: the job may run at
 * most min(max_concurrency, 2^succeeded) tasks at once, so the first task
 * runs alone, then two, then four... (max_conc < 0: no limit but the
 * ramp-up). When errors (failed, rolled back, rollback failed, expired)
 * exceed max_errors (< 0: no limit), 0 and *stop_reason names the counts and
 * the limit (caller frees); otherwise *stop_reason = NULL. */
struct osm_job_progress {
    int64_t n_tasks, running, succeeded, errors, waiting;
};
int osm_rate_allowed(const struct osm_job_progress *p, int max_conc, int max_errors, char **stop_reason);

#endif
