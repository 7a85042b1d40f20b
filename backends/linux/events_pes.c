/* events_pes.c: reading Leapp's pes-events.json (as exported by Red Hat's
 * Package Evolution Service and shipped by Leapp and ELevate).
 *
 * Each "packageinfo" entry becomes one osm_event, or several when its
 * packages are modular: like Leapp, an entry stands for one event per input
 * module stream (the "modulestream_maps" say which output streams go with
 * which input stream; without them every input stream maps to "not
 * modular", and modular output packages are dropped from that event). */
#include <stdlib.h>
#include <string.h>

#include "events_priv.h"
#include "osm_buf.h"

/* A module stream, or the absence of one (module == NULL). */
struct ms {
    const char *module;
    const char *stream;
};

static int ms_eq(struct ms a, struct ms b)
{
    if (!a.module || !b.module)
        return !a.module && !b.module;
    return strcmp(a.module, b.module) == 0 && strcmp(a.stream, b.stream) == 0;
}

static int read_ms_object(const json_t *o, struct ms *out, struct osm_err *err, const struct osm_ev_where *w,
                          const char *ctx)
{
    if (json_is_null(o)) {
        out->module = out->stream = NULL;
        return 0;
    }
    const json_t *n = json_object_get(o, "name"), *s = json_object_get(o, "stream");
    if (!json_is_object(o) || !json_is_string(n) || !json_is_string(s) || !*json_string_value(n))
        return osm_events_bad(err, w, "%s: a module stream must be null or {\"name\": STRING, \"stream\": STRING}",
                              ctx);
    out->module = json_string_value(n);
    out->stream = json_string_value(s);
    return 0;
}

/* The package's module streams: Leapp writes "modulestreams" (a list),
 * "modulestream" (one), and AlmaLinux's data "module_stream" (one or a
 * list); null entries mean "not modular". */
static int read_pkg_streams(const json_t *pkg, struct ms **out, size_t *n, struct osm_err *err,
                            const struct osm_ev_where *w, const char *ctx)
{
    static const char *const keys[] = {"modulestreams", "modulestream", "module_stream"};
    const json_t *v = NULL;
    for (size_t k = 0; k < 3 && (!v || json_is_null(v)); k++)
        v = json_object_get(pkg, keys[k]);
    *n = 0;
    *out = NULL;
    if (v && json_is_array(v) && json_array_size(v) > 0) {
        *out = osm_xcalloc(json_array_size(v), sizeof **out);
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            if (read_ms_object(e, &(*out)[i], err, w, ctx) < 0)
                return -1;
            (*n)++;
        }
        return 0;
    }
    *out = osm_xcalloc(1, sizeof **out);
    *n = 1;
    if (v && !json_is_array(v))
        return read_ms_object(v, &(*out)[0], err, w, ctx);
    return 0;
}

/* One package of a set: {"name", "repository", modulestreams}. */
static int read_pes_pkg(const json_t *p, const char *ctx, void *arg, struct osm_err *err, const struct osm_ev_where *w)
{
    struct pkg_list *into = arg;
    const json_t *name = json_object_get(p, "name"), *repo = json_object_get(p, "repository");
    if (!json_is_object(p))
        return osm_events_bad(err, w, "%s: not an object", ctx);
    if (!json_is_string(name) || !*json_string_value(name))
        return osm_events_bad(err, w, "%s: \"name\" must be a non-empty string", ctx);
    if (repo && !json_is_null(repo) && !json_is_string(repo))
        return osm_events_bad(err, w, "%s: \"repository\" must be a string", ctx);
    struct ms *ms;
    size_t n_ms;
    int rc = read_pkg_streams(p, &ms, &n_ms, err, w, ctx);
    for (size_t k = 0; rc == 0 && k < n_ms; k++)
        osm_event_pkg_add(into->pkgs, into->n, json_string_value(name), json_string_value(repo), ms[k].module,
                          ms[k].stream);
    free(ms);
    return rc < 0 ? -1 : 0;
}

/* A package set: {"package": [{"name", "repository", module stream}...]}. */
static int read_pkgset(const json_t *set, const char *which, struct osm_event_pkg **pkgs, size_t *n,
                       struct osm_err *err, const struct osm_ev_where *w)
{
    if (!json_is_object(set))
        return osm_events_bad(err, w, "%s must be an object with a \"package\" list", which);
    const json_t *list = json_object_get(set, "package");
    if (!list)
        list = json_object_get(set, "packages");
    if (!list)
        return 0;
    char not_a_list[96], prefix[96];
    snprintf(not_a_list, sizeof not_a_list, "%s.package must be a list", which);
    snprintf(prefix, sizeof prefix, "%s.package", which);
    struct pkg_list into = {pkgs, n};
    return osm_events_each_pkg(list, not_a_list, prefix, read_pes_pkg, &into, err, w);
}

static int read_release(const json_t *rel, const char *which, int required, int *major, int *minor,
                        struct osm_err *err, const struct osm_ev_where *w)
{
    if (!rel || json_is_null(rel)) {
        if (required)
            return osm_events_bad(err, w, "\"%s\" is missing", which);
        *major = *minor = 0; /* Leapp's "no release" */
        return 0;
    }
    const json_t *ma = json_object_get(rel, "major_version"), *mi = json_object_get(rel, "minor_version");
    if (!json_is_object(rel) || !json_is_integer(ma) || !json_is_integer(mi) || json_integer_value(ma) < 0 ||
        json_integer_value(mi) < 0 || json_integer_value(ma) > 1000 || json_integer_value(mi) > 1000)
        return osm_events_bad(err, w,
                   "\"%s\" must be {\"major_version\": N, \"minor_version\": N} with small non-negative integers",
                   which);
    *major = (int)json_integer_value(ma);
    *minor = (int)json_integer_value(mi);
    return 0;
}

static char **copy_arches(char *const *arches, size_t n)
{
    if (!n)
        return NULL;
    char **c = osm_xcalloc(n, sizeof *c);
    for (size_t i = 0; i < n; i++)
        c[i] = osm_xstrdup(arches[i]);
    return c;
}

static int in_ms_list(const struct ms *list, size_t n, struct ms m)
{
    for (size_t i = 0; i < n; i++)
        if (ms_eq(list[i], m))
            return 1;
    return 0;
}

/* One event per input module stream (see the top of the file). `proto`
 * holds every package of the entry; its fields are copied, not taken. */
static void expand_by_stream(struct osm_eventset *set, const struct osm_event *proto, const struct ms *map_in,
                             const struct ms *map_out, size_t n_map)
{
    /* The input streams, in the order they first appear. */
    struct ms *ins = osm_xcalloc(proto->n_in + n_map + 1, sizeof *ins);
    size_t n_ins = 0;
    if (n_map) {
        for (size_t i = 0; i < n_map; i++)
            if (!in_ms_list(ins, n_ins, map_in[i]))
                ins[n_ins++] = map_in[i];
    } else {
        for (size_t i = 0; i < proto->n_in; i++) {
            struct ms m = {proto->in[i].module, proto->in[i].stream};
            if (!in_ms_list(ins, n_ins, m))
                ins[n_ins++] = m;
        }
    }
    struct ms *outs = osm_xcalloc(n_map + 1, sizeof *outs);
    for (size_t s = 0; s < n_ins; s++) {
        size_t n_outs = 0;
        if (n_map) {
            for (size_t i = 0; i < n_map; i++)
                if (ms_eq(map_in[i], ins[s]))
                    outs[n_outs++] = map_out[i];
        } else {
            outs[n_outs++] = (struct ms){NULL, NULL};
        }
        struct osm_event *ev = osm_events_push(set);
        ev->id = proto->id;
        ev->action = proto->action;
        ev->from_major = proto->from_major;
        ev->from_minor = proto->from_minor;
        ev->to_major = proto->to_major;
        ev->to_minor = proto->to_minor;
        ev->arches = copy_arches(proto->arches, proto->n_arches);
        ev->n_arches = proto->n_arches;
        ev->origin = osm_xstrdup(proto->origin);
        for (size_t i = 0; i < proto->n_in; i++) {
            const struct osm_event_pkg *p = &proto->in[i];
            if (ms_eq((struct ms){p->module, p->stream}, ins[s]))
                osm_event_pkg_add(&ev->in, &ev->n_in, p->name, p->repo, p->module, p->stream);
        }
        /* An output package listed under several streams goes in once, with
         * the first of its streams that this input stream maps to. */
        for (size_t i = 0; i < proto->n_out; i++) {
            const struct osm_event_pkg *p = &proto->out[i];
            if (!in_ms_list(outs, n_outs, (struct ms){p->module, p->stream}))
                continue;
            int dup = 0;
            for (size_t k = 0; k < ev->n_out && !dup; k++)
                dup = strcmp(ev->out[k].name, p->name) == 0;
            if (!dup)
                osm_event_pkg_add(&ev->out, &ev->n_out, p->name, p->repo, p->module, p->stream);
        }
    }
    free(outs);
    free(ins);
}

static int read_stream_maps(const json_t *maps, struct ms **in, struct ms **out, size_t *n, struct osm_err *err,
                            const struct osm_ev_where *w)
{
    *n = 0;
    *in = *out = NULL;
    if (!maps || json_is_null(maps))
        return 0;
    if (!json_is_array(maps))
        return osm_events_bad(err, w, "\"modulestream_maps\" must be a list");
    *in = osm_xcalloc(json_array_size(maps) + 1, sizeof **in);
    *out = osm_xcalloc(json_array_size(maps) + 1, sizeof **out);
    size_t i;
    const json_t *m;
    json_array_foreach(maps, i, m)
    {
        char ctx[64];
        snprintf(ctx, sizeof ctx, "modulestream_maps[%zu]", i);
        if (!json_is_object(m))
            return osm_events_bad(err, w, "%s: not an object", ctx);
        const json_t *mi = json_object_get(m, "in_modulestream"), *mo = json_object_get(m, "out_modulestream");
        if (read_ms_object(mi ? mi : json_null(), &(*in)[i], err, w, ctx) < 0 ||
            read_ms_object(mo ? mo : json_null(), &(*out)[i], err, w, ctx) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

static int read_entry(struct osm_eventset *set, const json_t *e, struct osm_ev_where *w, const char *base,
                      struct osm_err *err)
{
    if (!json_is_object(e))
        return osm_events_bad(err, w, "not an object");
    const json_t *id = json_object_get(e, "id");
    long proto_id = 0;
    int has_id = 0;
    if (id && !json_is_null(id)) {
        /* AlmaLinux's data writes some ids as strings of digits. */
        const char *s = json_string_value(id);
        char *end = NULL;
        long v = 0;
        if (json_is_integer(id))
            v = (long)json_integer_value(id);
        else if (s && *s >= '0' && *s <= '9' && strlen(s) < 19)
            v = strtol(s, &end, 10);
        if (!json_is_integer(id) && (!end || *end))
            return osm_events_bad(err, w, "\"id\" must be an integer");
        snprintf(w->id, sizeof w->id, "%ld", v);
        proto_id = v;
        has_id = 1;
    }
    const json_t *action = json_object_get(e, "action");
    if (!action)
        return osm_events_bad(err, w, "\"action\" is missing");
    if (!json_is_integer(action))
        return osm_events_bad(err, w, "\"action\" must be an integer 0-7");
    json_int_t a = json_integer_value(action);
    if (a < OSM_EV_PRESENT || a > OSM_EV_RENAMED)
        return osm_events_bad(err, w,
                   "unknown action %lld (Present=0 Removed=1 Deprecated=2 Replaced=3 Split=4 Merged=5 Moved=6 "
                   "Renamed=7)",
                   (long long)a);

    struct osm_event proto = {0};
    proto.id = has_id ? proto_id : (long)w->index;
    proto.action = (enum osm_event_action)a;
    proto.origin = osm_xasprintf("%s#%ld", base, proto.id);
    struct ms *map_in = NULL, *map_out = NULL;
    size_t n_map = 0;
    int rc = -1;

    const json_t *in = json_object_get(e, "in_packageset"), *out = json_object_get(e, "out_packageset");
    if (!in || json_is_null(in)) {
        osm_events_bad(err, w, "\"in_packageset\" is missing");
        goto done;
    }
    if (read_pkgset(in, "in_packageset", &proto.in, &proto.n_in, err, w) < 0)
        goto done;
    if (proto.n_in == 0) {
        osm_events_bad(err, w, "\"in_packageset\" has no packages");
        goto done;
    }
    if (out && !json_is_null(out) && read_pkgset(out, "out_packageset", &proto.out, &proto.n_out, err, w) < 0)
        goto done;
    /* Moved may go nowhere (the real data has one such event, applied as a
     * removal); the other changes need somewhere to go. */
    if (proto.n_out == 0 && (a == OSM_EV_REPLACED || a == OSM_EV_SPLIT || a == OSM_EV_MERGED || a == OSM_EV_RENAMED)) {
        osm_events_bad(err, w, "action %s needs packages in \"out_packageset\"", osm_event_action_name(proto.action));
        goto done;
    }
    if (read_release(json_object_get(e, "initial_release"), "initial_release", 0, &proto.from_major,
                     &proto.from_minor, err, w) < 0 ||
        read_release(json_object_get(e, "release"), "release", 1, &proto.to_major, &proto.to_minor, err, w) < 0)
        goto done;

    const json_t *arches = json_object_get(e, "architectures");
    if (arches && !json_is_null(arches)) {
        if (!json_is_array(arches)) {
            osm_events_bad(err, w, "\"architectures\" must be a list");
            goto done;
        }
        proto.arches = osm_xcalloc(json_array_size(arches) + 1, sizeof *proto.arches);
        size_t i;
        const json_t *ar;
        json_array_foreach(arches, i, ar)
        {
            if (!json_is_string(ar) || !osm_events_arch_known(json_string_value(ar))) {
                osm_events_bad(err, w, "architectures[%zu]: not one of x86_64, aarch64, ppc64le, s390x", i);
                goto done;
            }
            proto.arches[proto.n_arches++] = osm_xstrdup(json_string_value(ar));
        }
    }
    if (read_stream_maps(json_object_get(e, "modulestream_maps"), &map_in, &map_out, &n_map, err, w) < 0)
        goto done;
    expand_by_stream(set, &proto, map_in, map_out, n_map);
    rc = 0;
done:
    free(map_in);
    free(map_out);
    osm_event_free_fields(&proto);
    return rc;
}

int osm_events_read_pes(struct osm_eventset *set, const json_t *root, const char *path, const char *base,
                        struct osm_err *err)
{
    return osm_events_each_entry(set, root, "packageinfo", "\"packageinfo\" must be a list of events", path, base,
                                 read_entry, err);
}
