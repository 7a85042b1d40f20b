/* osm_fs: small file-system helpers used everywhere.
 * Writes that others may read concurrently or after a crash go through
 * osm_write_file_atomic(): temp file in the same directory, fsync, rename,
 * fsync of the directory, so a reader sees the old or the new file, never a
 * torn one. */
#ifndef OSM_FS_H
#define OSM_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "osm_buf.h"
#include "osm_error.h"

/* Read a whole file into `out` (appended). */
int osm_read_file(const char *path, struct osm_buf *out, struct osm_err *err);
int osm_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct osm_err *err);
/* mkdir -p; existing directories are fine. */
int osm_mkdir_p(const char *path, mode_t mode, struct osm_err *err);
/* rm -rf (does not follow symlinks); a missing path is fine. */
int osm_remove_tree(const char *path, struct osm_err *err);
int osm_fsync_dir(const char *dir);
/* "a" + "/" + "b" with duplicate slashes collapsed; caller frees. */
char *osm_path_join(const char *a, const char *b);
int osm_is_dir(const char *path);
int osm_is_file(const char *path);
/* Root-relative path on the host: join root and an absolute guest path. */
char *osm_root_path(const char *root, const char *guest_path);

#endif
