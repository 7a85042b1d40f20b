/* bootloader: the one table of bootloaders osmig knows on a Linux instance,
 * each found by its configuration file, and the target kernel's entry made
 * the default in it, through a txn_place (a guest's run and copy only).
 *
 *   syslinux/extlinux  the configuration rewritten (syslinux_cfg.h), then
 *                      read back: its default entry must be the new one and
 *                      name a kernel and an initramfs that exist and are
 *                      not empty;
 *   grub2              detected, not written yet (grubby / grub2-mkconfig):
 *                      assess refuses it with an inhibitor naming it.
 *
 * Paths in a syslinux file are its partition's: the instance path of its
 * mount point (from /proc/mounts) is taken off and put back. */
#ifndef OSM_BOOTLOADER_H
#define OSM_BOOTLOADER_H

#include "osm_buf.h"
#include "osm_error.h"
#include "txn_place.h"

struct osm_bootloader {
    const char *name;
    const char *const *configs; /* instance paths; the first that exists is its configuration */
    /* Make KREL's kernel and initramfs (instance paths) the default entry
     * of `config` and check it as read back; `said` gets one line. NULL:
     * osmig cannot write this bootloader's entry yet. */
    int (*set_default)(const struct osm_txn_place *pl, const char *config, const char *krel, const char *vmlinuz,
                       const char *initrd, struct osm_buf *said, struct osm_err *err);
};

/* The instance's bootloader and its configuration file (*config, caller
 * frees), or NULL when no configuration of the table is there. */
const struct osm_bootloader *osm_bootloader_detect(const struct osm_txn_place *pl, char **config);
/* Every configuration path the table looks for, ", "-separated (messages). */
char *osm_bootloader_looked_for(void);

#endif
