/* root_open.c: opening and writing a guest path inside an instance's root
 * without a race (osm_fs.h: osm_root_open, osm_root_write_file_atomic).
 *
 * osm_root_path resolves a path as a string; a symlink swapped in between
 * that and the open(2) that follows (a parent directory made a link to a
 * host directory, or the last component made a link) would be followed
 * out of the root. Here the kernel resolves and opens in one step:
 * openat2(2) from a descriptor of the root with RESOLVE_IN_ROOT (absolute
 * links and ".." stay inside it) and RESOLVE_NO_MAGICLINKS (no /proc
 * fd links), and O_NOFOLLOW with O_CREAT so the last component is never a
 * link that a create would go through. glibc 2.36 has no wrapper: the
 * system call directly. Before Linux 5.6 (ENOSYS) the string resolution
 * and O_NOFOLLOW are the fallback, said once in the log. */
#include "osm_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "osm_log.h"

static int no_openat2;

static void fallback_said(void)
{
    if (!__atomic_exchange_n(&no_openat2, 1, __ATOMIC_RELAXED))
        osm_warn("fs.root_open", "msg=\"openat2 is not available (Linux < 5.6): paths inside roots are resolved "
                                 "first, then opened without following the last component\"");
}

/* openat2 from rootfd; EAGAIN (a rename elsewhere raced the lookup) is retried. */
static int in_root(int rootfd, const char *guest, int flags, mode_t mode)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    for (int i = 0; i < 64; i++) {
        long fd = syscall(SYS_openat2, rootfd, guest[0] ? guest : "/", &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN)
            return (int)fd;
    }
    return -1;
}

static int open_root(const char *root, struct osm_err *err)
{
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        osm_err_errno(err, "the root %s", root);
    return fd;
}

/* The error of a failed open of GUEST in ROOT, ELOOP said as what it is. */
static int open_failed(struct osm_err *err, const char *root, const char *guest, int flags)
{
    if (errno == ELOOP && (flags & O_CREAT))
        return osm_err_set(err, OSM_EINPUT, "%s in the root %s is a symlink (or leads through a /proc link): "
                           "osmig does not create or write through it", guest, root);
    return osm_err_errno(err, "%s in the root %s", guest, root);
}

int osm_root_open(const char *root, const char *guest_path, int flags, mode_t mode, struct osm_err *err)
{
    if (flags & O_CREAT)
        flags |= O_NOFOLLOW;
    if (!__atomic_load_n(&no_openat2, __ATOMIC_RELAXED)) {
        int rootfd = open_root(root, err);
        if (rootfd < 0)
            return -1;
        int fd = in_root(rootfd, guest_path, flags, mode);
        int e = errno;
        close(rootfd);
        if (fd >= 0)
            return fd;
        errno = e;
        if (e != ENOSYS)
            return open_failed(err, root, guest_path, flags);
        fallback_said();
    }
    char *host = (flags & O_NOFOLLOW) ? osm_root_path(root, guest_path) : osm_root_path_follow(root, guest_path);
    int fd = open(host, flags | O_CLOEXEC, mode);
    free(host);
    if (fd < 0)
        return open_failed(err, root, guest_path, flags);
    return fd;
}

/* GUEST's directory (O_PATH) and its last component; -1 when GUEST names
 * no file ("/", ending in "." or ".."). */
static int open_parent(const char *root, const char *guest, char **base, struct osm_err *err)
{
    const char *slash = strrchr(guest, '/');
    const char *b = slash ? slash + 1 : guest;
    if (!*b || strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
        return osm_err_set(err, OSM_EINPUT, "'%s' in the root %s does not name a file", guest, root);
    char *dir = slash ? osm_xasprintf("%.*s", (int)(slash - guest), guest) : osm_xstrdup("/");
    int fd = osm_root_open(root, dir[0] ? dir : "/", O_PATH | O_DIRECTORY, 0, err);
    free(dir);
    if (fd >= 0)
        *base = osm_xstrdup(b);
    return fd;
}

int osm_root_write_file_atomic(const char *root, const char *guest_path, const void *data, size_t len, mode_t mode,
                               struct osm_err *err)
{
    char *base = NULL;
    int dirfd = open_parent(root, guest_path, &base, err);
    if (dirfd < 0)
        return -1;
    unsigned rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        rnd = (unsigned)getpid();
    char *tmp = osm_xasprintf(".%s.osmig-tmp.%ld.%08x", base, (long)getpid(), rnd);
    int rc = -1;
    /* Made here, never there before: O_EXCL with O_NOFOLLOW. */
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        osm_err_errno(err, "creating a temporary file beside %s in the root %s", guest_path, root);
        goto out;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            osm_err_errno(err, "writing %s in the root %s", guest_path, root);
            goto fail;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        osm_err_errno(err, "syncing %s in the root %s", guest_path, root);
        goto fail;
    }
    int c = close(fd);
    fd = -1;
    if (c != 0) {
        osm_err_errno(err, "closing %s in the root %s", guest_path, root);
        goto fail;
    }
    /* A link at the name is replaced, never followed. */
    if (renameat(dirfd, tmp, dirfd, base) != 0) {
        osm_err_errno(err, "renaming into %s in the root %s", guest_path, root);
        goto fail;
    }
    int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
    goto out;
fail:
    if (fd >= 0)
        close(fd);
    unlinkat(dirfd, tmp, 0);
out:
    close(dirfd);
    free(tmp);
    free(base);
    return rc;
}
