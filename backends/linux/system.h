/* system: what osmig sees on a Linux root: OS identity, architecture, the
 * installed packages (in a libsolv pool, as the installed repo) and the
 * repositories configured in the root. This is the input of assess/plan and
 * what `osmig inspect` prints. */
#ifndef OSM_SYSTEM_H
#define OSM_SYSTEM_H

#include <jansson.h>
#include <solv/pool.h>
#include <stdio.h>
#include <solv/repo.h>

#include "osm_error.h"
#include "osrelease.h"
#include "repofiles.h"
#include "rpmdb.h"

struct osm_linux_system {
    char *root;
    struct osm_osrelease os;
    char arch[32];              /* the system's base architecture: x86_64, aarch64, i686 */
    struct osm_rpmdb_info db;
    Pool *pool;                 /* owns the installed repo; the planner adds target repos */
    Repo *installed;
    struct osm_repofile_list repos;
};

/* Read everything; fails on a root that is not an rpm-based Linux root. */
int osm_linux_system_open(const char *root, const char *cache_dir, struct osm_linux_system *sys, struct osm_err *err);
void osm_linux_system_close(struct osm_linux_system *sys);

/* `osmig inspect` output. */
json_t *osm_linux_system_json(const struct osm_linux_system *sys);
void osm_linux_system_print(FILE *f, const struct osm_linux_system *sys);

#endif
