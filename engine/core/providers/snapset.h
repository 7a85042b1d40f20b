/* snapset: the types of a snapshot set of every disk of an instance, shared
 * by the provider contract (provider.h: a provider makes, lists, verifies,
 * reverts and deletes sets) and by osmig's own store of sets (rollback/,
 * osm_snapshot.h), which providers of host-path disks use. */
#ifndef OSM_SNAPSET_H
#define OSM_SNAPSET_H

#include <stddef.h>
#include <stdint.h>

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

#endif
