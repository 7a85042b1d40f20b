/* events_native.c: reading osmig's own package-event files (docs/events.md):
 *
 *   {"format": "osmig-events", "version": 1, "events": [
 *     {"id": "el8-ntp", "action": "split", "in": ["ntp"],
 *      "out": ["chrony", "ntpstat"], "from": "7.7", "to": "8.0",
 *      "arches": ["x86_64", "aarch64"], "note": "...", "source": "..."}]}
 *
 * Same meaning as Leapp's events, with readable names. A package is "NAME",
 * "NAME@MODULE:STREAM" or {"name", "module", "stream", "repo"}. An event
 * without "to" applies at the target release (a same-release change of
 * vendor). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "events_priv.h"
#include "osm_buf.h"
#include "osm_json_file.h"

#define NATIVE_VERSION 1

static const struct {
    const char *name;
    enum osm_event_action action;
} actions[] = {
    {"present", OSM_EV_PRESENT}, {"remove", OSM_EV_REMOVED}, {"deprecate", OSM_EV_DEPRECATED},
    {"replace", OSM_EV_REPLACED}, {"split", OSM_EV_SPLIT},   {"merge", OSM_EV_MERGED},
    {"move", OSM_EV_MOVED},       {"rename", OSM_EV_RENAMED},
};

/* "8" or "8.6": a release, strictly. */
static int parse_release(const char *s, int *major, int *minor)
{
    long v[2] = {0, 0};
    int parts = 0;
    const char *p = s;
    while (parts < 2) {
        if (!isdigit((unsigned char)*p))
            return -1;
        char *end;
        v[parts] = strtol(p, &end, 10);
        if (end - p > 4)
            return -1;
        parts++;
        p = end;
        if (*p == '\0')
            break;
        if (*p != '.' || parts == 2)
            return -1;
        p++;
    }
    *major = (int)v[0];
    *minor = (int)v[1];
    return 0;
}

static int valid_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._+-", *s))
            return 0;
    return 1;
}

static int read_pkg(const json_t *p, const char *ctx, void *arg, struct osm_err *err, const struct osm_ev_where *w)
{
    struct osm_event_pkg **pkgs = ((struct pkg_list *)arg)->pkgs;
    size_t *n = ((struct pkg_list *)arg)->n;
    if (json_is_string(p)) {
        const char *s = json_string_value(p);
        const char *at = strchr(s, '@');
        if (!at) {
            if (!valid_token(s))
                return osm_events_bad(err, w, "%s: \"%s\" is not a package name", ctx, s);
            osm_event_pkg_add(pkgs, n, s, NULL, NULL, NULL);
            return 0;
        }
        const char *colon = strchr(at, ':');
        char *name = strndup(s, (size_t)(at - s));
        char *module = colon ? strndup(at + 1, (size_t)(colon - at - 1)) : NULL;
        int ok = name && module && valid_token(name) && valid_token(module) && valid_token(colon + 1);
        if (ok)
            osm_event_pkg_add(pkgs, n, name, NULL, module, colon + 1);
        free(name);
        free(module);
        return ok ? 0 : osm_events_bad(err, w, "%s: \"%s\" is not NAME or NAME@MODULE:STREAM", ctx, s);
    }
    if (!json_is_object(p))
        return osm_events_bad(err, w, "%s: a package is a string or an object with \"name\"", ctx);
    const json_t *name = json_object_get(p, "name"), *repo = json_object_get(p, "repo"),
                 *module = json_object_get(p, "module"), *stream = json_object_get(p, "stream");
    if (!json_is_string(name) || !valid_token(json_string_value(name)))
        return osm_events_bad(err, w, "%s: \"name\" must be a package name", ctx);
    if ((repo && !json_is_string(repo)) || (module && !json_is_string(module)) || (stream && !json_is_string(stream)))
        return osm_events_bad(err, w, "%s: \"repo\", \"module\" and \"stream\" must be strings", ctx);
    if (!module != !stream)
        return osm_events_bad(err, w, "%s: \"module\" and \"stream\" go together", ctx);
    osm_event_pkg_add(pkgs, n, json_string_value(name), json_string_value(repo), json_string_value(module),
                      json_string_value(stream));
    return 0;
}

static int read_pkgs(const json_t *list, const char *which, struct osm_event_pkg **pkgs, size_t *n,
                     struct osm_err *err, const struct osm_ev_where *w)
{
    char not_a_list[64];
    snprintf(not_a_list, sizeof not_a_list, "\"%s\" must be a list of packages", which);
    struct pkg_list into = {pkgs, n};
    return osm_events_each_pkg(list, not_a_list, which, read_pkg, &into, err, w);
}

static int read_event(struct osm_event *ev, const json_t *e, struct osm_ev_where *w, const char *base,
                      struct osm_err *err)
{
    if (!json_is_object(e))
        return osm_events_bad(err, w, "not an object");
    static const char *const known[] = {"id", "action", "in", "out", "from", "to", "arches", "note", "source", NULL};
    const char *key = osm_json_unknown_member(e, known);
    if (key)
        return osm_events_bad(err, w, "unknown field \"%s\"", key);
    const json_t *id = json_object_get(e, "id");
    const char *idtext = NULL;
    if (json_is_integer(id)) {
        ev->id = (long)json_integer_value(id);
        snprintf(w->id, sizeof w->id, "%ld", ev->id);
        idtext = w->id;
    } else if (json_is_string(id) && valid_token(json_string_value(id))) {
        ev->id = (long)w->index;
        idtext = json_string_value(id);
        snprintf(w->id, sizeof w->id, "%s", idtext);
    } else if (id) {
        return osm_events_bad(err, w, "\"id\" must be an integer or a word of letters, digits, '.', '_', '+', '-'");
    } else {
        ev->id = (long)w->index;
    }
    ev->origin = idtext ? osm_xasprintf("%s#%s", base, idtext) : osm_xasprintf("%s#%zu", base, w->index);

    const json_t *action = json_object_get(e, "action");
    if (!json_is_string(action))
        return osm_events_bad(err, w, "\"action\" must be one of %s",
                              "rename, replace, split, merge, remove, deprecate, move, present");
    size_t a = 0;
    while (a < sizeof actions / sizeof actions[0] && strcmp(actions[a].name, json_string_value(action)) != 0)
        a++;
    if (a == sizeof actions / sizeof actions[0])
        return osm_events_bad(err, w,
                   "unknown action \"%s\" (rename, replace, split, merge, remove, deprecate, move, present)",
                   json_string_value(action));
    ev->action = actions[a].action;

    if (read_pkgs(json_object_get(e, "in"), "in", &ev->in, &ev->n_in, err, w) < 0 ||
        read_pkgs(json_object_get(e, "out"), "out", &ev->out, &ev->n_out, err, w) < 0)
        return -1;
    if (ev->n_in == 0)
        return osm_events_bad(err, w, "\"in\" must list at least one package");
    int needs_out = ev->action == OSM_EV_REPLACED || ev->action == OSM_EV_SPLIT || ev->action == OSM_EV_MERGED ||
                    ev->action == OSM_EV_RENAMED || ev->action == OSM_EV_MOVED;
    if (needs_out && ev->n_out == 0)
        return osm_events_bad(err, w, "action %s needs packages in \"out\"", actions[a].name);
    if (!needs_out && ev->n_out != 0)
        return osm_events_bad(err, w, "action %s takes no \"out\" packages", actions[a].name);

    const json_t *from = json_object_get(e, "from"), *to = json_object_get(e, "to");
    if (from && (!json_is_string(from) ||
                 parse_release(json_string_value(from), &ev->from_major, &ev->from_minor) < 0))
        return osm_events_bad(err, w, "\"from\" must be a release such as \"7.9\" or \"8\"");
    if (!to) {
        ev->to_major = ev->to_minor = OSM_EV_AT_TARGET;
    } else if (!json_is_string(to) || parse_release(json_string_value(to), &ev->to_major, &ev->to_minor) < 0) {
        return osm_events_bad(err, w, "\"to\" must be a release such as \"8.0\" or \"8\"");
    }

    const json_t *arches = json_object_get(e, "arches");
    if (arches) {
        if (!json_is_array(arches))
            return osm_events_bad(err, w, "\"arches\" must be a list");
        ev->arches = osm_xcalloc(json_array_size(arches) + 1, sizeof *ev->arches);
        size_t i;
        const json_t *ar;
        json_array_foreach(arches, i, ar)
        {
            if (!json_is_string(ar) || !osm_events_arch_known(json_string_value(ar)))
                return osm_events_bad(err, w, "arches[%zu]: not one of x86_64, aarch64, ppc64le, s390x", i);
            ev->arches[ev->n_arches++] = osm_xstrdup(json_string_value(ar));
        }
    }
    const json_t *note = json_object_get(e, "note"), *source = json_object_get(e, "source");
    if ((note && !json_is_string(note)) || (source && !json_is_string(source)))
        return osm_events_bad(err, w, "\"note\" and \"source\" must be strings");
    return 0;
}

static int read_native_entry(struct osm_eventset *set, const json_t *e, struct osm_ev_where *w, const char *base,
                             struct osm_err *err)
{
    return read_event(osm_events_push(set), e, w, base, err);
}

int osm_events_read_native(struct osm_eventset *set, const json_t *root, const char *path, const char *base,
                           struct osm_err *err)
{
    const json_t *format = json_object_get(root, "format"), *version = json_object_get(root, "version");
    if (!json_is_string(format) || strcmp(json_string_value(format), "osmig-events") != 0)
        return osm_err_set(err, OSM_EINPUT, "%s: \"format\" must be \"osmig-events\"", path);
    if (!json_is_integer(version))
        return osm_err_set(err, OSM_EINPUT, "%s: \"version\" must be an integer (this osmig reads version %d)",
                           path, NATIVE_VERSION);
    if (json_integer_value(version) != NATIVE_VERSION)
        return osm_err_set(err, OSM_EINPUT, "%s: unsupported version %lld (this osmig reads version %d)", path,
                           (long long)json_integer_value(version), NATIVE_VERSION);
    static const char *const known[] = {"format", "version", "events", "description", NULL};
    const char *key = osm_json_unknown_member(root, known);
    if (key)
        return osm_err_set(err, OSM_EINPUT, "%s: unknown top-level field \"%s\"", path, key);
    const json_t *desc = json_object_get(root, "description");
    if (desc && !json_is_string(desc))
        return osm_err_set(err, OSM_EINPUT, "%s: \"description\" must be a string", path);
    return osm_events_each_entry(set, root, "events", "\"events\" must be a list", path, base, read_native_entry, err);
}
