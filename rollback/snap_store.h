/* snap_store: the on-disk store of snapshot sets.
 *
 *   STORE/OSMIG-STORE         marker: a directory without it is not ours
 *   STORE/lock                flock: create/restore/delete exclusive, verify shared
 *   STORE/chunks/XX/SHA256    one zstd frame per chunk, named by the SHA-256
 *                             of the uncompressed bytes
 *   STORE/sets/ID/set.json    the set (state, disks, digests), written atomically
 *   STORE/sets/ID/DISK.idx    the index of a tree or raw disk
 *   STORE/sets/ID/lock        held by the create in progress
 *   STORE/sets/ID/restore.json  intent of a restore not yet finished
 *
 * Chunks are written to a temporary name and renamed, without an fsync each:
 * the create calls syncfs() once before the set turns ready, which is as
 * durable and far cheaper for many small files. */
#ifndef SNAP_STORE_H
#define SNAP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"

struct snap_store {
    char *dir;
    int lock_fd;
};

/* Opens (creating when `create` and the directory is missing or empty) and
 * refuses a non-empty directory that is not an osmig store. */
int snap_store_open(struct snap_store *s, const char *dir, int create, struct osm_err *err);
int snap_store_lock(struct snap_store *s, int exclusive, struct osm_err *err);
void snap_store_close(struct snap_store *s);
char *snap_store_set_dir(const struct snap_store *s, const char *id);
char *snap_chunk_path(const struct snap_store *s, const unsigned char hash[32]);
int snap_store_sync(const struct snap_store *s, struct osm_err *err);

/* Per-thread state: compression contexts and buffers. */
struct snap_worker {
    void *cctx, *dctx, *md;
    unsigned char *buf;  /* SNAP_CHUNK_SIZE */
    unsigned char *zbuf; /* compress bound of a chunk */
    size_t zcap;
    unsigned char (*new_chunks)[32]; /* chunks this worker wrote (for cleanup) */
    size_t n_new, cap_new;
    unsigned tmp_seq;
    int id;
};

void snap_worker_init(struct snap_worker *w, int id);
void snap_worker_free(struct snap_worker *w);
void snap_sha256(struct snap_worker *w, const void *data, size_t len, unsigned char out[32]);
/* Store `data` under its hash unless present. */
int snap_chunk_put(const struct snap_store *s, struct snap_worker *w, const void *data, size_t len,
                   const unsigned char hash[32], struct osm_err *err);
/* Read a chunk into `out` (`len` bytes), checking its length and hash. */
int snap_chunk_get(const struct snap_store *s, struct snap_worker *w, const unsigned char hash[32], uint32_t len,
                   void *out, struct osm_err *err);

/* Run fn(worker, i) for i in [0, n) on `threads` threads (the caller's thread
 * is one of them and calls `tick` between items). Stops at the first error,
 * which is returned in `err`. */
typedef int (*snap_item_fn)(void *ctx, struct snap_worker *w, size_t i, struct osm_err *err);
int snap_parallel(size_t n, int threads, struct snap_worker *workers, snap_item_fn fn, void *ctx,
                  void (*tick)(void *ctx), struct osm_err *err);

#endif
