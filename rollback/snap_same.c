/* snap_same.c: see snap_same.h.
 *
 * The index is decoded once into compact records (the stat fields and the
 * path) while the other threads check blocks of consecutive records as soon
 * as they are decoded, and the decoder joins them at the end. Each one keeps
 * the directories of its current path open (O_PATH), so moving between
 * neighbours of the index's depth-first order opens one directory, not a
 * whole path, and every entry costs one fstatat on its parent (a directory:
 * the open that its entries need, and an fstat of that descriptor). */
#include "snap_same.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_buf.h"
#include "snap_arena.h"
#include "snap_index.h"

#define DEPTH 64
#define BLOCK 256

struct rec {
    const char *path; /* in the scratch arena */
    uint32_t mode, uid, gid;
    uint8_t file; /* a regular file's first path: its size counts */
    uint64_t size, ino, dev, rdev;
    int64_t atime_ns, mtime_ns, ctime_ns;
};

/* The open directories of a worker's current parent path. */
struct dirs {
    const char *cur; /* that path */
    int depth;
    int fd[DEPTH + 1];     /* fd[0]: the root, shared */
    size_t len[DEPTH + 1]; /* length of cur's prefix that fd[j] is */
};

/* The decoder (the calling thread) fills `r` in index order and publishes
 * how far it got in `decoded`; the other threads check blocks as soon as
 * they are decoded, so decoding and checking overlap. */
struct same {
    struct rec *r;
    size_t cap;
    struct snap_arena paths;
    _Atomic size_t decoded;
    _Atomic int done, changed;
    _Atomic size_t next_block;
    pthread_mutex_t mu;
    pthread_cond_t more;
    int root_fd;
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

static int collect(void *ctx, const struct snap_entry *e, uint64_t i, uint64_t count)
{
    struct same *s = ctx;
    if (i == 0) {
        if (count > ((uint64_t)1 << 26)) /* beyond any real tree: let the walk decide */
            return 1;
        s->cap = (size_t)count;
        s->r = osm_xmalloc((s->cap ? s->cap : 1) * sizeof *s->r);
    }
    if (atomic_load_explicit(&s->changed, memory_order_relaxed))
        return 1;
    s->r[i] = (struct rec){snap_arena_strdup(&s->paths, e->path),
                           e->mode,
                           e->uid,
                           e->gid,
                           e->type == SNAP_FILE,
                           e->type == SNAP_FILE ? e->size : 0,
                           e->ino,
                           e->dev,
                           e->rdev,
                           e->atime_ns,
                           e->mtime_ns,
                           e->ctime_ns};
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
    return r->mode == st->st_mode && r->uid == st->st_uid && r->gid == st->st_gid &&
           r->size == (r->file ? (uint64_t)st->st_size : 0) && r->ino == (uint64_t)st->st_ino &&
           r->dev == (uint64_t)st->st_dev && r->rdev == (uint64_t)st->st_rdev && r->atime_ns == ns(st->st_atim) &&
           r->mtime_ns == ns(st->st_mtim) && r->ctime_ns == ns(st->st_ctim);
}

/* Makes d's open directories those of `parent` (length n); -1 when one
 * cannot be opened or the path is too deep. */
static int enter(struct dirs *d, const char *parent, size_t n)
{
    while (d->depth > 0 && !(d->len[d->depth] <= n && memcmp(d->cur, parent, d->len[d->depth]) == 0 &&
                             (d->len[d->depth] == n || parent[d->len[d->depth]] == '/'))) {
        close(d->fd[d->depth]);
        d->depth--;
    }
    d->cur = parent;
    size_t pos = d->len[d->depth];
    while (pos < n) {
        if (parent[pos] == '/')
            pos++;
        const char *slash = memchr(parent + pos, '/', n - pos);
        size_t end = slash ? (size_t)(slash - parent) : n;
        char name[256];
        if (d->depth == DEPTH || end - pos >= sizeof name)
            return -1;
        memcpy(name, parent + pos, end - pos);
        name[end - pos] = '\0';
        int fd = openat(d->fd[d->depth], name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return -1;
        d->depth++;
        d->fd[d->depth] = fd;
        d->len[d->depth] = end;
        pos = end;
    }
    return 0;
}

static void check_range(struct same *s, struct dirs *d, size_t from, size_t to)
{
    for (size_t i = from; i < to && !atomic_load_explicit(&s->changed, memory_order_relaxed); i++) {
        const char *path = s->r[i].path;
        const char *slash = strrchr(path, '/');
        struct stat st;
        int ok;
        if (!path[0])
            ok = fstatat(d->fd[0], "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0;
        else if (S_ISDIR(s->r[i].mode)) /* opened now for its entries, which follow: one lookup, not two */
            ok = enter(d, path, strlen(path)) == 0 &&
                 fstatat(d->fd[d->depth], "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0;
        else
            ok = enter(d, path, slash ? (size_t)(slash - path) : 0) == 0 &&
                 fstatat(d->fd[d->depth], slash ? slash + 1 : path, &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (!ok || !same_stat(&s->r[i], &st))
            atomic_store(&s->changed, 1);
    }
}

/* Checks blocks as they are decoded until there are none left. */
static void check_blocks(struct same *s)
{
    struct dirs d = {.fd = {s->root_fd}};
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
    for (int j = d.depth; j > 0; j--)
        close(d.fd[j]);
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

/* The decoder thread: decodes the index, then checks like the others. */
static void *decoder_main(void *arg)
{
    struct snap_same_check *c = arg;
    struct same *s = &c->s;
    struct osm_err ignore = OSM_ERR_INIT;
    int rc = snap_index_scan(c->index_path, c->index_sha256, collect, s, &ignore);
    if (rc != 0 || s->cap == 0)
        atomic_store(&s->changed, 1);
    publish(s, rc == 0 ? s->cap : atomic_load(&s->decoded), 1);
    check_blocks(s);
    return NULL;
}

struct snap_same_check *snap_same_start(const char *root, const char *index_path, const char *index_sha256,
                                        int threads)
{
    int root_fd = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root_fd < 0)
        return NULL;
    struct snap_same_check *c = osm_xcalloc(1, sizeof *c);
    struct same *s = &c->s;
    s->root_fd = root_fd;
    c->index_path = osm_xstrdup(index_path);
    c->index_sha256 = index_sha256 ? osm_xstrdup(index_sha256) : NULL;
    snap_arena_init(&s->paths);
    atomic_init(&s->decoded, 0);
    atomic_init(&s->done, 0);
    atomic_init(&s->changed, 0);
    atomic_init(&s->next_block, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->more, NULL);
    /* The decoder first: without it nothing ever gets checked. */
    if (pthread_create(&c->tid[0], NULL, decoder_main, c) != 0) {
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
    if (!c)
        return 0;
    struct same *s = &c->s;
    check_blocks(s); /* the caller's thread lends a hand for what is left */
    for (int t = 0; t < c->started; t++)
        pthread_join(c->tid[t], NULL);
    int unchanged = !atomic_load(&s->changed);
    pthread_cond_destroy(&s->more);
    pthread_mutex_destroy(&s->mu);
    close(s->root_fd);
    free(s->r);
    snap_arena_free(&s->paths);
    free(c->index_path);
    free(c->index_sha256);
    free(c);
    return unchanged;
}

int snap_tree_unchanged(const char *root, const char *index_path, const char *index_sha256, int threads)
{
    return snap_same_finish(snap_same_start(root, index_path, index_sha256, threads));
}
