/* repomd: a target repository's metadata, loaded into a libsolv pool.
 *
 * repomd.xml is fetched (file://, http://, https://) into the cache; primary
 * (and filelists, when asked) are fetched, checked against the checksums that
 * repomd.xml gives, parsed, and kept as a .solv file named by the primary's
 * checksum, so a warm run reads one .solv file and parses no XML. A
 * repository's modules.yaml is fetched and checked the same way; modules.h
 * reads it. */
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
/* What identifies a repository's metadata, and its module metadata. */
struct osm_repomd_meta {
    char *ident;   /* id, URL and the checksums of primary, filelists and modules */
    char *modules; /* local path of the checked modules.yaml (compressed as published), or NULL */
    char *modules_compact; /* where its compact form is kept (modules.h), named by its checksum */
};

/* Read repomd.xml (fetched once per run) and fetch and check modules.yaml
 * when the repository has one. */
int osm_repomd_describe(const struct osm_repo_src *src, const char *cache_root, struct osm_repomd_meta *out,
                        struct osm_err *err);
void osm_repomd_meta_free(struct osm_repomd_meta *m);
/* Add filelists to a repo loaded before without them. */
int osm_repomd_add_filelists(Repo *repo, const struct osm_repo_src *src, const char *cache_root, struct osm_err *err);

#endif
