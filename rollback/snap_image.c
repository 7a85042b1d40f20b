/* snap_image.c: see snap_image.h. */
#include "snap_image.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_run.h"
#include "snap_tree.h"
#include "snap_io.h"

int snap_raw_prepare(struct snap_raw_restore *r, const struct snap_store *s, struct snap_worker *w,
                     _Atomic uint64_t *bytes_done, struct osm_err *err)
{
    struct snap_entry *e = r->e;
    r->differs = osm_xcalloc(e->n_refs ? e->n_refs : 1, 1);
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "disk %s: %s", r->disk_id, r->path);
    for (uint32_t i = 0; i < e->n_refs; i++) {
        const struct snap_ref *ref = &e->refs[i];
        unsigned char md[32];
        ssize_t got = snap_pread_full(fd, w->buf, ref->len, (off_t)ref->off);
        if (got == (ssize_t)ref->len)
            snap_sha256(w, w->buf, ref->len, md);
        if (got != (ssize_t)ref->len || memcmp(md, ref->hash, 32) != 0) {
            r->differs[i] = 1;
            if (snap_chunk_get(s, w, ref->hash, ref->len, w->buf, err) != 0) {
                osm_err_prefix(err, "disk %s: image %s (offset %llu)", r->disk_id, r->path,
                               (unsigned long long)ref->off);
                close(fd);
                return -1;
            }
        }
        if (bytes_done)
            atomic_fetch_add(bytes_done, ref->len);
    }
    close(fd);
    return 0;
}

static int zero_range(int fd, uint64_t off, uint64_t len, unsigned char *buf)
{
    if (len == 0)
        return 0;
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    memset(buf, 0, SNAP_CHUNK_SIZE);
    while (len) {
        size_t n = len > SNAP_CHUNK_SIZE ? SNAP_CHUNK_SIZE : (size_t)len;
        if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
            return -1;
        off += n;
        len -= n;
    }
    return 0;
}

int snap_raw_apply(struct snap_raw_restore *r, const struct snap_store *s, struct snap_worker *w,
                   struct osm_err *err)
{
    struct snap_entry *e = r->e;
    int fd = open(r->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "disk %s: %s", r->disk_id, r->path);
    struct stat st;
    fstat(fd, &st);
    uint64_t cur_size = S_ISBLK(st.st_mode) ? (uint64_t)lseek(fd, 0, SEEK_END) : (uint64_t)st.st_size;
    int rc = 0;
    uint64_t pos = 0;
    for (uint32_t i = 0; i <= e->n_refs && rc == 0; i++) {
        uint64_t gap_end = i < e->n_refs ? e->refs[i].off : e->size;
        if (gap_end > pos && pos < cur_size) {
            uint64_t end = gap_end < cur_size ? gap_end : cur_size;
            off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
            if (d >= 0 && (uint64_t)d < end && zero_range(fd, pos, end - pos, w->buf) != 0)
                rc = osm_err_errno(err, "disk %s: clearing %s", r->disk_id, r->path);
        }
        if (i == e->n_refs || rc != 0)
            break;
        const struct snap_ref *ref = &e->refs[i];
        if (r->differs[i]) {
            if (snap_chunk_get(s, w, ref->hash, ref->len, w->buf, err) != 0) {
                osm_err_prefix(err, "disk %s: image %s", r->disk_id, r->path);
                rc = -1;
            } else if (pwrite(fd, w->buf, ref->len, (off_t)ref->off) != (ssize_t)ref->len) {
                rc = osm_err_errno(err, "disk %s: writing %s", r->disk_id, r->path);
            }
        }
        pos = ref->off + ref->len;
    }
    if (rc == 0 && S_ISREG(st.st_mode) && cur_size != e->size && ftruncate(fd, (off_t)e->size) != 0)
        rc = osm_err_errno(err, "disk %s: resizing %s", r->disk_id, r->path);
    if (rc == 0 && fsync(fd) != 0)
        rc = osm_err_errno(err, "disk %s: syncing %s", r->disk_id, r->path);
    close(fd);
    return rc;
}

void snap_raw_restore_free(struct snap_raw_restore *r)
{
    free(r->differs);
    r->differs = NULL;
}

/* ---- qcow2 ---- */

static int qemu_img(const char *const argv[], struct osm_buf *out, struct osm_err *err)
{
    struct osm_buf errout;
    osm_buf_init(&errout);
    struct osm_run_opts o = {.out = out, .errout = &errout};
    int st = osm_run(argv, &o, err);
    if (st > 0) {
        while (errout.len && errout.s[errout.len - 1] == '\n')
            errout.s[--errout.len] = '\0';
        osm_err_set(err, OSM_EFAIL, "qemu-img %s %s failed (exit %d): %s", argv[1], argv[2], st, errout.s);
        st = -1;
    }
    osm_buf_free(&errout);
    return st == 0 ? 0 : -1;
}

int snap_qcow2_create(const char *image, const char *tag, struct osm_err *err)
{
    const char *argv[] = {"qemu-img", "snapshot", "-c", tag, image, NULL};
    return qemu_img(argv, NULL, err);
}

int snap_qcow2_has(const char *image, const char *tag, struct osm_err *err)
{
    const char *argv[] = {"qemu-img", "snapshot", "-l", image, NULL};
    struct osm_buf out;
    osm_buf_init(&out);
    if (qemu_img(argv, &out, err) != 0) {
        osm_buf_free(&out);
        return -1;
    }
    /* Lines: "ID  TAG  VM SIZE  DATE  VM CLOCK  ICOUNT"; match the tag column. */
    int found = 0;
    size_t tl = strlen(tag);
    for (char *line = out.s; line && *line && !found;) {
        char *nl = strchr(line, '\n');
        char *p = line;
        while (*p == ' ')
            p++;
        while (*p && *p != ' ' && *p != '\n')
            p++;
        while (*p == ' ')
            p++;
        if (strncmp(p, tag, tl) == 0 && (p[tl] == ' ' || p[tl] == '\n' || p[tl] == '\0'))
            found = 1;
        line = nl ? nl + 1 : NULL;
    }
    osm_buf_free(&out);
    return found;
}

int snap_qcow2_apply(const char *image, const char *tag, struct osm_err *err)
{
    const char *argv[] = {"qemu-img", "snapshot", "-a", tag, image, NULL};
    return qemu_img(argv, NULL, err);
}

int snap_qcow2_delete(const char *image, const char *tag, struct osm_err *err)
{
    const char *argv[] = {"qemu-img", "snapshot", "-d", tag, image, NULL};
    return qemu_img(argv, NULL, err);
}

int snap_qcow2_check(const char *image, struct osm_err *err)
{
    const char *argv[] = {"qemu-img", "check", "-q", image, NULL};
    return qemu_img(argv, NULL, err);
}
