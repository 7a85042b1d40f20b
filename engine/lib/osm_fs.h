/* osm_fs: small file-system helpers used everywhere.
 * Writes that others may read concurrently or after a crash go through
 * osm_write_file_atomic(): temp file in the same directory, fsync, rename,
 * fsync of the directory, so a reader sees the old or the new file, never a
 * torn one. */
#ifndef OSM_FS_H
#define OSM_FS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "osm_buf.h"
#include "osm_error.h"

/* Read a whole file into `out` (appended). */
int osm_read_file(const char *path, struct osm_buf *out, struct osm_err *err);
/* Read fd to its end, handing each block to each(arg, data, n) (non-zero
 * stops with that value); a read error names `path`. The fd stays open. */
int osm_read_blocks(int fd, const char *path, int (*each)(void *arg, const void *data, size_t n), void *arg,
                    struct osm_err *err);
/* open(path, flags | O_CLOEXEC) and fstat it into *st: the fd, or -1 with
 * `err` naming the path. */
int osm_open_stat(const char *path, int flags, struct stat *st, struct osm_err *err);
int osm_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct osm_err *err);
/* DIR/NAME opened (created with `mode`) and held with an exclusive flock,
 * waiting for it: the fd (closing it lets go), or -1 with `err` naming the
 * file. */
int osm_lock_file(const char *dir, const char *name, mode_t mode, struct osm_err *err);
/* mkdir -p; existing directories are fine. */
int osm_mkdir_p(const char *path, mode_t mode, struct osm_err *err);
/* rm -rf (does not follow symlinks); a missing path is fine. */
int osm_remove_tree(const char *path, struct osm_err *err);
int osm_fsync_dir(const char *dir);
/* "a" + "/" + "b" with duplicate slashes collapsed; caller frees. */
char *osm_path_join(const char *a, const char *b);
/* The names in `dir` that end in `suffix` (and are longer than it),
 * sorted; 0 with *n = 0 when there are none, -1 (errno set, `err` filled)
 * when the directory cannot be read. Free with osm_free_strv. */
int osm_dir_names(const char *dir, const char *suffix, char ***out, size_t *n, struct osm_err *err);
int osm_is_dir(const char *path);
int osm_is_file(const char *path);
/* The host path of a guest path, resolved inside ROOT: every symlink of the
 * instance is followed as the instance sees it (absolute targets start again
 * at ROOT, ".." stops at ROOT), as openat2's RESOLVE_IN_ROOT does, so reads
 * and writes of the result stay inside the root (ROOT itself is taken as
 * given: the instance's canonical root). Caller frees. */
char *osm_root_path(const char *root, const char *guest_path);
/* The final component is not followed by osm_root_path (lstat's view: a
 * write by rename replaces a symlink, a check sees it); this one follows it
 * too, inside ROOT, for reads of what a path leads to (os-release). */
char *osm_root_path_follow(const char *root, const char *guest_path);
/* Open GUEST_PATH inside ROOT in one step, without the race between
 * osm_root_path and a later open(2): openat2 RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS from ROOT (Linux >= 5.6; before, osm_root_path
 * and O_NOFOLLOW), so a symlink swapped in on the path, even meanwhile,
 * never leads outside ROOT. With O_CREAT the last component is not
 * followed (O_NOFOLLOW: a symlink there is refused, named as such).
 * `flags` as open(2), O_CLOEXEC added. A descriptor, or -1 and err. */
int osm_root_open(const char *root, const char *guest_path, int flags, mode_t mode, struct osm_err *err);
/* osm_write_file_atomic for a guest path: the directory resolved as
 * osm_root_open does, the temp file made in it (O_EXCL|O_NOFOLLOW) and
 * renamed over the last component (a symlink there is replaced, never
 * followed). */
int osm_root_write_file_atomic(const char *root, const char *guest_path, const void *data, size_t len, mode_t mode,
                               struct osm_err *err);
/* Read a regular file of at most `max` bytes (appended to out): devices,
 * FIFOs and larger files are refused at once ("not a regular file", "larger
 * than N MiB"), naming the path and never its content. */
int osm_read_regular_file(const char *path, size_t max, struct osm_buf *out, struct osm_err *err);
#define OSM_CONFIG_FILE_MAX ((size_t)64 << 20)
/* 1 when s is a name that can be a path component: 1..max of
 * A-Z a-z 0-9 . _ + : -, not starting with '.' or '-'. */
int osm_name_is_plain(const char *s, size_t max);

#endif
