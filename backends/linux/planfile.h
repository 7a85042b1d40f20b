/* planfile: reads plan.json (osmig_plan version 1) into the subset that
 * staging, applying and verifying need. Extra fields are ignored so the
 * planner can grow the format; missing required fields are errors that name
 * the action index and field. */
#ifndef OSM_PLANFILE_H
#define OSM_PLANFILE_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"

enum osm_planfile_kind {
    OSM_PF_INSTALL,
    OSM_PF_UPGRADE,
    OSM_PF_DOWNGRADE,
    OSM_PF_REPLACE,
    OSM_PF_ERASE,
    OSM_PF_KEEP,
};

struct osm_planfile_repo {
    char *id;
    char *baseurl;       /* always ends with '/' */
    int gpgcheck;
    char **gpgkeys;      /* URLs (file://, http://, https://) */
    size_t n_gpgkeys;
};

struct osm_planfile_action {
    enum osm_planfile_kind kind;
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
    const struct osm_planfile_repo *repo_ref;
};

struct osm_planfile {
    char *instance;
    char *source_id, *source_version;
    char *target_id, *target_name, *target_version, *release_package;
    char *target_os_id;  /* os-release ID after migration, when the plan gives it (target.os_id) */
    struct osm_planfile_repo *repos;
    size_t n_repos;
    struct osm_planfile_action *actions;
    size_t n_actions;
    char **symlinked_dirs;  /* guest paths the target ships as directories that are symlinks a source package owns */
    size_t n_symlinked_dirs;
};

const char *osm_planfile_kind_name(enum osm_planfile_kind k);
/* 1 when the action brings a new package to download and install. */
int osm_planfile_has_package(const struct osm_planfile_action *a);
int osm_planfile_load(const char *path, struct osm_planfile *plan, struct osm_err *err);
void osm_planfile_free(struct osm_planfile *plan);

#endif
