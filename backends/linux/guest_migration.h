/* guest_migration: the guest side of the Linux steps, for an instance
 * reached only through its provider's run and copy_in/copy_out (a qemu:
 * VM; a cloud instance through its agent).
 *
 * The controller stages and checks the packages and builds the target's
 * userspace in a tree of its own (the task's guest-root, laid out as the
 * instance's /var/lib/osmig); ship() brings that tree into the guest as one
 * tar copied in and unpacked by the guest's tar, the userspace's marker
 * last, so a guest that has the marker has everything. The transaction then
 * runs in the guest (target_txn.h at a txn_place). verify() judges the
 * guest from inside: its os-release, the target's own `rpm -Va` (only
 * %config/%ghost files and times may differ), the count of installed
 * packages against the plan, the running kernel, the agent answering.
 * cleanup() removes what osmig put in the guest. */
#ifndef OSM_GUEST_MIGRATION_H
#define OSM_GUEST_MIGRATION_H

#include "osm_buf.h"
#include "osm_error.h"
#include "planfile.h"
#include "txn_place.h"

/* Ship pl->root's stage and userspace into pl->guest; `work` is a host
 * directory for the tar. *bytes (may be NULL) gets the tar's size. */
int osm_guest_ship(const struct osm_txn_place *pl, const char *work, long long *bytes, struct osm_err *err);

/* Verify from inside; one "ok ..."/"FAIL ..." line per check in `report`.
 * `kernel` (may be NULL) is the release the running kernel must have. */
int osm_guest_verify(const struct osm_planfile *plan, const struct osm_txn_place *pl, const char *kernel,
                     struct osm_buf *report, struct osm_err *err);

/* Remove the stage, the userspace and the keys from the guest. */
int osm_guest_cleanup(const struct osm_txn_place *pl, struct osm_err *err);

#endif
