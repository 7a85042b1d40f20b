/* task_json: a task record as JSON, the one shape the fleet API serves and
 * the CLI prints with --json, and back (a client reading the API). */
#ifndef OSM_TASK_JSON_H
#define OSM_TASK_JSON_H

#include <jansson.h>

#include "osm_error.h"
#include "store.h"

json_t *osm_task_to_json(const struct osm_task *t);
/* The task with its history, step journal and audit trail. */
json_t *osm_task_to_json_full(struct osm_store *st, const struct osm_task *t, struct osm_err *err);
/* Add to `o` the audit trail of `object` (a task, job or key id): "audit",
 * [{at, action, by, detail}], oldest first, and "created_by", the actor of
 * its "created" entry (null when none: made before the trail existed). */
int osm_audit_json(struct osm_store *st, const char *object, json_t *o, struct osm_err *err);
/* A task from the API's JSON (osm_task_to_json's shape plus "job_id"). */
int osm_task_from_json(const json_t *j, struct osm_task *t, struct osm_err *err);
/* The "history" member of a full task document as events. */
void osm_task_events_from_json(const json_t *doc, struct osm_task_event **out, size_t *n);

#endif
