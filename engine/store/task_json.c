/* task_json.c: see task_json.h. */
#include "task_json.h"

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
        json_t *e = json_object();
        json_object_set_new(e, "at", time_or_null(ev[i].at));
        json_object_set_new(e, "type", json_string(ev[i].type));
        json_object_set_new(e, "message", str_or_null(ev[i].message));
        json_array_append_new(h, e);
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
        json_t *e = json_object();
        json_object_set_new(e, "at", time_or_null(jl[i].at));
        json_object_set_new(e, "step", json_string(jl[i].step));
        json_object_set_new(e, "what", json_string(jl[i].what));
        json_object_set_new(e, "result", str_or_null(jl[i].result));
        json_object_set_new(e, "detail", str_or_null(jl[i].detail));
        json_array_append_new(j, e);
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
        json_t *e = json_object();
        json_object_set_new(e, "at", time_or_null(a[i].at));
        json_object_set_new(e, "action", json_string(a[i].action));
        json_object_set_new(e, "by", json_string(a[i].actor));
        json_object_set_new(e, "detail", str_or_null(a[i].detail));
        json_array_append_new(arr, e);
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
    t->instance = dup_str(json_object_get(j, "instance"));
    t->target = dup_str(json_object_get(j, "target"));
    t->progress = json_number_value(json_object_get(j, "progress"));
    t->progress_msg = dup_str(json_object_get(j, "progress_message"));
    json_t *sched = json_object_get(j, "schedule");
    t->not_before = time_from_json(json_object_get(sched, "not_before"));
    t->window = dup_str(json_object_get(sched, "window"));
    t->latest_start = time_from_json(json_object_get(sched, "latest_start"));
    t->snapshot_set = dup_str(json_object_get(j, "snapshot_set"));
    t->changed = json_is_true(json_object_get(j, "changed_instance"));
    json_t *e = json_object_get(j, "error");
    t->error_code = dup_str(json_object_get(e, "code"));
    t->cause = dup_str(json_object_get(e, "cause"));
    t->created = time_from_json(json_object_get(j, "created"));
    t->updated = time_from_json(json_object_get(j, "updated"));
    json_t *o = json_object_get(j, "options");
    t->options = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    t->owner = dup_str(json_object_get(j, "owner"));
    t->job_id = dup_str(json_object_get(j, "job_id"));
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
