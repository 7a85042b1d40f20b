/* plansubset: the part of the target repositories that one plan can reach,
 * kept as .solv files, so that a warm plan loads a few thousand packages
 * instead of every package of the target.
 *
 * The reach starts from the installed packages, every target package of an
 * installed package's name, every target package that obsoletes an installed
 * package, and every provider of the names the plan asks about (package
 * events, release packages); it follows every requirement (each operand of a
 * rich dependency, file requirements too) to all of its providers. Hidden
 * packages (pool->considered) are never part of it. A solve on the reach
 * decides as one on the whole pool: with recommendations off, the solver
 * only installs what a job, the upgrade of an installed package or a
 * requirement brings in, and the reach keeps the packages in their relative
 * order, so ties break alike (tests/linux/subset-same-plan.sh checks it).
 *
 * The key covers what the reach depends on: the format, libsolv's version,
 * the installed set, every repository's metadata checksums, and the names.
 * The files also record the file provides they need, so loading them skips
 * libsolv's file list search. The newest 128 files are kept. Bump the
 * format line of the key when the reach changes. OSMIG_PLAN_SUBSET=0 turns
 * the cache off. */
#ifndef OSM_PLANSUBSET_H
#define OSM_PLANSUBSET_H

#include <solv/pool.h>
#include <solv/repo.h>

/* Is the cache on (OSMIG_PLAN_SUBSET is not "0")? */
int osm_subset_enabled(void);

/* The key from the installed set's key, each repository's identity and the
 * asked names (in any order; duplicates allowed). */
void osm_subset_key(char out[65], const char *installed_key, const char *const *repo_idents, size_t n_repos,
                    const char *const *names, size_t n_names);

/* Load the subset of each repository, in order, as new repos of `pool`
 * named by `repo_ids`. 0 when every file was there; -1 (nothing added)
 * otherwise. */
int osm_subset_load(Pool *pool, const char *cache_root, const char *key, const char *const *repo_ids, size_t n,
                    Repo **out);

/* Compute the reach in a fully loaded pool (whatprovides ready), check that
 * every solvable of `keep` (what the plan uses) is in it, cut `repos` down
 * to it and write their files. Best effort: returns -1 and writes nothing
 * when a kept solvable is outside the reach. The repos keep only the reach
 * afterwards (whatprovides is recreated). */
int osm_subset_write(Pool *pool, Repo **repos, size_t n, const Id *names, size_t n_names, const Id *keep,
                     size_t n_keep, const char *cache_root, const char *key);

#endif
