/* planfile.c: see planfile.h. */
#include "planfile.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"

static const char *const kind_names[] = {"install", "upgrade", "downgrade", "replace", "erase", "keep"};

const char *osm_planfile_kind_name(enum osm_planfile_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}

int osm_planfile_has_package(const struct osm_planfile_action *a)
{
    return a->kind == OSM_PF_INSTALL || a->kind == OSM_PF_UPGRADE || a->kind == OSM_PF_DOWNGRADE ||
           a->kind == OSM_PF_REPLACE;
}

static char *opt_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? osm_xstrdup(s) : NULL;
}

/* A location comes from repository metadata: it must stay inside the repo
 * and its last component becomes a file name in the stage directory. */
static int location_is_safe(const char *loc)
{
    if (!*loc || loc[0] == '/' || strstr(loc, "://") || strchr(loc, '\\'))
        return 0;
    const char *p = loc;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (!slash)
            break;
        p = slash + 1;
    }
    const char *base = strrchr(loc, '/');
    base = base ? base + 1 : loc;
    size_t bl = strlen(base);
    return base[0] != '.' && bl > 4 && strcmp(base + bl - 4, ".rpm") == 0;
}

/* An absolute guest path without "." or ".." components: the migration
 * replaces it in the root, so it must name exactly one place inside it. */
static int guest_path_is_safe(const char *p)
{
    if (p[0] != '/' || !p[1])
        return 0;
    for (const char *c = p + 1; *c;) {
        const char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        c += n + (slash ? 1 : 0);
    }
    return 1;
}

/* "symlinked_dirs": [{"path": "/usr/share/doc/x", "source_owner": NEVRA|null, ...}]
 * (optional): the links a source package owns, to be made real directories. */
static int parse_symlinked_dirs(json_t *a, struct osm_planfile *plan, struct osm_err *err)
{
    if (!a)
        return 0;
    if (!json_is_array(a))
        return osm_err_set(err, OSM_EINPUT, "\"symlinked_dirs\" must be an array");
    plan->symlinked_dirs = osm_xcalloc(json_array_size(a) + 1, sizeof *plan->symlinked_dirs);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *e = json_array_get(a, i);
        const char *p = json_string_value(json_is_object(e) ? json_object_get(e, "path") : NULL);
        if (!p || !guest_path_is_safe(p))
            return osm_err_set(err, OSM_EINPUT, "symlinked_dirs[%zu]: \"path\" must be an absolute path without "
                               "'.' or '..' components", i);
        /* A link no package owns was made by hand: the admin's to keep. */
        if (json_is_string(json_object_get(e, "source_owner")))
            plan->symlinked_dirs[plan->n_symlinked_dirs++] = osm_xstrdup(p);
    }
    return 0;
}

static int parse_repo(json_t *r, size_t i, struct osm_planfile_repo *out, struct osm_err *err)
{
    const char *id = json_string_value(json_object_get(r, "id"));
    const char *base = json_string_value(json_object_get(r, "baseurl"));
    if (!id || !base)
        return osm_err_set(err, OSM_EINPUT, "repos[%zu]: missing \"id\" or \"baseurl\"", i);
    out->id = osm_xstrdup(id);
    size_t bl = strlen(base);
    out->baseurl = bl && base[bl - 1] == '/' ? osm_xstrdup(base) : osm_xasprintf("%s/", base);
    json_t *gc = json_object_get(r, "gpgcheck");
    out->gpgcheck = gc ? json_is_true(gc) : 1;
    json_t *keys = json_object_get(r, "gpgkeys");
    if (keys && !json_is_array(keys))
        return osm_err_set(err, OSM_EINPUT, "repos[%zu] (%s): \"gpgkeys\" must be an array", i, id);
    size_t nk = json_array_size(keys);
    out->gpgkeys = osm_xcalloc(nk ? nk : 1, sizeof *out->gpgkeys);
    for (size_t k = 0; k < nk; k++) {
        const char *s = json_string_value(json_array_get(keys, k));
        if (!s)
            return osm_err_set(err, OSM_EINPUT, "repos[%zu] (%s): gpgkeys[%zu] is not a string", i, id, k);
        out->gpgkeys[out->n_gpgkeys++] = osm_xstrdup(s);
    }
    return 0;
}

static int parse_action(json_t *a, size_t i, const struct osm_planfile *plan, struct osm_planfile_action *out,
                        struct osm_err *err)
{
    const char *kind = json_string_value(json_object_get(a, "action"));
    if (!kind)
        return osm_err_set(err, OSM_EINPUT, "actions[%zu]: missing \"action\"", i);
    size_t k;
    for (k = 0; k < sizeof kind_names / sizeof kind_names[0]; k++)
        if (strcmp(kind, kind_names[k]) == 0)
            break;
    if (k == sizeof kind_names / sizeof kind_names[0])
        return osm_err_set(err, OSM_EINPUT, "actions[%zu]: unknown action \"%s\"", i, kind);
    out->kind = (enum osm_planfile_kind)k;
    out->name = opt_str(a, "name");
    out->from = opt_str(a, "from");
    out->to = opt_str(a, "to");
    out->repo = opt_str(a, "repo");
    out->location = opt_str(a, "location");
    out->download_size = (uint64_t)json_integer_value(json_object_get(a, "download_size"));
    out->installed_size = (uint64_t)json_integer_value(json_object_get(a, "installed_size"));
    json_t *ck = json_object_get(a, "checksum");
    out->checksum_type = opt_str(ck, "type");
    out->checksum = opt_str(ck, "value");
    if (!out->name)
        return osm_err_set(err, OSM_EINPUT, "actions[%zu] (%s): missing \"name\"", i, kind);
    if (!osm_planfile_has_package(out)) {
        if (!out->from)
            return osm_err_set(err, OSM_EINPUT, "actions[%zu] (%s %s): missing \"from\"", i, kind, out->name);
        return 0;
    }
    if ((out->kind != OSM_PF_INSTALL && !out->from) || !out->to || !out->repo || !out->location)
        return osm_err_set(err, OSM_EINPUT, "actions[%zu] (%s %s): needs \"%s\", \"to\", \"repo\" and \"location\"",
                           i, kind, out->name, out->kind == OSM_PF_INSTALL ? "name" : "from");
    if (!out->checksum_type || !out->checksum)
        return osm_err_set(err, OSM_EINPUT, "actions[%zu] (%s %s): missing \"checksum\" {type, value}", i, kind,
                           out->name);
    if (!location_is_safe(out->location))
        return osm_err_set(err, OSM_EINPUT, "actions[%zu] (%s %s): unsafe or non-rpm location \"%s\"", i, kind,
                           out->name, out->location);
    const char *base = strrchr(out->location, '/');
    out->filename = osm_xstrdup(base ? base + 1 : out->location);
    for (size_t r = 0; r < plan->n_repos; r++)
        if (strcmp(plan->repos[r].id, out->repo) == 0)
            out->repo_ref = &plan->repos[r];
    if (!out->repo_ref)
        return osm_err_set(err, OSM_EINPUT, "actions[%zu] (%s %s): unknown repo \"%s\"", i, kind, out->name,
                           out->repo);
    return 0;
}

int osm_planfile_load(const char *path, struct osm_planfile *plan, struct osm_err *err)
{
    memset(plan, 0, sizeof *plan);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return osm_err_set(err, OSM_EINPUT, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    int rc = -1;
    if (json_integer_value(json_object_get(root, "osmig_plan")) != 1) {
        osm_err_set(err, OSM_EINPUT, "%s: not an osmig plan of version 1 (\"osmig_plan\": 1)", path);
        goto out;
    }
    json_t *src = json_object_get(root, "source"), *tgt = json_object_get(root, "target");
    plan->instance = opt_str(root, "instance");
    plan->source_id = opt_str(src, "id");
    plan->source_version = opt_str(src, "version");
    plan->target_id = opt_str(tgt, "id");
    plan->target_name = opt_str(tgt, "name");
    plan->target_version = opt_str(tgt, "version");
    plan->release_package = opt_str(tgt, "release_package");
    plan->target_os_id = opt_str(tgt, "os_id");
    if (!plan->target_id) {
        osm_err_set(err, OSM_EINPUT, "%s: missing target.id", path);
        goto out;
    }
    json_t *repos = json_object_get(root, "repos"), *actions = json_object_get(root, "actions");
    if (!json_is_array(repos) || !json_is_array(actions)) {
        osm_err_set(err, OSM_EINPUT, "%s: \"repos\" and \"actions\" must be arrays", path);
        goto out;
    }
    plan->repos = osm_xcalloc(json_array_size(repos) + 1, sizeof *plan->repos);
    for (size_t i = 0; i < json_array_size(repos); i++, plan->n_repos++)
        if (parse_repo(json_array_get(repos, i), i, &plan->repos[i], err) < 0) {
            plan->n_repos++;
            goto bad;
        }
    plan->actions = osm_xcalloc(json_array_size(actions) + 1, sizeof *plan->actions);
    for (size_t i = 0; i < json_array_size(actions); i++, plan->n_actions++)
        if (parse_action(json_array_get(actions, i), i, plan, &plan->actions[i], err) < 0) {
            plan->n_actions++;
            goto bad;
        }
    if (parse_symlinked_dirs(json_object_get(root, "symlinked_dirs"), plan, err) < 0)
        goto bad;
    rc = 0;
    goto out;
bad:
    osm_err_prefix(err, "%s", path);
    osm_planfile_free(plan);
out:
    json_decref(root);
    return rc;
}

void osm_planfile_free(struct osm_planfile *plan)
{
    for (size_t i = 0; i < plan->n_repos; i++) {
        struct osm_planfile_repo *r = &plan->repos[i];
        free(r->id);
        free(r->baseurl);
        osm_free_strv(r->gpgkeys, r->n_gpgkeys);
    }
    for (size_t i = 0; i < plan->n_actions; i++) {
        struct osm_planfile_action *a = &plan->actions[i];
        osm_free_all(a->name, a->from, a->to, a->repo, a->location, a->filename, a->checksum_type, a->checksum);
    }
    free(plan->repos);
    free(plan->actions);
    osm_free_strv(plan->symlinked_dirs, plan->n_symlinked_dirs);
    osm_free_all(plan->instance, plan->source_id, plan->source_version, plan->target_id, plan->target_name,
                 plan->target_version, plan->release_package, plan->target_os_id);
    memset(plan, 0, sizeof *plan);
}
