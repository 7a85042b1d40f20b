/* verify: checks after the upgrade that the root is the planned target.
 *
 *  - os-release names the target (ID equals the plan's target.os_id when
 *    given; else ID, or ID + major VERSION_ID, equals the plan's target id,
 *    e.g. "alinux" + "3" = "alinux3"; and VERSION_ID
 *    starts with target.version when the plan gives one);
 *  - the target's release package is installed;
 *  - every planned new package is installed, and no "from" package of an
 *    upgrade, downgrade, replace or erase is left (kept packages may stay);
 *  - rpm verification of the release package and the core packages that are
 *    installed: every regular file, symlink and directory they own exists
 *    with the recorded type, size, digest and link target (%config and
 *    %ghost files are skipped: they legitimately change);
 *  - /etc/fstab parses (4 to 6 fields per entry, numeric dump/pass).
 * With by_root_rpm (a transaction run by the target's rpm), the packages are
 * judged by the migrated root's own rpm, chrooted, as the target's `rpm -Va`
 * judges them: it must read the rpmdb without a warning; `rpm -V` of the
 * release and every planned package, with the packages' own verify flags,
 * may differ only in %config and %ghost files and in times; its dependency
 * check must hold; the target's keys must be in the rpmdb.
 * Every check runs; the error lists each one that failed. */
#ifndef OSM_VERIFY_H
#define OSM_VERIFY_H

#include "osm_buf.h"
#include "osm_error.h"
#include "osrelease.h"
#include "planfile.h"
#include "progress.h"

struct osm_verify_opts {
    const char *const *core_packages; /* NULL-terminated; NULL: osm_verify_default_core */
    int fstab_may_be_absent;          /* the root had no /etc/fstab before (a container root) */
    int by_root_rpm;                  /* judge with the migrated root's own rpm (chrooted): see below */
    osm_progress_fn progress;         /* phase "verify" */
    void *userdata;
};

/* 1 when `osr` names the plan's target (the os-release rule above). */
int osm_verify_release_is_target(const struct osm_planfile *plan, const struct osm_osrelease *osr);

extern const char *const osm_verify_default_core[];

/* `report` (may be NULL) receives one line per check: "ok ..." or "FAIL ...". */
int osm_verify(const struct osm_planfile *plan, const char *root, const struct osm_verify_opts *opts,
               struct osm_buf *report, struct osm_err *err);

/* Just the fstab check (also used before changing anything). */
int osm_verify_fstab(const char *root, struct osm_err *err);

#endif
