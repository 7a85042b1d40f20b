/* win_hive.c: hivex behind a forgiving, explaining interface. */
#include <errno.h>
#include "lazy_windows.h"
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "win_hive.h"

struct win_hive {
    hive_h *h;
    char *label; /* "SOFTWARE", "SYSTEM": names the hive in messages */
};

struct win_hive *win_hive_open(const char *path, const char *label, struct osm_err *err)
{
    hive_h *h = hivex_open(path, 0);
    if (!h) {
        osm_err_errno(err, "%s hive '%s' cannot be read as a registry hive", label, path);
        return NULL;
    }
    struct win_hive *wh = osm_xcalloc(1, sizeof *wh);
    wh->h = h;
    wh->label = osm_xstrdup(label);
    return wh;
}

void win_hive_close(struct win_hive *wh)
{
    if (!wh)
        return;
    hivex_close(wh->h);
    free(wh->label);
    free(wh);
}

static hive_node_h find_key(struct win_hive *wh, const char *key)
{
    hive_node_h node = hivex_root(wh->h);
    char *copy = osm_xstrdup(key), *save = NULL;
    for (char *part = strtok_r(copy, "\\", &save); part && node; part = strtok_r(NULL, "\\", &save))
        node = hivex_node_get_child(wh->h, node, part);
    free(copy);
    return node;
}

static void warn(json_t *warnings, struct win_hive *wh, const char *key, const char *value, const char *what)
{
    if (!warnings)
        return;
    char *msg = osm_xasprintf("%s\\%s: value '%s' %s", wh->label, key, value, what);
    json_array_append_new(warnings, json_string(msg));
    free(msg);
}

int win_hive_has_key(struct win_hive *wh, const char *key)
{
    return find_key(wh, key) != 0;
}

static hive_value_h find_value(struct win_hive *wh, const char *key, const char *value, hive_type *type,
                               json_t *warnings)
{
    hive_node_h node = find_key(wh, key);
    if (!node) {
        warn(warnings, wh, key, value, "is missing (the key does not exist)");
        return 0;
    }
    errno = 0;
    hive_value_h v = hivex_node_get_value(wh->h, node, value);
    size_t len;
    if (!v) {
        warn(warnings, wh, key, value, "is missing");
        return 0;
    }
    if (hivex_value_type(wh->h, v, type, &len) != 0) {
        warn(warnings, wh, key, value, "cannot be read (corrupt value)");
        return 0;
    }
    return v;
}

int win_hive_has_value(struct win_hive *wh, const char *key, const char *value)
{
    hive_node_h node = find_key(wh, key);
    return node && hivex_node_get_value(wh->h, node, value) != 0;
}

char *win_hive_string(struct win_hive *wh, const char *key, const char *value, json_t *warnings)
{
    hive_type t;
    hive_value_h v = find_value(wh, key, value, &t, warnings);
    if (!v)
        return NULL;
    if (t == hive_t_REG_SZ || t == hive_t_REG_EXPAND_SZ) {
        char *s = hivex_value_string(wh->h, v);
        if (!s)
            warn(warnings, wh, key, value, "is not valid UTF-16 text");
        return s;
    }
    if (t == hive_t_REG_DWORD) {
        warn(warnings, wh, key, value, "is a REG_DWORD where a string was expected (used as a number)");
        return osm_xasprintf("%u", (unsigned)hivex_value_dword(wh->h, v));
    }
    char *what = osm_xasprintf("has registry type %d where a string was expected", (int)t);
    warn(warnings, wh, key, value, what);
    free(what);
    return NULL;
}

int64_t win_hive_dword(struct win_hive *wh, const char *key, const char *value, json_t *warnings)
{
    hive_type t;
    hive_value_h v = find_value(wh, key, value, &t, warnings);
    if (!v)
        return -1;
    if (t == hive_t_REG_DWORD || t == hive_t_REG_DWORD_BIG_ENDIAN)
        return (uint32_t)hivex_value_dword(wh->h, v);
    if (t == hive_t_REG_SZ || t == hive_t_REG_EXPAND_SZ) {
        char *s = hivex_value_string(wh->h, v), *end = NULL;
        long long n = s ? strtoll(s, &end, 0) : 0;
        int ok = s && *s && end && *end == '\0' && n >= 0;
        free(s);
        warn(warnings, wh, key, value,
             ok ? "is a string where a REG_DWORD was expected (used as a number)"
                : "is a string that is not a number where a REG_DWORD was expected");
        return ok ? n : -1;
    }
    warn(warnings, wh, key, value, "has a registry type other than REG_DWORD");
    return -1;
}

json_t *win_hive_multi(struct win_hive *wh, const char *key, const char *value, json_t *warnings)
{
    hive_type t;
    hive_value_h v = find_value(wh, key, value, &t, warnings);
    if (!v)
        return NULL;
    if (t == hive_t_REG_SZ) {
        char *s = hivex_value_string(wh->h, v);
        json_t *a = json_array();
        if (s)
            json_array_append_new(a, json_string(s));
        free(s);
        return a;
    }
    if (t != hive_t_REG_MULTI_SZ) {
        warn(warnings, wh, key, value, "is not a REG_MULTI_SZ");
        return NULL;
    }
    char **list = hivex_value_multiple_strings(wh->h, v);
    if (!list) {
        warn(warnings, wh, key, value, "is not valid UTF-16 text");
        return NULL;
    }
    json_t *a = json_array();
    for (char **p = list; *p; p++) {
        if (**p)
            json_array_append_new(a, json_string(*p));
        free(*p);
    }
    free(list);
    return a;
}

json_t *win_hive_subkeys(struct win_hive *wh, const char *key)
{
    json_t *a = json_array();
    hive_node_h node = find_key(wh, key);
    if (!node)
        return a;
    hive_node_h *kids = hivex_node_children(wh->h, node);
    for (size_t i = 0; kids && kids[i]; i++) {
        char *name = hivex_node_name(wh->h, kids[i]);
        if (name)
            json_array_append_new(a, json_string(name));
        free(name);
    }
    free(kids);
    return a;
}
