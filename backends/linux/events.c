/* events.c: loading package-event files of either format into one set.
 * The format is told from the content: Leapp's files are an object with
 * "packageinfo", osmig's carry "format": "osmig-events". The replay lives in
 * events_apply.c, the readers in events_pes.c and events_native.c. */
#include "events.h"
#include "osm_json_file.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events_priv.h"
#include "osm_buf.h"
#include "osm_fs.h"

static const char *const action_names[] = {
    [OSM_EV_PRESENT] = "present", [OSM_EV_REMOVED] = "remove", [OSM_EV_DEPRECATED] = "deprecate",
    [OSM_EV_REPLACED] = "replace", [OSM_EV_SPLIT] = "split",   [OSM_EV_MERGED] = "merge",
    [OSM_EV_MOVED] = "move",       [OSM_EV_RENAMED] = "rename",
};

const char *osm_event_action_name(enum osm_event_action a)
{
    if ((unsigned)a < sizeof action_names / sizeof action_names[0])
        return action_names[a];
    return "unknown";
}

int osm_events_arch_known(const char *arch)
{
    static const char *const known[] = {"x86_64", "aarch64", "ppc64le", "s390x"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(arch, known[i]) == 0)
            return 1;
    return 0;
}

struct osm_event *osm_events_push(struct osm_eventset *set)
{
    /* The set keeps no capacity: it is 16 until n reaches 16, then the next
     * power of two, so grow exactly when n hits one of those sizes. */
    size_t n = set->n;
    if (n == 0)
        set->ev = osm_xrealloc(set->ev, 16 * sizeof *set->ev);
    else if (n >= 16 && (n & (n - 1)) == 0)
        set->ev = osm_xrealloc(set->ev, 2 * n * sizeof *set->ev);
    struct osm_event *ev = &set->ev[set->n++];
    memset(ev, 0, sizeof *ev);
    return ev;
}

void osm_event_pkg_add(struct osm_event_pkg **pkgs, size_t *n, const char *name, const char *repo,
                       const char *module, const char *stream)
{
    *pkgs = osm_xrealloc(*pkgs, (*n + 1) * sizeof **pkgs);
    struct osm_event_pkg *p = &(*pkgs)[(*n)++];
    p->name = osm_xstrdup(name);
    p->repo = repo ? osm_xstrdup(repo) : NULL;
    p->module = module ? osm_xstrdup(module) : NULL;
    p->stream = stream ? osm_xstrdup(stream) : NULL;
}

static void pkgs_free(struct osm_event_pkg *pkgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        osm_free_all(pkgs[i].name, pkgs[i].repo, pkgs[i].module, pkgs[i].stream);
    }
    free(pkgs);
}

void osm_event_free_fields(struct osm_event *ev)
{
    pkgs_free(ev->in, ev->n_in);
    pkgs_free(ev->out, ev->n_out);
    osm_free_strv(ev->arches, ev->n_arches);
    free(ev->origin);
    memset(ev, 0, sizeof *ev);
}

void osm_eventset_free(struct osm_eventset *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        osm_event_free_fields(&set->ev[i]);
    free(set->ev);
    set->ev = NULL;
    set->n = 0;
}

/* Move every event of `from` to the end of `to`. */
static void eventset_append(struct osm_eventset *to, struct osm_eventset *from)
{
    for (size_t i = 0; i < from->n; i++)
        *osm_events_push(to) = from->ev[i];
    free(from->ev);
    from->ev = NULL;
    from->n = 0;
}

int osm_events_load_file(struct osm_eventset *set, const char *path, struct osm_err *err)
{
    json_t *root = osm_json_load_file(path, OSM_CONFIG_FILE_MAX, err);
    if (!root) {
        osm_err_prefix(err, "reading package events");
        return -1;
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    struct osm_eventset fresh = {0};
    int rc;
    if (json_is_object(root) && json_object_get(root, "packageinfo")) {
        rc = osm_events_read_pes(&fresh, root, path, base, err);
    } else if (json_is_object(root) && json_object_get(root, "format")) {
        rc = osm_events_read_native(&fresh, root, path, base, err);
    } else {
        rc = osm_err_set(err, OSM_EINPUT,
                         "%s: not a package events file: expected Leapp's {\"packageinfo\": [...]} "
                         "or osmig's {\"format\": \"osmig-events\", ...}",
                         path);
    }
    json_decref(root);
    if (rc < 0) {
        osm_eventset_free(&fresh);
        return -1;
    }
    eventset_append(set, &fresh);
    return 0;
}

int osm_events_each_entry(struct osm_eventset *set, const json_t *root, const char *key, const char *not_a_list,
                          const char *path, const char *base, osm_ev_entry_fn read_one, struct osm_err *err)
{
    const json_t *list = json_object_get(root, key);
    if (!json_is_array(list))
        return osm_err_set(err, OSM_EINPUT, "%s: %s", path, not_a_list);
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        struct osm_ev_where w = {.path = path, .list = key, .index = i};
        if (read_one(set, e, &w, base, err) < 0)
            return -1;
    }
    return 0;
}

int osm_events_each_pkg(const json_t *list, const char *not_a_list, const char *prefix, osm_ev_pkg_fn read_one,
                        void *arg, struct osm_err *err, const struct osm_ev_where *w)
{
    if (!list)
        return 0;
    if (!json_is_array(list))
        return osm_events_bad(err, w, "%s", not_a_list);
    size_t i;
    const json_t *p;
    json_array_foreach(list, i, p)
    {
        char ctx[128];
        snprintf(ctx, sizeof ctx, "%s[%zu]", prefix, i);
        if (read_one(p, ctx, arg, err, w) < 0)
            return -1;
    }
    return 0;
}

int osm_events_bad(struct osm_err *err, const struct osm_ev_where *w, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (w->id[0])
        return osm_err_set(err, OSM_EINPUT, "%s: %s[%zu] (id %s): %s", w->path, w->list, w->index, w->id, what);
    return osm_err_set(err, OSM_EINPUT, "%s: %s[%zu]: %s", w->path, w->list, w->index, what);
}
