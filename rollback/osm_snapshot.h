/* osm_snapshot: snapshot sets of every disk of an instance, and restore.
 *
 * A set is one snapshot of all disks of an instance, kept in a store (a
 * directory, never inside a disk). Tree disks go into a content-addressed
 * store of zstd chunks named by their SHA-256, kept many to a pack file and
 * shared by every set; raw images are chunked like files; qcow2 images get
 * an internal snapshot.
 *
 * Contract:
 *  - create: a set becomes "ready" only once all its packs and indexes are
 *    complete and durable (syncfs, then set.json renamed to state ready). A create that
 *    fails removes what it wrote; one that is killed leaves a set in state
 *    "creating" that list shows as "failed" and delete removes.
 *  - restore: verifies every chunk it needs before changing any disk, then
 *    makes each disk equal to the set (content and metadata), then checks the
 *    tree digest against the one recorded at create. Idempotent: a killed
 *    restore can simply be run again.
 *  - delete: marks the set "deleting", removes it, then collects the chunks
 *    no remaining set references (whole dead packs removed, mostly-dead
 *    packs rewritten: snap_gc.h).
 * Every function returns 0 (or a pointer) on success and -1 (NULL) with `err`
 * filled on failure; errors name the set, the disk and the file. */
#ifndef OSM_SNAPSHOT_H
#define OSM_SNAPSHOT_H

#include <stdint.h>

#include "osm_error.h"
#include "provider.h"

#define OSM_SNAPSHOT_STORE_DEFAULT "/var/lib/osmig/snapshots"

struct osm_snap_progress {
    const char *phase;    /* "scan", "read", "verify", "restore", "digest" */
    const char *disk;     /* disk id */
    uint64_t bytes_done, bytes_total;
    uint64_t files_done, files_total;
};
/* Called from the calling thread, a few times per second at most. */
typedef void (*osm_snap_progress_fn)(void *ctx, const struct osm_snap_progress *p);

struct osm_snap_opts {
    const char *store;           /* NULL: $OSMIG_SNAPSHOT_STORE, else the default */
    int threads;                 /* 0: $OSMIG_THREADS, else every CPU (2 to 8) */
    osm_snap_progress_fn progress;
    void *progress_ctx;
};

struct osm_snap_disk_info {
    char id[32];
    char kind[8];      /* "tree", "raw", "qcow2" */
    char *path;
    uint64_t size;     /* logical bytes (tree: sum of file sizes; image: its size) */
    uint64_t entries;  /* tree: number of entries */
    char digest[65];   /* tree/raw: digest of content + metadata */
};

struct osm_snap_info {
    char id[64];
    char *label;
    char *instance;    /* the instance's system disk path: what sets belong to */
    char created[32];  /* ISO 8601 UTC */
    char state[16];    /* creating, failed, ready, corrupt, deleting */
    int restore_incomplete; /* a restore was started and has not finished */
    struct osm_snap_disk_info *disks;
    size_t n_disks;
    uint64_t stored_bytes;     /* compressed bytes of every chunk it references */
    uint64_t exclusive_bytes;  /* bytes only this set references */
};

void osm_snap_info_free(struct osm_snap_info *info);
void osm_snap_list_free(struct osm_snap_info *infos, size_t n);

/* Create a set of every disk of `inst`; `id_out` receives its id. */
int osm_snap_create(struct osm_instance *inst, const char *label, const struct osm_snap_opts *opts,
                    char id_out[64], struct osm_err *err);
/* Sets of `inst`, oldest first, with space accounting. */
int osm_snap_list(struct osm_instance *inst, const struct osm_snap_opts *opts, struct osm_snap_info **out,
                  size_t *n_out, struct osm_err *err);
/* Check every chunk and index of a set; a corrupt one is named in `err` and
 * the set is marked corrupt. */
int osm_snap_verify(struct osm_instance *inst, const char *id, const struct osm_snap_opts *opts,
                    struct osm_err *err);
/* Put every disk back as it was in the set. `digest_ok` (may be NULL) is set
 * to 1 when every tree's digest after restore equals the recorded one. */
int osm_snap_restore(struct osm_instance *inst, const char *id, const struct osm_snap_opts *opts, int *digest_ok,
                     struct osm_err *err);
int osm_snap_delete(struct osm_instance *inst, const char *id, const struct osm_snap_opts *opts,
                    struct osm_err *err);
/* Digest (content + metadata) of a directory tree as create would record it. */
int osm_snap_tree_digest(const char *path, char hex[65], struct osm_err *err);

#endif
