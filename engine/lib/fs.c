/* fs.c: see osm_fs.h. */
#include "osm_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int osm_read_file(const char *path, struct osm_buf *out, struct osm_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "%s", path);
    char tmp[65536];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            osm_err_errno(err, "reading %s", path);
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        osm_buf_add(out, tmp, (size_t)n);
    }
    close(fd);
    return 0;
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

char *osm_root_path(const char *root, const char *guest_path)
{
    return osm_path_join(root, guest_path);
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
