/* snap_index: the per-disk index of a snapshot set, and the tree digest.
 *
 * One entry per path of a tree (DFS order, names sorted bytewise, so two
 * walks of the same tree give the same sequence). A regular file's content is
 * a list of chunk references (offset, length, SHA-256 of the bytes); gaps
 * between references are holes. The index is written as one zstd-compressed
 * binary blob: a tree of 100k files loads in milliseconds, and a re-snapshot
 * needs the previous index to skip unchanged files.
 *
 * Memory: an index owns an arena (snap_arena.h) that holds its entries and
 * everything they point to, except chunk lists that snap_file_chunks() fills
 * (`refs_heap`), which are malloc'd because reads run on several threads.
 * Code that fills entries allocates from `ix->arena`.
 *
 * The digest covers everything a restore must reproduce (type, path, mode,
 * owner, mtime, device numbers, link targets, hardlink grouping, xattrs
 * including ACLs and capabilities, size and content) and nothing a restore
 * cannot (inode numbers, ctime, atime). */
#ifndef SNAP_INDEX_H
#define SNAP_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "osm_buf.h"
#include "osm_error.h"
#include "snap_arena.h"

enum snap_type {
    SNAP_FILE = 'f',
    SNAP_DIR = 'd',
    SNAP_SYMLINK = 'l',
    SNAP_HARDLINK = 'h', /* `link` names the first path of the same inode */
    SNAP_CHR = 'c',
    SNAP_BLK = 'b',
    SNAP_FIFO = 'p',
    SNAP_SOCK = 's',
};

#define SNAP_CHUNK_SIZE (1u << 20)

struct snap_ref {
    uint64_t off;
    uint32_t len;
    unsigned char hash[32];
};

struct snap_xattr {
    char *name;
    unsigned char *value;
    uint32_t len;
};

struct snap_entry {
    char *path; /* relative to the disk root; "" is the root itself */
    uint8_t type;
    uint32_t mode; /* full st_mode */
    uint32_t uid, gid;
    uint64_t size;
    int64_t atime_ns, mtime_ns, ctime_ns;
    uint64_t ino, dev, rdev;
    char *link;
    struct snap_xattr *xattrs; /* sorted by name */
    uint32_t n_xattrs;
    struct snap_ref *refs;
    uint32_t n_refs;
    uint8_t refs_heap; /* refs come from malloc (snap_file_chunks), not the arena */
    /* Transient (not stored). */
    uint8_t reused; /* create: taken unchanged from the previous index, refs included */
    int action;
};

struct snap_index {
    struct snap_entry **e;
    size_t n, cap;
    struct snap_arena arena;
};

void snap_index_init(struct snap_index *ix);
void snap_index_free(struct snap_index *ix);
/* A new zeroed entry at the end. */
struct snap_entry *snap_index_add(struct snap_index *ix);
/* Append an entry that lives in `ix`'s arena (or one adopted into it). */
void snap_index_push(struct snap_index *ix, struct snap_entry *e);
/* Free what an entry holds outside the arena (before dropping it). */
void snap_entry_release(struct snap_entry *e);
/* Replace e's chunk list by a copy of `refs` in the arena. */
void snap_entry_set_refs(struct snap_index *ix, struct snap_entry *e, const struct snap_ref *refs, uint32_t n);

int snap_index_save(const struct snap_index *ix, const char *path, char sha256_hex[65], struct osm_err *err);
/* Loads and checks the file's SHA-256 when `expect_sha256` is not NULL. */
int snap_index_load(struct snap_index *ix, const char *path, const char *expect_sha256, struct osm_err *err);

/* Calls fn(ctx, entry, i, count) for each entry of the index file in order,
 * without building the index: an entry holds its path, type and stat fields
 * only (no link target, xattrs or chunk list: the unchanged check needs no
 * more, and copying them was most of the decoding), valid during the call
 * only. Returns 0 when every entry was seen, -1 with `err`
 * filled when the file is unreadable or corrupt, or the first non-zero value
 * fn returned (fn stops the scan so). */
typedef int (*snap_scan_fn)(void *ctx, const struct snap_entry *e, uint64_t i, uint64_t count);
int snap_index_scan(const char *path, const char *expect_sha256, snap_scan_fn fn, void *ctx, struct osm_err *err);

/* Digest of a whole index, and the content-only digest of a raw image's
 * entry (its size and chunk list). */
void snap_index_digest(const struct snap_index *ix, char hex[65]);
void snap_raw_digest(const struct snap_entry *e, char hex[65]);

/* Entries sorted by path for lookups (a new array; entries stay owned by ix). */
struct snap_entry **snap_index_sorted(const struct snap_index *ix);
struct snap_entry *snap_index_find(struct snap_entry **sorted, size_t n, const char *path);

/* Logical bytes of the regular files. */
uint64_t snap_index_bytes(const struct snap_index *ix);

void snap_hex(const unsigned char *bin, size_t n, char *hex);

#endif
