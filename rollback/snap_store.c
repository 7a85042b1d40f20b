/* snap_store.c: see snap_store.h. Chunks: SHA-256 through OpenSSL's EVP
 * (uses the CPU's SHA extensions), zstd level 1 (the fastest level that still
 * halves typical system trees; level 3 costs ~40% more CPU for a few percent
 * of space, and a snapshot must be quick to take before a migration). */
#include "snap_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "snap_index.h"

#define MARKER "OSMIG-STORE"
#define MARKER_TEXT "osmig snapshot store, format 1\n"
#define ZSTD_LEVEL 1

/* Empty, or holding only what an interrupted store creation leaves (the
 * marker is written last): safe to (re)initialise. */
static int dir_is_fresh(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *de;
    int fresh = 1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && strcmp(de->d_name, "chunks") != 0 &&
            strcmp(de->d_name, "sets") != 0 && strcmp(de->d_name, "lost+found") != 0 &&
            strncmp(de->d_name, MARKER ".tmp.", sizeof MARKER + 4) != 0) {
            fresh = 0;
            break;
        }
    closedir(d);
    return fresh;
}

int snap_store_open(struct snap_store *s, const char *dir, int create, struct osm_err *err)
{
    s->dir = osm_xstrdup(dir);
    s->lock_fd = -1;
    char *marker = osm_path_join(dir, MARKER);
    struct stat mst;
    int st_rc = stat(marker, &mst);
    int ok = st_rc == 0 && S_ISREG(mst.st_mode);
    if (st_rc != 0 && errno != ENOENT && errno != ENOTDIR) {
        osm_err_errno(err, "snapshot store %s", marker);
        free(marker);
        return -1;
    }
    if (!ok) {
        struct stat st;
        int exists = stat(dir, &st) == 0;
        if (exists && !S_ISDIR(st.st_mode)) {
            free(marker);
            return osm_err_set(err, OSM_EINPUT, "snapshot store %s is not a directory", dir);
        }
        if (exists && !dir_is_fresh(dir)) {
            free(marker);
            return osm_err_set(err, OSM_EINPUT,
                               "%s is not an osmig snapshot store (no %s marker, and it is not empty)", dir, MARKER);
        }
        if (!create) {
            free(marker);
            return osm_err_set(err, OSM_ENOTFOUND, "snapshot store %s does not exist (no set was created there)",
                               dir);
        }
        if (osm_mkdir_p(dir, 0700, err) != 0) {
            free(marker);
            osm_err_prefix(err, "creating snapshot store");
            return -1;
        }
        for (int i = 0; i < 256; i++) {
            char sub[16];
            snprintf(sub, sizeof sub, "chunks/%02x", i);
            char *p = osm_path_join(dir, sub);
            int r = osm_mkdir_p(p, 0700, err);
            free(p);
            if (r != 0) {
                free(marker);
                return -1;
            }
        }
        char *sets = osm_path_join(dir, "sets");
        int r = osm_mkdir_p(sets, 0700, err);
        free(sets);
        if (r != 0 || osm_write_file_atomic(marker, MARKER_TEXT, strlen(MARKER_TEXT), 0644, err) != 0) {
            free(marker);
            osm_err_prefix(err, "creating snapshot store %s", dir);
            return -1;
        }
    }
    free(marker);
    return 0;
}

int snap_store_lock(struct snap_store *s, int exclusive, struct osm_err *err)
{
    char *p = osm_path_join(s->dir, "lock");
    s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0 && !exclusive && (errno == EACCES || errno == EROFS))
        s->lock_fd = open(p, O_RDONLY | O_CLOEXEC);
    if (s->lock_fd < 0) {
        osm_err_errno(err, "snapshot store lock %s", p);
        free(p);
        return -1;
    }
    free(p);
    if (flock(s->lock_fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
        fprintf(stderr, "osmig: waiting for another osmig using the snapshot store %s\n", s->dir);
        if (flock(s->lock_fd, exclusive ? LOCK_EX : LOCK_SH) != 0)
            return osm_err_errno(err, "locking snapshot store %s", s->dir);
    }
    return 0;
}

void snap_store_close(struct snap_store *s)
{
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s->dir);
    s->dir = NULL;
    s->lock_fd = -1;
}

char *snap_store_set_dir(const struct snap_store *s, const char *id)
{
    return osm_xasprintf("%s/sets/%s", s->dir, id);
}

char *snap_chunk_path(const struct snap_store *s, const unsigned char hash[32])
{
    char hex[65];
    snap_hex(hash, 32, hex);
    return osm_xasprintf("%s/chunks/%.2s/%s", s->dir, hex, hex);
}

int snap_store_sync(const struct snap_store *s, struct osm_err *err)
{
    int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "snapshot store %s", s->dir);
    int r = syncfs(fd);
    close(fd);
    if (r != 0)
        return osm_err_errno(err, "syncing snapshot store %s", s->dir);
    return 0;
}

void snap_worker_init(struct snap_worker *w, int id)
{
    memset(w, 0, sizeof *w);
    w->id = id;
    w->cctx = ZSTD_createCCtx();
    w->dctx = ZSTD_createDCtx();
    w->md = EVP_MD_CTX_new();
    w->buf = osm_xmalloc(SNAP_CHUNK_SIZE);
    w->zcap = ZSTD_compressBound(SNAP_CHUNK_SIZE);
    w->zbuf = osm_xmalloc(w->zcap);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
}

void snap_worker_free(struct snap_worker *w)
{
    ZSTD_freeCCtx(w->cctx);
    ZSTD_freeDCtx(w->dctx);
    EVP_MD_CTX_free(w->md);
    free(w->buf);
    free(w->zbuf);
    free(w->new_chunks);
    memset(w, 0, sizeof *w);
}

void snap_sha256(struct snap_worker *w, const void *data, size_t len, unsigned char out[32])
{
    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);
    EVP_DigestUpdate(w->md, data, len);
    EVP_DigestFinal_ex(w->md, out, NULL);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

int snap_chunk_put(const struct snap_store *s, struct snap_worker *w, const void *data, size_t len,
                   const unsigned char hash[32], struct osm_err *err)
{
    char *path = snap_chunk_path(s, hash);
    if (access(path, F_OK) == 0) {
        free(path);
        return 0;
    }
    size_t zn = ZSTD_compress2(w->cctx, w->zbuf, w->zcap, data, len);
    if (ZSTD_isError(zn)) {
        free(path);
        return osm_err_set(err, OSM_EFAIL, "zstd: %s", ZSTD_getErrorName(zn));
    }
    char *tmp = osm_xasprintf("%s.tmp-%d-%d-%u", path, (int)getpid(), w->id, w->tmp_seq++);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        osm_err_errno(err, "writing chunk %s", tmp);
        free(tmp);
        free(path);
        return -1;
    }
    if (write_all(fd, w->zbuf, zn) != 0 || close(fd) != 0) {
        osm_err_errno(err, "writing chunk %s", tmp);
        close(fd);
        unlink(tmp);
        free(tmp);
        free(path);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        osm_err_errno(err, "renaming chunk %s", tmp);
        unlink(tmp);
        free(tmp);
        free(path);
        return -1;
    }
    free(tmp);
    free(path);
    if (w->n_new == w->cap_new) {
        w->cap_new = w->cap_new ? w->cap_new * 2 : 256;
        w->new_chunks = osm_xrealloc(w->new_chunks, w->cap_new * 32);
    }
    memcpy(w->new_chunks[w->n_new++], hash, 32);
    return 0;
}

int snap_chunk_get(const struct snap_store *s, struct snap_worker *w, const unsigned char hash[32], uint32_t len,
                   void *out, struct osm_err *err)
{
    char *path = snap_chunk_path(s, hash);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        osm_err_errno(err, "chunk %s", path);
        if (e == ENOENT)
            err->code = OSM_ECHECKSUM; /* a missing chunk is a corrupt set */
        free(path);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size > w->zcap) {
        close(fd);
        osm_err_set(err, OSM_ECHECKSUM, "chunk %s is corrupt (size %lld)", path, (long long)st.st_size);
        free(path);
        return -1;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t k = read(fd, w->zbuf + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    size_t n = ZSTD_decompressDCtx(w->dctx, out, len, w->zbuf, got);
    unsigned char md[32];
    if (!ZSTD_isError(n) && n == len)
        snap_sha256(w, out, len, md);
    if (ZSTD_isError(n) || n != len || memcmp(md, hash, 32) != 0) {
        osm_err_set(err, OSM_ECHECKSUM, "chunk %s is corrupt (%s)", path,
                    ZSTD_isError(n) ? ZSTD_getErrorName(n) : n != len ? "wrong length" : "hash mismatch");
        free(path);
        return -1;
    }
    free(path);
    return 0;
}

/* ---- parallel loop ---- */

struct par {
    size_t n;
    _Atomic size_t next;
    _Atomic int stop;
    snap_item_fn fn;
    void *ctx;
    pthread_mutex_t mu;
    struct osm_err *err;
    int failed;
};

static void par_run(struct par *p, struct snap_worker *w, void (*tick)(void *))
{
    struct osm_err e = OSM_ERR_INIT;
    for (;;) {
        if (atomic_load(&p->stop))
            return;
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            return;
        if (p->fn(p->ctx, w, i, &e) != 0) {
            pthread_mutex_lock(&p->mu);
            if (!p->failed) {
                *p->err = e;
                p->failed = 1;
            }
            pthread_mutex_unlock(&p->mu);
            atomic_store(&p->stop, 1);
            return;
        }
        if (tick)
            tick(p->ctx);
    }
}

struct par_thread {
    struct par *p;
    struct snap_worker *w;
};

static void *par_thread_main(void *arg)
{
    struct par_thread *t = arg;
    par_run(t->p, t->w, NULL);
    return NULL;
}

int snap_parallel(size_t n, int threads, struct snap_worker *workers, snap_item_fn fn, void *ctx,
                  void (*tick)(void *ctx), struct osm_err *err)
{
    struct par p = {.n = n, .fn = fn, .ctx = ctx, .err = err};
    atomic_init(&p.next, 0);
    atomic_init(&p.stop, 0);
    pthread_mutex_init(&p.mu, NULL);
    if (threads < 1)
        threads = 1;
    pthread_t tid[64];
    struct par_thread pt[64];
    int started = 0;
    for (int t = 1; t < threads && t < 64; t++) {
        pt[t] = (struct par_thread){&p, &workers[t]};
        if (pthread_create(&tid[t], NULL, par_thread_main, &pt[t]) != 0)
            break;
        started = t;
    }
    par_run(&p, &workers[0], tick);
    for (int t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&p.mu);
    return p.failed ? -1 : 0;
}
