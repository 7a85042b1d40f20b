/* snap_pack: pack files, many compressed chunks in one file.
 *
 *   "OSMPACK1"                           8 bytes
 *   zstd frame of each chunk, back to back
 *   table: per chunk {32 hash, u64 offset, u32 compressed len, u32 len}
 *   footer: u64 count, 32 SHA-256 of the table, "OSMPKEND"
 * (integers little-endian). One file per many chunks instead of one file per
 * chunk: creating, renaming and syncing tens of thousands of small files is
 * what a snapshot of a system tree used to spend its time on.
 *
 * Contract: a writer fills STORE/packs/.tmp-ID and renames it to
 * STORE/packs/ID.pack only once the table and footer are written, so a pack
 * under its final name is always complete (durability is the caller's one
 * syncfs before a set turns ready). A writer is used by one thread. Reading
 * a table checks the footer and the table's hash; a chunk's own hash is
 * checked by whoever decompresses it. */
#ifndef SNAP_PACK_H
#define SNAP_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"

#define SNAP_PACK_TARGET ((uint64_t)16 << 20) /* a pack is closed once this big */
#define SNAP_PACK_ENTRY 48                    /* bytes per table entry on disk */
#define SNAP_PACK_FOOTER 48

struct snap_pack_entry {
    unsigned char hash[32];
    uint64_t off;
    uint32_t clen, ulen;
};

struct snap_pack_writer {
    int fd;               /* -1: no pack open */
    char id[33];          /* 32 hex digits */
    char *tmp, *final;    /* paths */
    uint64_t off;         /* bytes written so far (buffered included) */
    unsigned char *wbuf;  /* write buffer: one write() per many small chunks */
    size_t wlen;
    struct snap_pack_entry *e;
    size_t n, cap;
};

void snap_pack_writer_init(struct snap_pack_writer *pw);
/* Opens a new pack in `packs_dir` (a previous one must be finished). */
int snap_pack_begin(struct snap_pack_writer *pw, const char *packs_dir, struct osm_err *err);
/* Appends one compressed chunk; returns its offset in `off_out`. */
int snap_pack_add(struct snap_pack_writer *pw, const unsigned char hash[32], uint32_t ulen, const void *z,
                  uint32_t clen, uint64_t *off_out, struct osm_err *err);
/* Writes table and footer and renames the pack to its final name. With
 * `do_fsync`, the file is fsynced first (repacking: before old packs go). */
int snap_pack_finish(struct snap_pack_writer *pw, int do_fsync, struct osm_err *err);
/* Removes an unfinished pack. */
void snap_pack_abort(struct snap_pack_writer *pw);
void snap_pack_writer_free(struct snap_pack_writer *pw);

/* The table of the pack at `path` (malloc'd); fails with OSM_ECHECKSUM when
 * the footer or table is damaged. `size_out` (may be NULL): the file size. */
int snap_pack_read_table(const char *path, struct snap_pack_entry **out, size_t *n_out, uint64_t *size_out,
                         struct osm_err *err);

/* 1 when `name` is a finished pack's file name (32 hex digits + ".pack"). */
int snap_pack_name_ok(const char *name);

#endif
