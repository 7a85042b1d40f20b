/* migration_linux: the Linux steps of an os-migration (the kind and its
 * generic steps are engine/core/os_migration.h):
 *
 *   precheck  facts (with descriptor overrides) against the target's limits,
 *             the plan (written to TASK_DIR/plan.json) and its inhibitors;
 *             nothing changes, so a failure ends the task as failed
 *   stage     download, checksums, signatures (stage.h); the target
 *             userspace (userspace.h)
 *   upgrade   the transaction by the target's own rpm (target_txn.h), or
 *             osmig's librpm when the target has no rpm (apply.h)
 *   verify    release, packages, rpm verify, fstab (verify.h) */
#ifndef OSM_MIGRATION_LINUX_H
#define OSM_MIGRATION_LINUX_H

#include "family.h"

extern const struct osm_family_migration osm_linux_migration;

#endif
