/* os_migration: the Linux steps of an os-migration task, registered with the
 * runner (task.h, runner.h):
 *
 *   precheck  facts (with descriptor overrides) against the target's limits,
 *             the plan (written to TASK_DIR/plan.json) and its inhibitors;
 *             nothing changes, so a failure ends the task as failed
 *   snapshot  a set of every disk, verified; its id on the task
 *   stage     download, checksums, signatures (stage.h)
 *   reboot-1  the provider's reboot; the boot id is noted before and after
 *   upgrade   the librpm transaction (apply.h)
 *   reboot-2  as reboot-1
 *   verify    release, packages, rpm verify, fstab (verify.h)
 *   rollback  restore the snapshot set, check its digest
 *
 * Everything a step needs is in the task, so another process (`osmig
 * resume`) can continue it: the options object (osm_migration_options_json)
 * and the durable notes. TASK_DIR is STATE_DIR/tasks/ID. */
#ifndef OSM_OS_MIGRATION_H
#define OSM_OS_MIGRATION_H

#include <jansson.h>
#include <stddef.h>

#include "osm_error.h"

struct osm_migration_options {
    const char *target;
    const char *const *matrix_files;
    size_t n_matrix_files;
    const char *const *event_files;
    size_t n_event_files;
    const char *const *repo_overrides;   /* ID=URL */
    size_t n_repo_overrides;
    const char *const *allow_erase;      /* --allow-erase NAME: accepted removals of essential packages */
    size_t n_allow_erase;
    int no_signature_check;
    const char *snapshot_store;          /* NULL: the default */
    const char *cache_dir;               /* NULL: the default */
    const char *state_dir;               /* where TASK_DIR goes */
};

/* The task's options object; paths made absolute. Caller decrefs. */
json_t *osm_migration_options_json(const struct osm_migration_options *o);

/* Provide the os-migration steps to the runner. Call once, before running
 * any task. */
int osm_linux_migration_register(struct osm_err *err);

/* TASK_DIR of task `id` for a state dir; caller frees. */
char *osm_migration_task_dir(const char *state_dir, const char *id);

#endif
