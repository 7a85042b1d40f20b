/* repofiles.c: see repofiles.h. */
#include "repofiles.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"

static int truthy(const char *v)
{
    return strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
           strcasecmp(v, "on") == 0;
}

static void parse_file(const char *guest, const char *text, struct osm_repofile_list *out)
{
    char *copy = osm_xstrdup(text), *save = NULL;
    struct osm_repofile_entry *cur = NULL;
    int lineno = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *l = osm_trim(line);
        if (!*l || *l == '#' || *l == ';')
            continue;
        if (*l == '[') {
            char *end = strchr(l, ']');
            if (!end) {
                osm_warn("repofile.malformed", "file=%s line=%d", guest, lineno);
                cur = NULL;
                continue;
            }
            *end = '\0';
            out->v = osm_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
            cur = &out->v[out->n++];
            memset(cur, 0, sizeof *cur);
            cur->id = osm_xstrdup(osm_trim(l + 1));
            cur->file = osm_xstrdup(guest);
            cur->enabled = 1;
            cur->gpgcheck = 0;
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq || !cur)
            continue;
        *eq = '\0';
        char *k = osm_trim(l), *v = osm_trim(eq + 1);
        if (strcmp(k, "name") == 0) {
            free(cur->name);
            cur->name = osm_xstrdup(v);
        } else if (strcmp(k, "baseurl") == 0 && !cur->baseurl) {
            char *sp = v;
            while (*sp && !isspace((unsigned char)*sp) && *sp != ',')
                sp++;
            *sp = '\0';
            cur->baseurl = osm_xstrdup(v);
        } else if ((strcmp(k, "mirrorlist") == 0 || strcmp(k, "metalink") == 0) && !cur->mirrorlist) {
            cur->mirrorlist = osm_xstrdup(v);
        } else if (strcmp(k, "enabled") == 0) {
            cur->enabled = truthy(v);
        } else if (strcmp(k, "gpgcheck") == 0) {
            cur->gpgcheck = truthy(v);
        }
    }
    free(copy);
}

int osm_repofiles_read(const char *root, struct osm_repofile_list *out, struct osm_err *err)
{
    (void)err;
    memset(out, 0, sizeof *out);
    char *dir = osm_root_path(root, "/etc/yum.repos.d");
    char **names = NULL;
    size_t n = 0;
    if (osm_dir_names(dir, ".repo", &names, &n, NULL) != 0) {
        free(dir);
        return 0; /* no repository files */
    }
    for (size_t i = 0; i < n; i++) {
        char *host = osm_path_join(dir, names[i]);
        char *guest = osm_path_join("/etc/yum.repos.d", names[i]);
        struct osm_buf b;
        osm_buf_init(&b);
        if (osm_read_regular_file(host, (size_t)4 << 20, &b, NULL) == 0)
            parse_file(guest, b.s, out);
        osm_buf_free(&b);
        free(host);
        free(guest);
        free(names[i]);
    }
    free(names);
    free(dir);
    return 0;
}

void osm_repofiles_free(struct osm_repofile_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        osm_free_all(l->v[i].id, l->v[i].name, l->v[i].baseurl, l->v[i].mirrorlist, l->v[i].file);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}
