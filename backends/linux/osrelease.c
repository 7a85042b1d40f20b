/* osrelease.c: see osrelease.h. */
#include "osrelease.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_fs.h"

static void unquote_into(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    while (n && (v[n - 1] == '\n' || v[n - 1] == '\r' || v[n - 1] == ' '))
        n--;
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v++;
        n -= 2;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static void parse_version(const char *s, int *major, int *minor)
{
    char *end;
    long m = strtol(s, &end, 10);
    *major = (end != s) ? (int)m : -1;
    *minor = -1;
    if (*end == '.' && isdigit((unsigned char)end[1]))
        *minor = (int)strtol(end + 1, NULL, 10);
}

/* "CentOS Linux release 7.9.2009 (Core)" -> "7.9.2009" */
static int release_file_version(const char *root, char *out, size_t cap)
{
    static const char *const files[] = {"/etc/centos-release", "/etc/redhat-release", "/etc/alinux-release",
                                        "/etc/anolis-release", "/etc/system-release"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *p = osm_root_path_follow(root, files[i]);
        struct osm_buf b;
        osm_buf_init(&b);
        int ok = osm_read_regular_file(p, (size_t)1 << 20, &b, NULL) == 0;
        free(p);
        if (ok) {
            const char *r = strstr(b.s, "release ");
            if (r) {
                r += 8;
                size_t n = 0;
                while (r[n] && (isdigit((unsigned char)r[n]) || r[n] == '.'))
                    n++;
                if (n && n < cap) {
                    memcpy(out, r, n);
                    out[n] = '\0';
                    osm_buf_free(&b);
                    return 0;
                }
            }
        }
        osm_buf_free(&b);
    }
    return -1;
}

int osm_osrelease_read(const char *root, struct osm_osrelease *out, struct osm_err *err)
{
    memset(out, 0, sizeof *out);
    out->major = out->minor = -1;
    struct osm_buf b;
    osm_buf_init(&b);
    char *p = osm_root_path_follow(root, "/etc/os-release");
    if (osm_read_regular_file(p, (size_t)1 << 20, &b, NULL) != 0) {
        free(p);
        p = osm_root_path_follow(root, "/usr/lib/os-release");
        if (osm_read_regular_file(p, (size_t)1 << 20, &b, NULL) != 0) {
            osm_err_set(err, OSM_ENOTFOUND,
                        "%s: no /etc/os-release or /usr/lib/os-release: not a Linux root osmig can identify", root);
            free(p);
            osm_buf_free(&b);
            return -1;
        }
    }
    free(p);
    char *save = NULL;
    for (char *line = strtok_r(b.s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq || line[0] == '#')
            continue;
        *eq = '\0';
        const char *k = line, *v = eq + 1;
        if (strcmp(k, "ID") == 0)
            unquote_into(out->id, sizeof out->id, v);
        else if (strcmp(k, "ID_LIKE") == 0)
            unquote_into(out->id_like, sizeof out->id_like, v);
        else if (strcmp(k, "PRETTY_NAME") == 0 || (strcmp(k, "NAME") == 0 && !out->name[0]))
            unquote_into(out->name, sizeof out->name, v);
        else if (strcmp(k, "VERSION_ID") == 0)
            unquote_into(out->version_id, sizeof out->version_id, v);
        else if (strcmp(k, "PLATFORM_ID") == 0)
            unquote_into(out->platform_id, sizeof out->platform_id, v);
    }
    osm_buf_free(&b);
    if (!out->id[0]) {
        osm_err_set(err, OSM_EINPUT, "%s/etc/os-release: no ID= line", root);
        return -1;
    }
    parse_version(out->version_id, &out->major, &out->minor);
    snprintf(out->full_version, sizeof out->full_version, "%s", out->version_id);
    char rel[64];
    if (release_file_version(root, rel, sizeof rel) == 0) {
        int ma, mi;
        parse_version(rel, &ma, &mi);
        if (ma == out->major) {
            snprintf(out->full_version, sizeof out->full_version, "%s", rel);
            if (out->minor < 0)
                out->minor = mi;
        }
    }
    return 0;
}
