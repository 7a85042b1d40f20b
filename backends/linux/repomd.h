/* repomd: a target repository's metadata, loaded into a libsolv pool.
 *
 * repomd.xml is fetched (file://, http://, https://) into the cache; primary
 * (and filelists, when asked) are fetched, checked against the checksums that
 * repomd.xml gives, parsed, and kept as a .solv file named by the primary's
 * checksum, so a warm run reads one .solv file and parses no XML. */
#ifndef OSM_REPOMD_H
#define OSM_REPOMD_H

#include <solv/pool.h>
#include <solv/repo.h>

#include "osm_error.h"

struct osm_repo_src {
    const char *id;
    const char *baseurl; /* expanded; a trailing slash is optional */
};

/* Load one repository as a new repo of `pool` named by its id. With
 * `with_filelists`, also the full file lists (needed when a dependency on a
 * file path is not satisfied by primary's file subset). */
int osm_repomd_load(Pool *pool, const struct osm_repo_src *src, const char *cache_root, int with_filelists,
                    Repo **out, struct osm_err *err);
/* Fetch, check and parse every repository into the cache, in parallel, so
 * that the osm_repomd_load() calls that follow read .solv files. Fails with
 * the first repository's error, in order. */
int osm_repomd_prepare(const struct osm_repo_src *srcs, size_t n, const char *cache_root, struct osm_err *err);
/* Add filelists to a repo loaded before without them. */
int osm_repomd_add_filelists(Repo *repo, const struct osm_repo_src *src, const char *cache_root, struct osm_err *err);

#endif
