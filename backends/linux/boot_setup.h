/* boot_setup: what a machine that boots needs of a migration, beyond the
 * packages: the target's kernel booted next, with an initramfs of its own.
 *
 * assess: when the plan installs a kernel (kernel or kernel-core), /boot
 * must have room for it and its initramfs (free space read from the
 * instance: df in a guest, statvfs of ROOT/boot for a root tree): else an
 * inhibitor `boot-space` naming /boot, what is free and what is needed (the
 * kernel package's installed size plus the largest initramfs there, or 32
 * MiB when there is none). For an instance that osmig boots (a guest), its
 * bootloader must be one of the table's (bootloader.h) that osmig can
 * write: else an inhibitor `bootloader` naming it, or what was looked for.
 *
 * setup (after the transaction, before the boot into the target, in a
 * guest by run and copy only): the target kernel's release (from `rpm -ql`
 * of the plan's kernel), /boot/vmlinuz-KREL (copied from
 * /lib/modules/KREL/vmlinuz when the package ships it there), the initramfs
 * /boot/initramfs-KREL.img by the first builder the instance has (its own
 * /etc/osmig/mkinitramfs KREL OUT, else the target's dracut), and the
 * default boot entry written and checked (bootloader.h). Idempotent. */
#ifndef OSM_BOOT_SETUP_H
#define OSM_BOOT_SETUP_H

#include "osm_buf.h"
#include "osm_error.h"
#include "plan.h"
#include "planfile.h"
#include "txn_place.h"

/* Adds the findings above to `plan`. */
void osm_boot_assess(struct osm_plan *plan, const struct osm_txn_place *pl);

/* *krel (caller frees) gets the target kernel's release, NULL when the
 * plan installs no kernel (then nothing is done); `said` what was done. */
int osm_boot_setup(const struct osm_planfile *pf, const struct osm_txn_place *pl, char **krel, struct osm_buf *said,
                   struct osm_err *err);

#endif
