/* config.c: the configuration file (osm_config.h). */
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_config.h"
#include "osm_fs.h"

const char *osm_config_path(int *explicit_path)
{
    const char *e = getenv("OSMIG_CONFIG");
    if (explicit_path)
        *explicit_path = e && *e;
    if (e)
        return *e ? e : NULL;
    return OSM_CONFIG_DEFAULT;
}

void osm_config_free(struct osm_config *c)
{
    osm_free_all(c->path, c->state_dir, c->cache_dir, c->report_dir, c->report_keep, c->report_keep_days,
                 c->snapshot_store, c->server, c->matrix_dir);
    osm_free_strv(c->repos, c->n_repos);
    memset(c, 0, sizeof *c);
}

static int is_url(const char *v, int file_too)
{
    return strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0 ||
           (file_too && strncmp(v, "file://", 7) == 0);
}

int osm_config_parse(const char *path, const char *text, struct osm_config *c, struct osm_err *err)
{
    memset(c, 0, sizeof *c);
    static const struct {
        const char *key;
        size_t off;
    } paths[] = {
        {"state_dir", offsetof(struct osm_config, state_dir)},
        {"cache_dir", offsetof(struct osm_config, cache_dir)},
        {"report_dir", offsetof(struct osm_config, report_dir)},
        {"snapshot_store", offsetof(struct osm_config, snapshot_store)},
        {"matrix_dir", offsetof(struct osm_config, matrix_dir)},
    };
    int first_line[8] = {0};
    char *copy = osm_xstrdup(text);
    int lineno = 0, rc = 0;
    char *line = copy;
    while (line && rc == 0) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *s = osm_trim(line);
        line = next;
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = osm_err_set(err, OSM_EINPUT, "%s:%d: expected 'key = value', not '%.80s'", path, lineno, s);
            break;
        }
        *eq = '\0';
        char *key = osm_trim(s), *val = osm_trim(eq + 1);
        if (!*val) {
            rc = osm_err_set(err, OSM_EINPUT, "%s:%d: '%s' has no value", path, lineno, key);
            break;
        }
        int known = 0;
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
            if (strcmp(key, paths[i].key) != 0)
                continue;
            known = 1;
            char **slot = (char **)((char *)c + paths[i].off);
            if (*slot)
                rc = osm_err_set(err, OSM_EINPUT, "%s:%d: '%s' again (first at line %d)", path, lineno, key,
                                 first_line[i]);
            else if (val[0] != '/')
                rc = osm_err_set(err, OSM_EINPUT, "%s:%d: %s '%s' is not an absolute path", path, lineno, key, val);
            else {
                *slot = osm_xstrdup(val);
                first_line[i] = lineno;
            }
        }
        if (known)
            continue;
        if (strcmp(key, "report_keep") == 0 || strcmp(key, "report_keep_days") == 0) {
            int days = key[11] == '_';
            char **slot = days ? &c->report_keep_days : &c->report_keep;
            char *end = NULL;
            errno = 0;
            long n = strtol(val, &end, 10);
            if (*slot)
                rc = osm_err_set(err, OSM_EINPUT, "%s:%d: '%s' again", path, lineno, key);
            else if (errno || *end || end == val || n < (days ? 0 : 1) || n > 100000)
                rc = osm_err_set(err, OSM_EINPUT, "%s:%d: %s '%s' is not a whole number from %d to 100000", path,
                                 lineno, key, val, days ? 0 : 1);
            else
                *slot = osm_xasprintf("%ld", n);
        } else if (strcmp(key, "server") == 0) {
            if (c->server)
                rc = osm_err_set(err, OSM_EINPUT, "%s:%d: 'server' again (first at line %d)", path, lineno,
                                 first_line[7]);
            else if (!is_url(val, 0))
                rc = osm_err_set(err, OSM_EINPUT, "%s:%d: server '%s' is not an http:// or https:// URL", path, lineno,
                                 val);
            else {
                c->server = osm_xstrdup(val);
                first_line[7] = lineno;
            }
        } else if (strcmp(key, "repo") == 0) {
            /* the same checks as --repo's, where they can be named by line */
            char *e = strchr(val, '=');
            if (!e || e == val)
                rc = osm_err_set(err, OSM_EINPUT, "%s:%d: repo '%s': expected ID=URL", path, lineno, val);
            else if (!is_url(osm_trim(e + 1), 1))
                rc = osm_err_set(err, OSM_EINPUT, "%s:%d: repo '%s': the URL must start with file://, http:// or https://",
                                 path, lineno, val);
            else {
                *e = '\0';
                char *id = osm_trim(val);
                if (!osm_name_is_plain(id, 64)) {
                    rc = osm_err_set(err, OSM_EINPUT, "%s:%d: repo: repository id '%s' is not a plain name", path,
                                     lineno, id);
                } else {
                    c->repos = osm_xrealloc(c->repos, (c->n_repos + 1) * sizeof *c->repos);
                    c->repos[c->n_repos++] = osm_xasprintf("%s=%s", id, osm_trim(e + 1));
                }
            }
        } else {
            rc = osm_err_set(err, OSM_EINPUT,
                             "%s:%d: unknown key '%s' (known: state_dir, cache_dir, report_dir, report_keep, "
                             "report_keep_days, snapshot_store, server, repo, matrix_dir)",
                             path, lineno, key);
        }
    }
    free(copy);
    if (rc != 0) {
        osm_config_free(c);
        return -1;
    }
    c->path = osm_xstrdup(path);
    return 0;
}

int osm_config_load(const char *path, int must_exist, struct osm_config *c, struct osm_err *err)
{
    memset(c, 0, sizeof *c);
    if (!path)
        return 0;
    if (!must_exist && access(path, F_OK) != 0)
        return 0;
    struct osm_buf b;
    osm_buf_init(&b);
    if (osm_read_regular_file(path, 1 << 20, &b, err) != 0) {
        osm_err_prefix(err, "configuration file");
        osm_buf_free(&b);
        return -1;
    }
    int rc = osm_config_parse(path, b.s, c, err);
    osm_buf_free(&b);
    return rc;
}

void osm_config_apply_env(const struct osm_config *c)
{
    const struct {
        const char *env, *val;
    } v[] = {{"OSMIG_STATE_DIR", c->state_dir},   {"OSMIG_CACHE_DIR", c->cache_dir},
             {"OSMIG_REPORT_DIR", c->report_dir}, {"OSMIG_SNAPSHOT_STORE", c->snapshot_store},
             {"OSMIG_SERVER", c->server},         {"OSMIG_REPORT_KEEP", c->report_keep},
             {"OSMIG_REPORT_KEEP_DAYS", c->report_keep_days}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i].val)
            setenv(v[i].env, v[i].val, 0);
}

void osm_config_offline_hint(struct osm_err *err)
{
    const char *path = osm_config_path(NULL);
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len,
             " (no network? name a local mirror with --repo ID=URL, or with 'repo = ID=URL' lines in %s)",
             path ? path : OSM_CONFIG_DEFAULT);
}
