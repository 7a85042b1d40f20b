/* scheduler: one pass over the waiting tasks of the store.
 *
 * A waiting task (submitted or scheduled) past its latest start -> expired
 * (cause says so); not yet due (not_before or its window) -> scheduled with
 * not_before moved to the next window opening; due -> a candidate. Per job,
 * rate control (schedule.h) says how many candidates may start, and those
 * are claimed for `owner` (osm_store_claim_waiting: SKIP LOCKED in
 * PostgreSQL), at most `capacity` in all: what the caller can run now. A
 * job whose errors exceed its limit gets a stop reason and starts nothing
 * more; its tasks are not read again.
 *
 * Bounded work: candidates are read in start order (not_before, then
 * creation), a page at a time, until `capacity` are claimed or 64 pages
 * (4,000 rows) were read; unclaimed tasks of unstopped jobs only, and a job
 * found at its limit is skipped by the next pages. So 100,000 due tasks cost a
 * pass no more than 100; the rest start in later passes in the same order.
 * At most 500 rows are written a pass (expiries, schedules), the rest by
 * the next. capacity 0 still expires and schedules. Window specs are parsed
 * once per distinct text per pass. */
#ifndef OSM_SCHEDULER_H
#define OSM_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"
#include "store.h"

struct osm_sched_result {
    size_t n_waiting;        /* waiting rows read this pass (not all that wait) */
    size_t n_expired, n_scheduled, n_due, n_claimed, n_jobs_stopped;
    char (*claimed)[40];     /* ids claimed for the caller to run, n_claimed <= capacity (caller frees) */
};

int osm_scheduler_pass(struct osm_store *st, int64_t now, const char *owner, int64_t lease_seconds, size_t capacity,
                       struct osm_sched_result *res, struct osm_err *err);
void osm_sched_result_free(struct osm_sched_result *r);

/* Where a task being created stands, as a pass would place it: 1 when it
 * cannot start at `now` (a later not_before, a window that is closed now):
 * *not_before is when it may start and `words` what the pass writes of it
 * ("waiting for its maintenance window: next start ..."); 0 when it is due
 * now, or its window cannot be used or its latest start has passed (the
 * pass says so). A create that writes the row so spares the pass writing
 * it again. */
int osm_scheduler_place(const struct osm_task *t, int64_t now, int64_t *not_before, char *words, size_t words_size);

#endif
