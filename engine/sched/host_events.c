/* host_events.c: see host_events.h. */
#include "host_events.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_json_file.h"
#include "osm_time.h"
#include "schedule.h"
#include "tzif.h"

/* The seed's words (physical-server-migration-notice.md, "Modify the
 * migration time"). */
#define W_LATEST "The new migration time cannot be later than the Latest Schedule Time"

/* How far placement looks for window openings before the scheduled time:
 * a year of daily windows. */
#define MAX_OPENINGS 400

static int bad(struct osm_err *err, const char *file, const char *where, const char *what)
{
    return osm_err_set(err, OSM_EINPUT, "%s: %s: %s", file, where, what);
}

static int time_member(json_t *e, const char *name, const char *file, const char *where, int64_t *out,
                       struct osm_err *err)
{
    json_t *v = json_object_get(e, name);
    char w[96], what[160];
    snprintf(w, sizeof w, "%s.%s", where, name);
    if (!v)
        return bad(err, file, w, "is required (an RFC 3339 time)");
    if (!json_is_string(v) || osm_time_parse(json_string_value(v), out) != 0) {
        snprintf(what, sizeof what, "'%s' is not an RFC 3339 time (e.g. 2026-03-20T10:00:00Z)",
                 json_is_string(v) ? json_string_value(v) : "(not a string)");
        return bad(err, file, w, what);
    }
    return 0;
}

static int str_member(json_t *e, const char *name, const char *file, const char *where, char **out,
                      struct osm_err *err)
{
    json_t *v = json_object_get(e, name);
    char w[96];
    snprintf(w, sizeof w, "%s.%s", where, name);
    if (!json_is_string(v) || !*json_string_value(v))
        return bad(err, file, w, "is required (a non-empty string)");
    *out = osm_xstrdup(json_string_value(v));
    return 0;
}

static int load_event(json_t *e, json_t *windows, const char *file, size_t i, struct osm_host_event *ev,
                      struct osm_err *err)
{
    char where[48], what[512];
    snprintf(where, sizeof where, "events[%zu]", i);
    if (!json_is_object(e))
        return bad(err, file, where, "must be a JSON object");
    static const char *const known[] = {"id", "instance", "kind", "scheduled", "latest", NULL};
    const char *k = osm_json_unknown_member(e, known);
    if (k) {
        snprintf(what, sizeof what, "unknown member '%s' (id, instance, kind, scheduled, latest)", k);
        return bad(err, file, where, what);
    }
    if (str_member(e, "id", file, where, &ev->id, err) || str_member(e, "instance", file, where, &ev->instance, err) ||
        str_member(e, "kind", file, where, &ev->kind, err) ||
        time_member(e, "scheduled", file, where, &ev->scheduled, err) ||
        time_member(e, "latest", file, where, &ev->latest, err))
        return -1;
    if (ev->latest < ev->scheduled) {
        char a[32], b[32];
        snprintf(what, sizeof what, "latest schedule time %s is before the scheduled time %s",
                 osm_time_iso(ev->latest, a), osm_time_iso(ev->scheduled, b));
        return bad(err, file, where, what);
    }
    json_t *w = windows ? json_object_get(windows, ev->instance) : NULL;
    if (w) {
        ev->window = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
        struct osm_window *win = NULL;
        if (!ev->window || osm_window_parse(ev->window, &win, err) != 0) {
            osm_err_prefix(err, "%s: windows[\"%s\"]", file, ev->instance);
            return -1;
        }
        osm_window_free(win);
    }
    return 0;
}

int osm_host_events_load(const char *path, struct osm_host_events *out, struct osm_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *j = osm_json_load_file(path, OSM_CONFIG_FILE_MAX, err);
    if (!j)
        return -1;
    int rc = osm_host_events_parse(j, path, out, err);
    json_decref(j);
    return rc;
}

int osm_host_events_parse(json_t *j, const char *path, struct osm_host_events *out, struct osm_err *err)
{
    memset(out, 0, sizeof *out);
    if (json_is_object(j) && osm_host_events_is_ecs(j)) {
        json_t *mine = osm_host_events_from_ecs(j, path, err);
        if (!mine)
            return -1;
        int rc = osm_host_events_parse(mine, path, out, err);
        json_decref(mine);
        return rc;
    }
    int rc = 0;
    json_t *events = json_object_get(j, "events"), *windows = json_object_get(j, "windows");
    static const char *const known[] = {"events", "windows", NULL};
    const char *k;
    if (!json_is_object(j))
        rc = bad(err, path, "(top)", "must be a JSON object with \"events\" (and \"windows\")");
    else if ((k = osm_json_unknown_member(j, known)) != NULL)
        rc = bad(err, path, k, "unknown member (events, windows)");
    if (rc == 0 && !json_is_array(events))
        rc = bad(err, path, "events", "must be an array of events");
    if (rc == 0 && windows && !json_is_object(windows))
        rc = bad(err, path, "windows", "must be an object of instance to maintenance window");
    out->path = osm_xstrdup(path);
    if (rc == 0) {
        out->ev = osm_xcalloc(json_array_size(events) + 1, sizeof *out->ev);
        size_t i;
        json_t *e;
        json_array_foreach(events, i, e)
        {
            if (rc != 0)
                break;
            rc = load_event(e, windows, path, i, &out->ev[out->n++], err);
            /* one task holds an instance: one event per instance per import */
            for (size_t p = 0; rc == 0 && p < i; p++) {
                char where[48], what[512];
                snprintf(where, sizeof where, "events[%zu]", i);
                if (strcmp(out->ev[p].id, out->ev[i].id) == 0) {
                    snprintf(what, sizeof what, "event id %s is listed twice (also events[%zu])", out->ev[i].id, p);
                    rc = bad(err, path, where, what);
                } else if (strcmp(out->ev[p].instance, out->ev[i].instance) == 0) {
                    snprintf(what, sizeof what, "instance %s has two events, %s and %s: import one, then the other",
                             out->ev[i].instance, out->ev[p].id, out->ev[i].id);
                    rc = bad(err, path, where, what);
                }
            }
        }
    }
    if (rc != 0)
        osm_host_events_free(out);
    return rc;
}

void osm_host_events_free(struct osm_host_events *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->ev[i].id), free(e->ev[i].instance), free(e->ev[i].kind);
        free(e->ev[i].window);
    }
    free(e->ev);
    free(e->path);
    memset(e, 0, sizeof *e);
}

int osm_host_event_place(const struct osm_host_event *ev, int64_t now, int64_t *at, char *words, size_t words_size)
{
    char s[32], l[32], a[32];
    if (now > ev->latest) {
        snprintf(words, words_size, "its latest schedule time, %s, has passed", osm_time_iso(ev->latest, l));
        return -1;
    }
    int64_t base = ev->scheduled > now ? ev->scheduled : now;
    struct osm_window *w = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (!ev->window || osm_window_parse(ev->window, &w, &err) != 0) {
        *at = base;
        snprintf(words, words_size, "at its scheduled time %s (latest schedule time %s)", osm_time_iso(base, s),
                 osm_time_iso(ev->latest, l));
        return 0;
    }
    int64_t start, close;
    int placed = 0;
    if (osm_window_next_start(w, base, &start, &close) == 0 && start <= ev->latest) {
        *at = start;
        placed = 1;
        snprintf(words, words_size,
                 "in its maintenance window, opening %s (scheduled %s, latest schedule time %s)",
                 osm_time_iso(start, a), osm_time_iso(ev->scheduled, s), osm_time_iso(ev->latest, l));
    } else {
        /* the window opens too late: its last opening before the scheduled
         * time, from now on */
        int64_t t = now, last = -1;
        for (int k = 0; k < MAX_OPENINGS && osm_window_next_start(w, t, &start, &close) == 0 && start < base; k++) {
            last = start;
            t = close > start ? close : start + 1;
        }
        if (last >= 0) {
            *at = last;
            placed = 1;
            snprintf(words, words_size,
                     "in its maintenance window, opening %s, before the scheduled time %s: it opens next after the "
                     "latest schedule time %s",
                     osm_time_iso(last, a), osm_time_iso(ev->scheduled, s), osm_time_iso(ev->latest, l));
        } else {
            *at = base;
            snprintf(words, words_size,
                     "at its scheduled time %s: its maintenance window does not open between now and the latest "
                     "schedule time %s",
                     osm_time_iso(base, s), osm_time_iso(ev->latest, l));
        }
    }
    osm_window_free(w);
    return placed;
}

/* The event id a host-maintenance task was made for (options.event.id). */
static int task_event_is(const struct osm_task *t, const char *event_id)
{
    if (strcmp(t->kind, OSM_KIND_HOST_MAINTENANCE) != 0 || !t->options)
        return 0;
    json_t *o = json_loads(t->options, 0, NULL);
    json_t *id = json_object_get(json_object_get(o, "event"), "id");
    int same = json_is_string(id) && strcmp(json_string_value(id), event_id) == 0;
    json_decref(o);
    return same;
}

static int imported_before(struct osm_store *st, const struct osm_host_event *ev, char task_id[40], struct osm_err *err)
{
    struct osm_task_filter f = {.instance = ev->instance};
    struct osm_task *ts = NULL;
    size_t n = 0;
    int64_t next = 0;
    int found = 0;
    do {
        f.after_seq = next;
        f.limit = 500;
        if (osm_store_query_tasks(st, &f, &ts, &n, &next, err) != 0)
            return -1;
        for (size_t i = 0; i < n && !found; i++)
            if (task_event_is(&ts[i], ev->id)) {
                snprintf(task_id, 40, "%s", ts[i].id);
                found = 1;
            }
        osm_task_list_free(ts, n);
    } while (next && !found);
    return found;
}

static char *options_json(const struct osm_host_event *ev, const char *words)
{
    char s[32], l[32];
    json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "id", ev->id, "kind", ev->kind, "scheduled",
                          osm_time_iso(ev->scheduled, s), "latest", osm_time_iso(ev->latest, l));
    if (ev->window)
        json_object_set_new(e, "window", json_loads(ev->window, 0, NULL));
    json_t *o = json_pack("{s:o, s:s}", "event", e, "placement", words);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

int osm_host_events_import(struct osm_store *st, const struct osm_host_events *e, int64_t now,
                           struct osm_host_import *res, char job_id[40], struct osm_err *err)
{
    job_id[0] = '\0';
    struct osm_task *tasks = osm_xcalloc(e->n + 1, sizeof *tasks);
    size_t n = 0, *which = osm_xcalloc(e->n + 1, sizeof *which);
    int rc = 0;
    for (size_t i = 0; i < e->n && rc == 0; i++) {
        const struct osm_host_event *ev = &e->ev[i];
        memset(&res[i], 0, sizeof res[i]);
        char words[512];
        int64_t at = 0;
        int placed = osm_host_event_place(ev, now, &at, words, sizeof words);
        if (placed < 0) {
            res[i].status = OSM_HOST_PASSED;
            continue;
        }
        int before = imported_before(st, ev, res[i].task_id, err);
        if (before < 0) {
            rc = -1;
            break;
        }
        if (before) {
            res[i].status = OSM_HOST_ALREADY;
            continue;
        }
        struct osm_task *t = &tasks[n];
        osm_task_init(t);
        snprintf(t->kind, sizeof t->kind, "%s", OSM_KIND_HOST_MAINTENANCE);
        t->instance = osm_xstrdup(ev->instance);
        t->target = osm_xstrdup(ev->kind);
        t->not_before = at;
        /* the start is placed once, here: a window on the task would let
         * the scheduler move it past the latest time */
        t->latest_start = ev->latest;
        t->options = options_json(ev, words);
        if (at > now) {
            t->state = OSM_TASK_SCHEDULED;
            snprintf(t->phase, sizeof t->phase, "scheduled");
            t->progress_msg = osm_xstrdup(words);
        }
        res[i].status = OSM_HOST_CREATED;
        res[i].at = at;
        res[i].in_window = placed;
        which[n++] = i;
    }
    if (rc == 0 && n) {
        struct osm_job job;
        osm_job_init(&job);
        job.name = osm_xasprintf("host-maintenance events from %s", e->path ? e->path : "a feed");
        json_t *spec = json_pack("{s:s, s:s, s:I}", "kind", OSM_KIND_HOST_MAINTENANCE, "source",
                                 e->path ? e->path : "", "events", (json_int_t)n);
        job.spec = json_dumps(spec, JSON_COMPACT);
        json_decref(spec);
        rc = osm_store_create_job(st, &job, tasks, n, err) < 0 ? -1 : 0;
        if (rc == 0) {
            snprintf(job_id, 40, "%s", job.id);
            for (size_t k = 0; k < n; k++)
                snprintf(res[which[k]].task_id, 40, "%s", tasks[k].id);
        }
        osm_job_free(&job);
    }
    for (size_t k = 0; k < n; k++)
        osm_task_free(&tasks[k]);
    free(tasks);
    free(which);
    if (rc != 0)
        osm_err_prefix(err, "importing %s", e->path ? e->path : "events");
    return rc;
}

static const char *status_name(int s)
{
    return s == OSM_HOST_CREATED ? "created" : s == OSM_HOST_ALREADY ? "already-imported" : "latest-time-passed";
}

json_t *osm_host_import_json(const struct osm_host_events *e, const struct osm_host_import *res, const char *job_id)
{
    json_t *arr = json_array();
    char t[32];
    for (size_t i = 0; i < e->n; i++) {
        json_t *x = json_pack("{s:s, s:s, s:s}", "id", e->ev[i].id, "instance", e->ev[i].instance, "status",
                              status_name(res[i].status));
        if (res[i].status != OSM_HOST_PASSED)
            json_object_set_new(x, "task", json_string(res[i].task_id));
        if (res[i].status == OSM_HOST_CREATED) {
            json_object_set_new(x, "starts", json_string(osm_time_iso(res[i].at, t)));
            json_object_set_new(x, "in_window", json_boolean(res[i].in_window));
        }
        json_object_set_new(x, "latest", json_string(osm_time_iso(e->ev[i].latest, t)));
        json_array_append_new(arr, x);
    }
    json_t *o = json_object();
    json_object_set_new(o, "job", job_id && *job_id ? json_string(job_id) : json_null());
    json_object_set_new(o, "events", arr);
    return o;
}

int osm_host_event_reschedule(struct osm_store *st, const char *task_id, int64_t when, int64_t now,
                              struct osm_task *out, struct osm_err *err)
{
    struct osm_task t;
    osm_task_init(&t);
    if (osm_store_get_task(st, task_id, &t, err) != 0)
        return -1;
    char a[32], b[32], c[32];
    int rc = 0;
    if (strcmp(t.kind, OSM_KIND_HOST_MAINTENANCE) != 0)
        rc = osm_err_set(err, OSM_EUSAGE, "task %s is a %s task, not a host-maintenance event's", t.id, t.kind);
    else if (t.state != OSM_TASK_SUBMITTED && t.state != OSM_TASK_SCHEDULED)
        rc = osm_err_set(err, OSM_ECONFLICT, "task %s is %s: only a task that has not started can be rescheduled",
                         t.id, osm_task_state_name(t.state));
    else if (t.latest_start > 0 && when > t.latest_start)
        rc = osm_err_set(err, OSM_EINPUT, "%s: %s is after %s (task %s)", W_LATEST, osm_time_iso(when, a),
                         osm_time_iso(t.latest_start, b), t.id);
    else if (when < now)
        rc = osm_err_set(err, OSM_EINPUT, "the new migration time %s is in the past (now %s; task %s)",
                         osm_time_iso(when, a), osm_time_iso(now, b), t.id);
    if (rc != 0) {
        osm_task_free(&t);
        return -1;
    }
    int was = (int)t.state;
    char msg[256];
    snprintf(msg, sizeof msg, "migration time moved from %s to %s (latest schedule time %s)",
             osm_time_iso(t.not_before, a), osm_time_iso(when, b), osm_time_iso(t.latest_start, c));
    t.not_before = when;
    osm_task_set_str(&t.window, NULL);
    t.state = when > now ? OSM_TASK_SCHEDULED : OSM_TASK_SUBMITTED;
    snprintf(t.phase, sizeof t.phase, "%s", when > now ? "scheduled" : "submitted");
    osm_task_set_str(&t.progress_msg, msg);
    struct osm_task_change ch = {.task = &t, .expect_state = was, .expect_rev = t.rev, .event_type = "rescheduled",
                                 .event_message = msg};
    rc = osm_store_commit(st, &ch, err);
    if (rc == 1)
        osm_err_set(err, OSM_ECONFLICT, "task %s changed meanwhile (it may have started): read it and try again",
                    t.id);
    if (rc == 0 && out) {
        osm_task_copy(out, &t);
        out->rev = t.rev + 1; /* as the commit left it */
    }
    osm_task_free(&t);
    return rc == 0 ? 0 : -1;
}

int osm_host_local_time(const char *zone, const char *text, int64_t *out, struct osm_err *err)
{
    int y, mo, d, h, mi, sec = 0, n = 0;
    int ok = sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 && !text[n];
    if (!ok) {
        sec = n = 0;
        ok = sscanf(text, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) == 5 && !text[n];
    }
    if (!ok || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > osm_days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 59)
        return osm_err_set(err, OSM_EINPUT, "'%s' is not a local time YYYY-MM-DDTHH:MM[:SS]", text);
    struct osm_tz *tz;
    if (osm_tz_load(zone, &tz, err) != 0)
        return -1;
    *out = osm_tz_local_to_utc(tz, osm_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec);
    osm_tz_free(tz);
    return 0;
}
