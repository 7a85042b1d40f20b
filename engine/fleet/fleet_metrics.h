/* fleet_metrics: the metrics `osmig serve` exposes at GET /metrics, in one
 * place: each family's name and HELP text (with its unit), declared at start
 * so that every family is listed before its first sample, and the gauges
 * read from the store and the file systems at each scrape (docs/api.md
 * "Metrics"). The OSM_M_* macros expand to `name, help` for the
 * osm_metrics_* calls (metrics.h). */
#ifndef OSM_FLEET_METRICS_H
#define OSM_FLEET_METRICS_H

#include <stdint.h>

#include "metrics.h"
#include "osm_error.h"
#include "store.h"

#define OSM_M_API_REQUESTS "osmig_api_requests_total", "API requests answered, by route and status (unit: requests)"
#define OSM_M_API_DURATION \
    "osmig_api_request_duration_seconds", "Time to answer an API request, by route (unit: seconds)"
#define OSM_M_API_OVER_LIMIT \
    "osmig_api_connections_over_limit_total", "Connections past a connection limit, answered 503 (unit: connections)"
#define OSM_M_ORPHANS \
    "osmig_worker_orphans_claimed_total", "Tasks left by a dead engine that this server took over (unit: tasks)"
#define OSM_M_SCHED_PASS "osmig_scheduler_pass_seconds", "Duration of a scheduler pass (unit: seconds)"
#define OSM_M_SCHED_CLAIMED "osmig_scheduler_claimed_total", "Due tasks the scheduler claimed to run (unit: tasks)"
#define OSM_M_PHASE \
    "osmig_phase_duration_seconds", "Time tasks spent in each phase on this server, by phase (unit: seconds)"
#define OSM_M_WORKER_TASKS \
    "osmig_worker_tasks_total", "Task runs on this server, by how they ended (unit: runs)"
#define OSM_M_TASKS "osmig_tasks", "Tasks in the store, by state (unit: tasks)"
#define OSM_M_JOB_TASKS \
    "osmig_job_tasks", "Tasks of a job that failed, rolled back or failed to roll back, by job and state; jobs " \
    "with none are not listed (unit: tasks)"
#define OSM_M_OLDEST_RUNNING \
    "osmig_oldest_running_task_age_seconds", "Time since the oldest running (or rolling back) task started its " \
    "current run; 0 when none runs (unit: seconds)"
#define OSM_M_STORE_WRITE \
    "osmig_store_write_duration_seconds", "Duration of a write transaction of this server's store connections, " \
    "commit included (unit: seconds)"
#define OSM_M_FREE \
    "osmig_filesystem_free_bytes", "Space free for osmig on the file system of the state directory " \
    "(store=\"state\") and of the snapshot store (store=\"snapshot\") (unit: bytes)"
#define OSM_M_SIZE \
    "osmig_filesystem_size_bytes", "Size of the file system of the state directory and of the snapshot store " \
    "(unit: bytes)"

/* Declare every family, and time every store write of this process into
 * OSM_M_STORE_WRITE (osm_store_set_write_observer). */
void osm_fleet_metrics_start(struct osm_metrics *m);
/* Stop timing store writes (before `m` is freed). */
void osm_fleet_metrics_stop(void);
/* Read the scrape's gauges (tasks by state, per-job failures, the oldest
 * running task, free space of `state_dir` and of the snapshot store:
 * $OSMIG_SNAPSHOT_STORE or the default) and render every family (caller
 * frees); NULL with err when the store cannot be read. */
char *osm_fleet_metrics_scrape(struct osm_metrics *m, struct osm_store *st, const char *state_dir, int64_t now,
                               struct osm_err *err);

#endif
