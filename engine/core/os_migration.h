/* os_migration: the os-migration task kind, for every OS family.
 *
 *   precheck  the family's (facts, plan, inhibitors); nothing changes
 *   snapshot  a set of every disk, verified; its id on the task   (generic)
 *   stage     the family's: fetch and check what the upgrade needs
 *   boot-before-upgrade  the list's boots of that phase (boots.h), each the
 *             provider's reboot within its limit; boot ids noted before and
 *             after, the kernel checked                           (generic)
 *   upgrade   the family's transaction (with its check)
 *   boot-into-target  the family's boot setup, then the list's boots of
 *             that phase, on the target's kernel                  (generic)
 *   verify    the family's
 *   rollback  restore the snapshot set on every disk, check it     (generic)
 *
 * The family is chosen at precheck from the instance's root (family.h) and
 * kept on the task (note "family"), so a resumed task keeps it. Everything a
 * step needs is in the task: the options object (osm_migration_options_json)
 * and the durable notes; TASK_DIR is STATE_DIR/tasks/ID. */
#ifndef OSM_OS_MIGRATION_H
#define OSM_OS_MIGRATION_H

#include <jansson.h>
#include <stddef.h>

#include "family.h"
#include "kind.h"
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
/* TASK_DIR of task `id` for a state dir; caller frees. */
char *osm_migration_task_dir(const char *state_dir, const char *id);

/* Use this NULL-terminated table of families for os-migration tasks (once,
 * at start, before any task runs). -1 when a family's migration lacks a step
 * or the upgrade's check. */
int osm_os_migration_use(const struct osm_family *const *families, struct osm_err *err);

/* The generic steps other kinds reuse: a snapshot set of every disk made
 * once and recorded on the task (its check finds it after a crash), and
 * the restore of that set on every disk (a rollback step). */
int osm_step_snapshot(struct osm_step_ctx *ctx, struct osm_err *err);
int osm_step_snapshot_check(struct osm_step_ctx *ctx, struct osm_err *err);
int osm_step_restore(struct osm_step_ctx *ctx, struct osm_err *err);
/* The snapshot as a step of a kind's table: created once (not idempotent,
 * its check finds the set), it changes no disk. */
#define OSM_STEP_SNAPSHOT {"snapshot", "snapshotting", osm_step_snapshot, osm_step_snapshot_check, 0, 0}

/* The os-migration kind (registered with the kinds, kind.h). */
extern const struct osm_task_kind osm_os_migration_kind;

/* Delete snapshot set `set` of the instance (the store from the task's
 * options: NULL the default). For the API's DELETE .../snapshot. */
int osm_migration_snapshot_delete(struct osm_instance *inst, const char *set, const char *store, struct osm_err *err);

#endif
