/* api_routes_findings.c: GET /v1/findings, what blocks the fleet. Every
 * failed task in the caller's scope (of one job with ?job=) is read with its
 * history; its precheck findings (events "precheck.FACT", and
 * "precheck.inhibitor" whose message starts "inhibitor ID:") are grouped by
 * finding across tasks, so an admin sees how many instances each finding
 * blocks, and which. A task that failed several times counts once per
 * finding. */
#include <stdlib.h>
#include <string.h>

#include "api_priv.h"
#include "osm_buf.h"

#define MAX_TASKS 10000 /* tasks examined per request: the answer says when more were left */

struct group {
    char *id;      /* "inhibitor essential-removal", "vcpus", ... */
    char *summary; /* the first message seen */
    json_t *instances;      /* a set: URI -> true (jansson objects hash) */
    json_t *tasks;          /* ids; the last is the task being added */
};

struct groups {
    struct group *g;
    size_t n;
};

/* The finding an event names, or NULL when it is not a precheck finding
 * (caller frees). */
static char *finding_of(const struct osm_task_event *e)
{
    if (strncmp(e->type, "precheck.", 9) != 0)
        return NULL;
    const char *fact = e->type + 9;
    if (strcmp(fact, "inhibitor") == 0 && e->message && strncmp(e->message, "inhibitor ", 10) == 0) {
        const char *id = e->message + 10, *end = strchr(id, ':');
        if (end && end > id)
            return osm_xasprintf("inhibitor %.*s", (int)(end - id), id);
    }
    return osm_xstrdup(fact);
}

static struct group *group_of(struct groups *gs, char *id, const char *summary)
{
    for (size_t i = 0; i < gs->n; i++)
        if (strcmp(gs->g[i].id, id) == 0) {
            free(id);
            return &gs->g[i];
        }
    gs->g = osm_xrealloc(gs->g, (gs->n + 1) * sizeof *gs->g);
    gs->g[gs->n] = (struct group){id, osm_xstrdup(summary ? summary : ""), json_object(), json_array()};
    return &gs->g[gs->n++];
}

/* Adds the findings of one task's history to `gs`. */
static void add_task(struct groups *gs, const struct osm_task *t, const struct osm_task_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *id = finding_of(&ev[i]);
        if (!id)
            continue;
        struct group *g = group_of(gs, id, ev[i].message);
        size_t nt = json_array_size(g->tasks);
        if (nt && strcmp(json_string_value(json_array_get(g->tasks, nt - 1)), t->id) == 0)
            continue;
        json_array_append_new(g->tasks, json_string(t->id));
        json_object_set_new(g->instances, t->instance, json_true());
    }
}

static int by_count(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    size_t nx = json_object_size(x->instances), ny = json_object_size(y->instances);
    return nx != ny ? (nx < ny) - (nx > ny) : strcmp(x->id, y->id);
}

static json_t *groups_json(struct groups *gs)
{
    if (gs->n > 1) /* qsort of a NULL array is undefined even for none */
        qsort(gs->g, gs->n, sizeof *gs->g, by_count);
    json_t *arr = json_array();
    for (size_t i = 0; i < gs->n; i++) {
        struct group *g = &gs->g[i];
        int inhibitor = strncmp(g->id, "inhibitor ", 10) == 0;
        json_t *instances = json_array();
        const char *uri;
        json_t *v;
        json_object_foreach(g->instances, uri, v)
        {
            json_array_append_new(instances, json_string(uri));
        }
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I,s:o,s:o}", "id", inhibitor ? g->id + 10 : g->id,
                                             "kind", inhibitor ? "inhibitor" : "precheck", "summary", g->summary,
                                             "instances_blocked", (json_int_t)json_object_size(g->instances),
                                             "instances", instances, "tasks", g->tasks));
        json_decref(g->instances);
        free(g->id);
        free(g->summary);
    }
    free(gs->g);
    return arr;
}

void api_findings(struct api_req *rq)
{
    static const char *const allowed[] = {"job", NULL};
    if (api_query_check(rq, allowed))
        return;
    struct osm_store *st = api_store(rq);
    if (!st)
        return;
    int failed = OSM_TASK_FAILED;
    struct osm_task_filter f = {.states = &failed, .n_states = 1, .job_id = api_query(rq, "job"), .limit = 1000};
    if (rq->authed && rq->who.scope && rq->who.role != OSM_ROLE_ADMIN)
        f.instance_pattern = rq->who.scope;
    struct groups gs = {0};
    size_t examined = 0;
    int64_t next = 0;
    struct osm_err err = OSM_ERR_INIT;
    do {
        struct osm_task *tasks = NULL;
        size_t n = 0;
        if (osm_store_query_tasks(st, &f, &tasks, &n, &next, &err) != 0) {
            json_decref(groups_json(&gs));
            api_fail_err(rq, &err, NULL, NULL);
            return;
        }
        for (size_t i = 0; i < n && examined < MAX_TASKS; i++) {
            struct osm_task_event *ev;
            size_t ne;
            if (!api_in_scope(rq, tasks[i].instance) || osm_store_list_events(st, tasks[i].id, &ev, &ne, &err) != 0)
                continue;
            add_task(&gs, &tasks[i], ev, ne);
            osm_task_events_free(ev, ne);
            examined++;
        }
        osm_task_list_free(tasks, n);
        f.after_seq = next;
    } while (next > 0 && examined < MAX_TASKS);
    api_reply(rq, 200,
              json_pack("{s:o,s:I,s:b}", "findings", groups_json(&gs), "failed_tasks_examined", (json_int_t)examined,
                        "more", next > 0));
}
