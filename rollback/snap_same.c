/* snap_same.c: see snap_same.h.
 *
 * The index is decoded once into compact records (the stat fields, the
 * name and the parent directory's record) while the other threads check
 * blocks of consecutive records as soon as they are decoded, and the
 * decoder joins them at the end. Each one keeps the directories of its
 * current parent's chain open (O_PATH), so moving between neighbours of the
 * index's depth-first order opens one directory, not a whole path, and
 * every entry costs one fstatat by name on its parent (a directory: the
 * open that its entries need, and an fstat of that descriptor). */
#include "snap_same.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_buf.h"
#include "snap_index.h"
#include "snap_io.h"

#define DEPTH 64
#define BLOCK 256
#define TOP UINT32_MAX /* the parent of the root's own entries: the root */

/* An entry as the check needs it, in 72 bytes (fresh memory is what
 * costs here: see map_recs): its name in its parent directory (an earlier
 * record), so that a checker never parses a path. */
struct rec {
    uint32_t name;          /* offset in `names`; "" for the root itself */
    uint32_t parent;        /* record of the parent directory, or TOP */
    uint32_t mode;          /* st_mode, and SIZE_COUNTS */
    uint32_t uid, gid;
    _Atomic uint32_t below; /* a directory: entries below it, once the decoder is past it (0 before) */
    uint64_t aux;           /* a regular file's first path: its size; anything else: its device number */
    uint64_t ino, dev;
    int64_t atime_ns, mtime_ns, ctime_ns;
};
#define SIZE_COUNTS 0x80000000u
_Static_assert(sizeof(struct rec) == 72, "the side file's records are 72 bytes");

/* The side file (DISK.same, beside DISK.idx): the records and names the
 * check needs, written once from the index they were made of, so that an
 * unchanged re-snapshot maps them instead of decoding the index (zstd and
 * a parse of every entry were a tenth of its time). Little-endian as this
 * host writes it, like the index:
 *   header {"OSMSAME1", u64 count, u64 names_len, 32-byte SHA-256 of the index file}
 *   struct rec[count] (`below` final), names (each NUL-terminated)
 *   32-byte SHA-256 of all that precedes
 * It is trusted only when its own hash and the index's hash are right and
 * the index is the one the set recorded: so a corrupt side file or index is
 * a change (the create walks), never a wrong answer. */
struct side_head {
    char magic[8];
    uint64_t count, names_len;
    unsigned char index_sha256[32];
};
static const char SIDE_MAGIC[8] = "OSMSAME1";

/* A checker's current parent directory's record chain (level 0: TOP, the
 * root, shared). A level is open (O_PATH) or, for a directory with few
 * entries below it, not: those are reached by a relative path from the
 * deepest open level (`rel`, the names of the levels below it, each
 * followed by '/'). Opening and closing a directory costs as much as about
 * eight more path components to look up, and most directories of a system
 * tree hold fewer entries than that. */
struct dirs {
    int depth;
    uint32_t rec[DEPTH + 1];
    int fd[DEPTH + 1];        /* -1: not opened */
    int base[DEPTH + 1];      /* the deepest open level at or above this one */
    size_t rel_end[DEPTH + 1]; /* rel's length at this level (0 at an open one) */
    char rel[4096];
};

/* Fewer entries than this below a directory: it is not opened. */
#define OPEN_MIN 8

/* The decoder (the calling thread) fills `r` in index order and publishes
 * how far it got in `decoded`; the other threads check blocks as soon as
 * they are decoded, so decoding and checking overlap. The decoder keeps the
 * chain of directories above the current entry (`up`, their path lengths in
 * `uplen`, the innermost path in `cur`) to find each entry's parent, and
 * counts the entries below each (published when it leaves the chain). */
struct same {
    struct rec *r;
    char *names;
    size_t cap, map_len, names_used;
    uint32_t up[DEPTH];
    size_t uplen[DEPTH];
    uint32_t upcount[DEPTH]; /* entries below each, so far */
    int updepth;
    char *cur;
    size_t cur_cap;
    _Atomic size_t decoded;
    _Atomic int done, changed;
    _Atomic size_t next_block;
    pthread_mutex_t mu;
    pthread_cond_t more;
    int root_fd;
    int64_t started_ns; /* of the set that wrote the index */
    /* Checking records mapped from a side file (r and names point into it),
     * not decoded from the index; those are checked before being used. */
    const unsigned char *side;
    size_t side_len;
};

static void publish(struct same *s, size_t decoded, int done)
{
    pthread_mutex_lock(&s->mu);
    atomic_store_explicit(&s->decoded, decoded, memory_order_release);
    if (done)
        atomic_store(&s->done, 1);
    pthread_cond_broadcast(&s->more);
    pthread_mutex_unlock(&s->mu);
}

/* The records and their names (at most 256 bytes each), in one mapping
 * faulted in as they are filled. Fresh memory is the check's largest cost
 * after the fstatats: populating it at once with huge pages cost 19 ms for
 * 8 MiB on a virtual machine whose host takes back free memory, page by page
 * a quarter of that; so records are small and names are packed. */
static int map_recs(struct same *s, size_t n)
{
    s->map_len = (n ? n : 1) * (sizeof(struct rec) + 256);
    void *m = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    madvise(m, s->map_len, MADV_NOHUGEPAGE);
    s->r = m;
    s->names = (char *)m + (n ? n : 1) * sizeof(struct rec);
    return 0;
}

/* The innermost directory of the decoder's chain is behind it: its count
 * is final (and adds to its parent's). */
static void pop_dir(struct same *s)
{
    int k = --s->updepth;
    atomic_store_explicit(&s->r[s->up[k]].below, s->upcount[k], memory_order_relaxed);
    if (k > 0)
        s->upcount[k - 1] += s->upcount[k];
}

/* Index order is depth first, a directory before its entries: an entry's
 * parent is the innermost directory on the chain whose path is a prefix of
 * its own. An entry whose parent is not there (an index not in that order)
 * or a chain too deep ends the check as a change. */
static int add_rec(struct same *s, const struct snap_entry *e, uint64_t i, uint64_t count)
{
    if (i == 0) {
        if (count > ((uint64_t)1 << 26)) /* beyond any real tree: let the walk decide */
            return 1;
        s->cap = (size_t)count;
        if (map_recs(s, s->cap) != 0)
            return 1;
    }
    const char *p = e->path;
    size_t n = strlen(p), base = 0;
    uint32_t parent = TOP;
    if (n) {
        while (s->updepth > 0) {
            size_t k = s->uplen[s->updepth - 1];
            if (k < n && p[k] == '/' && memcmp(s->cur, p, k) == 0)
                break;
            pop_dir(s);
        }
        if (s->updepth > 0) {
            s->upcount[s->updepth - 1]++;
            parent = s->up[s->updepth - 1];
            base = s->uplen[s->updepth - 1] + 1;
        }
        if (base == n || memchr(p + base, '/', n - base))
            return 1;
        if (e->type == SNAP_DIR) {
            if (s->updepth == DEPTH)
                return 1;
            if (n + 1 > s->cur_cap)
                s->cur = osm_xrealloc(s->cur, s->cur_cap = 2 * n + 64);
            memcpy(s->cur, p, n + 1);
            s->up[s->updepth] = (uint32_t)i;
            s->upcount[s->updepth] = 0;
            s->uplen[s->updepth++] = n;
        }
    }
    size_t len = n - base;
    if (len > 255)
        return 1;
    memcpy(s->names + s->names_used, p + base, len + 1);
    int file = e->type == SNAP_FILE;
    s->r[i] = (struct rec){(uint32_t)s->names_used,
                           parent,
                           e->mode | (file ? SIZE_COUNTS : 0),
                           e->uid,
                           e->gid,
                           0,
                           file ? e->size : e->rdev,
                           e->ino,
                           e->dev,
                           e->atime_ns,
                           e->mtime_ns,
                           e->ctime_ns};
    s->names_used += len + 1;
    return 0;
}

static int collect(void *ctx, const struct snap_entry *e, uint64_t i, uint64_t count)
{
    struct same *s = ctx;
    if (atomic_load_explicit(&s->changed, memory_order_relaxed) || !snap_stat_trusted(e->ctime_ns, s->started_ns))
        return 1;
    if (add_rec(s, e, i, count) != 0)
        return 1;
    if ((i + 1) % BLOCK == 0)
        publish(s, (size_t)i + 1, 0);
    return 0;
}

static int64_t ns(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int same_stat(const struct rec *r, const struct stat *st)
{
    int file = (r->mode & SIZE_COUNTS) != 0;
    return (r->mode & ~SIZE_COUNTS) == st->st_mode && r->uid == st->st_uid && r->gid == st->st_gid &&
           r->aux == (file ? (uint64_t)st->st_size : (uint64_t)st->st_rdev) && (!file || st->st_rdev == 0) &&
           r->ino == (uint64_t)st->st_ino && r->dev == (uint64_t)st->st_dev && r->atime_ns == ns(st->st_atim) &&
           r->mtime_ns == ns(st->st_mtim) && r->ctime_ns == ns(st->st_ctim);
}

/* Is directory record `x` worth opening? (Not known yet: yes.) */
static int worth_opening(const struct same *s, uint32_t x)
{
    uint32_t below = atomic_load_explicit(&s->r[x].below, memory_order_relaxed);
    return below == 0 || below >= OPEN_MIN;
}

/* `name` relative to d's deepest open level: d->rel holds it (valid until
 * the next call), or NULL when it does not fit. */
static const char *relative(struct dirs *d, const char *name)
{
    size_t k = d->rel_end[d->depth], n = strlen(name);
    if (k == 0)
        return name;
    if (k + n >= sizeof d->rel)
        return NULL;
    memcpy(d->rel + k, name, n + 1);
    return d->rel;
}

/* Adds record `x` (a directory in d's top) as d's new top, opened when
 * `open` (or when its path would not fit in rel). 0, or -1 when it cannot
 * be opened or the chain is too deep. */
static int push(const struct same *s, struct dirs *d, uint32_t x, int open)
{
    if (d->depth == DEPTH)
        return -1;
    const char *name = s->names + s->r[x].name;
    size_t k = d->rel_end[d->depth], n = strlen(name);
    int j = d->depth + 1;
    if (open || k + n + 1 >= sizeof d->rel / 2) {
        const char *path = relative(d, name);
        int fd = path ? openat(d->fd[d->base[d->depth]], path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
        if (fd < 0)
            return -1;
        d->fd[j] = fd;
        d->base[j] = j;
        d->rel_end[j] = 0;
    } else {
        memcpy(d->rel + k, name, n);
        d->rel[k + n] = '/';
        d->fd[j] = -1;
        d->base[j] = d->base[d->depth];
        d->rel_end[j] = k + n + 1;
    }
    d->rec[j] = x;
    d->depth = j;
    return 0;
}

static void pop(struct dirs *d)
{
    if (d->fd[d->depth] >= 0)
        close(d->fd[d->depth]);
    d->depth--;
}

/* Makes d's levels the chain of record `dir` (TOP: the root alone); 0, or
 * -1 when a directory cannot be opened or the chain is too deep. */
static int enter(const struct same *s, struct dirs *d, uint32_t dir)
{
    if (d->rec[d->depth] == dir)
        return 0;
    uint32_t chain[DEPTH];
    int k = 0;
    for (uint32_t x = dir; x != TOP; x = s->r[x].parent) {
        if (k == DEPTH)
            return -1;
        chain[k++] = x;
    }
    /* chain[k-1] is the outermost: keep what d has of it. */
    int keep = 0;
    while (keep < d->depth && keep < k && d->rec[keep + 1] == chain[k - 1 - keep])
        keep++;
    while (d->depth > keep)
        pop(d);
    for (int j = k - 1 - keep; j >= 0; j--)
        if (push(s, d, chain[j], worth_opening(s, chain[j])) != 0)
            return -1;
    return 0;
}

/* fstatat of `name` in d's top level. */
static int stat_in(struct dirs *d, const char *name, struct stat *st)
{
    const char *path = relative(d, name);
    return path ? fstatat(d->fd[d->base[d->depth]], path, st, AT_SYMLINK_NOFOLLOW) : -1;
}

static void check_range(struct same *s, struct dirs *d, size_t from, size_t to)
{
    for (size_t i = from; i < to && !atomic_load_explicit(&s->changed, memory_order_relaxed); i++) {
        const struct rec *r = &s->r[i];
        struct stat st;
        int ok;
        if (s->side && !snap_stat_trusted(r->ctime_ns, s->started_ns)) { /* (decoding checks it) */
            atomic_store(&s->changed, 1);
            break;
        }
        const char *name = s->names + r->name;
        if (!name[0]) /* the root */
            ok = fstatat(d->fd[0], "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0;
        else if (S_ISDIR(r->mode & ~SIZE_COUNTS) && worth_opening(s, (uint32_t)i)) /* opened now for its entries: one lookup */
            ok = enter(s, d, r->parent) == 0 && push(s, d, (uint32_t)i, 1) == 0 &&
                 fstatat(d->fd[d->depth], "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0;
        else
            ok = enter(s, d, r->parent) == 0 && stat_in(d, name, &st) == 0;
        if (!ok || !same_stat(r, &st))
            atomic_store(&s->changed, 1);
    }
}

/* The margin: see snap_same.h. */
int snap_stat_trusted(int64_t ctime_ns, int64_t started_ns)
{
    int64_t margin = ctime_ns % 1000000000 == 0 ? (int64_t)2000000000 : (int64_t)100000000;
    return started_ns > 0 && ctime_ns < started_ns - margin;
}

/* Checks blocks as they are decoded until there are none left. */
static void check_blocks(struct same *s)
{
    struct dirs d = {.rec = {TOP}, .fd = {s->root_fd}};
    for (;;) {
        size_t k = atomic_fetch_add(&s->next_block, 1);
        size_t from = k * BLOCK, to = from + BLOCK;
        pthread_mutex_lock(&s->mu);
        while (!atomic_load(&s->done) && atomic_load_explicit(&s->decoded, memory_order_acquire) < to)
            pthread_cond_wait(&s->more, &s->mu);
        size_t decoded = atomic_load_explicit(&s->decoded, memory_order_acquire);
        pthread_mutex_unlock(&s->mu);
        if (to > decoded)
            to = decoded;
        if (from >= to || atomic_load(&s->changed))
            break;
        check_range(s, &d, from, to);
    }
    while (d.depth > 0)
        pop(&d);
}

static void *checker_main(void *arg)
{
    check_blocks(arg);
    return NULL;
}

struct snap_same_check {
    struct same s;
    char *index_path, *index_sha256;
    pthread_t tid[64];
    int started;
};

static void sha256_hex(const void *p, size_t n, char hex[65])
{
    unsigned char md[32];
    EVP_Digest(n ? p : "", n, md, NULL, EVP_sha256(), NULL);
    snap_hex(md, 32, hex);
}

/* The index file's SHA-256 is `expect` (hex). */
static int index_hash_is(const char *path, const char *expect)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    size_t n = (size_t)st.st_size;
    void *m = n ? mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : NULL;
    close(fd);
    if (n && m == MAP_FAILED)
        return 0;
    char hex[65];
    sha256_hex(m, n, hex);
    if (m)
        munmap(m, n);
    return strcmp(hex, expect) == 0;
}

/* The side file's thread: its hash, the index it names and the index's own
 * hash (a corrupt index is not shared into a new set); then it checks like
 * the others. */
static void *verifier_main(void *arg)
{
    struct snap_same_check *c = arg;
    struct same *s = &c->s;
    const struct side_head *h = (const void *)s->side;
    char hex[65], named[65];
    sha256_hex(s->side, s->side_len - 32, hex);
    char trailer[65];
    snap_hex(s->side + s->side_len - 32, 32, trailer);
    snap_hex(h->index_sha256, 32, named);
    if (strcmp(hex, trailer) != 0 || strcmp(named, c->index_sha256) != 0 ||
        !index_hash_is(c->index_path, c->index_sha256))
        atomic_store(&s->changed, 1);
    check_blocks(s);
    return NULL;
}

/* Maps the side file of the index when there is one whose shape is sound
 * (its hashes are checked by verifier_main): 1, with s->r and s->names
 * pointing into it, else 0 (then the index is decoded). */
static int map_side(struct same *s, const char *side_path)
{
    int fd = side_path ? open(side_path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < sizeof(struct side_head) + 32 + 1 ||
        (uint64_t)st.st_size > ((uint64_t)1 << 36)) {
        close(fd);
        return 0;
    }
    size_t n = (size_t)st.st_size;
    void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return 0;
    const struct side_head *h = m;
    uint64_t body = n - sizeof *h - 32;
    if (memcmp(h->magic, SIDE_MAGIC, 8) != 0 || h->count == 0 || h->count > body / sizeof(struct rec) ||
        h->names_len != body - h->count * sizeof(struct rec) || h->names_len == 0 ||
        ((const char *)m)[n - 33] != '\0') {
        munmap(m, n);
        return 0;
    }
    /* Every record points where records of an index can (its parent
     * earlier, its name inside the names), or the file is not used: its
     * hash is checked alongside, on another thread, and until then this
     * keeps a bad file from making the check read out of bounds or loop. */
    const struct rec *r = (const struct rec *)((const char *)m + sizeof *h);
    for (uint64_t i = 0; i < h->count; i++)
        if ((r[i].parent != TOP && r[i].parent >= i) || r[i].name >= h->names_len) {
            munmap(m, n);
            return 0;
        }
    s->side = m;
    s->side_len = n;
    s->r = (struct rec *)r; /* read only: `below` is final */
    s->cap = (size_t)h->count;
    s->names = (char *)m + sizeof *h + s->cap * sizeof(struct rec);
    s->names_used = (size_t)h->names_len;
    return 1;
}

/* Writes the records and names `s` holds (complete, every directory's
 * count final) as the side file of the index with SHA-256 `index_sha256`. */
static int write_side(const struct same *s, const char *index_sha256, const char *path, struct osm_err *err)
{
    unsigned char sha[32];
    int bad = s->cap == 0 || strlen(index_sha256) != 64;
    for (int k = 0; !bad && k < 32; k++) {
        unsigned v;
        bad = sscanf(index_sha256 + 2 * k, "%2x", &v) != 1;
        sha[k] = (unsigned char)v;
    }
    if (bad) {
        unlink(path); /* no side file: the next check decodes the index */
        return osm_err_set(err, OSM_EINPUT, "%s: the index cannot be checked from a side file", path);
    }
    struct side_head h = {.count = s->cap, .names_len = s->names_used};
    memcpy(h.magic, SIDE_MAGIC, 8);
    memcpy(h.index_sha256, sha, 32);
    size_t body = s->cap * sizeof(struct rec) + s->names_used; /* names follow the records in the mapping */
    unsigned char md[32];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, &h, sizeof h) &&
             EVP_DigestUpdate(c, s->r, body) && EVP_DigestFinal_ex(c, md, NULL);
    EVP_MD_CTX_free(c);
    if (!ok)
        return osm_err_set(err, OSM_EFAIL, "%s: SHA-256 failed", path);
    int rc = -1;
    char *tmp = osm_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || snap_write_all(fd, &h, sizeof h) != 0 || snap_write_all(fd, s->r, body) != 0 ||
        snap_write_all(fd, md, 32) != 0) {
        osm_err_errno(err, "writing %s", tmp);
        goto out;
    }
    int cr = close(fd);
    fd = -1;
    if (cr != 0 || rename(tmp, path) != 0) {
        osm_err_errno(err, "writing %s", path);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int snap_same_save(const struct snap_index *ix, const char *index_sha256, const char *path, struct osm_err *err)
{
    struct same s = {0};
    int bad = ix->n == 0;
    for (size_t i = 0; i < ix->n && !bad; i++)
        bad = add_rec(&s, ix->e[i], i, ix->n) != 0;
    while (!bad && s.updepth > 0)
        pop_dir(&s);
    int rc;
    if (bad) {
        unlink(path);
        rc = osm_err_set(err, OSM_EINPUT, "%s: the index cannot be checked from a side file", path);
    } else {
        rc = write_side(&s, index_sha256, path, err);
    }
    free(s.cur);
    if (s.r)
        munmap(s.r, s.map_len);
    return rc;
}

/* The decoder thread: decodes the index, then checks like the others. */
static void *decoder_main(void *arg)
{
    struct snap_same_check *c = arg;
    struct same *s = &c->s;
    struct osm_err ignore = OSM_ERR_INIT;
    int rc = snap_index_scan(c->index_path, c->index_sha256, collect, s, &ignore);
    if (rc != 0 || s->cap == 0)
        atomic_store(&s->changed, 1);
    while (rc == 0 && s->updepth > 0) /* every count final: the records can be a side file */
        pop_dir(s);
    publish(s, rc == 0 ? s->cap : atomic_load(&s->decoded), 1);
    check_blocks(s);
    return NULL;
}

struct snap_same_check *snap_same_start(const char *root, const char *index_path, const char *index_sha256,
                                        const char *side_path, int64_t started_ns, int threads)
{
    int root_fd = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root_fd < 0)
        return NULL;
    struct snap_same_check *c = osm_xcalloc(1, sizeof *c);
    struct same *s = &c->s;
    s->root_fd = root_fd;
    s->started_ns = started_ns;
    c->index_path = osm_xstrdup(index_path);
    c->index_sha256 = index_sha256 ? osm_xstrdup(index_sha256) : NULL;
    atomic_init(&s->decoded, 0);
    atomic_init(&s->done, 0);
    atomic_init(&s->changed, 0);
    atomic_init(&s->next_block, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->more, NULL);
    /* With a side file every record is there from the start (the first
     * thread checks its hashes, then checks entries too); else the decoder
     * first: without it nothing ever gets checked. */
    int side = c->index_sha256 && map_side(s, side_path);
    if (side)
        publish(s, s->cap, 1);
    if (pthread_create(&c->tid[0], NULL, side ? verifier_main : decoder_main, c) != 0) {
        atomic_store(&s->changed, 1);
        publish(s, 0, 1);
        return c;
    }
    c->started = 1;
    for (int t = 1; t < threads && t < 64; t++, c->started++)
        if (pthread_create(&c->tid[c->started], NULL, checker_main, s) != 0)
            break;
    return c;
}

int snap_same_finish(struct snap_same_check *c)
{
    return snap_same_finish_saving(c, NULL);
}

int snap_same_finish_saving(struct snap_same_check *c, const char *side_out)
{
    if (!c)
        return 0;
    struct same *s = &c->s;
    check_blocks(s); /* the caller's thread lends a hand for what is left */
    for (int t = 0; t < c->started; t++)
        pthread_join(c->tid[t], NULL);
    int unchanged = !atomic_load(&s->changed);
    if (unchanged && side_out && !s->side) {
        struct osm_err ignore = OSM_ERR_INIT; /* without it the next check decodes the index */
        write_side(s, c->index_sha256, side_out, &ignore);
    }
    pthread_cond_destroy(&s->more);
    pthread_mutex_destroy(&s->mu);
    close(s->root_fd);
    if (s->side)
        munmap((void *)s->side, s->side_len);
    else if (s->r)
        munmap(s->r, s->map_len);
    free(s->cur);
    free(c->index_path);
    free(c->index_sha256);
    free(c);
    return unchanged;
}

int snap_tree_unchanged(const char *root, const char *index_path, const char *index_sha256, const char *side_path,
                        int64_t started_ns, int threads)
{
    return snap_same_finish(snap_same_start(root, index_path, index_sha256, side_path, started_ns, threads));
}
