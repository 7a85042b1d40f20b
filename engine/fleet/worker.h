/* worker: what runs tasks in `osmig serve`.
 *
 * A loop thread, every interval or when kicked: claims orphans (tasks an
 * engine began and left: its process died on this host, or its lease ran
 * out elsewhere), then runs a scheduler pass (scheduler.h) that claims the
 * due tasks rate control allows. Claimed ids go to a queue that N worker
 * threads drain, each on its own store connection.
 *
 * A task runs in a child process (`osmig serve --run-task ID`), never in a
 * thread of the server: the rpm transaction chroot()s its whole process,
 * which would pull the store, the other tasks and the API out from under
 * their paths. The worker thread hands its claim over to the child (release,
 * then claim for the child's owner id, while no scheduler pass runs), then
 * the child runs the task with osm_runner_run() and a heartbeat thread that
 * renews its claim well before the lease runs out, so a long step never
 * loses its task to another engine. The server's own heartbeat renews the
 * claims of queued tasks. A child that dies leaves its task to the orphan
 * claims. Stopping finishes the tasks being run and releases the queued
 * claims. */
#ifndef OSM_WORKER_H
#define OSM_WORKER_H

#include <stdint.h>

#include "osm_error.h"

struct osm_metrics;
struct osm_worker;

struct osm_worker_config {
    const char *store_location;   /* state dir or postgresql:// URL */
    int n_workers;                /* task threads, >= 1 */
    int interval;                 /* seconds between passes, >= 1 */
    int64_t lease_seconds;        /* claim lease (0: 300) */
    struct osm_metrics *metrics;  /* may be NULL */
};

int osm_worker_start(const struct osm_worker_config *cfg, struct osm_worker **out, struct osm_err *err);
/* Run a pass now (e.g. a job was created); `w` is a struct osm_worker *. */
void osm_worker_kick(void *w);
void osm_worker_stop(struct osm_worker *w);

/* The child's side (`osmig serve --run-task ID`): wait for "go" on stdin
 * (the claim is ours then), run the task with a heartbeat, report phase
 * changes on stdout as "phase NAME SECONDS" lines and the end as "state
 * NAME". Exit status: 0 ran, 1 error, 3 not handed over or held elsewhere. */
int osm_worker_child(const char *store_location, const char *id, int64_t lease_seconds);

#endif
