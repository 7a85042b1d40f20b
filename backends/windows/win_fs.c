/* win_fs.c: case-insensitive lookups on a Windows volume. */
#include <dirent.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "win_fs.h"

static char *find_entry(const char *dir, const char *name, size_t len)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char *found = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strlen(e->d_name) == len && strncasecmp(e->d_name, name, len) == 0) {
            found = osm_path_join(dir, e->d_name);
            break;
        }
    }
    closedir(d);
    return found;
}

char *win_fs_find(const char *root, const char *rel)
{
    char *cur = osm_xstrdup(root);
    const char *p = rel;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, "/");
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
            free(cur);
            return NULL;
        }
        char *next = find_entry(cur, p, len);
        free(cur);
        struct stat st;
        if (!next || lstat(next, &st) != 0 || S_ISLNK(st.st_mode)) {
            free(next);
            return NULL;
        }
        cur = next;
        p += len;
    }
    return cur;
}

static _Thread_local int64_t tree_total; /* nftw has no context pointer */

static int add_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path, (void)flag, (void)ftw;
    tree_total += (int64_t)st->st_blocks * 512;
    return 0;
}

int64_t win_fs_tree_bytes(const char *path)
{
    tree_total = 0;
    if (nftw(path, add_entry, 32, FTW_PHYS) != 0)
        return -1;
    return tree_total;
}
