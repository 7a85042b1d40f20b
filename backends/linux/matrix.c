/* matrix.c: see matrix.h. Strict reading: unknown members and wrong types are
 * errors that name the file and the member, because a silently ignored typo
 * in a matrix would send a machine to the wrong repositories. */
#include "matrix.h"

#include <dirent.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_json_file.h"

struct ctx {
    const char *file;
    const char *base_dir; /* for relative event files */
    struct osm_err *err;
};

static int bad(struct ctx *c, const char *where, const char *what)
{
    return osm_err_set(c->err, OSM_EINPUT, "matrix %s: %s: %s", c->file, where, what);
}

static int check_keys(struct ctx *c, json_t *obj, const char *where, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0)
                ok = 1;
        if (!ok) {
            struct osm_buf b;
            osm_buf_init(&b);
            osm_buf_addf(&b, "unknown member \"%s\" (known:", key);
            for (const char *const *a = allowed; *a; a++)
                osm_buf_addf(&b, " %s", *a);
            osm_buf_adds(&b, ")");
            bad(c, where, b.s);
            osm_buf_free(&b);
            return -1;
        }
    }
    return 0;
}

static int get_str(struct ctx *c, json_t *obj, const char *key, const char *where, int required, char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (!required)
            return 0;
        char w[256];
        snprintf(w, sizeof w, "%s.%s", where, key);
        return bad(c, w, "missing (a string is required)");
    }
    if (!json_is_string(v)) {
        char w[256];
        snprintf(w, sizeof w, "%s.%s", where, key);
        return bad(c, w, "must be a string");
    }
    free(*out);
    *out = osm_xstrdup(json_string_value(v));
    return 0;
}

static int get_strlist(struct ctx *c, json_t *obj, const char *key, const char *where, char ***out, size_t *n)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char w[256];
    snprintf(w, sizeof w, "%s.%s", where, key);
    if (json_is_string(v)) { /* a single string is a list of one */
        *out = osm_xcalloc(1, sizeof **out);
        (*out)[0] = osm_xstrdup(json_string_value(v));
        *n = 1;
        return 0;
    }
    if (!json_is_array(v))
        return bad(c, w, "must be an array of strings");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) if (!json_is_string(e)) return bad(c, w, "must be an array of strings");
    *out = osm_xcalloc(json_array_size(v) + 1, sizeof **out);
    *n = json_array_size(v);
    json_array_foreach(v, i, e)(*out)[i] = osm_xstrdup(json_string_value(e));
    return 0;
}

static int get_int(struct ctx *c, json_t *obj, const char *key, const char *where, long *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        char w[256];
        snprintf(w, sizeof w, "%s.%s", where, key);
        return bad(c, w, "must be a non-negative integer");
    }
    *out = (long)json_integer_value(v);
    return 0;
}

static int get_bool(struct ctx *c, json_t *obj, const char *key, const char *where, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        char w[256];
        snprintf(w, sizeof w, "%s.%s", where, key);
        return bad(c, w, "must be true or false");
    }
    *out = json_is_true(v);
    return 0;
}

static void free_source(struct osm_source_os *s)
{
    free(s->id);
    free(s->name);
    osm_free_strv(s->vendors, s->n_vendors);
    free(s->release_package);
    memset(s, 0, sizeof *s);
}

static void free_target(struct osm_target *t)
{
    osm_free_all(t->id, t->name, t->os_id, t->version);
    osm_free_strv(t->arches, t->n_arches);
    free(t->release_package);
    osm_free_strv(t->vendors, t->n_vendors);
    for (size_t i = 0; i < t->n_repos; i++) {
        osm_free_all(t->repos[i].id, t->repos[i].name, t->repos[i].baseurl);
        osm_free_strv(t->repos[i].gpgkeys, t->repos[i].n_gpgkeys);
    }
    free(t->repos);
    osm_free_strv(t->events, t->n_events);
    for (size_t i = 0; i < t->n_warnings; i++)
        osm_free_all(t->warnings[i].id, t->warnings[i].message, t->warnings[i].remediation);
    free(t->warnings);
    memset(t, 0, sizeof *t);
}

static void free_path(struct osm_path *p)
{
    free(p->from_id);
    osm_free_strv(p->versions, p->n_versions);
    free(p->to);
    osm_free_strv(p->arches, p->n_arches);
    osm_free_strv(p->regions, p->n_regions);
    free(p->note);
    free(p->origin);
    memset(p, 0, sizeof *p);
}

static int parse_el_version(const char *s, int *major, int *minor)
{
    char *end;
    long ma = strtol(s, &end, 10);
    if (end == s || *end != '.')
        return -1;
    char *end2;
    long mi = strtol(end + 1, &end2, 10);
    if (end2 == end + 1 || *end2)
        return -1;
    *major = (int)ma;
    *minor = (int)mi;
    return 0;
}

static int parse_source(struct ctx *c, const char *id, json_t *o, struct osm_source_os *s)
{
    char where[160];
    snprintf(where, sizeof where, "sources.%s", id);
    static const char *const keys[] = {"name", "vendors", "release_package", NULL};
    if (!json_is_object(o))
        return bad(c, where, "must be an object");
    if (check_keys(c, o, where, keys) != 0)
        return -1;
    s->id = osm_xstrdup(id);
    if (get_str(c, o, "name", where, 1, &s->name) || get_strlist(c, o, "vendors", where, &s->vendors, &s->n_vendors) ||
        get_str(c, o, "release_package", where, 0, &s->release_package))
        return -1;
    return 0;
}

static int parse_repo(struct ctx *c, const char *where, json_t *o, struct osm_repo_def *r)
{
    static const char *const keys[] = {"id", "name", "baseurl", "gpgkeys", "gpgcheck", NULL};
    if (!json_is_object(o))
        return bad(c, where, "must be an object");
    if (check_keys(c, o, where, keys) != 0)
        return -1;
    r->gpgcheck = 1;
    if (get_str(c, o, "id", where, 1, &r->id) || get_str(c, o, "name", where, 0, &r->name) ||
        get_str(c, o, "baseurl", where, 1, &r->baseurl) ||
        get_strlist(c, o, "gpgkeys", where, &r->gpgkeys, &r->n_gpgkeys) || get_bool(c, o, "gpgcheck", where, &r->gpgcheck))
        return -1;
    return 0;
}

static int parse_target(struct ctx *c, const char *id, json_t *o, struct osm_target *t)
{
    char where[160];
    snprintf(where, sizeof where, "targets.%s", id);
    static const char *const keys[] = {"name", "os_id", "version", "el_version", "arches", "release_package", "vendors",
                                       "repos", "events", "warnings", "limits", NULL};
    if (!json_is_object(o))
        return bad(c, where, "must be an object");
    if (check_keys(c, o, where, keys) != 0)
        return -1;
    t->id = osm_xstrdup(id);
    t->min_vcpus = 2;
    t->min_memory_mib = 2048;
    t->min_free_mib = 500;
    char *el = NULL;
    if (get_str(c, o, "name", where, 1, &t->name) || get_str(c, o, "os_id", where, 0, &t->os_id) ||
        get_str(c, o, "version", where, 0, &t->version) || get_str(c, o, "el_version", where, 1, &el) ||
        get_strlist(c, o, "arches", where, &t->arches, &t->n_arches) ||
        get_str(c, o, "release_package", where, 0, &t->release_package) ||
        get_strlist(c, o, "vendors", where, &t->vendors, &t->n_vendors)) {
        free(el);
        return -1;
    }
    if (parse_el_version(el, &t->el_major, &t->el_minor) != 0) {
        free(el);
        return bad(c, where, "el_version must be MAJOR.MINOR, e.g. \"8.6\"");
    }
    free(el);
    json_t *repos = json_object_get(o, "repos");
    if (!json_is_array(repos) || json_array_size(repos) == 0)
        return bad(c, where, "repos must be a non-empty array of {id, baseurl, gpgkeys}");
    t->repos = osm_xcalloc(json_array_size(repos), sizeof *t->repos);
    size_t i;
    json_t *e;
    json_array_foreach(repos, i, e)
    {
        char w[200];
        snprintf(w, sizeof w, "%s.repos[%zu]", where, i);
        t->n_repos = i + 1;
        if (parse_repo(c, w, e, &t->repos[i]) != 0)
            return -1;
    }
    char **ev = NULL;
    size_t nev = 0;
    if (get_strlist(c, o, "events", where, &ev, &nev) != 0)
        return -1;
    t->events = osm_xcalloc(nev + 1, sizeof *t->events);
    for (size_t k = 0; k < nev; k++) {
        t->events[k] = ev[k][0] == '/' ? osm_xstrdup(ev[k]) : osm_path_join(c->base_dir, ev[k]);
        t->n_events++;
    }
    osm_free_strv(ev, nev);
    json_t *warnings = json_object_get(o, "warnings");
    if (warnings && !json_is_array(warnings))
        return bad(c, where, "warnings must be an array of {id, message, remediation}");
    t->warnings = osm_xcalloc(json_array_size(warnings) + 1, sizeof *t->warnings);
    json_array_foreach(warnings, i, e)
    {
        char w[200];
        snprintf(w, sizeof w, "%s.warnings[%zu]", where, i);
        static const char *const wkeys[] = {"id", "message", "remediation", NULL};
        if (!json_is_object(e))
            return bad(c, w, "must be an object");
        t->n_warnings = i + 1;
        if (check_keys(c, e, w, wkeys) || get_str(c, e, "id", w, 1, &t->warnings[i].id) ||
            get_str(c, e, "message", w, 1, &t->warnings[i].message) ||
            get_str(c, e, "remediation", w, 1, &t->warnings[i].remediation))
            return -1;
    }
    json_t *limits = json_object_get(o, "limits");
    if (limits) {
        char w[200];
        snprintf(w, sizeof w, "%s.limits", where);
        static const char *const lkeys[] = {"min_vcpus", "min_memory_mib", "min_free_mib", NULL};
        long vcpus = t->min_vcpus;
        if (!json_is_object(limits))
            return bad(c, w, "must be an object");
        if (check_keys(c, limits, w, lkeys) || get_int(c, limits, "min_vcpus", w, &vcpus) ||
            get_int(c, limits, "min_memory_mib", w, &t->min_memory_mib) ||
            get_int(c, limits, "min_free_mib", w, &t->min_free_mib))
            return -1;
        t->min_vcpus = (int)vcpus;
    }
    return 0;
}

static int parse_path(struct ctx *c, size_t idx, json_t *o, struct osm_path *p)
{
    char where[64];
    snprintf(where, sizeof where, "paths[%zu]", idx);
    static const char *const keys[] = {"from", "to", "arches", "regions", "trial_only", "note", NULL};
    static const char *const fkeys[] = {"id", "versions", NULL};
    if (!json_is_object(o))
        return bad(c, where, "must be an object");
    if (check_keys(c, o, where, keys) != 0)
        return -1;
    json_t *from = json_object_get(o, "from");
    char fw[80];
    snprintf(fw, sizeof fw, "%s.from", where);
    if (!json_is_object(from))
        return bad(c, fw, "must be an object {id, versions}");
    if (check_keys(c, from, fw, fkeys) || get_str(c, from, "id", fw, 1, &p->from_id) ||
        get_strlist(c, from, "versions", fw, &p->versions, &p->n_versions))
        return -1;
    if (p->n_versions == 0)
        return bad(c, fw, "versions must list at least one version (\"7\" or \"7.9\")");
    if (get_str(c, o, "to", where, 1, &p->to) || get_strlist(c, o, "arches", where, &p->arches, &p->n_arches) ||
        get_strlist(c, o, "regions", where, &p->regions, &p->n_regions) ||
        get_bool(c, o, "trial_only", where, &p->trial_only) || get_str(c, o, "note", where, 0, &p->note))
        return -1;
    if (p->n_arches == 0)
        return bad(c, where, "arches must list at least one architecture");
    p->origin = osm_xstrdup(c->file);
    return 0;
}


/* An array ready for entry `at`: `at` < *n is an entry being replaced
 * (already freed by the caller); `at` == *n grows the array by one. */
static void *merge_slot(void *items, size_t *n, size_t at, size_t size)
{
    if (at < *n)
        return items;
    items = osm_xrealloc(items, (*n + 1) * size);
    (*n)++;
    return items;
}
static void free_source_item(void *s)
{
    free_source(s);
}

static void free_target_item(void *t)
{
    free_target(t);
}

/* Put `item` (its first member is its char *id) in place of the entry of
 * *items with the same id (freed), or after the last. */
_Static_assert(offsetof(struct osm_source_os, id) == 0 && offsetof(struct osm_target, id) == 0,
               "merge_by_id reads the id first");
static void merge_by_id(void *items, size_t *n, const void *item, size_t size, void (*free_item)(void *))
{
    char **arr = items;
    const char *id = *(char *const *)item;
    size_t j = 0;
    while (j < *n && strcmp(*(char **)(*arr + j * size), id) != 0)
        j++;
    if (j < *n)
        free_item(*arr + j * size);
    *arr = merge_slot(*arr, n, j, size);
    memcpy(*arr + j * size, item, size);
}

static int same_strlist(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

static int same_path(const struct osm_path *a, const struct osm_path *b)
{
    return strcmp(a->from_id, b->from_id) == 0 && strcmp(a->to, b->to) == 0 &&
           same_strlist(a->versions, a->n_versions, b->versions, b->n_versions);
}

int osm_matrix_load_file(struct osm_matrix *m, const char *path, struct osm_err *err)
{
    json_t *doc = osm_json_load_file(path, OSM_CONFIG_FILE_MAX, err);
    if (!doc) {
        osm_err_prefix(err, "matrix");
        return -1;
    }
    char *dir = osm_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    struct ctx c = {path, dir, err};
    static const char *const keys[] = {"osmig_matrix", "sources", "targets", "paths", "comment", NULL};
    /* Parse everything into a scratch matrix first so that a bad file changes nothing. */
    struct osm_matrix add = {0};
    int rc = -1;
    if (!json_is_object(doc)) {
        bad(&c, "top level", "must be an object with sources/targets/paths");
        goto out;
    }
    if (check_keys(&c, doc, "top level", keys) != 0)
        goto out;
    json_t *ver = json_object_get(doc, "osmig_matrix");
    if (ver && (!json_is_integer(ver) || json_integer_value(ver) != 1)) {
        bad(&c, "osmig_matrix", "unsupported format version (this osmig reads version 1)");
        goto out;
    }
    json_t *sources = json_object_get(doc, "sources"), *targets = json_object_get(doc, "targets"),
           *paths = json_object_get(doc, "paths");
    if ((sources && !json_is_object(sources)) || (targets && !json_is_object(targets)) ||
        (paths && !json_is_array(paths))) {
        bad(&c, "top level", "sources and targets must be objects keyed by id, paths an array");
        goto out;
    }
    const char *key;
    json_t *v;
    add.sources = osm_xcalloc(json_object_size(sources) + 1, sizeof *add.sources);
    json_object_foreach(sources, key, v)
    {
        add.n_sources++;
        if (parse_source(&c, key, v, &add.sources[add.n_sources - 1]) != 0)
            goto out;
    }
    add.targets = osm_xcalloc(json_object_size(targets) + 1, sizeof *add.targets);
    json_object_foreach(targets, key, v)
    {
        add.n_targets++;
        if (parse_target(&c, key, v, &add.targets[add.n_targets - 1]) != 0)
            goto out;
    }
    add.paths = osm_xcalloc(json_array_size(paths) + 1, sizeof *add.paths);
    size_t i;
    json_array_foreach(paths, i, v)
    {
        add.n_paths++;
        if (parse_path(&c, i, v, &add.paths[add.n_paths - 1]) != 0)
            goto out;
    }
    /* Merge: replace by id / by (from, versions, to), else append. */
    for (size_t k = 0; k < add.n_sources; k++)
        merge_by_id(&m->sources, &m->n_sources, &add.sources[k], sizeof *m->sources, free_source_item);
    for (size_t k = 0; k < add.n_targets; k++)
        merge_by_id(&m->targets, &m->n_targets, &add.targets[k], sizeof *m->targets, free_target_item);
    for (size_t k = 0; k < add.n_paths; k++) {
        const struct osm_path *p = &add.paths[k];
        size_t j = 0;
        while (j < m->n_paths && !same_path(&m->paths[j], p))
            j++;
        if (j < m->n_paths)
            free_path(&m->paths[j]);
        m->paths = merge_slot(m->paths, &m->n_paths, j, sizeof *m->paths);
        m->paths[j] = *p;
    }
    add.n_sources = add.n_targets = add.n_paths = 0;
    rc = 0;
out:
    for (size_t k = 0; k < add.n_sources; k++)
        free_source(&add.sources[k]);
    for (size_t k = 0; k < add.n_targets; k++)
        free_target(&add.targets[k]);
    for (size_t k = 0; k < add.n_paths; k++)
        free_path(&add.paths[k]);
    osm_free_all(add.sources, add.targets, add.paths, dir);
    json_decref(doc);
    return rc;
}

const char *osm_matrix_dir(void)
{
    const char *env = getenv("OSMIG_MATRIX_DIR");
    if (env && *env)
        return env;
#ifdef OSMIG_SOURCE_MATRICES
    if (osm_is_dir(OSMIG_SOURCE_MATRICES))
        return OSMIG_SOURCE_MATRICES;
#endif
#ifdef OSMIG_INSTALL_MATRICES
    return OSMIG_INSTALL_MATRICES;
#else
    return "/usr/local/share/osmig/matrices";
#endif
}

int osm_matrix_load(struct osm_matrix *m, const char *const *extra, size_t n_extra, struct osm_err *err)
{
    memset(m, 0, sizeof *m);
    char *dir = osm_path_join(osm_matrix_dir(), "linux");
    char **names = NULL;
    size_t n = 0;
    if (osm_dir_names(dir, ".json", &names, &n, err) != 0) {
        osm_err_prefix(err, "matrix directory (set OSMIG_MATRIX_DIR)");
        free(dir);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char *full = osm_path_join(dir, names[i]);
        free(names[i]);
        names[i] = full;
    }
    free(dir);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = osm_matrix_load_file(m, names[i], err);
    for (size_t i = 0; i < n_extra && rc == 0; i++)
        rc = osm_matrix_load_file(m, extra[i], err);
    osm_free_strv(names, n);
    /* Every path must lead to a known target. */
    for (size_t i = 0; i < m->n_paths && rc == 0; i++)
        if (!osm_matrix_target(m, m->paths[i].to))
            rc = osm_err_set(err, OSM_EINPUT, "matrix %s: a path from %s leads to unknown target \"%s\"",
                             m->paths[i].origin, m->paths[i].from_id, m->paths[i].to);
    if (rc != 0)
        osm_matrix_free(m);
    return rc;
}

void osm_matrix_free(struct osm_matrix *m)
{
    for (size_t i = 0; i < m->n_sources; i++)
        free_source(&m->sources[i]);
    for (size_t i = 0; i < m->n_targets; i++)
        free_target(&m->targets[i]);
    for (size_t i = 0; i < m->n_paths; i++)
        free_path(&m->paths[i]);
    free(m->sources);
    free(m->targets);
    free(m->paths);
    memset(m, 0, sizeof *m);
}

const struct osm_target *osm_matrix_target(const struct osm_matrix *m, const char *id)
{
    for (size_t i = 0; i < m->n_targets; i++)
        if (strcmp(m->targets[i].id, id) == 0)
            return &m->targets[i];
    return NULL;
}

const struct osm_source_os *osm_matrix_source(const struct osm_matrix *m, const char *id)
{
    for (size_t i = 0; i < m->n_sources; i++)
        if (strcmp(m->sources[i].id, id) == 0)
            return &m->sources[i];
    return NULL;
}

static int version_matches(const char *v, int major, int minor)
{
    char *end;
    long ma = strtol(v, &end, 10);
    if (ma != major)
        return 0;
    if (*end == '\0')
        return 1;
    if (*end != '.')
        return 0;
    return strtol(end + 1, NULL, 10) == minor;
}

int osm_path_matches(const struct osm_path *p, const char *os_id, int major, int minor, const char *arch)
{
    if (strcmp(p->from_id, os_id) != 0)
        return 0;
    int vok = 0, aok = 0;
    for (size_t i = 0; i < p->n_versions; i++)
        vok |= version_matches(p->versions[i], major, minor);
    for (size_t i = 0; i < p->n_arches; i++)
        aok |= strcmp(p->arches[i], arch) == 0;
    return vok && aok;
}

const struct osm_path *osm_matrix_find_path(const struct osm_matrix *m, const char *os_id, int major, int minor,
                                            const char *arch, const char *target)
{
    for (size_t i = 0; i < m->n_paths; i++)
        if (strcmp(m->paths[i].to, target) == 0 && osm_path_matches(&m->paths[i], os_id, major, minor, arch))
            return &m->paths[i];
    return NULL;
}

char *osm_expand_repo_vars(const char *url, const char *basearch, const char *releasever)
{
    struct osm_buf b;
    osm_buf_init(&b);
    for (const char *p = url; *p;) {
        if (strncmp(p, "$basearch", 9) == 0) {
            osm_buf_adds(&b, basearch);
            p += 9;
        } else if (strncmp(p, "$releasever", 11) == 0) {
            osm_buf_adds(&b, releasever);
            p += 11;
        } else if (strncmp(p, "$arch", 5) == 0) {
            osm_buf_adds(&b, basearch);
            p += 5;
        } else {
            osm_buf_addc(&b, *p++);
        }
    }
    return osm_buf_detach(&b);
}
