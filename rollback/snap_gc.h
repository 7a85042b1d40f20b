/* snap_gc: giving back the space of chunks no set references.
 *
 * Packs hold chunks of many files and sets, so a delete frees space pack by
 * pack: a pack none of whose chunks is referenced any more is removed; a pack
 * in which unreferenced chunks take at least SNAP_REPACK_DEAD_PERCENT of the
 * bytes is rewritten with only its referenced chunks (their compressed frames
 * copied as they are) and then removed; a pack that is mostly referenced is
 * left as it is, its dead chunks waiting until more of it dies (rewriting a
 * 16 MiB pack for one small file would make every delete rewrite the store).
 * A chunk that two packs hold counts once, in the pack get() reads it from.
 *
 * Crash safety: new packs are complete and fsynced, and the directory synced,
 * before any old pack is removed, so at every instant each referenced chunk
 * is in some complete pack. Damaged packs (unreadable table) are never
 * removed: they may hold referenced chunks. Unreferenced format-1 loose
 * chunks and temporary files left by killed processes are removed too.
 * Runs with the store locked exclusively. */
#ifndef SNAP_GC_H
#define SNAP_GC_H

#include <stdint.h>

#include "osm_error.h"
#include "snap_store.h"

#define SNAP_REPACK_DEAD_PERCENT 20

/* `live(ctx, hash)` is 1 for a chunk some set references. `freed` receives
 * the bytes given back. */
int snap_gc(const struct snap_store *s, int (*live)(void *ctx, const unsigned char hash[32]), void *ctx,
            uint64_t *freed, struct osm_err *err);

#endif
