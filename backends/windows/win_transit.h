/* win_transit: build the transit disk that carries the installation media to
 * the instance: a disk image (raw, or qcow2 through qemu-img) with a GPT and
 * one Microsoft basic data partition holding the media's files.
 *
 * NTFS (default): install.wim of any size fits. The files go straight from
 * the media directory into an NTFS volume through wimlib's NTFS-3G extraction
 * (no mount, no root), the volume is then shifted behind the GPT with
 * FALLOC_FL_INSERT_RANGE (no copy; a copy only where the file system cannot).
 * FAT32 (when asked): sources/install.wim is split into install.swm,
 * install2.swm, ... by wimlib (parts under 4 GiB), files copied with mtools.
 *
 * The image is built as OUT.partial and renamed to OUT at the very end, so
 * OUT is either absent or complete. Building again when OUT exists and its
 * sidecar OUT.osmig.json records the same media and options does nothing
 * (idempotent); a different OUT is refused, never overwritten. */
#ifndef WIN_TRANSIT_H
#define WIN_TRANSIT_H

#include <stdint.h>

#include "osm_error.h"

enum win_transit_fs { WIN_TRANSIT_NTFS, WIN_TRANSIT_FAT32 };
enum win_transit_format { WIN_TRANSIT_RAW, WIN_TRANSIT_QCOW2 };

struct win_transit_opts {
    const char *media_dir;               /* holds setup.exe and sources/install.wim */
    const char *out;                     /* the disk image to create */
    enum win_transit_fs fs;
    enum win_transit_format format;
    uint64_t swm_part_bytes;             /* FAT32 only; 0: 3800 MiB */
};

/* 0 built, 1 already there (same media and options), -1 error. */
int win_transit_build(const struct win_transit_opts *o, struct osm_err *err);
/* Byte offset of the data partition in a raw transit disk. */
#define WIN_TRANSIT_PART_OFFSET (1024 * 1024)

#endif
