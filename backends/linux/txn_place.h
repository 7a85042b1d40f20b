/* txn_place: where the target's rpm transaction runs, so that the same
 * steps (target_txn.h) serve a root tree on this host and a running guest.
 *
 *   host:  `root` is the instance's root; the target's rpm runs chrooted
 *          into it and files are read and written under it.
 *   guest: `guest` is an instance reached only through its provider's run
 *          and copy_in (a qemu: VM, a cloud instance); `root` is the
 *          controller's tree holding what is shipped into the guest (the
 *          stage, the userspace, the keys) at the same paths. The same rpm
 *          argv runs in the guest by `run` (no chroot: the guest's / is the
 *          root), its output coming back through run's output.
 *
 * Paths given to these functions are paths inside the instance ("/var/...").
 * Errors name the instance and the path. */
#ifndef OSM_TXN_PLACE_H
#define OSM_TXN_PLACE_H

#include <stddef.h>

#include "apply.h"
#include "osm_buf.h"
#include "osm_error.h"
#include "provider.h"

struct osm_txn_place {
    const char *root;           /* host tree (see above) */
    struct osm_instance *guest; /* NULL: the transaction runs on `root` itself */
};

/* Run the target's `program` (rpm, rpmkeys, rpmdb) from the userspace with
 * `args`; `on_line` sees each stdout line (for a guest: after rpm ended),
 * `out`/`errout` (may be NULL) get the streams. rpm's exit status, or -1
 * and err when it could not run. */
int osm_place_rpm(const struct osm_txn_place *pl, const char *program, const char *const *args,
                  void (*on_line)(const char *line, void *ud), void *ud, struct osm_buf *out, struct osm_buf *errout,
                  struct osm_err *err);
/* Run a plain command in the instance (a guest's run, or chrooted on the
 * host); its exit status with stdout and stderr in `out`, or -1 and err. */
int osm_place_run(const struct osm_txn_place *pl, const char *const *argv, struct osm_buf *out, struct osm_err *err);

/* 1 and the content in `out` / 0 absent / -1 and err. */
int osm_place_read(const struct osm_txn_place *pl, const char *path, struct osm_buf *out, struct osm_err *err);
/* Replace `path` whole (its directory must exist). */
int osm_place_write(const struct osm_txn_place *pl, const char *path, const char *data, size_t len,
                    struct osm_err *err);
/* mkdir -p, mode 0755. */
int osm_place_mkdir(const struct osm_txn_place *pl, const char *path, struct osm_err *err);
/* Remove a file; absent is fine. */
int osm_place_unlink(const struct osm_txn_place *pl, const char *path, struct osm_err *err);
/* 1 when `path` is a regular file. */
int osm_place_is_file(const struct osm_txn_place *pl, const char *path);
/* When `path` is a symlink, replace it by an empty directory (0755):
 * 1 replaced, 0 not a symlink, -1 and err. */
int osm_place_symlink_to_dir(const struct osm_txn_place *pl, const char *path, struct osm_err *err);
/* The rpmdb's format in the instance (apply.h's probes). */
enum osm_rpmdb_format osm_place_rpmdb_format(const struct osm_txn_place *pl);
/* 1 when the instance holds a complete userspace. */
int osm_place_userspace_ready(const struct osm_txn_place *pl);
/* What to name in messages: the root, or the guest's URI. */
const char *osm_place_name(const struct osm_txn_place *pl);

#endif
