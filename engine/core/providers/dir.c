/* dir.c: the `dir` provider, an instance that is a root tree on this host.
 *
 *   dir:ROOT[?disk=PATH&disk=PATH...]
 *   dir:DESCRIPTOR.json
 *
 * ROOT is the system disk (a directory). Each `disk=` adds a data disk: a
 * directory tree, or an image file (qcow2 when its header says so, raw
 * otherwise). A descriptor is a JSON file:
 *
 *   { "name": "web01",
 *     "root": "/srv/roots/web01",                 (relative: to the descriptor)
 *     "disks": ["/srv/data/web01", {"path": "/img/d.qcow2"}],
 *     "facts": { "vcpus": 4, "memory_mib": 8192, "region": "cn-hangzhou",
 *                "zone": "cn-hangzhou-h", "heartbeat": "2026-11-20T10:00:00Z",
 *                "authorized": true, "system_disk_free_mib": 40960 } }
 *
 * Facts not given there come from this host (the instance shares its CPU and
 * memory; the agent is osmig itself, so its heartbeat is now). A descriptor
 * lets a test present a 1-vCPU instance or a stale heartbeat. */
#include "provider.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "osm_fs.h"
#include "osm_run.h"
#include "osm_snapshot.h"

static char *absolute(const char *path, const char *base_dir)
{
    if (path[0] == '/')
        return osm_xstrdup(path);
    if (base_dir)
        return osm_path_join(base_dir, path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return osm_xstrdup(path);
    return osm_path_join(cwd, path);
}

static void add_disk(struct osm_instance *inst, char *path, int system)
{
    inst->disks = osm_xrealloc(inst->disks, (inst->n_disks + 1) * sizeof *inst->disks);
    struct osm_disk *d = &inst->disks[inst->n_disks];
    memset(d, 0, sizeof *d);
    d->path = path;
    d->system = system;
    d->id = system ? osm_xstrdup("system") : osm_xasprintf("disk%zu", inst->n_disks);
    inst->n_disks++;
}

/* Classify a disk path; fails when it does not exist. */
static int classify_disk(struct osm_disk *d, const char *uri, struct osm_err *err)
{
    struct stat st;
    if (stat(d->path, &st) != 0)
        return osm_err_errno(err, "instance %s: disk %s", uri, d->path);
    if (S_ISDIR(st.st_mode)) {
        d->kind = OSM_DISK_TREE;
        return 0;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return osm_err_set(err, OSM_EINPUT, "instance %s: disk %s is neither a directory nor an image file", uri,
                           d->path);
    d->kind = OSM_DISK_RAW;
    int fd = open(d->path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        unsigned char magic[4];
        if (read(fd, magic, 4) == 4 && memcmp(magic, "QFI\xfb", 4) == 0)
            d->kind = OSM_DISK_QCOW2;
        close(fd);
    }
    return 0;
}

static int load_descriptor(struct osm_instance *inst, const char *path, struct osm_err *err)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc)
        return osm_err_set(err, OSM_EINPUT, "instance descriptor %s: line %d: %s", path, jerr.line, jerr.text);
    inst->descriptor = doc;
    inst->descriptor_path = osm_xstrdup(path);
    if (!json_is_object(doc))
        return osm_err_set(err, OSM_EINPUT, "instance descriptor %s: expected a JSON object", path);
    char *dir = osm_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    json_t *root = json_object_get(doc, "root");
    if (!json_is_string(root)) {
        free(dir);
        return osm_err_set(err, OSM_EINPUT, "instance descriptor %s: \"root\" must be a string (the system root path)",
                           path);
    }
    char *base = absolute(dir, NULL);
    add_disk(inst, absolute(json_string_value(root), base), 1);
    json_t *disks = json_object_get(doc, "disks");
    if (disks && !json_is_array(disks)) {
        free(dir);
        free(base);
        return osm_err_set(err, OSM_EINPUT, "instance descriptor %s: \"disks\" must be an array", path);
    }
    size_t i;
    json_t *d;
    json_array_foreach(disks, i, d)
    {
        json_t *p = json_is_object(d) ? json_object_get(d, "path") : d;
        if (!json_is_string(p)) {
            free(dir);
            free(base);
            return osm_err_set(err, OSM_EINPUT, "instance descriptor %s: disks[%zu] must be a path or {\"path\": ...}",
                               path, i);
        }
        add_disk(inst, absolute(json_string_value(p), base), 0);
    }
    json_t *name = json_object_get(doc, "name");
    if (json_is_string(name))
        inst->name = osm_xstrdup(json_string_value(name));
    json_t *facts = json_object_get(doc, "facts");
    if (facts && !json_is_object(facts)) {
        free(dir);
        free(base);
        return osm_err_set(err, OSM_EINPUT, "instance descriptor %s: \"facts\" must be an object", path);
    }
    free(dir);
    free(base);
    return 0;
}

static int url_unescape(const char *in, size_t n, char **out)
{
    char *o = osm_xmalloc(n + 1), *w = o;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '%') {
            unsigned v;
            if (i + 2 >= n || sscanf(in + i + 1, "%2x", &v) != 1) {
                free(o);
                return -1;
            }
            *w++ = (char)v;
            i += 2;
        } else {
            *w++ = in[i];
        }
    }
    *w = '\0';
    *out = o;
    return 0;
}

static int dir_open(struct osm_instance *inst, const char *rest, struct osm_err *err)
{
    const char *q = strchr(rest, '?');
    size_t plen = q ? (size_t)(q - rest) : strlen(rest);
    if (plen == 0)
        return osm_err_set(err, OSM_EUSAGE, "instance %s: missing path after 'dir:'", inst->uri);
    char *path;
    if (url_unescape(rest, plen, &path) != 0)
        return osm_err_set(err, OSM_EUSAGE, "instance %s: bad %%-escape in path", inst->uri);
    char *abs = absolute(path, NULL);
    free(path);
    struct stat st;
    if (stat(abs, &st) != 0) {
        osm_err_errno(err, "instance %s: %s", inst->uri, abs);
        free(abs);
        return -1;
    }
    if (S_ISREG(st.st_mode)) {
        int r = load_descriptor(inst, abs, err);
        free(abs);
        if (r != 0)
            return -1;
    } else if (S_ISDIR(st.st_mode)) {
        add_disk(inst, abs, 1);
    } else {
        osm_err_set(err, OSM_EINPUT, "instance %s: %s is neither a root directory nor a descriptor file", inst->uri,
                    abs);
        free(abs);
        return -1;
    }
    /* Query parameters: disk=PATH (repeatable). */
    while (q && *q) {
        q++;
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > 5 && strncmp(q, "disk=", 5) == 0) {
            char *p;
            if (url_unescape(q + 5, n - 5, &p) != 0)
                return osm_err_set(err, OSM_EUSAGE, "instance %s: bad %%-escape in disk=", inst->uri);
            add_disk(inst, absolute(p, NULL), 0);
            free(p);
        } else if (n > 0) {
            return osm_err_set(err, OSM_EUSAGE, "instance %s: unknown parameter '%.*s' (known: disk=PATH)", inst->uri,
                               (int)n, q);
        }
        q = amp;
    }
    /* One identity per instance: every path resolved (symlinks, ".", "..",
     * "//", a trailing slash), so every spelling opens the same disks. */
    for (size_t i = 0; i < inst->n_disks; i++) {
        char *real = realpath(inst->disks[i].path, NULL);
        if (!real)
            return osm_err_errno(err, "instance %s: disk %s", inst->uri, inst->disks[i].path);
        free(inst->disks[i].path);
        inst->disks[i].path = real;
    }
    if (inst->descriptor_path) {
        char *real = realpath(inst->descriptor_path, NULL);
        if (!real)
            return osm_err_errno(err, "instance %s: %s", inst->uri, inst->descriptor_path);
        free(inst->descriptor_path);
        inst->descriptor_path = real;
    }
    for (size_t i = 0; i < inst->n_disks; i++)
        if (classify_disk(&inst->disks[i], inst->uri, err) != 0)
            return -1;
    if (inst->disks[0].kind != OSM_DISK_TREE)
        return osm_err_set(err, OSM_EINPUT, "instance %s: the system root %s must be a directory", inst->uri,
                           inst->disks[0].path);
    for (size_t i = 1; i < inst->n_disks; i++) {
        size_t rl = strlen(inst->disks[0].path);
        if (strcmp(inst->disks[i].path, inst->disks[0].path) == 0 ||
            (strncmp(inst->disks[i].path, inst->disks[0].path, rl) == 0 && inst->disks[i].path[rl] == '/'))
            return osm_err_set(err, OSM_EINPUT, "instance %s: disk %s lies inside the system root %s", inst->uri,
                               inst->disks[i].path, inst->disks[0].path);
    }
    inst->root = osm_xstrdup(inst->disks[0].path);
    /* The canonical URI: dir:DESCRIPTOR or dir:ROOT[?disk=D&disk=D...], the
     * resolved paths with '%', '?', '&', '#' and bytes outside printable
     * ASCII %-escaped. */
    struct osm_buf u;
    osm_buf_init(&u);
    osm_buf_adds(&u, "dir:");
    size_t n_named = inst->descriptor_path ? 1 : inst->n_disks;
    for (size_t i = 0; i < n_named; i++) {
        const unsigned char *p = (const unsigned char *)(inst->descriptor_path ? inst->descriptor_path
                                                                               : inst->disks[i].path);
        if (i)
            osm_buf_adds(&u, i == 1 ? "?disk=" : "&disk=");
        for (; *p; p++) {
            if (*p <= 0x20 || *p >= 0x7f || *p == '%' || *p == '?' || *p == '&' || *p == '#')
                osm_buf_addf(&u, "%%%02X", *p);
            else
                osm_buf_addc(&u, (char)*p);
        }
    }
    free(inst->uri);
    inst->uri = osm_buf_detach(&u);
    if (!inst->name) {
        const char *slash = strrchr(inst->root, '/');
        inst->name = osm_xstrdup(slash && slash[1] ? slash + 1 : inst->root);
    }
    return 0;
}

static void dir_close(struct osm_instance *inst)
{
    (void)inst;
}

static int dir_facts(struct osm_instance *inst, struct osm_facts *out, struct osm_err *err)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    out->vcpus = n > 0 ? (int)n : -1;
    struct sysinfo si;
    out->memory_bytes = sysinfo(&si) == 0 ? (int64_t)si.totalram * si.mem_unit : -1;
    struct statvfs vfs;
    if (statvfs(inst->root, &vfs) != 0)
        return osm_err_errno(err, "instance %s: statvfs %s", inst->uri, inst->root);
    out->system_disk_free_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    out->system_disk_size_bytes = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
    out->region[0] = '\0'; /* a host tree is in no cloud region unless its descriptor says so */
    out->zone[0] = '\0';
    out->heartbeat = (int64_t)time(NULL);
    out->authorized = 1;
    return 0;
}

static int dir_reboot(struct osm_instance *inst, int limit_s, char boot_id[64], struct osm_err *err)
{
    /* A root tree does not boot; the engine still walks the boot sequence so
     * that real providers reuse it. Each "boot" gets a fresh id. */
    (void)inst;
    (void)limit_s; /* no boot to wait for */
    (void)err;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(boot_id, 64, "dir-%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
    return 0;
}

static int dir_run(struct osm_instance *inst, const char *const argv[], struct osm_buf *out, struct osm_err *err)
{
    /* Commands run chrooted into the root, like an agent inside the guest. */
    size_t n = 0;
    while (argv[n])
        n++;
    const char **full = osm_xcalloc(n + 3, sizeof *full);
    full[0] = "chroot";
    full[1] = inst->root;
    for (size_t i = 0; i < n; i++)
        full[i + 2] = argv[i];
    struct osm_run_opts o = {.out = out, .errout = out};
    int r = osm_run(full, &o, err);
    free(full);
    return r;
}

/* Copies the regular file open at `in` to `dst` by a temporary file beside
 * it and a rename: `dst` is the old file or the whole new one, never half. */
static int copy_fd_to(int in, const char *what, const char *dst, mode_t mode, struct osm_err *err)
{
    char *tmp = osm_xasprintf("%s.osmig-XXXXXX", dst);
    int out = mkostemp(tmp, O_CLOEXEC);
    if (out < 0) {
        osm_err_errno(err, "%s: creating a file beside %s", what, dst);
        free(tmp);
        return -1;
    }
    int rc = 0;
    char *buf = osm_xmalloc(1 << 20);
    for (;;) {
        ssize_t n = read(in, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = osm_err_errno(err, "%s: read", what);
            break;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = osm_err_errno(err, "%s: writing %s", what, tmp);
                break;
            }
            off += w;
        }
        if (rc != 0)
            break;
    }
    free(buf);
    if (rc == 0 && (fchmod(out, mode) != 0 || fsync(out) != 0))
        rc = osm_err_errno(err, "%s: %s", what, tmp);
    if (close(out) != 0 && rc == 0)
        rc = osm_err_errno(err, "%s: %s", what, tmp);
    if (rc == 0 && rename(tmp, dst) != 0)
        rc = osm_err_errno(err, "%s: renaming to %s", what, dst);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* O_NONBLOCK: a FIFO in the tree must not hang the copy before fstat refuses it. */
static int open_regular(const char *path, int flags, const char *what, struct stat *st, struct osm_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | flags);
    if (fd < 0)
        return osm_err_errno(err, "%s: %s", what, path);
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return osm_err_set(err, OSM_EINPUT, "%s: %s is not a regular file", what, path);
    }
    return fd;
}

/* copy_in: the destination is resolved inside the root (osm_root_path: a
 * symlink or ".." of the tree cannot lead the write out of it). */
static int dir_copy_in(struct osm_instance *inst, const char *host_path, const char *guest_path,
                       struct osm_err *err)
{
    if (guest_path[0] != '/')
        return osm_err_set(err, OSM_EUSAGE, "instance %s: guest path '%s' must be absolute", inst->uri, guest_path);
    char *what = osm_xasprintf("copying %s to %s:%s", host_path, inst->uri, guest_path);
    char *dst = osm_root_path(inst->root, guest_path);
    struct stat st;
    int in = open_regular(host_path, 0, what, &st, err), rc = -1;
    if (in >= 0) {
        rc = copy_fd_to(in, what, dst, st.st_mode & 07777, err);
        close(in);
    }
    free(dst);
    free(what);
    return rc;
}

/* copy_out: what the guest path leads to inside the root, a regular file. */
static int dir_copy_out(struct osm_instance *inst, const char *guest_path, const char *host_path,
                        struct osm_err *err)
{
    if (guest_path[0] != '/')
        return osm_err_set(err, OSM_EUSAGE, "instance %s: guest path '%s' must be absolute", inst->uri, guest_path);
    char *what = osm_xasprintf("copying %s:%s to %s", inst->uri, guest_path, host_path);
    char *src = osm_root_path_follow(inst->root, guest_path);
    struct stat st;
    int in = open_regular(src, O_NOFOLLOW, what, &st, err), rc = -1;
    if (in >= 0) {
        rc = copy_fd_to(in, what, host_path, 0644, err);
        close(in);
    }
    free(src);
    free(what);
    return rc;
}

const struct osm_provider osm_provider_dir = {
    .scheme = "dir",
    .open = dir_open,
    .close = dir_close,
    .facts = dir_facts,
    .reboot = dir_reboot,
    .run = dir_run,
    /* Its disks are host paths: osmig's own store keeps their sets. */
    .snapshot_create = osm_snap_create,
    .snapshot_list = osm_snap_list,
    .snapshot_verify = osm_snap_verify,
    .snapshot_revert = osm_snap_restore,
    .snapshot_delete = osm_snap_delete,
    .snapshot_list_free = osm_snap_list_free,
    .copy_in = dir_copy_in,
    .copy_out = dir_copy_out,
};
