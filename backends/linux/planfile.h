/* planfile: reads plan.json (osmig_plan version 1) into the subset that
 * staging, applying and verifying need. Extra fields are ignored so the
 * planner can grow the format; missing required fields are errors that name
 * the action index and field. */
#ifndef OSM_PLANFILE_H
#define OSM_PLANFILE_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"

enum osm_plan_kind {
    OSM_PLAN_INSTALL,
    OSM_PLAN_UPGRADE,
    OSM_PLAN_DOWNGRADE,
    OSM_PLAN_REPLACE,
    OSM_PLAN_ERASE,
    OSM_PLAN_KEEP,
};

struct osm_plan_repo {
    char *id;
    char *baseurl;       /* always ends with '/' */
    int gpgcheck;
    char **gpgkeys;      /* URLs (file://, http://, https://) */
    size_t n_gpgkeys;
};

struct osm_plan_action {
    enum osm_plan_kind kind;
    char *name;
    char *from;          /* installed NEVRA that goes (upgrade, downgrade, replace, erase, keep) */
    char *to;            /* new NEVRA (install, upgrade, downgrade, replace) */
    char *repo;          /* repo id */
    char *location;      /* relative to the repo's baseurl */
    char *filename;      /* basename of location: the staged file's name */
    char *checksum_type; /* "sha256", ... */
    char *checksum;      /* hex */
    uint64_t download_size;
    uint64_t installed_size;
    const struct osm_plan_repo *repo_ref;
};

struct osm_plan {
    char *instance;
    char *source_id, *source_version;
    char *target_id, *target_name, *target_version, *release_package;
    struct osm_plan_repo *repos;
    size_t n_repos;
    struct osm_plan_action *actions;
    size_t n_actions;
};

const char *osm_plan_kind_name(enum osm_plan_kind k);
/* 1 when the action brings a new package to download and install. */
int osm_plan_action_has_package(const struct osm_plan_action *a);
int osm_plan_load(const char *path, struct osm_plan *plan, struct osm_err *err);
void osm_plan_free(struct osm_plan *plan);

#endif
