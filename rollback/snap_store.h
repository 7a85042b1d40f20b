/* snap_store: the on-disk store of snapshot sets, and its chunks.
 *
 *   STORE/OSMIG-STORE         marker: a directory without it is not ours
 *   STORE/lock                flock: create/restore/delete exclusive, verify shared
 *   STORE/packs/ID.pack       chunks, many per file (snap_pack.h); each chunk
 *                             is one zstd frame named by the SHA-256 of its
 *                             uncompressed bytes
 *   STORE/chunks/XX/SHA256    format 1 (before packs): one file per chunk;
 *                             still read, and collected, never written
 *   STORE/sets/ID/set.json    the set (state, disks, digests), written atomically
 *   STORE/sets/ID/DISK.idx    the index of a tree or raw disk
 *   STORE/sets/ID/lock        held by the create in progress
 *   STORE/sets/ID/restore.json  intent of a restore not yet finished
 *
 * Where each chunk lives is found by reading every pack's table once, on the
 * first put or get of a process (an unchanged re-snapshot reads none). Each
 * worker fills its own pack; a put of a chunk the store (or another worker)
 * already has writes nothing. Nothing is fsynced per pack: the create calls
 * syncfs() once before the set turns ready, and no set refers to a chunk
 * before that.
 *
 * Thread safety: put and get may run on several workers at once (one worker
 * per thread); everything else runs on one thread. */
#ifndef SNAP_STORE_H
#define SNAP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"
#include "snap_pack.h"

struct snap_store_chunks; /* where every chunk is (snap_store.c) */

struct snap_store {
    char *dir;
    int lock_fd;
    struct snap_store_chunks *c;
};

/* Opens (creating when `create` and the directory is missing or empty) and
 * refuses a non-empty directory that is not an osmig store. */
int snap_store_open(struct snap_store *s, const char *dir, int create, struct osm_err *err);
int snap_store_lock(struct snap_store *s, int exclusive, struct osm_err *err);
void snap_store_close(struct snap_store *s);
char *snap_store_set_dir(const struct snap_store *s, const char *id);
/* Format 1: the file of a loose chunk. */
char *snap_chunk_path(const struct snap_store *s, const unsigned char hash[32]);
char *snap_store_packs_dir(const struct snap_store *s);
int snap_store_sync(const struct snap_store *s, struct osm_err *err);
/* Test-only switch: $OSMIG_TEST_SNAPSHOT_FORMAT=1 makes a create write the
 * format-1 layout (loose chunks, no packs), to prove old stores still work. */
int snap_store_writes_format1(void);

#define SNAP_WORKER_FDS 8

/* Per-thread state: compression contexts, buffers, the pack it fills and
 * the packs it reads. */
struct snap_worker {
    void *cctx, *dctx, *md;
    unsigned char *buf;  /* SNAP_CHUNK_SIZE */
    unsigned char *zbuf; /* compress bound of a chunk */
    size_t zcap;
    struct snap_pack_writer pw;
    uint32_t pw_pack;    /* pw's number in the store's pack list */
    char **made;         /* files this worker wrote (packs, loose chunks): removed when a create fails */
    size_t n_made, cap_made;
    struct {
        uint32_t pack;
        int fd;
    } rfd[SNAP_WORKER_FDS]; /* open packs for reading (fd -1: free) */
    unsigned rfd_next;
    unsigned tmp_seq;
    int id;
};

void snap_worker_init(struct snap_worker *w, int id);
void snap_worker_free(struct snap_worker *w);
void snap_sha256(struct snap_worker *w, const void *data, size_t len, unsigned char out[32]);
/* Store `data` under its hash unless present (in a pack or a loose chunk). */
int snap_chunk_put(const struct snap_store *s, struct snap_worker *w, const void *data, size_t len,
                   const unsigned char hash[32], struct osm_err *err);
/* Read a chunk into `out` (`len` bytes), checking its length and hash; a
 * missing or damaged one fails with OSM_ECHECKSUM naming the chunk and file. */
int snap_chunk_get(const struct snap_store *s, struct snap_worker *w, const unsigned char hash[32], uint32_t len,
                   void *out, struct osm_err *err);
/* Compressed bytes the store holds for a chunk; 0 when it has none. */
uint64_t snap_chunk_stored(const struct snap_store *s, const unsigned char hash[32]);
/* Finish every worker's open pack (before the syncfs of a create). */
int snap_store_finish_packs(const struct snap_store *s, struct snap_worker *workers, int threads,
                            struct osm_err *err);
/* Remove everything the workers wrote (a failed create). */
void snap_store_discard_new(struct snap_worker *workers, int threads);

/* Location of a chunk in a pack, for the collector (snap_gc.c). */
struct snap_chunk_loc {
    unsigned char hash[32];
    uint32_t pack, off, clen, ulen;
};
/* Reads every pack's table (once). A damaged pack is remembered, not fatal:
 * its chunks are then reported missing, with the pack named. */
int snap_store_load(const struct snap_store *s, struct osm_err *err);
size_t snap_store_n_packs(const struct snap_store *s);
/* File name (ID.pack), size and state of pack `i`; `bad` is 1 for a pack
 * whose table could not be read. */
const char *snap_store_pack_name(const struct snap_store *s, size_t i, uint64_t *size, int *bad);
/* 1 when `l` is the copy of its chunk that get() reads (the first pack, in
 * name order, that holds it). */
int snap_store_is_primary(const struct snap_store *s, const struct snap_chunk_loc *l);
/* Calls fn for every chunk of every readable pack, pack by pack in table order
 * (a chunk in two packs comes twice). */
void snap_store_each_chunk(const struct snap_store *s, void (*fn)(void *ctx, const struct snap_chunk_loc *l),
                           void *ctx);

/* Run fn(worker, i) for i in [0, n) on `threads` threads (the caller's thread
 * is one of them and calls `tick` between items). Stops at the first error,
 * which is returned in `err`. */
typedef int (*snap_item_fn)(void *ctx, struct snap_worker *w, size_t i, struct osm_err *err);
int snap_parallel(size_t n, int threads, struct snap_worker *workers, snap_item_fn fn, void *ctx,
                  void (*tick)(void *ctx), struct osm_err *err);

#endif
