/* snap_tree: reading and writing directory trees and image files for
 * snapshots.
 *
 * Why plain syscalls and not libarchive's disk reader: we need the raw
 * material (fstatat, llistxattr/lgetxattr — POSIX ACLs and file capabilities
 * are xattrs, so they come for free — and SEEK_DATA/SEEK_HOLE for sparse
 * files), no archive format in between, and a walk that costs one fstatat
 * (relative to its directory's descriptor) per unchanged entry, which is what
 * makes an unchanged re-snapshot cheap.
 *
 * The walk stays on the disk's filesystem (mount points are kept as empty
 * directories, like `tar --one-file-system`) and skips the restore staging
 * directory at the disk root. */
#ifndef SNAP_TREE_H
#define SNAP_TREE_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "osm_error.h"
#include "snap_index.h"
#include "snap_store.h"

#define SNAP_STAGING_NAME ".osmig-restore-staging"

/* Metadata of every entry under `root` (content refs left empty). With the
 * previous set's index of the disk (`prev`, may be NULL), an entry whose
 * type, inode, ctime, mtime and size are unchanged is taken from there as it
 * is — xattrs, link target and chunk list — and marked `reused`, without
 * reading anything but its stat: any xattr, ACL, owner or content change
 * moves ctime. `prev` is consumed (its storage moves into `ix`; it is left
 * empty). */
int snap_walk(const char *root, struct snap_index *ix, struct snap_index *prev, struct osm_err *err);
/* Absolute path of an entry. Caller frees. */
char *snap_entry_abs(const char *root, const struct snap_entry *e);
/* Read the file at `abs` and fill e->refs (and refresh size and times);
 * store the chunks when `store` is not NULL, else only hash them. */
int snap_file_chunks(const char *abs, struct snap_entry *e, const struct snap_store *store, struct snap_worker *w,
                     _Atomic uint64_t *bytes_done, struct osm_err *err);
/* 1 when the file at `abs` already has exactly e's content, 0 when not. */
int snap_file_matches(const char *abs, const struct snap_entry *e, struct snap_worker *w);

/* Restore one tree disk from `ix` (two phases, see snap_tree.c). */
struct snap_tree_restore {
    const char *root;
    const char *disk_id;
    struct snap_index *ix;
    struct snap_entry **sorted;
    char *staging;
    unsigned char *stage_sub;      /* per file: its staging subdirectory */
    struct timespec root_times[2]; /* put back when a refused restore unstages */
    int new_owner_known;           /* staged files are created owned by new_uid:new_gid */
    uint32_t new_uid, new_gid;
    /* Directories missing from the disk are built whole in the staging
     * directory under their own names and moved in with one rename each:
     * fresh[i] is the number of the missing subtree entry i lies in (-1:
     * none), fresh_root[k] the entry number of subtree k's top directory. */
    int32_t *fresh;
    size_t *fresh_root, n_fresh;
};
/* Phase 1: stage every file whose content differs (chunks verified); changes
 * nothing outside the staging directory. */
int snap_tree_stage(struct snap_tree_restore *r, const struct snap_store *s, struct snap_worker *workers,
                    int threads, _Atomic uint64_t *bytes_done, _Atomic uint64_t *files_done, struct osm_err *err);
/* Phase 2: make the tree equal to the index (on `threads` workers); safe to
 * repeat. Not yet durable: snap_tree_sync() makes it so. */
int snap_tree_apply(struct snap_tree_restore *r, struct snap_worker *workers, int threads, struct osm_err *err);
/* syncfs() of the filesystem of the tree at `root`. */
int snap_tree_sync(const char *root, const char *disk_id, struct osm_err *err);
/* Remove the staging directory (after a failure). */
void snap_tree_unstage(struct snap_tree_restore *r);
/* Free what stage allocated (not the index). */
void snap_tree_restore_free(struct snap_tree_restore *r);
/* Digest of the tree at `root` as it is now. With a restore `r` (may be
 * NULL), the files it just kept or wrote take their content from its index;
 * every other file is read. */
int snap_tree_digest(const char *root, const struct snap_tree_restore *r, char hex[65], struct osm_err *err);

/* What phase 1 did with a file: nothing yet, kept (content matches),
 * staged for a rename into place, or written in a missing subtree (in
 * place once the subtree is moved in). */
enum { SNAP_ACT_NONE = 0, SNAP_ACT_KEEP, SNAP_ACT_STAGED, SNAP_ACT_FRESH };

#endif
