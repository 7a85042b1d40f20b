/* kind: task kinds and their steps. A kind is a const table of steps; each
 * step belongs to a phase (what users see) and says whether it is idempotent
 * and whether it changes the instance. The runner (runner.h) walks the
 * table. The kinds this program knows are one table (kinds.c). */
#ifndef OSM_KIND_H
#define OSM_KIND_H

#include <stddef.h>

#include "osm_error.h"
#include "task.h"

struct osm_step_ctx; /* runner.h */

/* 0 done, -1 failed (err set). */
typedef int (*osm_step_fn)(struct osm_step_ctx *ctx, struct osm_err *err);
/* Did a non-idempotent step whose intent has no outcome happen?
 * 1 yes (completely), 0 no (nothing of it happened, safe to run), -1 cannot
 * tell or half done (err set; the task then rolls back). */
typedef int (*osm_step_check_fn)(struct osm_step_ctx *ctx, struct osm_err *err);

struct osm_step {
    const char *name;        /* unique within the kind: "stage", "boot-into-target" */
    const char *phase;       /* what users see: "staging", "rebooting" */
    osm_step_fn run;
    osm_step_check_fn check; /* required when !idempotent */
    int idempotent;          /* safe to run again after a crash mid-way */
    int changes_instance;    /* once begun, a failure needs a rollback */
};

struct osm_task_kind {
    const char *name;              /* "os-migration" */
    const struct osm_step *steps;
    size_t n_steps;
    struct osm_step rollback;      /* must be idempotent; run on failure after a change */
};

/* A kind whose rollback step (named "rollback", phase "rolling_back") is
 * `rollback_run`, idempotent as the runner requires. */
#define OSM_TASK_KIND(kind_name, step_table, rollback_run)                                                     \
    {(kind_name), (step_table), sizeof(step_table) / sizeof(step_table)[0],                                    \
     {"rollback", "rolling_back", (rollback_run), NULL, 1, 1}}

/* The kinds this program knows. Registering a kind with the name of one
 * already known replaces it (tests). The table must outlive its use. */
void osm_task_kind_register(const struct osm_task_kind *kind);
const struct osm_task_kind *osm_task_kind_find(const char *name);

#endif
