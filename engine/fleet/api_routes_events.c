/* api_routes_events.c: POST /v1/events: scheduled host-maintenance events
 * a provider feed (or an admin) posts, imported as `osmig events import`
 * imports a file (engine/sched/host_events.h, docs/host-events.md): one
 * host-maintenance task per new event, all in one job or none, each placed
 * in its instance's window and never past the event's latest schedule time.
 * Each instance must open and be in the key's scope (operator). */
#include <stdlib.h>
#include <string.h>

#include "api_priv.h"
#include "host_events.h"

void api_events_import(struct api_req *rq)
{
    json_t *body = apij_body_no_query(rq, 0);
    if (!body)
        return;
    struct osm_host_events e;
    struct osm_host_import *res = NULL;
    struct osm_err err = OSM_ERR_INIT;
    memset(&e, 0, sizeof e);
    json_t *arr = json_object_get(body, "events");
    if (json_is_array(arr) && json_array_size(arr) > OSM_API_MAX_INSTANCES) {
        api_fail(rq, 400, "InvalidParameter", "events", "events: at most %d a request", OSM_API_MAX_INSTANCES);
        goto out;
    }
    if (osm_host_events_parse(body, "request", &e, &err) != 0) {
        api_fail(rq, 400, "InvalidParameter", NULL, "%s", err.msg);
        goto out;
    }
    /* the instance as every entry point names it: canonical, in scope */
    for (size_t i = 0; i < e.n; i++) {
        char *field = osm_xasprintf("events[%zu].instance", i), *canon = NULL;
        int rc = api_check_instance(rq, OSM_ACT_SUBMIT, e.ev[i].instance, field, &canon);
        free(field);
        if (rc != 0)
            goto out;
        free(e.ev[i].instance);
        e.ev[i].instance = canon;
    }
    struct osm_store *st = api_store(rq);
    if (!st)
        goto out;
    res = osm_xcalloc(e.n + 1, sizeof *res);
    char job[40];
    if (osm_host_events_import(st, &e, rq->now, res, job, &err) != 0) {
        api_fail_err(rq, &err, NULL, "Conflict.InstanceBusy");
        goto out;
    }
    if (job[0])
        api_kick(rq);
    api_reply(rq, job[0] ? 201 : 200, osm_host_import_json(&e, res, job));
out:
    free(res);
    osm_host_events_free(&e);
    json_decref(body);
}
