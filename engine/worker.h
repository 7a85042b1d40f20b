/* worker: what runs tasks in `osmig serve`.
 *
 * A loop thread, every interval or when kicked: claims orphans (tasks an
 * engine began and left: its process died on this host, or its lease ran
 * out elsewhere), then runs a scheduler pass (scheduler.h) that claims the
 * due tasks rate control allows. Claimed ids go to a queue that N worker
 * threads drain with osm_runner_run(), each thread on its own store
 * connection. A heartbeat thread renews the claim of every queued and
 * running task well before its lease runs out, so a long step never loses
 * its task to another engine. Stopping finishes the tasks being run and
 * releases the queued claims. */
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

#endif
