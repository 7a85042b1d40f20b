/* apply: run a staged plan as one librpm transaction into the root.
 *
 * The transaction has the root as its root directory (rpmtsSetRootDir) and
 * the root's own rpmdb at the EL location /var/lib/rpm. Install, upgrade,
 * downgrade and replace actions add the staged files (each checked again
 * against the plan's checksum and its header against the plan's NEVRA);
 * replace and erase actions remove the installed "from" package; keep does
 * nothing. rpm checks dependencies and orders the elements; scriptlets run
 * chrooted into the root (librpm does that when the process is root).
 * Signatures are not checked again here: stage checked them against the
 * target's keys, which the root's rpmdb does not hold yet.
 *
 * This is the fallback for targets whose repositories provide no rpm (test
 * fixtures): a real target's transaction is run by the target's own rpm
 * (target_txn.h). Debian's librpm writes only sqlite, so a root whose rpmdb
 * is Berkeley DB or ndb is refused here, never converted (the target's rpm
 * could not write a converted one).
 *
 * Re-running after a completed apply is harmless: packages already installed
 * at the planned version and erased packages already gone are skipped. */
#ifndef OSM_APPLY_H
#define OSM_APPLY_H

#include <stddef.h>

#include "osm_error.h"
#include "planfile.h"
#include "progress.h"

enum osm_rpmdb_format { OSM_RPMDB_NONE, OSM_RPMDB_SQLITE, OSM_RPMDB_BDB, OSM_RPMDB_NDB };

struct osm_apply_opts {
    osm_progress_fn progress; /* phases "install" / "erase": packages done/total, bytes of the current package */
    void *userdata;
};

struct osm_apply_result {
    size_t elements;          /* transaction elements run */
    size_t skipped;           /* actions already done */
    int rpmdb_rebuilt;        /* always 0 */
    size_t scriptlet_warnings;/* non-fatal scriptlet failures (%post ...), logged */
};

enum osm_rpmdb_format osm_rpmdb_format(const char *root);
/* The same probes where files are seen through `is_file(path, ud)` (a
 * guest, through its agent). */
enum osm_rpmdb_format osm_rpmdb_format_seen(int (*is_file)(const char *path, void *ud), void *ud);
/* 0 when this librpm may write the root's rpmdb (sqlite); an error naming
 * the format otherwise. *rebuilt is always 0 (kept for callers). */
int osm_rpmdb_prepare(const char *root, int *rebuilt, struct osm_err *err);

int osm_apply(const struct osm_planfile *plan, const char *root, const struct osm_apply_opts *opts,
              struct osm_apply_result *result, struct osm_err *err);

#endif
