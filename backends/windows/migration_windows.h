/* migration_windows: the Windows family's steps of an os-migration
 * (engine/core/os_migration.h runs them between the generic ones).
 *
 *   precheck  inspect the root's hives, the instance's facts, the
 *             assessment (inhibitors stop here) and the media plan: every
 *             hop's medium and image (TASK_DIR/windows-plan.json)
 *   stage     every hop's medium still registered and whole (idempotent)
 *   upgrade   hop by hop: a setup hop builds the transit disk
 *             (TASK_DIR/transit/hopN.img), attaches it, brings it online and
 *             writable, runs the compatibility scan, starts setup detached,
 *             follows its reboots to the hop's build, copies setup's logs to
 *             TASK_DIR/logs/hopN and releases the disk; a conversion hop runs
 *             DISM /Set-Edition and restarts. Each sub-step is noted on the
 *             task ("hop", "hop.state"), so after a kill the step continues
 *             where it was: setup is never started twice, the disk never
 *             left attached. On failure: the decoded cause, the logs, the
 *             disk detached and released, then the generic rollback
 *             restores every disk.
 *   verify    the instance runs the last hop's build and edition; setup's
 *             logs and the result are in TASK_DIR.
 * The steps reach the instance through its provider's run, reboot and
 * attach/detach, or through the Windows test double when
 * OSMIG_WINDOWS_DOUBLE is set (win_double.h). */
#ifndef OSM_MIGRATION_WINDOWS_H
#define OSM_MIGRATION_WINDOWS_H

#include "family.h"

extern const struct osm_family_migration osm_windows_migration;

#endif
