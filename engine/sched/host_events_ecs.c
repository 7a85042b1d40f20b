/* host_events_ecs.c: an ECS DescribeInstanceHistoryEvents answer, as the
 * API returns it, read as an events file (host_events.h,
 * docs/host-events.md "ECS's own answer").
 *
 * Each InstanceSystemEventSet.InstanceSystemEventType[] entry that is still
 * to come (EventCycleStatus.Name Scheduled or Inquiring) is an event: EventId,
 * the osmig instance that "instances" maps its InstanceId to, EventType.Name,
 * NotBefore the scheduled time and ExtendedAttribute.InitialNotBefore the
 * latest schedule time. Entries of events that are over (Executed, Avoided,
 * Canceled, Failed) or running (Executing) are left out. ECS's own members
 * (capitalised: RequestId, TotalCount...) are allowed and ignored. */
#include "host_events.h"

#include <stdio.h>
#include <string.h>

static int bad(struct osm_err *err, const char *file, const char *where, const char *what)
{
    return osm_err_set(err, OSM_EINPUT, "%s: %s: %s", file, where, what);
}

static const char *str_at(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

int osm_host_events_is_ecs(json_t *j)
{
    return json_object_get(j, "InstanceSystemEventSet") != NULL;
}

json_t *osm_host_events_from_ecs(json_t *j, const char *file, struct osm_err *err)
{
    const char *k;
    json_t *v, *instances = json_object_get(j, "instances");
    json_object_foreach(j, k, v)
    {
        if (*k >= 'A' && *k <= 'Z')
            continue; /* the answer's own members */
        if (strcmp(k, "instances") && strcmp(k, "windows")) {
            char what[160];
            snprintf(what, sizeof what, "unknown member '%s' (an ECS answer, instances, windows)", k);
            bad(err, file, k, what);
            return NULL;
        }
    }
    if (!json_is_object(instances)) {
        bad(err, file, "instances", "is required with an ECS answer: an object of ECS InstanceId to osmig instance");
        return NULL;
    }
    json_t *list = json_object_get(json_object_get(j, "InstanceSystemEventSet"), "InstanceSystemEventType");
    if (!json_is_array(list)) {
        bad(err, file, "InstanceSystemEventSet.InstanceSystemEventType", "must be an array (the answer's events)");
        return NULL;
    }
    json_t *events = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        char where[96], what[320];
        snprintf(where, sizeof where, "InstanceSystemEventSet.InstanceSystemEventType[%zu]", i);
        const char *status = str_at(e, "EventCycleStatus", "Name");
        if (status && strcmp(status, "Scheduled") != 0 && strcmp(status, "Inquiring") != 0)
            continue; /* over, or under way: nothing to schedule */
        const char *id = str_at(e, "EventId", NULL), *ecs_id = str_at(e, "InstanceId", NULL),
                   *kind = str_at(e, "EventType", "Name"), *nb = str_at(e, "NotBefore", NULL),
                   *latest = str_at(e, "ExtendedAttribute", "InitialNotBefore");
        const char *missing = !id ? "EventId" : !ecs_id ? "InstanceId" : !kind ? "EventType.Name" : !nb ? "NotBefore"
                              : !latest ? "ExtendedAttribute.InitialNotBefore (the latest schedule time)" : NULL;
        const char *uri = ecs_id ? str_at(instances, ecs_id, NULL) : NULL;
        if (missing || !uri) {
            if (missing)
                snprintf(what, sizeof what, "has no %s", missing);
            else
                snprintf(what, sizeof what, "InstanceId %s is not in \"instances\" (which osmig instance is it?)",
                         ecs_id);
            bad(err, file, where, what);
            json_decref(events);
            return NULL;
        }
        json_array_append_new(events, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "instance", uri, "kind", kind,
                                                "scheduled", nb, "latest", latest));
    }
    json_t *out = json_pack("{s:o}", "events", events);
    json_t *w = json_object_get(j, "windows");
    if (w)
        json_object_set(out, "windows", w);
    return out;
}
