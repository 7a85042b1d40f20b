/* scheduler: one pass over the waiting tasks of the store.
 *
 * For every task in submitted or scheduled: past its latest start -> expired
 * (cause says so); not yet due (not_before or its window) -> scheduled with
 * not_before moved to the next window opening; due -> a candidate. Then per
 * job, rate control (schedule.h) says how many candidates may start, and
 * those are claimed for `owner` (osm_store_claim_waiting: SKIP LOCKED in
 * PostgreSQL). A job whose errors exceed its limit gets a stop reason and
 * starts nothing more. Window specs are parsed once per distinct text per
 * pass. */
#ifndef OSM_SCHEDULER_H
#define OSM_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"
#include "store.h"

struct osm_sched_result {
    size_t n_waiting, n_expired, n_scheduled, n_due, n_claimed, n_jobs_stopped;
    char (*claimed)[40];     /* ids claimed for the caller to run (caller frees) */
};

int osm_scheduler_pass(struct osm_store *st, int64_t now, const char *owner, int64_t lease_seconds,
                       struct osm_sched_result *res, struct osm_err *err);
void osm_sched_result_free(struct osm_sched_result *r);

#endif
