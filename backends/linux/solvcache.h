/* solvcache: parsed package data kept as libsolv .solv files, so that a warm
 * run loads binary data instead of parsing XML or an rpmdb again. Only what
 * planning and staging read is kept (names, versions, dependencies, vendor,
 * location, checksum, sizes, file provides); texts such as summaries and
 * descriptions are dropped. A file is written under a temporary name and
 * renamed, so readers see a whole file or none; a cache is best effort, so
 * a failed write is not an error and an unreadable file counts as absent. */
#ifndef OSM_SOLVCACHE_H
#define OSM_SOLVCACHE_H

#include <solv/repo.h>

/* 0 when `path` was loaded into `repo`, -1 when absent or unreadable. */
int osm_solvcache_read(Repo *repo, const char *path);
void osm_solvcache_write(Repo *repo, const char *path);

#endif
