/* snap_index.c: see snap_index.h. The on-disk form is
 *   "OSMIDX1\n" u64 count, then per entry: str path, u8 type, u32 mode, uid,
 *   gid, u64 size, i64 atime, mtime, ctime, u64 ino, dev, rdev, str link,
 *   u32 n_xattrs {str name, blob value}, u32 n_refs {u64 off, u32 len, 32 hash}
 * little-endian as this host writes it (stores are not moved between
 * architectures), compressed as one zstd frame. */
#include "snap_index.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "osm_fs.h"

static const char MAGIC[8] = "OSMIDX1\n";

void snap_hex(const unsigned char *bin, size_t n, char *hex)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = d[bin[i] >> 4];
        hex[2 * i + 1] = d[bin[i] & 15];
    }
    hex[2 * n] = '\0';
}

void snap_index_init(struct snap_index *ix)
{
    memset(ix, 0, sizeof *ix);
}

void snap_entry_free(struct snap_entry *e)
{
    if (!e)
        return;
    free(e->path);
    free(e->link);
    for (uint32_t i = 0; i < e->n_xattrs; i++) {
        free(e->xattrs[i].name);
        free(e->xattrs[i].value);
    }
    free(e->xattrs);
    free(e->refs);
    free(e);
}

void snap_index_free(struct snap_index *ix)
{
    for (size_t i = 0; i < ix->n; i++)
        snap_entry_free(ix->e[i]);
    free(ix->e);
    memset(ix, 0, sizeof *ix);
}

struct snap_entry *snap_index_add(struct snap_index *ix)
{
    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 1024;
        ix->e = osm_xrealloc(ix->e, ix->cap * sizeof *ix->e);
    }
    struct snap_entry *e = osm_xcalloc(1, sizeof *e);
    ix->e[ix->n++] = e;
    return e;
}

/* ---- serialisation ---- */

static void put(struct osm_buf *b, const void *p, size_t n)
{
    osm_buf_add(b, p, n);
}
static void put_u32(struct osm_buf *b, uint32_t v)
{
    put(b, &v, 4);
}
static void put_u64(struct osm_buf *b, uint64_t v)
{
    put(b, &v, 8);
}
static void put_str(struct osm_buf *b, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) : 0;
    put_u32(b, n);
    put(b, s ? s : "", n);
}

static void serialize_entry(struct osm_buf *b, const struct snap_entry *e)
{
    put_str(b, e->path);
    put(b, &e->type, 1);
    put_u32(b, e->mode);
    put_u32(b, e->uid);
    put_u32(b, e->gid);
    put_u64(b, e->size);
    put_u64(b, (uint64_t)e->atime_ns);
    put_u64(b, (uint64_t)e->mtime_ns);
    put_u64(b, (uint64_t)e->ctime_ns);
    put_u64(b, e->ino);
    put_u64(b, e->dev);
    put_u64(b, e->rdev);
    put_str(b, e->link);
    put_u32(b, e->n_xattrs);
    for (uint32_t i = 0; i < e->n_xattrs; i++) {
        put_str(b, e->xattrs[i].name);
        put_u32(b, e->xattrs[i].len);
        put(b, e->xattrs[i].value, e->xattrs[i].len);
    }
    put_u32(b, e->n_refs);
    for (uint32_t i = 0; i < e->n_refs; i++) {
        put_u64(b, e->refs[i].off);
        put_u32(b, e->refs[i].len);
        put(b, e->refs[i].hash, 32);
    }
}

int snap_index_save(const struct snap_index *ix, const char *path, char sha256_hex[65], struct osm_err *err)
{
    struct osm_buf raw;
    osm_buf_init(&raw);
    put(&raw, MAGIC, 8);
    put_u64(&raw, ix->n);
    for (size_t i = 0; i < ix->n; i++)
        serialize_entry(&raw, ix->e[i]);
    size_t cap = ZSTD_compressBound(raw.len);
    void *z = osm_xmalloc(cap);
    size_t zn = ZSTD_compress(z, cap, raw.s, raw.len, 3);
    osm_buf_free(&raw);
    if (ZSTD_isError(zn)) {
        free(z);
        return osm_err_set(err, OSM_EFAIL, "index %s: compression failed: %s", path, ZSTD_getErrorName(zn));
    }
    unsigned char md[32];
    EVP_Digest(z, zn, md, NULL, EVP_sha256(), NULL);
    snap_hex(md, 32, sha256_hex);
    int r = osm_write_file_atomic(path, z, zn, 0600, err);
    free(z);
    return r;
}

struct reader {
    const unsigned char *p, *end;
    int bad;
};

static const void *take(struct reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const void *p = r->p;
    r->p += n;
    return p;
}
static uint32_t get_u32(struct reader *r)
{
    uint32_t v = 0;
    const void *p = take(r, 4);
    if (p)
        memcpy(&v, p, 4);
    return v;
}
static uint64_t get_u64(struct reader *r)
{
    uint64_t v = 0;
    const void *p = take(r, 8);
    if (p)
        memcpy(&v, p, 8);
    return v;
}
static char *get_str(struct reader *r, int null_if_empty)
{
    uint32_t n = get_u32(r);
    const char *p = take(r, n);
    if (!p)
        return NULL;
    if (n == 0 && null_if_empty)
        return NULL;
    char *s = osm_xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    if (strlen(s) != n)
        r->bad = 1;
    return s;
}

static int parse_entry(struct reader *r, struct snap_entry *e)
{
    e->path = get_str(r, 0);
    const uint8_t *t = take(r, 1);
    e->type = t ? *t : 0;
    e->mode = get_u32(r);
    e->uid = get_u32(r);
    e->gid = get_u32(r);
    e->size = get_u64(r);
    e->atime_ns = (int64_t)get_u64(r);
    e->mtime_ns = (int64_t)get_u64(r);
    e->ctime_ns = (int64_t)get_u64(r);
    e->ino = get_u64(r);
    e->dev = get_u64(r);
    e->rdev = get_u64(r);
    e->link = get_str(r, 1);
    uint32_t nx = get_u32(r);
    if (r->bad || nx > (size_t)(r->end - r->p) / 8)
        return -1;
    e->xattrs = osm_xcalloc(nx ? nx : 1, sizeof *e->xattrs);
    for (uint32_t i = 0; i < nx && !r->bad; i++) {
        e->xattrs[i].name = get_str(r, 0);
        e->n_xattrs = i + 1;
        uint32_t len = get_u32(r);
        const void *v = take(r, len);
        if (!v)
            return -1;
        e->xattrs[i].value = osm_xmalloc(len ? len : 1);
        memcpy(e->xattrs[i].value, v, len);
        e->xattrs[i].len = len;
    }
    uint32_t nr = get_u32(r);
    if (r->bad || nr > (size_t)(r->end - r->p) / 44)
        return -1;
    e->refs = nr ? osm_xcalloc(nr, sizeof *e->refs) : NULL;
    e->n_refs = nr;
    for (uint32_t i = 0; i < nr && !r->bad; i++) {
        e->refs[i].off = get_u64(r);
        e->refs[i].len = get_u32(r);
        const void *h = take(r, 32);
        if (h)
            memcpy(e->refs[i].hash, h, 32);
    }
    if (r->bad || !e->path || !strchr("fdlhcbps", e->type) || !e->type)
        return -1;
    /* Paths must stay inside the disk: no "..", no absolute, no empty parts. */
    if (e->path[0] == '/' || strstr(e->path, "//"))
        return -1;
    for (const char *p = e->path; *p;) {
        const char *s = strchr(p, '/');
        size_t n = s ? (size_t)(s - p) : strlen(p);
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return -1;
        p += n + (s ? 1 : 0);
    }
    return 0;
}

int snap_index_load(struct snap_index *ix, const char *path, const char *expect_sha256, struct osm_err *err)
{
    snap_index_init(ix);
    struct osm_buf z;
    osm_buf_init(&z);
    if (osm_read_file(path, &z, err) != 0) {
        osm_buf_free(&z);
        return -1;
    }
    if (expect_sha256) {
        unsigned char md[32];
        char hex[65];
        EVP_Digest(z.s, z.len, md, NULL, EVP_sha256(), NULL);
        snap_hex(md, 32, hex);
        if (strcmp(hex, expect_sha256) != 0) {
            osm_buf_free(&z);
            return osm_err_set(err, OSM_ECHECKSUM, "index %s is corrupt (sha256 %s, expected %s)", path, hex,
                               expect_sha256);
        }
    }
    unsigned long long rn = ZSTD_getFrameContentSize(z.s, z.len);
    if (rn == ZSTD_CONTENTSIZE_ERROR || rn == ZSTD_CONTENTSIZE_UNKNOWN || rn > ((size_t)1 << 36)) {
        osm_buf_free(&z);
        return osm_err_set(err, OSM_EINPUT, "index %s: not a zstd frame with a known size", path);
    }
    unsigned char *raw = osm_xmalloc(rn ? rn : 1);
    size_t got = ZSTD_decompress(raw, rn, z.s, z.len);
    osm_buf_free(&z);
    if (ZSTD_isError(got) || got != rn || got < 16 || memcmp(raw, MAGIC, 8) != 0) {
        free(raw);
        return osm_err_set(err, OSM_EINPUT, "index %s: not an osmig index", path);
    }
    struct reader r = {raw + 8, raw + got, 0};
    uint64_t n = get_u64(&r);
    for (uint64_t i = 0; i < n; i++) {
        struct snap_entry *e = snap_index_add(ix);
        if (parse_entry(&r, e) != 0) {
            free(raw);
            snap_index_free(ix);
            return osm_err_set(err, OSM_EINPUT, "index %s: entry %llu is malformed", path, (unsigned long long)i);
        }
    }
    free(raw);
    return 0;
}

/* ---- digest ---- */

static void dig(EVP_MD_CTX *c, const void *p, size_t n)
{
    EVP_DigestUpdate(c, p, n);
}

void snap_index_digest(const struct snap_index *ix, char hex[65])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    for (size_t i = 0; i < ix->n; i++) {
        const struct snap_entry *e = ix->e[i];
        dig(c, e->path, strlen(e->path) + 1);
        dig(c, &e->type, 1);
        if (e->type == SNAP_HARDLINK) {
            dig(c, e->link, strlen(e->link) + 1);
            continue;
        }
        uint32_t m[3] = {e->mode, e->uid, e->gid};
        dig(c, m, sizeof m);
        dig(c, &e->mtime_ns, 8);
        if (e->type == SNAP_CHR || e->type == SNAP_BLK)
            dig(c, &e->rdev, 8);
        if (e->type == SNAP_SYMLINK)
            dig(c, e->link, strlen(e->link) + 1);
        dig(c, &e->n_xattrs, 4);
        for (uint32_t x = 0; x < e->n_xattrs; x++) {
            dig(c, e->xattrs[x].name, strlen(e->xattrs[x].name) + 1);
            dig(c, &e->xattrs[x].len, 4);
            dig(c, e->xattrs[x].value, e->xattrs[x].len);
        }
        if (e->type == SNAP_FILE) {
            dig(c, &e->size, 8);
            for (uint32_t r = 0; r < e->n_refs; r++) {
                dig(c, &e->refs[r].off, 8);
                dig(c, &e->refs[r].len, 4);
                dig(c, e->refs[r].hash, 32);
            }
        }
    }
    unsigned char md[32];
    EVP_DigestFinal_ex(c, md, NULL);
    EVP_MD_CTX_free(c);
    snap_hex(md, 32, hex);
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp((*(struct snap_entry *const *)a)->path, (*(struct snap_entry *const *)b)->path);
}

struct snap_entry **snap_index_sorted(const struct snap_index *ix)
{
    struct snap_entry **s = osm_xmalloc((ix->n ? ix->n : 1) * sizeof *s);
    if (ix->n)
        memcpy(s, ix->e, ix->n * sizeof *s);
    qsort(s, ix->n, sizeof *s, cmp_path);
    return s;
}

struct snap_entry *snap_index_find(struct snap_entry **sorted, size_t n, const char *path)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(sorted[mid]->path, path);
        if (c == 0)
            return sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

uint64_t snap_index_bytes(const struct snap_index *ix)
{
    uint64_t t = 0;
    for (size_t i = 0; i < ix->n; i++)
        if (ix->e[i]->type == SNAP_FILE)
            t += ix->e[i]->size;
    return t;
}
