/* win_paths.c: the matrix file and the breadth-first hop planner. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "win_paths.h"

static char *matrix_path(void)
{
    const char *env = getenv("OSMIG_MATRIX_DIR");
    if (env && *env)
        return osm_path_join(env, "windows/windows.json");
    char *p = osm_path_join(OSMIG_SOURCE_MATRICES, "windows/windows.json");
    if (osm_is_file(p))
        return p;
    free(p);
    return osm_path_join(OSMIG_INSTALL_MATRICES, "windows/windows.json");
}

json_t *win_matrix_load(const char *file, struct osm_err *err)
{
    char *path = file ? osm_xstrdup(file) : matrix_path();
    json_error_t je;
    json_t *m = json_load_file(path, 0, &je);
    if (!m) {
        osm_err_set(err, OSM_EINPUT, "Windows matrix '%s': %s (line %d)", path, je.text, je.line);
        free(path);
        return NULL;
    }
    static const char *const arrays[] = {"releases", "paths", "architectures", "languages", "regions"};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        if (!json_is_array(json_object_get(m, arrays[i]))) {
            osm_err_set(err, OSM_EINPUT, "Windows matrix '%s': \"%s\" must be an array", path, arrays[i]);
            goto bad;
        }
    if (!json_is_object(json_object_get(m, "limits"))) {
        osm_err_set(err, OSM_EINPUT, "Windows matrix '%s': \"limits\" must be an object", path);
        goto bad;
    }
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(m, "regions"), i, p) {
        if (!json_is_string(json_object_get(p, "id")) || !json_is_string(json_object_get(p, "name"))) {
            osm_err_set(err, OSM_EINPUT, "Windows matrix '%s': regions[%zu] needs \"id\" and \"name\"", path, i);
            goto bad;
        }
    }
    json_array_foreach(json_object_get(m, "paths"), i, p) {
        json_t *from = json_object_get(p, "from"), *to = json_object_get(p, "to");
        if (!json_is_string(json_object_get(from, "release")) || !json_is_array(json_object_get(from, "editions")) ||
            !json_is_string(json_object_get(to, "release")) || !json_is_string(json_object_get(to, "edition"))) {
            osm_err_set(err, OSM_EINPUT,
                        "Windows matrix '%s': paths[%zu] needs from.release, from.editions[], to.release, to.edition", path, i);
            goto bad;
        }
    }
    free(path);
    return m;
bad:
    free(path);
    json_decref(m);
    return NULL;
}

const char *win_release_of_build(const json_t *matrix, long build)
{
    size_t i, j;
    json_t *r, *b;
    json_array_foreach(json_object_get(matrix, "releases"), i, r) {
        json_array_foreach(json_object_get(r, "builds"), j, b) if (json_integer_value(b) == build) return json_string_value(
            json_object_get(r, "id"));
    }
    return NULL;
}

const char *win_region_name(const json_t *matrix, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(matrix, "regions"), i, r) {
        if (strcmp(json_string_value(json_object_get(r, "id")), id) == 0)
            return json_string_value(json_object_get(r, "name"));
    }
    return NULL;
}

const json_t *win_release(const json_t *matrix, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(matrix, "releases"), i, r) {
        const char *rid = json_string_value(json_object_get(r, "id"));
        if (rid && strcasecmp(rid, id) == 0)
            return r;
    }
    return NULL;
}

int win_edition_of_id(const char *edition_id, char out[32], int *eval)
{
    static const struct { const char *prefix; const char *edition; } eds[] = {
        {"ServerDatacenter", "datacenter"}, {"ServerStandard", "standard"}, {"ServerEnterprise", "enterprise"},
        {"ServerWeb", "web"}, {"ServerFoundation", "foundation"}, {"ServerEssentials", "essentials"},
    };
    *eval = 0;
    for (size_t i = 0; i < sizeof eds / sizeof eds[0]; i++) {
        size_t n = strlen(eds[i].prefix);
        if (strncasecmp(edition_id, eds[i].prefix, n) != 0)
            continue;
        const char *rest = edition_id + n;
        /* 2008 R2 and 2012 R2 spell Core editions "ServerStandardCore"/"...Core". */
        if (strncasecmp(rest, "Eval", 4) == 0) {
            *eval = 1;
            rest += 4;
        }
        if (*rest && strcasecmp(rest, "Core") != 0 && strcasecmp(rest, "V") != 0)
            continue;
        snprintf(out, 32, "%s", eds[i].edition);
        return 0;
    }
    return -1;
}

int win_parse_target(const char *target, char release[16], char edition[32], char type[16], struct osm_err *err)
{
    release[0] = edition[0] = type[0] = '\0';
    char *copy = osm_xstrdup(target), *save = NULL;
    int n = 0, rc = 0;
    for (char *part = strtok_r(copy, "-", &save); part; part = strtok_r(NULL, "-", &save), n++) {
        for (char *c = part; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        if (n == 0 && strlen(part) < 16)
            snprintf(release, 16, "%s", part);
        else if (n == 1 && (!strcmp(part, "standard") || !strcmp(part, "datacenter") || !strcmp(part, "enterprise")))
            snprintf(edition, 32, "%s", part);
        else if (n == 2 && (!strcmp(part, "core") || !strcmp(part, "desktop")))
            snprintf(type, 16, "%s", part);
        else
            rc = -1;
    }
    free(copy);
    if (rc || !release[0])
        return osm_err_set(err, OSM_EUSAGE,
                           "target '%s': expected RELEASE[-EDITION[-core|-desktop]], e.g. 2019 or 2019-datacenter", target);
    return 0;
}

struct node {
    const char *release, *edition;
    int prev;       /* index of the previous node, -1 for the source */
    const json_t *via;
};

static int same(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

int win_plan_hops(const json_t *matrix, const char *release, const char *edition, const char *to_release,
                  const char *to_edition, json_t **hops, char **reachable)
{
    *hops = NULL;
    if (reachable)
        *reachable = NULL;
    const json_t *paths = json_object_get(matrix, "paths");
    size_t cap = json_array_size(paths) + 1, n = 1;
    struct node *q = osm_xcalloc(cap, sizeof *q);
    q[0] = (struct node){release, edition, -1, NULL};
    int found = -1;
    for (size_t head = 0; head < n && found < 0; head++) {
        size_t i;
        json_t *p;
        json_array_foreach(paths, i, p) {
            json_t *from = json_object_get(p, "from"), *to = json_object_get(p, "to"), *e;
            if (!same(json_string_value(json_object_get(from, "release")), q[head].release))
                continue;
            size_t j;
            int ed_ok = 0;
            json_array_foreach(json_object_get(from, "editions"), j, e) ed_ok |= same(json_string_value(e), q[head].edition);
            if (!ed_ok)
                continue;
            const char *tr = json_string_value(json_object_get(to, "release"));
            const char *te = json_string_value(json_object_get(to, "edition"));
            int seen = 0;
            for (size_t k = 0; k < n; k++)
                seen |= same(q[k].release, tr) && same(q[k].edition, te);
            if (seen || n >= cap)
                continue;
            q[n] = (struct node){tr, te, (int)head, p};
            if (same(tr, to_release) && (!to_edition[0] || same(te, to_edition))) {
                found = (int)n++;
                break;
            }
            n++;
        }
    }
    if (found < 0) {
        if (reachable) {
            struct osm_buf b;
            osm_buf_init(&b);
            for (size_t k = 1; k < n; k++)
                osm_buf_addf(&b, "%s%s-%s", k > 1 ? ", " : "", q[k].release, q[k].edition);
            *reachable = osm_buf_detach(&b);
        }
        free(q);
        return 1;
    }
    json_t *arr = json_array();
    for (int k = found; q[k].prev >= 0; k = q[k].prev) {
        const struct node *to = &q[k], *from = &q[to->prev];
        const json_t *rel = win_release(matrix, to->release);
        /* Within one release the edition changes by a licence conversion
         * (DISM /Set-Edition), which runs no Windows Setup and needs no media. */
        int conversion = same(from->release, to->release);
        const char *setup = json_string_value(json_object_get(rel, "setup"));
        const char *key = json_string_value(json_object_get(json_object_get(rel, "keys"), to->edition));
        json_t *hop = json_pack("{s:{s:s,s:s},s:{s:s,s:s},s:I,s:b,s:s}", "from", "release", from->release, "edition",
                                from->edition, "to", "release", to->release, "edition", to->edition, "build",
                                (json_int_t)json_integer_value(json_object_get(rel, "build")), "transitional",
                                json_is_true(json_object_get(to->via, "transitional")), "method",
                                conversion ? "conversion" : "setup");
        if (!conversion)
            json_object_set_new(hop, "setup", json_string(setup ? setup : "windows10"));
        if (key)
            json_object_set_new(hop, "product_key", json_string(key));
        json_array_insert_new(arr, 0, hop);
    }
    free(q);
    *hops = arr;
    return 0;
}
