/* family: what an OS family (Linux, Windows) provides to the engine. Each
 * family is one const struct in its backend folder; the table of families
 * (families.h) lists them once, and nothing else outside the CLI names a
 * backend. The commands and the fleet ask the table: which family a root
 * holds, its facts, its assessment, whether it knows a target, and its own
 * steps of an os-migration (the generic ones — snapshot, reboots, rollback —
 * are core's, os_migration.h). */
#ifndef OSM_FAMILY_H
#define OSM_FAMILY_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "kind.h"
#include "osm_error.h"
#include "provider.h"

/* What `osmig assess` / `osmig plan` (and POST /v1/assessments) ask. */
struct osm_assess_request {
    const char *target;
    const char *const *matrix_files;     /* extra matrix files */
    size_t n_matrix_files;
    const char *const *event_files;
    size_t n_event_files;
    const char *const *repo_overrides;   /* ID=URL */
    size_t n_repo_overrides;
    const char *const *allow_erase;      /* accepted removals of essential packages */
    size_t n_allow_erase;
    int full_plan;                       /* the whole transaction (osmig plan), not the report */
    json_t **plan;                       /* with the report, also the whole plan here (NULL: not asked; a
                                            family may leave it NULL) for the saved reports' package changes */
};

/* The family's own steps of an os-migration, run by the kind in
 * os_migration.c between and around the generic ones. */
struct osm_family_migration {
    osm_step_fn precheck;                /* reads only: facts, plan, inhibitors */
    osm_step_fn stage;                   /* idempotent */
    osm_step_fn upgrade;                 /* not idempotent: needs upgrade_check */
    osm_step_check_fn upgrade_check;
    osm_step_fn verify;                  /* idempotent */
    /* Optional, idempotent: run before each boot of phase "into-target"
     * (boots.h: the target's kernel, its initramfs and boot entry); it may
     * note "target_kernel", the release that boot must come up on. */
    osm_step_fn boot;
    /* Optional: after every disk was restored, what the family keeps for
     * the task on this host (its staged copies) removed. */
    osm_step_fn rolled_back;
};

struct osm_family {
    const char *name;                    /* "linux", "windows" */
    /* 1 when ROOT holds a system of this family. */
    int (*detect)(const char *root);
    /* The facts as JSON (*facts, caller decrefs); with `text`, also printed
     * there for a person. */
    int (*inspect)(struct osm_instance *inst, json_t **facts, FILE *text, struct osm_err *err);
    /* The assessment (or with rq->full_plan the plan) as JSON in *doc; with
     * `text`, the report printed there for a person. 0 migratable, 1
     * inhibited, -1 error (err set). */
    int (*assess)(struct osm_instance *inst, const struct osm_facts *facts, const struct osm_assess_request *rq,
                  json_t **doc, FILE *text, struct osm_err *err);
    /* The family's migration paths (its matrix and the extra files) as a
     * JSON array in *paths (`osmig matrix --json`, GET /v1/matrix); with
     * `text`, printed there as a table with its own heading. */
    int (*matrix)(const char *const *files, size_t n, json_t **paths, FILE *text, struct osm_err *err);
    /* 1 when TARGET is a target of this family (its matrix and the extra
     * files), 0 not, -1 when the files do not load (err set). NULL: the
     * family takes no migration jobs yet. */
    int (*knows_target)(const char *target, const char *const *matrix_files, size_t n, struct osm_err *err);
    const struct osm_family_migration *migration; /* NULL while the family cannot migrate */
};

/* The family of ROOT: the first whose detect says yes; a root no family
 * recognises goes to the table's first entry (its inspection says what the
 * root lacks). `table` is NULL-terminated. */
const struct osm_family *osm_family_detect(const struct osm_family *const *table, const char *root);
const struct osm_family *osm_family_find(const struct osm_family *const *table, const char *name);
/* Every family's paths in the table's order, each tagged "family": a JSON
 * array in *paths (caller decrefs); with `text`, each family's table printed
 * there. -1 with err set (and nothing in *paths) when one fails. */
int osm_families_matrix(const struct osm_family *const *table, const char *const *files, size_t n, json_t **paths,
                        FILE *text, struct osm_err *err);

#endif
