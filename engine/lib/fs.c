/* fs.c: see osm_fs.h. */
#include "osm_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int osm_read_blocks(int fd, const char *path, int (*each)(void *arg, const void *data, size_t n), void *arg,
                    struct osm_err *err)
{
    char tmp[65536];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return osm_err_errno(err, "reading %s", path);
        if (n == 0)
            return 0;
        int rc = each(arg, tmp, (size_t)n);
        if (rc != 0)
            return rc;
    }
}

int osm_open_stat(const char *path, int flags, struct stat *st, struct osm_err *err)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "%s", path);
    if (fstat(fd, st) != 0) {
        osm_err_errno(err, "%s", path);
        close(fd);
        return -1;
    }
    return fd;
}

struct capped {
    struct osm_buf *out;
    size_t max, total;
};

static int add_capped(void *arg, const void *data, size_t n)
{
    struct capped *c = arg;
    if ((c->total += n) > c->max)
        return 1;
    osm_buf_add(c->out, data, n);
    return 0;
}

/* Read fd to its end into out (closing it); more than `max` bytes is an
 * error naming the path. */
static int read_fd(int fd, const char *path, size_t max, struct osm_buf *out, struct osm_err *err)
{
    struct capped c = {out, max, 0};
    int rc = osm_read_blocks(fd, path, add_capped, &c, err);
    close(fd);
    if (rc > 0)
        return osm_err_set(err, OSM_EINPUT, "%s: larger than %zu MiB", path, max >> 20);
    return rc;
}

int osm_read_file(const char *path, struct osm_buf *out, struct osm_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "%s", path);
    return read_fd(fd, path, SIZE_MAX, out, err);
}

int osm_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

int osm_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct osm_err *err)
{
    char *tmp = osm_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        osm_err_errno(err, "creating %s", tmp);
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            osm_err_errno(err, "writing %s", path);
            goto fail;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0) {
        osm_err_errno(err, "syncing %s", path);
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        osm_err_errno(err, "closing %s", path);
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        osm_err_errno(err, "renaming %s to %s", tmp, path);
        goto fail;
    }
    free(tmp);
    char *d = osm_xstrdup(path);
    osm_fsync_dir(dirname(d));
    free(d);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
}

int osm_lock_file(const char *dir, const char *name, mode_t mode, struct osm_err *err)
{
    char *p = osm_path_join(dir, name);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, mode);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        osm_err_errno(err, "locking %s", p);
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    free(p);
    return fd;
}

int osm_mkdir_p(const char *path, mode_t mode, struct osm_err *err)
{
    char *p = osm_xstrdup(path);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] == '/' || p[i] == '\0') {
            char c = p[i];
            p[i] = '\0';
            if (mkdir(p, mode) != 0 && errno != EEXIST) {
                osm_err_errno(err, "creating directory %s", p);
                free(p);
                return -1;
            }
            p[i] = c;
        }
    }
    free(p);
    if (!osm_is_dir(path))
        return osm_err_set(err, OSM_EIO, "%s exists and is not a directory", path);
    return 0;
}

static int rm_one(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
    (void)sb;
    (void)ftwbuf;
    int r = (typeflag == FTW_DP) ? rmdir(fpath) : unlink(fpath);
    return (r != 0 && errno != ENOENT) ? -1 : 0;
}

int osm_remove_tree(const char *path, struct osm_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : osm_err_errno(err, "%s", path);
    if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) != 0)
        return osm_err_errno(err, "removing %s", path);
    return 0;
}

char *osm_path_join(const char *a, const char *b)
{
    struct osm_buf out;
    osm_buf_init(&out);
    osm_buf_adds(&out, a);
    while (out.len > 1 && out.s[out.len - 1] == '/')
        out.s[--out.len] = '\0';
    while (*b == '/')
        b++;
    if (*b) {
        if (!(out.len == 1 && out.s[0] == '/'))
            osm_buf_addc(&out, '/');
        osm_buf_adds(&out, b);
    }
    return osm_buf_detach(&out);
}

/* Resolve guest_path the way the kernel's RESOLVE_IN_ROOT does (openat2,
 * Linux >= 5.6), for paths that may not exist yet: component by component,
 * each symlink read and followed as the instance would see it (an absolute
 * target starts again at ROOT, ".." stops at ROOT), so the host path returned
 * lies inside ROOT whatever the instance's symlinks say. Components that do
 * not exist are taken as they are (nothing below them can be a link). Too
 * many links: a path under /proc, where nothing can be created. */
static char *root_path(const char *root, const char *guest_path, int follow_last)
{
    struct osm_buf done, host;
    osm_buf_init(&done);
    osm_buf_init(&host);
    char *unresolved = osm_xstrdup(guest_path ? guest_path : "/");
    int links = 0;
    char *p = unresolved;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if ((n == 1 && p[0] == '.')) {
            p += n;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (done.len && done.s[done.len - 1] != '/')
                done.len--;
            if (done.len)
                done.len--;
            if (done.s)
                done.s[done.len] = '\0';
            p += n;
            continue;
        }
        size_t keep = done.len;
        osm_buf_addc(&done, '/');
        osm_buf_add(&done, p, n);
        p += n;
        host.len = 0;
        osm_buf_adds(&host, root);
        osm_buf_adds(&host, done.s);
        struct stat st;
        const char *after = p;
        while (*after == '/')
            after++;
        if ((!*after && !follow_last) || lstat(host.s, &st) != 0 || !S_ISLNK(st.st_mode))
            continue;
        char target[4096];
        ssize_t tl = readlink(host.s, target, sizeof target - 1);
        if (tl <= 0 || ++links > 40) {
            osm_buf_free(&done);
            osm_buf_free(&host);
            free(unresolved);
            return osm_path_join("/proc/osmig-unresolvable-symlink", guest_path);
        }
        target[tl] = '\0';
        done.len = keep;
        done.s[done.len] = '\0';
        if (target[0] == '/')
            done.len = 0, done.s[0] = '\0';
        char *rest = osm_xasprintf("%s/%s", target, p);
        free(unresolved);
        unresolved = p = rest;
    }
    char *out = osm_path_join(root, done.len ? done.s : "/");
    osm_buf_free(&done);
    osm_buf_free(&host);
    free(unresolved);
    return out;
}

char *osm_root_path(const char *root, const char *guest_path)
{
    return root_path(root, guest_path, 0);
}

char *osm_root_path_follow(const char *root, const char *guest_path)
{
    return root_path(root, guest_path, 1);
}

int osm_read_regular_file(const char *path, size_t max, struct osm_buf *out, struct osm_err *err)
{
    /* O_NONBLOCK: a FIFO opens at once (and is refused below) instead of
     * waiting for a writer. */
    struct stat st;
    int fd = osm_open_stat(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, &st, err);
    if (fd < 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return osm_err_set(err, OSM_EINPUT, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > (unsigned long long)max) {
        close(fd);
        return osm_err_set(err, OSM_EINPUT, "%s: larger than %zu MiB", path, max >> 20);
    }
    return read_fd(fd, path, max, out, err);
}

int osm_name_is_plain(const char *s, size_t max)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+:-";
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max || s[0] == '.' || s[0] == '-')
        return 0;
    return strspn(s, ok) == n;
}

int osm_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int osm_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int osm_dir_names(const char *dir, const char *suffix, char ***out, size_t *n, struct osm_err *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return osm_err_errno(err, "directory %s", dir);
    size_t ls = strlen(suffix);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > ls && strcmp(de->d_name + l - ls, suffix) == 0) {
            *out = osm_xrealloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = osm_xstrdup(de->d_name);
        }
    }
    closedir(d);
    if (*n > 1) /* qsort of no array (NULL) is undefined */
        qsort(*out, *n, sizeof **out, cmp_names);
    return 0;
}
