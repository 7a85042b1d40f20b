/* snap_index.c: see snap_index.h. The on-disk form is
 *   "OSMIDX1\n" u64 count, then per entry: str path, u8 type, u32 mode, uid,
 *   gid, u64 size, i64 atime, mtime, ctime, u64 ino, dev, rdev, str link,
 *   u32 n_xattrs {str name, blob value}, u32 n_refs {u64 off, u32 len, 32 hash}
 * little-endian as this host writes it (stores are not moved between
 * architectures), compressed as one zstd frame. */
#include "snap_index.h"
#include "osm_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
    snap_arena_init(&ix->arena);
}

void snap_entry_release(struct snap_entry *e)
{
    if (e && e->refs_heap) {
        free(e->refs);
        e->refs = NULL;
        e->n_refs = 0;
        e->refs_heap = 0;
    }
}

void snap_index_free(struct snap_index *ix)
{
    for (size_t i = 0; i < ix->n; i++)
        snap_entry_release(ix->e[i]);
    free(ix->e);
    snap_arena_free(&ix->arena);
    memset(ix, 0, sizeof *ix);
}

void snap_index_push(struct snap_index *ix, struct snap_entry *e)
{
    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 1024;
        ix->e = osm_xrealloc(ix->e, ix->cap * sizeof *ix->e);
    }
    ix->e[ix->n++] = e;
}

struct snap_entry *snap_index_add(struct snap_index *ix)
{
    struct snap_entry *e = snap_arena_calloc(&ix->arena, sizeof *e);
    snap_index_push(ix, e);
    return e;
}

void snap_entry_set_refs(struct snap_index *ix, struct snap_entry *e, const struct snap_ref *refs, uint32_t n)
{
    snap_entry_release(e);
    e->refs = n ? snap_arena_memdup(&ix->arena, refs, n * sizeof *refs) : NULL;
    e->n_refs = n;
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

/* Bytes serialize_entry() appends: the frame header must announce the
 * uncompressed size, which the loader checks. */
static uint64_t entry_size(const struct snap_entry *e)
{
    uint64_t n = 4 + strlen(e->path) + 1 + 3 * 4 + 7 * 8 + 4 + (e->link ? strlen(e->link) : 0) + 4;
    for (uint32_t i = 0; i < e->n_xattrs; i++)
        n += 4 + strlen(e->xattrs[i].name) + 4 + e->xattrs[i].len;
    return n + 4 + (uint64_t)e->n_refs * 44;
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

#define STREAM_PIECE ((size_t)128 << 10)

/* Compresses what `raw` holds (all of it when `end`) and writes it to `fd`,
 * hashing the compressed bytes. */
static int stream_out(ZSTD_CCtx *cc, struct osm_buf *raw, int end, unsigned char *out, size_t out_cap, int fd,
                      EVP_MD_CTX *md, const char *path, struct osm_err *err)
{
    ZSTD_inBuffer in = {raw->s, raw->len, 0};
    for (;;) {
        ZSTD_outBuffer o = {out, out_cap, 0};
        size_t left = ZSTD_compressStream2(cc, &o, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left))
            return osm_err_set(err, OSM_EFAIL, "index %s: compression failed: %s", path, ZSTD_getErrorName(left));
        EVP_DigestUpdate(md, out, o.pos);
        for (size_t done = 0; done < o.pos;) {
            ssize_t k = write(fd, out + done, o.pos - done);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return osm_err_errno(err, "writing %s", path);
            done += (size_t)k;
        }
        if (end ? left == 0 : in.pos == in.size)
            break;
    }
    osm_buf_reset(raw);
    return 0;
}

/* Serialised and compressed piece by piece straight into the file: the
 * whole uncompressed index (about 180 bytes per entry) is never in memory.
 * zstd level 1: the index is mostly hashes and paths, and level 3 saves 2%
 * for twice the time. */
int snap_index_save(const struct snap_index *ix, const char *path, char sha256_hex[65], struct osm_err *err)
{
    uint64_t total = 16;
    for (size_t i = 0; i < ix->n; i++)
        total += entry_size(ix->e[i]);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!cc || !md) {
        ZSTD_freeCCtx(cc);
        EVP_MD_CTX_free(md);
        return osm_err_set(err, OSM_EFAIL, "index %s: out of memory", path);
    }
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
    ZSTD_CCtx_setPledgedSrcSize(cc, total);
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    char *tmp = osm_xasprintf("%s.tmp.%ld", path, (long)getpid());
    size_t out_cap = ZSTD_CStreamOutSize();
    unsigned char *out = osm_xmalloc(out_cap);
    struct osm_buf raw;
    osm_buf_init(&raw);
    osm_buf_grow(&raw, STREAM_PIECE + 4096);
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        osm_err_errno(err, "creating %s", tmp);
        goto out;
    }
    put(&raw, MAGIC, 8);
    put_u64(&raw, ix->n);
    for (size_t i = 0; i < ix->n; i++) {
        serialize_entry(&raw, ix->e[i]);
        if (raw.len >= STREAM_PIECE && stream_out(cc, &raw, 0, out, out_cap, fd, md, path, err) != 0)
            goto out;
    }
    if (stream_out(cc, &raw, 1, out, out_cap, fd, md, path, err) != 0)
        goto out;
    if (fsync(fd) != 0) {
        osm_err_errno(err, "syncing %s", tmp);
        goto out;
    }
    int cr = close(fd);
    fd = -1;
    if (cr != 0) {
        osm_err_errno(err, "closing %s", tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        osm_err_errno(err, "renaming %s to %s", tmp, path);
        goto out;
    }
    {
        char *dir = osm_xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            osm_fsync_dir(dir);
        }
        free(dir);
    }
    unsigned char h[32];
    EVP_DigestFinal_ex(md, h, NULL);
    snap_hex(h, 32, sha256_hex);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    free(out);
    osm_buf_free(&raw);
    ZSTD_freeCCtx(cc);
    EVP_MD_CTX_free(md);
    return rc;
}

/* Reads the uncompressed index piece by piece: take() refills the window
 * from the zstd stream, so a pointer it returns is valid until the next
 * take(). `left` is what the frame still holds (its announced size). */
struct reader {
    ZSTD_DCtx *dc;
    ZSTD_inBuffer in;
    unsigned char *buf;
    size_t cap, pos, len;
    uint64_t left;
    int bad;
};

static int refill(struct reader *r, size_t need)
{
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
    if (need > r->cap) {
        r->cap = need + STREAM_PIECE;
        r->buf = osm_xrealloc(r->buf, r->cap);
    }
    while (r->len < r->cap) {
        ZSTD_outBuffer o = {r->buf + r->len, r->cap - r->len, 0};
        size_t k = ZSTD_decompressStream(r->dc, &o, &r->in);
        if (ZSTD_isError(k))
            return -1;
        r->len += o.pos;
        if (k == 0 || (o.pos == 0 && r->in.pos == r->in.size))
            break;
    }
    return r->len >= need ? 0 : -1;
}

static const void *take(struct reader *r, size_t n)
{
    if (r->bad || r->left < n || (r->len - r->pos < n && refill(r, n) != 0)) {
        r->bad = 1;
        return NULL;
    }
    const void *p = r->buf + r->pos;
    r->pos += n;
    r->left -= n;
    return p;
}
/* n bytes into `out` (zeros past the end: `bad` says so). */
static void get(struct reader *r, void *out, size_t n)
{
    const void *p = take(r, n);
    if (p)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
}
static uint32_t get_u32(struct reader *r)
{
    uint32_t v;
    get(r, &v, 4);
    return v;
}
static uint64_t get_u64(struct reader *r)
{
    uint64_t v;
    get(r, &v, 8);
    return v;
}
static char *get_str(struct reader *r, struct snap_arena *a, int null_if_empty)
{
    uint32_t n = get_u32(r);
    const char *p = take(r, n);
    if (!p)
        return NULL;
    if (n == 0 && null_if_empty)
        return NULL;
    if (memchr(p, '\0', n))
        r->bad = 1;
    return snap_arena_strndup(a, p, n);
}

static int check_entry(const struct snap_entry *e);

/* `full` 0: the link target, xattrs and chunk list are stepped over, not
 * kept (a scan for the stat fields: snap_index_scan). */
static int parse_entry(struct reader *r, struct snap_arena *a, struct snap_entry *e, int full)
{
    e->path = get_str(r, a, 0);
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
    if (full) {
        e->link = get_str(r, a, 1);
    } else if (!take(r, get_u32(r))) {
        return -1;
    }
    uint32_t nx = get_u32(r);
    if (r->bad || nx > r->left / 8)
        return -1;
    if (!full) {
        for (uint32_t i = 0; i < nx; i++)
            if (!take(r, get_u32(r)) || !take(r, get_u32(r)))
                return -1;
        uint32_t nr = get_u32(r);
        if (r->bad || nr > r->left / 44 || (nr && !take(r, (size_t)nr * 44)))
            return -1;
        return check_entry(e);
    }
    e->xattrs = nx ? snap_arena_calloc(a, nx * sizeof *e->xattrs) : NULL;
    for (uint32_t i = 0; i < nx && !r->bad; i++) {
        e->xattrs[i].name = get_str(r, a, 0);
        e->n_xattrs = i + 1;
        uint32_t len = get_u32(r);
        const void *v = take(r, len);
        if (!v)
            return -1;
        e->xattrs[i].value = snap_arena_memdup(a, v, len);
        e->xattrs[i].len = len;
    }
    uint32_t nr = get_u32(r);
    if (r->bad || nr > r->left / 44)
        return -1;
    e->refs = nr ? snap_arena_alloc(a, nr * sizeof *e->refs) : NULL;
    e->n_refs = nr;
    for (uint32_t i = 0; i < nr && !r->bad; i++) {
        e->refs[i].off = get_u64(r);
        e->refs[i].len = get_u32(r);
        const void *h = take(r, 32);
        if (h)
            memcpy(e->refs[i].hash, h, 32);
    }
    if (r->bad)
        return -1;
    return check_entry(e);
}

/* A decoded entry's type and path are sane. */
static int check_entry(const struct snap_entry *e)
{
    if (!e->path || !strchr("fdlhcbps", e->type) || !e->type)
        return -1;
    /* Paths must stay inside the disk: no "..", no absolute, no empty parts. */
    const char *c = e->path;
    if (*c == '/')
        return -1;
    while (*c) { /* one pass: an index has a path per entry */
        const char *part = c;
        while (*c && *c != '/')
            c++;
        size_t n = (size_t)(c - part);
        if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.'))
            return -1;
        if (*c)
            c++;
    }
    return 0;
}

static void index_close(struct reader *r, void *z, size_t zn);

/* Opens an index for reading: maps the compressed file (it is in the page
 * cache already, written by the previous create, and mapping it costs no
 * copy), checks its SHA-256 when `expect_sha256` is not NULL, and reads the
 * header; `r` is then at the first entry. index_close() undoes it. */
static int index_open(const char *path, const char *expect_sha256, struct reader *r, void **z_out, size_t *zn_out,
                      uint64_t *count, struct osm_err *err)
{
    memset(r, 0, sizeof *r);
    struct stat st;
    int fd = osm_open_stat(path, O_RDONLY, &st, err);
    if (fd < 0)
        return -1;
    size_t zn = (size_t)st.st_size;
    void *z = zn ? mmap(NULL, zn, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (zn && z == MAP_FAILED)
        return osm_err_errno(err, "reading %s", path);
    if (expect_sha256) {
        unsigned char md[32];
        char hex[65];
        EVP_Digest(z ? z : "", zn, md, NULL, EVP_sha256(), NULL);
        snap_hex(md, 32, hex);
        if (strcmp(hex, expect_sha256) != 0) {
            if (z)
                munmap(z, zn);
            return osm_err_set(err, OSM_ECHECKSUM, "index %s is corrupt (sha256 %s, expected %s)", path, hex,
                               expect_sha256);
        }
    }
    unsigned long long rn = z ? ZSTD_getFrameContentSize(z, zn) : ZSTD_CONTENTSIZE_ERROR;
    if (rn == ZSTD_CONTENTSIZE_ERROR || rn == ZSTD_CONTENTSIZE_UNKNOWN || rn > ((size_t)1 << 36)) {
        if (z)
            munmap(z, zn);
        return osm_err_set(err, OSM_EINPUT, "index %s: not a zstd frame with a known size", path);
    }
    *r = (struct reader){.dc = ZSTD_createDCtx(), .in = {z, zn, 0}, .left = rn};
    r->cap = STREAM_PIECE;
    r->buf = osm_xmalloc(r->cap);
    const void *magic = r->dc ? take(r, 8) : NULL;
    *count = get_u64(r);
    *z_out = z;
    *zn_out = zn;
    if (!magic || memcmp(magic, MAGIC, 8) != 0 || r->bad) {
        index_close(r, z, zn);
        return osm_err_set(err, OSM_EINPUT, "index %s: not an osmig index", path);
    }
    return 0;
}

static void index_close(struct reader *r, void *z, size_t zn)
{
    free(r->buf);
    ZSTD_freeDCtx(r->dc);
    if (z)
        munmap(z, zn);
    memset(r, 0, sizeof *r);
}

/* Entries decoded for a scan live in a scratch arena emptied every
 * SCAN_BATCH entries: it stays in a few small blocks. */
#define SCAN_BATCH 1024

/* Decodes the index at `path` into `ix` (load), or entry by entry for `fn`
 * (scan, `ix` NULL). */
static int index_read(const char *path, const char *expect_sha256, struct snap_index *ix, snap_scan_fn fn,
                      void *ctx, struct osm_err *err)
{
    struct reader r;
    void *z = NULL;
    size_t zn = 0;
    uint64_t n = 0;
    if (index_open(path, expect_sha256, &r, &z, &zn, &n, err) != 0)
        return -1;
    struct snap_arena scratch;
    snap_arena_init(&scratch);
    if (ix) {
        /* Each entry takes at least 100 bytes: do not trust a count beyond that. */
        ix->cap = n < r.left / 100 ? (size_t)n : (size_t)(r.left / 100);
        ix->e = osm_xmalloc((ix->cap ? ix->cap : 1) * sizeof *ix->e);
    }
    int rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        struct snap_entry tmp = {0}, *e = ix ? snap_index_add(ix) : &tmp;
        if (!ix && i % SCAN_BATCH == 0) {
            snap_arena_free(&scratch);
            snap_arena_init(&scratch);
        }
        if (parse_entry(&r, ix ? &ix->arena : &scratch, e, ix != NULL) != 0) {
            if (ix)
                snap_index_free(ix);
            rc = osm_err_set(err, OSM_EINPUT, "index %s: entry %llu is malformed", path, (unsigned long long)i);
        } else if (fn) {
            rc = fn(ctx, e, i, n);
        }
    }
    snap_arena_free(&scratch);
    index_close(&r, z, zn);
    return rc;
}

int snap_index_load(struct snap_index *ix, const char *path, const char *expect_sha256, struct osm_err *err)
{
    snap_index_init(ix);
    return index_read(path, expect_sha256, ix, NULL, NULL, err);
}

int snap_index_scan(const char *path, const char *expect_sha256, snap_scan_fn fn, void *ctx, struct osm_err *err)
{
    return index_read(path, expect_sha256, NULL, fn, ctx, err);
}

/* ---- digest ---- */

/* Many small pieces per entry: gather them so that the hash is fed in large
 * blocks (the bytes hashed are the same). */
struct digester {
    EVP_MD_CTX *c;
    size_t n;
    unsigned char buf[16384];
};

static void dig(struct digester *d, const void *p, size_t n)
{
    if (d->n + n > sizeof d->buf) {
        EVP_DigestUpdate(d->c, d->buf, d->n);
        d->n = 0;
        if (n > sizeof d->buf) {
            EVP_DigestUpdate(d->c, p, n);
            return;
        }
    }
    memcpy(d->buf + d->n, p, n);
    d->n += n;
}

static struct digester *digester_new(void)
{
    struct digester *c = osm_xmalloc(sizeof *c);
    c->c = EVP_MD_CTX_new();
    c->n = 0;
    EVP_DigestInit_ex(c->c, EVP_sha256(), NULL);
    return c;
}

static void digester_end(struct digester *c, char hex[65])
{
    unsigned char md[32];
    EVP_DigestUpdate(c->c, c->buf, c->n);
    EVP_DigestFinal_ex(c->c, md, NULL);
    EVP_MD_CTX_free(c->c);
    free(c);
    snap_hex(md, 32, hex);
}

/* A file's content: its size and chunk list. */
static void dig_content(struct digester *c, const struct snap_entry *e)
{
    dig(c, &e->size, 8);
    for (uint32_t r = 0; r < e->n_refs; r++) {
        dig(c, &e->refs[r].off, 8);
        dig(c, &e->refs[r].len, 4);
        dig(c, e->refs[r].hash, 32);
    }
}

void snap_raw_digest(const struct snap_entry *e, char hex[65])
{
    struct digester *c = digester_new();
    dig(c, "raw", 4);
    dig_content(c, e);
    digester_end(c, hex);
}

void snap_index_digest(const struct snap_index *ix, char hex[65])
{
    struct digester *c = digester_new();
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
        if (e->type == SNAP_FILE)
            dig_content(c, e);
    }
    digester_end(c, hex);
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
