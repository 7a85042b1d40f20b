/* snap_store.c: see snap_store.h. Chunks: SHA-256 through OpenSSL's EVP
 * (uses the CPU's SHA extensions), zstd level 1 (the fastest level that still
 * halves typical system trees; level 3 costs ~40% more CPU for a few percent
 * of space, and a snapshot must be quick to take before a migration).
 * Where chunks are: one hash table (hash -> pack, offset, sizes) built from
 * the packs' tables, guarded by one mutex (a lookup is a few hundred ns next
 * to hashing and compressing a chunk). */
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
#include "snap_io.h"

#define MARKER "OSMIG-STORE"
#define MARKER_TEXT "osmig snapshot store, format 2\n"
#define MARKER_TEXT_1 "osmig snapshot store, format 1\n"
#define ZSTD_LEVEL 1
#define NO_OFF UINT32_MAX /* a chunk being written: present, offset not known yet */

struct pack_rec {
    char name[40]; /* ID.pack */
    uint64_t size;
    int bad;
};

struct snap_store_chunks {
    pthread_mutex_t mu;
    int loaded;
    int has_loose;      /* chunks/ holds format-1 chunk files */
    struct snap_chunk_loc *map; /* open addressing; used slots have clen or off set */
    size_t cap, n;
    struct pack_rec *packs;
    size_t n_packs, cap_packs;
    size_t n_bad;
    char *bad_msg;      /* the first damaged pack's error */
};

static int slot_used(const struct snap_chunk_loc *l)
{
    return l->clen != 0 || l->off != 0;
}

static struct snap_chunk_loc *map_find(struct snap_store_chunks *c, const unsigned char hash[32])
{
    if (!c->cap)
        return NULL;
    uint64_t h;
    memcpy(&h, hash, 8);
    for (size_t j = (size_t)h & (c->cap - 1);; j = (j + 1) & (c->cap - 1)) {
        struct snap_chunk_loc *l = &c->map[j];
        if (!slot_used(l))
            return NULL;
        if (memcmp(l->hash, hash, 32) == 0)
            return l;
    }
}

/* Inserts unless present; returns the slot (new or existing) and whether new. */
static struct snap_chunk_loc *map_insert(struct snap_store_chunks *c, const struct snap_chunk_loc *in, int *is_new)
{
    if ((c->n + 1) * 4 >= c->cap * 3) {
        size_t ncap = c->cap ? c->cap * 2 : 4096;
        struct snap_chunk_loc *nm = osm_xcalloc(ncap, sizeof *nm);
        for (size_t i = 0; i < c->cap; i++)
            if (slot_used(&c->map[i])) {
                uint64_t h;
                memcpy(&h, c->map[i].hash, 8);
                size_t j = (size_t)h & (ncap - 1);
                while (slot_used(&nm[j]))
                    j = (j + 1) & (ncap - 1);
                nm[j] = c->map[i];
            }
        free(c->map);
        c->map = nm;
        c->cap = ncap;
    }
    uint64_t h;
    memcpy(&h, in->hash, 8);
    size_t j = (size_t)h & (c->cap - 1);
    while (slot_used(&c->map[j])) {
        if (memcmp(c->map[j].hash, in->hash, 32) == 0) {
            *is_new = 0;
            return &c->map[j];
        }
        j = (j + 1) & (c->cap - 1);
    }
    c->map[j] = *in;
    c->n++;
    *is_new = 1;
    return &c->map[j];
}

static uint32_t add_pack(struct snap_store_chunks *c, const char *name, uint64_t size, int bad)
{
    if (c->n_packs == c->cap_packs) {
        c->cap_packs = c->cap_packs ? c->cap_packs * 2 : 64;
        c->packs = osm_xrealloc(c->packs, c->cap_packs * sizeof *c->packs);
    }
    struct pack_rec *p = &c->packs[c->n_packs];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->size = size;
    p->bad = bad;
    return (uint32_t)c->n_packs++;
}

static int has_loose_chunks(const char *dir)
{
    for (int b = 0; b < 256; b++) {
        char *sub = osm_xasprintf("%s/chunks/%02x", dir, b);
        DIR *d = opendir(sub);
        free(sub);
        if (!d) {
            if (b == 0 && errno == ENOENT)
                return 0; /* no chunks/ at all: a format-2 store */
            continue;
        }
        struct dirent *de;
        int any = 0;
        while (!any && (de = readdir(d)))
            any = de->d_name[0] != '.';
        closedir(d);
        if (any)
            return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* With c->mu held. Packs in name order, so every process sees the same
 * "first" copy of a chunk that two packs hold. */
static int load_locked(const struct snap_store *s, struct osm_err *err)
{
    struct snap_store_chunks *c = s->c;
    if (c->loaded)
        return 0;
    c->has_loose = has_loose_chunks(s->dir);
    char *pd = snap_store_packs_dir(s);
    DIR *d = opendir(pd);
    if (!d) {
        int e = errno;
        free(pd);
        if (e == ENOENT) { /* a format-1 store: no packs yet */
            c->loaded = 1;
            return 0;
        }
        errno = e;
        return osm_err_errno(err, "snapshot store %s/packs", s->dir);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!snap_pack_name_ok(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = osm_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = osm_xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *path = osm_xasprintf("%s/%s", pd, names[i]);
        struct snap_pack_entry *e;
        size_t ne;
        uint64_t size = 0;
        struct osm_err pe = OSM_ERR_INIT;
        if (snap_pack_read_table(path, &e, &ne, &size, &pe) != 0) {
            add_pack(c, names[i], 0, 1);
            if (!c->n_bad++)
                c->bad_msg = osm_xstrdup(pe.msg);
        } else {
            uint32_t pi = add_pack(c, names[i], size, 0);
            for (size_t k = 0; k < ne; k++) {
                struct snap_chunk_loc l = {.pack = pi, .off = (uint32_t)e[k].off, .clen = e[k].clen,
                                           .ulen = e[k].ulen};
                memcpy(l.hash, e[k].hash, 32);
                int is_new;
                map_insert(c, &l, &is_new);
            }
            free(e);
        }
        free(path);
        free(names[i]);
    }
    free(names);
    free(pd);
    c->loaded = 1;
    return 0;
}

int snap_store_load(const struct snap_store *s, struct osm_err *err)
{
    pthread_mutex_lock(&s->c->mu);
    int rc = load_locked(s, err);
    pthread_mutex_unlock(&s->c->mu);
    return rc;
}

size_t snap_store_n_packs(const struct snap_store *s)
{
    return s->c->n_packs;
}

const char *snap_store_pack_name(const struct snap_store *s, size_t i, uint64_t *size, int *bad)
{
    if (size)
        *size = s->c->packs[i].size;
    if (bad)
        *bad = s->c->packs[i].bad;
    return s->c->packs[i].name;
}

void snap_store_each_chunk(const struct snap_store *s, void (*fn)(void *ctx, const struct snap_chunk_loc *l),
                           void *ctx)
{
    /* From the packs themselves (the map keeps one copy of each chunk). */
    char *pd = snap_store_packs_dir(s);
    for (size_t i = 0; i < s->c->n_packs; i++) {
        if (s->c->packs[i].bad)
            continue;
        char *path = osm_xasprintf("%s/%s", pd, s->c->packs[i].name);
        struct snap_pack_entry *e;
        size_t ne;
        struct osm_err ignore = OSM_ERR_INIT;
        if (snap_pack_read_table(path, &e, &ne, NULL, &ignore) == 0) {
            for (size_t k = 0; k < ne; k++) {
                struct snap_chunk_loc l = {.pack = (uint32_t)i, .off = (uint32_t)e[k].off, .clen = e[k].clen,
                                           .ulen = e[k].ulen};
                memcpy(l.hash, e[k].hash, 32);
                fn(ctx, &l);
            }
            free(e);
        }
        free(path);
    }
    free(pd);
}

int snap_store_is_primary(const struct snap_store *s, const struct snap_chunk_loc *l)
{
    const struct snap_chunk_loc *m = map_find(s->c, l->hash);
    return m && m->pack == l->pack && m->off == l->off;
}

int snap_store_writes_format1(void)
{
    const char *v = getenv("OSMIG_TEST_SNAPSHOT_FORMAT");
    return v && strcmp(v, "1") == 0;
}

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
            strcmp(de->d_name, "packs") != 0 && strcmp(de->d_name, "sets") != 0 && strcmp(de->d_name, "lost+found") != 0 &&
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
    s->c = osm_xcalloc(1, sizeof *s->c);
    pthread_mutex_init(&s->c->mu, NULL);
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
        int f1 = snap_store_writes_format1();
        for (int i = 0; f1 && i < 256; i++) {
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
        char *packs = osm_path_join(dir, "packs");
        int r = osm_mkdir_p(sets, 0700, err);
        if (r == 0 && !f1)
            r = osm_mkdir_p(packs, 0700, err);
        free(sets);
        free(packs);
        const char *text = f1 ? MARKER_TEXT_1 : MARKER_TEXT;
        if (r != 0 || osm_write_file_atomic(marker, text, strlen(text), 0644, err) != 0) {
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
    if (s->c) {
        pthread_mutex_destroy(&s->c->mu);
        free(s->c->map);
        free(s->c->packs);
        free(s->c->bad_msg);
        free(s->c);
    }
    free(s->dir);
    s->dir = NULL;
    s->c = NULL;
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

char *snap_store_packs_dir(const struct snap_store *s)
{
    return osm_path_join(s->dir, "packs");
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
    snap_pack_writer_init(&w->pw);
    for (int i = 0; i < SNAP_WORKER_FDS; i++)
        w->rfd[i].fd = -1;
}

void snap_worker_free(struct snap_worker *w)
{
    ZSTD_freeCCtx(w->cctx);
    ZSTD_freeDCtx(w->dctx);
    EVP_MD_CTX_free(w->md);
    osm_free_all(w->buf, w->zbuf);
    snap_pack_writer_free(&w->pw);
    osm_free_strv(w->made, w->n_made);
    for (int i = 0; i < SNAP_WORKER_FDS; i++)
        if (w->rfd[i].fd >= 0)
            close(w->rfd[i].fd);
    memset(w, 0, sizeof *w);
}

void snap_sha256(struct snap_worker *w, const void *data, size_t len, unsigned char out[32])
{
    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);
    EVP_DigestUpdate(w->md, data, len);
    EVP_DigestFinal_ex(w->md, out, NULL);
}

static void note_made(struct snap_worker *w, const char *path)
{
    if (w->n_made == w->cap_made) {
        w->cap_made = w->cap_made ? w->cap_made * 2 : 16;
        w->made = osm_xrealloc(w->made, w->cap_made * sizeof *w->made);
    }
    w->made[w->n_made++] = osm_xstrdup(path);
}

/* Format 1 (the test-only switch): one file per chunk, as before packs. */
static int put_loose(const struct snap_store *s, struct snap_worker *w, const void *data, size_t len,
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
    int rc = 0;
    if (fd < 0)
        rc = osm_err_errno(err, "writing chunk %s", tmp);
    else if (snap_write_all(fd, w->zbuf, zn) != 0 || close(fd) != 0) {
        rc = osm_err_errno(err, "writing chunk %s", tmp);
        close(fd);
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        rc = osm_err_errno(err, "renaming chunk %s", tmp);
        unlink(tmp);
    } else
        note_made(w, path);
    free(tmp);
    free(path);
    return rc;
}

/* Opens a pack for this worker and registers it (with c->mu held). */
static int begin_pack_locked(const struct snap_store *s, struct snap_worker *w, struct osm_err *err)
{
    char *pd = snap_store_packs_dir(s);
    if (mkdir(pd, 0700) != 0 && errno != EEXIST) { /* a format-1 store gets packs/ on its first put */
        osm_err_errno(err, "creating %s", pd);
        free(pd);
        return -1;
    }
    int rc = snap_pack_begin(&w->pw, pd, err);
    free(pd);
    if (rc != 0)
        return -1;
    note_made(w, w->pw.tmp);
    note_made(w, w->pw.final);
    w->pw_pack = add_pack(s->c, w->pw.id, 0, 0);
    snprintf(s->c->packs[w->pw_pack].name, sizeof s->c->packs[w->pw_pack].name, "%s.pack", w->pw.id);
    return 0;
}

int snap_chunk_put(const struct snap_store *s, struct snap_worker *w, const void *data, size_t len,
                   const unsigned char hash[32], struct osm_err *err)
{
    if (snap_store_writes_format1())
        return put_loose(s, w, data, len, hash, err);
    struct snap_store_chunks *c = s->c;
    pthread_mutex_lock(&c->mu);
    if (load_locked(s, err) != 0) {
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    if (map_find(c, hash)) {
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    if (c->has_loose) {
        char *path = snap_chunk_path(s, hash);
        int have = access(path, F_OK) == 0;
        free(path);
        if (have) {
            pthread_mutex_unlock(&c->mu);
            return 0;
        }
    }
    if (w->pw.fd < 0 && begin_pack_locked(s, w, err) != 0) {
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    /* Claimed: another worker putting the same bytes now skips them. */
    struct snap_chunk_loc l = {.pack = w->pw_pack, .off = NO_OFF, .ulen = (uint32_t)len};
    memcpy(l.hash, hash, 32);
    int is_new;
    map_insert(c, &l, &is_new);
    pthread_mutex_unlock(&c->mu);

    size_t zn = ZSTD_compress2(w->cctx, w->zbuf, w->zcap, data, len);
    if (ZSTD_isError(zn))
        return osm_err_set(err, OSM_EFAIL, "zstd: %s", ZSTD_getErrorName(zn));
    uint64_t off;
    if (snap_pack_add(&w->pw, hash, (uint32_t)len, w->zbuf, (uint32_t)zn, &off, err) != 0)
        return -1;
    pthread_mutex_lock(&c->mu);
    struct snap_chunk_loc *slot = map_find(c, hash);
    slot->off = (uint32_t)off;
    slot->clen = (uint32_t)zn;
    pthread_mutex_unlock(&c->mu);
    if (w->pw.off >= SNAP_PACK_TARGET) {
        if (snap_pack_finish(&w->pw, 0, err) != 0)
            return -1;
        pthread_mutex_lock(&c->mu);
        c->packs[w->pw_pack].size = w->pw.off;
        pthread_mutex_unlock(&c->mu);
    }
    return 0;
}

int snap_store_finish_packs(const struct snap_store *s, struct snap_worker *workers, int threads,
                            struct osm_err *err)
{
    for (int t = 0; t < threads; t++) {
        if (workers[t].pw.fd < 0)
            continue;
        if (snap_pack_finish(&workers[t].pw, 0, err) != 0)
            return -1;
        s->c->packs[workers[t].pw_pack].size = workers[t].pw.off;
    }
    return 0;
}

void snap_store_discard_new(struct snap_worker *workers, int threads)
{
    for (int t = 0; t < threads; t++) {
        snap_pack_abort(&workers[t].pw);
        for (size_t i = 0; i < workers[t].n_made; i++)
            unlink(workers[t].made[i]);
    }
}

/* A descriptor of pack `pack` for this worker (a few kept open). */
static int pack_fd(const struct snap_store *s, struct snap_worker *w, uint32_t pack, char **path_out)
{
    *path_out = osm_xasprintf("%s/packs/%s", s->dir, s->c->packs[pack].name);
    for (int i = 0; i < SNAP_WORKER_FDS; i++)
        if (w->rfd[i].fd >= 0 && w->rfd[i].pack == pack)
            return w->rfd[i].fd;
    int fd = open(*path_out, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    unsigned k = w->rfd_next++ % SNAP_WORKER_FDS;
    if (w->rfd[k].fd >= 0)
        close(w->rfd[k].fd);
    w->rfd[k].fd = fd;
    w->rfd[k].pack = pack;
    return fd;
}

static int get_loose(const struct snap_store *s, struct snap_worker *w, const unsigned char hash[32], uint32_t len,
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

int snap_chunk_get(const struct snap_store *s, struct snap_worker *w, const unsigned char hash[32], uint32_t len,
                   void *out, struct osm_err *err)
{
    struct snap_store_chunks *c = s->c;
    pthread_mutex_lock(&c->mu);
    if (load_locked(s, err) != 0) {
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    struct snap_chunk_loc *slot = map_find(c, hash);
    struct snap_chunk_loc l = slot ? *slot : (struct snap_chunk_loc){0};
    int loose = c->has_loose;
    pthread_mutex_unlock(&c->mu);
    char hex[65];
    snap_hex(hash, 32, hex);
    if (!slot) {
        if (loose)
            return get_loose(s, w, hash, len, out, err);
        if (c->n_bad)
            return osm_err_set(err, OSM_ECHECKSUM, "chunk %s is missing from store %s (%zu damaged pack%s: %s)", hex,
                               s->dir, c->n_bad, c->n_bad == 1 ? "" : "s", c->bad_msg);
        return osm_err_set(err, OSM_ECHECKSUM, "chunk %s is missing from store %s", hex, s->dir);
    }
    char *path;
    int fd = pack_fd(s, w, l.pack, &path);
    if (fd < 0) {
        int e = errno;
        osm_err_errno(err, "chunk %s: pack %s", hex, path);
        if (e == ENOENT)
            err->code = OSM_ECHECKSUM;
        free(path);
        return -1;
    }
    const char *why = NULL;
    size_t got = 0;
    if (l.clen > w->zcap || l.ulen != len)
        why = "wrong length";
    while (!why && got < l.clen) {
        ssize_t k = pread(fd, w->zbuf + got, l.clen - got, (off_t)l.off + (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            why = "pack too short";
            break;
        }
        got += (size_t)k;
    }
    size_t n = 0;
    if (!why) {
        n = ZSTD_decompressDCtx(w->dctx, out, len, w->zbuf, got);
        unsigned char md[32];
        if (ZSTD_isError(n))
            why = ZSTD_getErrorName(n);
        else if (n != len)
            why = "wrong length";
        else if (snap_sha256(w, out, len, md), memcmp(md, hash, 32) != 0)
            why = "hash mismatch";
    }
    if (why) {
        osm_err_set(err, OSM_ECHECKSUM, "chunk %s in pack %s (offset %u) is corrupt (%s)", hex, path, l.off, why);
        free(path);
        return -1;
    }
    free(path);
    return 0;
}

uint64_t snap_chunk_stored(const struct snap_store *s, const unsigned char hash[32])
{
    struct osm_err ignore = OSM_ERR_INIT;
    pthread_mutex_lock(&s->c->mu);
    load_locked(s, &ignore);
    struct snap_chunk_loc *slot = map_find(s->c, hash);
    uint64_t n = slot ? slot->clen : 0;
    int loose = s->c->has_loose;
    pthread_mutex_unlock(&s->c->mu);
    if (!slot && loose) {
        char *p = snap_chunk_path(s, hash);
        struct stat st;
        n = stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
        free(p);
    }
    return n;
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
