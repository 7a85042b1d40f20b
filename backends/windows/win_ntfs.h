/* win_ntfs: put one large file into an NTFS volume image at copy speed.
 *
 * win_ntfs_allocate has libntfs-3g create the file and allocate its clusters
 * (no holes) with its final sizes recorded, and returns where the clusters
 * are; win_ntfs_fill then copies the bytes from the source straight into
 * those clusters with copy_file_range, in the kernel, instead of through the
 * library's write path (a fraction of a plain copy's speed). Between the two
 * the volume may move inside its image file (volume_offset), so the data is
 * written once, where it ends up.
 * VOLUME is an unmounted NTFS file system in a plain file; DIR is an existing
 * directory in it ("/sources"); NAME must not exist there yet. */
#ifndef WIN_NTFS_H
#define WIN_NTFS_H

#include <stdint.h>
#include <sys/types.h>

#include "osm_error.h"

struct win_ntfs_extents;

int win_ntfs_allocate(const char *volume, const char *dir, const char *name, int64_t size,
                      struct win_ntfs_extents **out, struct osm_err *err);
/* Copy SRC (exactly the allocated size) into IMAGE, whose byte VOLUME_OFFSET
 * is the volume's first byte. */
int win_ntfs_fill(const struct win_ntfs_extents *ext, const char *src, const char *image, off_t volume_offset,
                  struct osm_err *err);
void win_ntfs_extents_free(struct win_ntfs_extents *ext);

#endif
