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
#include <stdio.h>
#include <sys/types.h>

/* 0 when `path` was loaded into `repo`, -1 when absent or unreadable. */
int osm_solvcache_read(Repo *repo, const char *path);
void osm_solvcache_write(Repo *repo, const char *path);
/* Write `repo` as the cache would hold it to an open stream (a .solv in
 * memory, say); 0 on success. */
int osm_solvcache_write_fp(Repo *repo, FILE *fp);
/* Write bytes that osm_solvcache_write_fp() produced as the cache file
 * `path` (temporary name and rename, like osm_solvcache_write()). */
void osm_solvcache_write_bytes(const void *buf, size_t len, const char *path);
/* Write `repo` beside `path` under a temporary name and return that name
 * (NULL on failure); osm_solvcache_commit() renames it to `path`. */
char *osm_solvcache_write_temp(Repo *repo, const char *path);
int osm_solvcache_commit(const char *tmp, const char *path);
/* Fork a process that writes caches beside the caller (it must leave by
 * _exit). Only while this process runs a single thread: a child of a
 * threaded process (the API server's) could find a lock that another
 * thread held at the fork held forever. Returns as fork() does; -1 when
 * it did not fork: then write here. */
pid_t osm_solvcache_fork(void);

#endif
