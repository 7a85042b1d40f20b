/* rpmdb: the installed package set of a Linux root, read with librpm from
 * the rpmdb where an EL system keeps it (/var/lib/rpm, or
 * /usr/lib/sysimage/rpm), never from the host's rpm defaults (Debian's rpm
 * points %_dbpath at ~/.rpmdb). Formats: sqlite (EL9+), Berkeley DB (EL7/EL8,
 * through rpm's read-only bdb_ro backend); ndb is refused with a clear error
 * because Debian's librpm has no ndb backend. Nothing in the root is written:
 * the database is opened read-only. */
#ifndef OSM_RPMDB_H
#define OSM_RPMDB_H

#include <solv/pool.h>
#include <solv/repo.h>

#include "osm_error.h"

struct osm_rpmdb_info {
    char dbpath[64];   /* guest path: /var/lib/rpm */
    char backend[16];  /* sqlite | bdb_ro | ndb */
    char dbfile[4096]; /* host path of the main database file */
    char key[65];      /* identity of the database content (see the cache), or "" */
};

/* The solvable attribute that keeps an installed package's modularity label
 * ("name:stream:version:context"), absent for non-modular packages. */
#define OSM_RPMDB_MODULARITYLABEL "osmig:modularitylabel"

/* Find the rpmdb of `root`. Fails (OSM_ENOTFOUND) when the root has none. */
int osm_rpmdb_locate(const char *root, struct osm_rpmdb_info *info, struct osm_err *err);

/* Add every installed package of `root` (except gpg-pubkey) to a new repo
 * "@System" of `pool` and make it the installed repo. With `cache_dir`, the
 * result is cached as a .solv file keyed by the database file's identity, so
 * an unchanged rpmdb is not parsed again; info->key names that content. */
int osm_rpmdb_load(Pool *pool, const char *root, const char *cache_dir, Repo **out, struct osm_rpmdb_info *info,
                   struct osm_err *err);

#endif
