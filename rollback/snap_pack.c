/* snap_pack.c: see snap_pack.h. */
#include "snap_pack.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "snap_io.h"

static const char MAGIC[8] = "OSMPACK1";
static const char END_MAGIC[8] = "OSMPKEND";
#define WBUF ((size_t)1 << 20)

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void snap_pack_writer_init(struct snap_pack_writer *pw)
{
    memset(pw, 0, sizeof *pw);
    pw->fd = -1;
}

int snap_pack_name_ok(const char *name)
{
    size_t i = 0;
    for (; i < 32; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    return strcmp(name + 32, ".pack") == 0;
}

int snap_pack_begin(struct snap_pack_writer *pw, const char *packs_dir, struct osm_err *err)
{
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)pw;
        memcpy(rnd, &x, 8);
        memcpy(rnd + 8, &ts.tv_sec, 8);
    }
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        pw->id[2 * i] = d[rnd[i] >> 4];
        pw->id[2 * i + 1] = d[rnd[i] & 15];
    }
    pw->id[32] = '\0';
    free(pw->tmp);
    free(pw->final);
    pw->tmp = osm_xasprintf("%s/.tmp-%s", packs_dir, pw->id);
    pw->final = osm_xasprintf("%s/%s.pack", packs_dir, pw->id);
    pw->fd = open(pw->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (pw->fd < 0)
        return osm_err_errno(err, "creating pack %s", pw->tmp);
    if (!pw->wbuf)
        pw->wbuf = osm_xmalloc(WBUF);
    memcpy(pw->wbuf, MAGIC, 8);
    pw->wlen = 8;
    pw->off = 8;
    pw->n = 0;
    return 0;
}

static int flush(struct snap_pack_writer *pw, struct osm_err *err)
{
    if (pw->wlen && snap_write_all(pw->fd, pw->wbuf, pw->wlen) != 0)
        return osm_err_errno(err, "writing pack %s", pw->tmp);
    pw->wlen = 0;
    return 0;
}

int snap_pack_add(struct snap_pack_writer *pw, const unsigned char hash[32], uint32_t ulen, const void *z,
                  uint32_t clen, uint64_t *off_out, struct osm_err *err)
{
    if (pw->wlen + clen > WBUF && flush(pw, err) != 0)
        return -1;
    if (clen > WBUF) {
        if (snap_write_all(pw->fd, z, clen) != 0)
            return osm_err_errno(err, "writing pack %s", pw->tmp);
    } else {
        memcpy(pw->wbuf + pw->wlen, z, clen);
        pw->wlen += clen;
    }
    if (pw->n == pw->cap) {
        pw->cap = pw->cap ? pw->cap * 2 : 1024;
        pw->e = osm_xrealloc(pw->e, pw->cap * sizeof *pw->e);
    }
    struct snap_pack_entry *e = &pw->e[pw->n++];
    memcpy(e->hash, hash, 32);
    e->off = pw->off;
    e->clen = clen;
    e->ulen = ulen;
    *off_out = pw->off;
    pw->off += clen;
    return 0;
}

int snap_pack_finish(struct snap_pack_writer *pw, int do_fsync, struct osm_err *err)
{
    if (pw->fd < 0)
        return 0;
    if (flush(pw, err) != 0)
        return -1;
    size_t tlen = pw->n * SNAP_PACK_ENTRY;
    unsigned char *t = osm_xmalloc(tlen + SNAP_PACK_FOOTER);
    for (size_t i = 0; i < pw->n; i++) {
        unsigned char *p = t + i * SNAP_PACK_ENTRY;
        memcpy(p, pw->e[i].hash, 32);
        put_u64(p + 32, pw->e[i].off);
        put_u32(p + 40, pw->e[i].clen);
        put_u32(p + 44, pw->e[i].ulen);
    }
    unsigned char *f = t + tlen;
    put_u64(f, pw->n);
    EVP_Digest(t, tlen, f + 8, NULL, EVP_sha256(), NULL);
    memcpy(f + 40, END_MAGIC, 8);
    int rc = 0;
    if (snap_write_all(pw->fd, t, tlen + SNAP_PACK_FOOTER) != 0 || (do_fsync && fsync(pw->fd) != 0))
        rc = osm_err_errno(err, "writing pack %s", pw->tmp);
    free(t);
    if (close(pw->fd) != 0 && rc == 0)
        rc = osm_err_errno(err, "writing pack %s", pw->tmp);
    pw->fd = -1;
    if (rc == 0 && rename(pw->tmp, pw->final) != 0)
        rc = osm_err_errno(err, "renaming pack %s", pw->tmp);
    if (rc != 0)
        unlink(pw->tmp);
    pw->n = 0;
    pw->wlen = 0;
    return rc;
}

void snap_pack_abort(struct snap_pack_writer *pw)
{
    if (pw->fd < 0)
        return;
    close(pw->fd);
    unlink(pw->tmp);
    pw->fd = -1;
    pw->n = 0;
    pw->wlen = 0;
}

void snap_pack_writer_free(struct snap_pack_writer *pw)
{
    snap_pack_abort(pw);
    free(pw->tmp);
    free(pw->final);
    free(pw->wbuf);
    free(pw->e);
    snap_pack_writer_init(pw);
}

int snap_pack_read_table(const char *path, struct snap_pack_entry **out, size_t *n_out, uint64_t *size_out,
                         struct osm_err *err)
{
    *out = NULL;
    *n_out = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "pack %s", path);
    struct stat st;
    unsigned char f[SNAP_PACK_FOOTER], head[8];
    const char *why = NULL;
    unsigned char *t = NULL;
    uint64_t n = 0;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return osm_err_errno(err, "pack %s", path);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < 8 + SNAP_PACK_FOOTER || snap_pread_full(fd, f, sizeof f, (off_t)(size - SNAP_PACK_FOOTER)) != sizeof f ||
        snap_pread_full(fd, head, 8, 0) != 8)
        why = "too short";
    else if (memcmp(head, MAGIC, 8) != 0 || memcmp(f + 40, END_MAGIC, 8) != 0)
        why = "bad magic";
    else if ((n = get_u64(f)) > (size - 8 - SNAP_PACK_FOOTER) / SNAP_PACK_ENTRY)
        why = "bad chunk count";
    if (!why) {
        size_t tlen = (size_t)n * SNAP_PACK_ENTRY;
        uint64_t tstart = size - SNAP_PACK_FOOTER - tlen;
        t = osm_xmalloc(tlen ? tlen : 1);
        unsigned char md[32];
        if (snap_pread_full(fd, t, tlen, (off_t)tstart) != (ssize_t)tlen)
            why = "short table";
        else if (EVP_Digest(t, tlen, md, NULL, EVP_sha256(), NULL), memcmp(md, f + 8, 32) != 0)
            why = "table hash mismatch";
        struct snap_pack_entry *e = why ? NULL : osm_xmalloc((n ? n : 1) * sizeof *e);
        for (size_t i = 0; e && i < n; i++) {
            const unsigned char *p = t + i * SNAP_PACK_ENTRY;
            memcpy(e[i].hash, p, 32);
            e[i].off = get_u64(p + 32);
            e[i].clen = get_u32(p + 40);
            e[i].ulen = get_u32(p + 44);
            if (e[i].off < 8 || e[i].off + e[i].clen > tstart) {
                why = "chunk outside the pack";
                free(e);
                e = NULL;
            }
        }
        *out = e;
    }
    free(t);
    close(fd);
    if (why)
        return osm_err_set(err, OSM_ECHECKSUM, "pack %s is corrupt (%s)", path, why);
    *n_out = (size_t)n;
    if (size_out)
        *size_out = size;
    return 0;
}
