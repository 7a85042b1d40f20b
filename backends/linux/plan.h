/* plan: from an inspected Linux system and a target to the full migration
 * transaction and the assessment.
 *
 * osm_plan_compute() loads the matrix, finds the path, loads the target's
 * repositories (or the --repo overrides), replays the package events between
 * the source and the target release, runs a libsolv distribution upgrade and
 * turns the transaction into actions (install, upgrade, downgrade, replace,
 * erase, keep), each with its reason. Findings (inhibitors and warnings with
 * stable ids) are collected on the way. A plan with inhibitors is still a
 * plan: it says what would happen and why it must not. */
#ifndef OSM_PLAN_H
#define OSM_PLAN_H

#include <jansson.h>
#include <stdio.h>
#include <solv/bitmap.h>
#include <stddef.h>
#include <stdint.h>

#include "matrix.h"
#include "modules.h"
#include "osm_error.h"
#include "system.h"

struct osm_plan_opts {
    const char *target;                 /* target id */
    const char *const *matrix_files;    /* --matrix, in order */
    size_t n_matrix_files;
    const char *const *event_files;     /* --events, in order */
    size_t n_event_files;
    const char *const *repo_overrides;  /* --repo ID=URL */
    size_t n_repo_overrides;
    const char *cache_dir;
    const char *region;                 /* the instance's region, or NULL */
    const char *const *allow_erase;     /* --allow-erase NAME: accepted removals of essential packages */
    size_t n_allow_erase;
};

enum osm_action_kind {
    OSM_ACT_INSTALL,
    OSM_ACT_UPGRADE,
    OSM_ACT_DOWNGRADE,
    OSM_ACT_REPLACE,
    OSM_ACT_ERASE,
    OSM_ACT_KEEP,
};

struct osm_action {
    enum osm_action_kind kind;
    Id from;      /* installed solvable, or 0 */
    Id to;        /* solvable from a target repo, or 0 */
    char *reason;
};

struct osm_finding {
    char *id;          /* stable: i686-packages, no-path, ... */
    int inhibitor;     /* 1 inhibitor, 0 warning */
    char *summary;     /* one line */
    char *remediation; /* one line */
    char **items;      /* packages, problems, paths ... */
    size_t n_items;
};

/* A directory the target's packages own that is a symlink in the root: its
 * files would land at the link's target (plan.json symlinked_dirs). */
struct osm_symlinked_dir {
    char *path;   /* absolute, inside the root */
    char *target; /* the link's text, as readlink gives it */
    char *owner;  /* name-[epoch:]version-release.arch of a target package owning it */
    char *source_owner; /* the installed package owning the link, or NULL (made by hand) */
};

struct osm_plan_repo {
    char *id;
    char *baseurl;
    char **gpgkeys;
    size_t n_gpgkeys;
    int gpgcheck;
    Repo *repo;
};

struct osm_plan {
    const struct osm_linux_system *sys;
    struct osm_matrix matrix;
    const struct osm_target *target;
    const struct osm_path *path;   /* NULL: no path (see the no-path inhibitor) */
    struct osm_plan_repo *repos;
    size_t n_repos;
    struct osm_action *actions;
    size_t n_actions;
    struct osm_finding *findings;
    size_t n_findings;
    int resolved;                  /* the solver found no problem */
    int64_t download_size;
    int64_t installed_size_delta;
    struct osm_modules modules;                 /* the targets' module streams */
    const struct osm_module_stream **stream_of; /* by solvable id: its stream, or NULL */
    Map considered;                             /* pool->considered while streams hide packages */
    char subset_key[65];                        /* "" when no subset cache is used */
    int subset_hit;                             /* the targets came from the subset cache */
    char **allow_erase;                         /* the --allow-erase names (plan.json options) */
    size_t n_allow_erase;
    struct osm_symlinked_dir *symlinked_dirs;   /* target directories that are symlinks in the root */
    size_t n_symlinked_dirs;
};

/* Fails (exit 1) only on errors: unknown target, unreadable matrix, events
 * or repositories. Everything about the migration itself is a finding. */
int osm_plan_compute(struct osm_linux_system *sys, const struct osm_plan_opts *opts, struct osm_plan *plan,
                     struct osm_err *err);
void osm_plan_free(struct osm_plan *plan);
int osm_plan_inhibited(const struct osm_plan *plan);

json_t *osm_plan_json(const struct osm_plan *plan, const char *instance);
/* The assessment: findings and a summary of the changes. */
json_t *osm_assess_json(const struct osm_plan *plan, const char *instance);
void osm_assess_print(FILE *f, const struct osm_plan *plan, const char *instance);
const char *osm_action_name(enum osm_action_kind k);

#endif
