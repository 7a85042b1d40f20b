/* netplan_job: a verified network migration plan as a job of the fleet
 * (docs/network-plans.md, "Run"), the one path of `osmig network run` and
 * POST /v1/network-plans: the same job, the same tasks.
 *
 * Each instance the plan migrates becomes one network-migration task whose
 * options are netplan_run.h's, starting at its migration time (a time that
 * has come: now), placed in the job's maintenance window when one is given
 * (as an OS-migration job's tasks are), never after the job's latest start.
 * The job carries the rate limits; the scheduler applies them as to any
 * job. An instance others depend on must still start after them once
 * placed, or the plan is refused. Verify findings that block a run: every
 * error but `time.past` (the instance is due). Nothing here writes. */
#ifndef OSM_NETPLAN_JOB_H
#define OSM_NETPLAN_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "netplan.h"
#include "netplan_verify.h"
#include "store.h"

struct osm_netplan_job_opts {
    int64_t now;
    const char *window;          /* a maintenance window (JSON text, engine/sched/schedule.h); NULL none */
    int64_t latest_start;        /* 0 none */
    const char *max_concurrency; /* NULL: no limit but the ramp-up */
    const char *max_errors;      /* NULL: no limit */
    const char *created_by;      /* the audit trail's actor; NULL none */
};

/* Does finding `f` keep the plan from running? */
int osm_netplan_finding_blocks(const struct osm_net_finding *f);
/* How many of the report's findings do. */
size_t osm_netplan_blocking(const struct osm_net_report *r);

/* The job (initialised by the caller) and its tasks (*tasks allocated,
 * *n of them, in the plan's order) of plan `p` verified as `r` with no
 * blocking finding. canon[i] is instance i's canonical osmig URI (NULL for
 * those that stay). -1 with err (OSM_EINPUT naming the plan, the instance
 * and what is wrong) and nothing allocated. */
int osm_netplan_job_make(const struct osm_netplan *p, const struct osm_net_report *r, char *const *canon,
                         const struct osm_netplan_job_opts *o, struct osm_job *job, struct osm_task **tasks,
                         size_t *n, struct osm_err *err);

#endif
