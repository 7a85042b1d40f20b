/* snap_image: disk image files of an instance.
 *
 * Raw images (and block devices) are chunked like one big sparse file, so an
 * unchanged 1 MiB region costs nothing in a second set; restore rewrites only
 * the chunks that differ, in place, after verifying them all.
 * qcow2 images get an internal snapshot named osmig-SETID (qemu-img snapshot),
 * which is what qcow2 is built for and costs no copy. */
#ifndef SNAP_IMAGE_H
#define SNAP_IMAGE_H

#include <stdatomic.h>

#include "osm_error.h"
#include "snap_index.h"
#include "snap_store.h"

/* Restore a raw image: `prepare` compares the image with `e` and verifies
 * every chunk that must be written (changing nothing); `apply` writes them. */
struct snap_raw_restore {
    const char *path;
    const char *disk_id;
    struct snap_entry *e;
    unsigned char *differs; /* per ref */
};
int snap_raw_prepare(struct snap_raw_restore *r, const struct snap_store *s, struct snap_worker *w,
                     _Atomic uint64_t *bytes_done, struct osm_err *err);
int snap_raw_apply(struct snap_raw_restore *r, const struct snap_store *s, struct snap_worker *w,
                   struct osm_err *err);
void snap_raw_restore_free(struct snap_raw_restore *r);

int snap_qcow2_create(const char *image, const char *tag, struct osm_err *err);
int snap_qcow2_has(const char *image, const char *tag, struct osm_err *err); /* 1 yes, 0 no, -1 error */
int snap_qcow2_apply(const char *image, const char *tag, struct osm_err *err);
int snap_qcow2_delete(const char *image, const char *tag, struct osm_err *err);
int snap_qcow2_check(const char *image, struct osm_err *err);

#endif
