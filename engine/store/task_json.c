/* task_json.c: see task_json.h. */
#include "task_json.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "osm_buf.h"
#include "osm_time.h"

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t t)
{
    char buf[32];
    return t > 0 ? json_string(osm_time_iso(t, buf)) : json_null();
}

json_t *osm_task_to_json(const struct osm_task *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(t->id));
    json_object_set_new(o, "kind", json_string(t->kind));
    json_object_set_new(o, "instance", str_or_null(t->instance));
    json_object_set_new(o, "target", str_or_null(t->target));
    json_object_set_new(o, "state", json_string(osm_task_state_name(t->state)));
    json_object_set_new(o, "phase", json_string(t->phase));
    json_object_set_new(o, "finished", json_boolean(osm_task_state_finished(t->state)));
    json_object_set_new(o, "progress", json_real(t->progress));
    json_object_set_new(o, "progress_message", str_or_null(t->progress_msg));
    json_t *sched = json_object();
    json_object_set_new(sched, "not_before", time_or_null(t->not_before));
    json_object_set_new(sched, "window", str_or_null(t->window));
    json_object_set_new(sched, "latest_start", time_or_null(t->latest_start));
    json_object_set_new(o, "schedule", sched);
    json_object_set_new(o, "snapshot_set", str_or_null(t->snapshot_set));
    json_object_set_new(o, "changed_instance", json_boolean(t->changed));
    if (t->error_code || t->cause) {
        json_t *e = json_object();
        json_object_set_new(e, "code", str_or_null(t->error_code));
        json_object_set_new(e, "cause", str_or_null(t->cause));
        json_object_set_new(o, "error", e);
    } else {
        json_object_set_new(o, "error", json_null());
    }
    json_object_set_new(o, "created", time_or_null(t->created));
    json_object_set_new(o, "updated", time_or_null(t->updated));
    json_t *opts = t->options ? json_loads(t->options, 0, NULL) : NULL;
    json_object_set_new(o, "options", opts ? opts : json_object());
    json_object_set_new(o, "owner", str_or_null(t->owner));
    return o;
}

json_t *osm_task_to_json_full(struct osm_store *st, const struct osm_task *t, struct osm_err *err)
{
    struct osm_task_event *ev;
    struct osm_journal_entry *jl;
    size_t nev, nj;
    if (osm_store_list_events(st, t->id, &ev, &nev, err) != 0)
        return NULL;
    if (osm_store_list_journal(st, t->id, &jl, &nj, err) != 0) {
        osm_task_events_free(ev, nev);
        return NULL;
    }
    json_t *o = osm_task_to_json(t);
    json_t *h = json_array();
    for (size_t i = 0; i < nev; i++) {
        json_array_append_new(h, json_pack("{s:o,s:s,s:o}", "at", time_or_null(ev[i].at), "type", ev[i].type,
                                           "message", str_or_null(ev[i].message)));
    }
    json_object_set_new(o, "history", h);
    /* Each run's report (a "report" event names its directory), by the run's
     * name: GET /v1/tasks/ID/report?run=RUN. */
    json_t *rep = json_array();
    for (size_t i = 0; i < nev; i++) {
        if (strcmp(ev[i].type, "report") != 0 || !ev[i].message)
            continue;
        const char *slash = strrchr(ev[i].message, '/');
        json_array_append_new(rep, json_pack("{s:s,s:o}", "run", slash ? slash + 1 : ev[i].message, "at",
                                             time_or_null(ev[i].at)));
    }
    json_object_set_new(o, "reports", rep);
    json_t *j = json_array();
    for (size_t i = 0; i < nj; i++) {
        json_array_append_new(j, json_pack("{s:o,s:s,s:s,s:o,s:o}", "at", time_or_null(jl[i].at), "step", jl[i].step,
                                           "what", jl[i].what, "result", str_or_null(jl[i].result), "detail",
                                           str_or_null(jl[i].detail)));
    }
    json_object_set_new(o, "journal", j);
    osm_task_events_free(ev, nev);
    osm_journal_free(jl, nj);
    if (osm_audit_json(st, t->id, o, err) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int osm_audit_json(struct osm_store *st, const char *object, json_t *o, struct osm_err *err)
{
    struct osm_audit_entry *a;
    size_t n;
    if (osm_store_audit_list(st, object, &a, &n, err) != 0)
        return -1;
    json_t *arr = json_array();
    const char *creator = NULL;
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_pack("{s:o,s:s,s:s,s:o}", "at", time_or_null(a[i].at), "action", a[i].action,
                                             "by", a[i].actor, "detail", str_or_null(a[i].detail)));
        if (!creator && strcmp(a[i].action, "created") == 0)
            creator = a[i].actor;
    }
    json_object_set_new(o, "created_by", str_or_null(creator));
    json_object_set_new(o, "audit", arr);
    osm_audit_free(a, n);
    return 0;
}

static int64_t time_from_json(const json_t *v)
{
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    const char *s = json_string_value(v);
    if (!s)
        return 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || (*end != 'Z' && *end != '\0'))
        return 0;
    return (int64_t)timegm(&tm);
}

static const char *str_or(const json_t *v, const char *fallback)
{
    const char *s = json_string_value(v);
    return s ? s : fallback;
}

static char *dup_str(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? osm_xstrdup(s) : NULL;
}

/* The record's strings and times by their place in the task JSON (a member
 * of the object `in`, when not NULL). */
static const struct field {
    const char *in, *key;
    size_t off;
    int is_time;
} fields[] = {
    {NULL, "instance", offsetof(struct osm_task, instance), 0},
    {NULL, "target", offsetof(struct osm_task, target), 0},
    {NULL, "progress_message", offsetof(struct osm_task, progress_msg), 0},
    {"schedule", "not_before", offsetof(struct osm_task, not_before), 1},
    {"schedule", "window", offsetof(struct osm_task, window), 0},
    {"schedule", "latest_start", offsetof(struct osm_task, latest_start), 1},
    {NULL, "snapshot_set", offsetof(struct osm_task, snapshot_set), 0},
    {"error", "code", offsetof(struct osm_task, error_code), 0},
    {"error", "cause", offsetof(struct osm_task, cause), 0},
    {NULL, "created", offsetof(struct osm_task, created), 1},
    {NULL, "updated", offsetof(struct osm_task, updated), 1},
    {NULL, "owner", offsetof(struct osm_task, owner), 0},
    {NULL, "job_id", offsetof(struct osm_task, job_id), 0},
};

int osm_task_from_json(const json_t *j, struct osm_task *t, struct osm_err *err)
{
    osm_task_init(t);
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *state = json_string_value(json_object_get(j, "state"));
    int st = state ? osm_task_state_parse(state) : -1;
    if (!id || st < 0)
        return osm_err_set(err, OSM_EINPUT, "the server's task has %s", !id ? "no id" : "no known state");
    snprintf(t->id, sizeof t->id, "%s", id);
    snprintf(t->kind, sizeof t->kind, "%s", str_or(json_object_get(j, "kind"), "?"));
    snprintf(t->phase, sizeof t->phase, "%s", str_or(json_object_get(j, "phase"), "?"));
    t->state = (enum osm_task_state)st;
    t->progress = json_number_value(json_object_get(j, "progress"));
    t->changed = json_is_true(json_object_get(j, "changed_instance"));
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const struct field *f = &fields[i];
        const json_t *v = json_object_get(f->in ? json_object_get(j, f->in) : j, f->key);
        if (f->is_time)
            *(int64_t *)((char *)t + f->off) = time_from_json(v);
        else
            *(char **)((char *)t + f->off) = dup_str(v);
    }
    json_t *o = json_object_get(j, "options");
    t->options = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    return 0;
}

void osm_task_events_from_json(const json_t *doc, struct osm_task_event **out, size_t *n)
{
    json_t *h = json_object_get(doc, "history");
    *n = json_array_size(h);
    *out = *n ? osm_xcalloc(*n, sizeof **out) : NULL;
    for (size_t i = 0; i < *n; i++) {
        json_t *e = json_array_get(h, i);
        (*out)[i].seq = (int64_t)i + 1;
        (*out)[i].at = time_from_json(json_object_get(e, "at"));
        (*out)[i].type = osm_xstrdup(str_or(json_object_get(e, "type"), "?"));
        (*out)[i].message = dup_str(json_object_get(e, "message"));
    }
}
