/* snap_arena: bump allocation for the entries of a snapshot index.
 *
 * An index holds one entry per path of a tree (often 100k+) with a path, a
 * link target, xattrs and chunk references each. Allocating those one by one
 * costs more than the walk's syscalls, and freeing them again as much; an
 * arena hands out pieces of large blocks and frees the blocks at once.
 * Fewer, denser pages also mean fewer page faults, which are what a
 * re-snapshot of an unchanged tree otherwise spends most of its time on.
 *
 * Contract: not thread-safe (one thread fills an index); pieces live until
 * snap_arena_free(); adopt() moves another arena's blocks (and buffers handed
 * over with own()) so that pointers into them stay valid. Allocation failure
 * aborts, like osm_xmalloc. */
#ifndef SNAP_ARENA_H
#define SNAP_ARENA_H

#include <stddef.h>

struct snap_arena_block;

struct snap_arena {
    struct snap_arena_block *head; /* the block being filled first, then older ones */
    char *next, *end;              /* free space in head */
    size_t block_size;             /* of the next block */
};

void snap_arena_init(struct snap_arena *a);
void snap_arena_free(struct snap_arena *a);
/* `n` bytes, 8-aligned; zeroed with calloc. */
void *snap_arena_alloc(struct snap_arena *a, size_t n);
void *snap_arena_calloc(struct snap_arena *a, size_t n);
void *snap_arena_memdup(struct snap_arena *a, const void *p, size_t n);
char *snap_arena_strdup(struct snap_arena *a, const char *s);
char *snap_arena_strndup(struct snap_arena *a, const char *s, size_t n);
/* The arena frees `buf` (from malloc) with its blocks. */
void snap_arena_own(struct snap_arena *a, void *buf);
/* Move every block of `from` into `a`; `from` is left empty. */
void snap_arena_adopt(struct snap_arena *a, struct snap_arena *from);

#endif
