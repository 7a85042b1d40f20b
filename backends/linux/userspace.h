/* userspace: the target release's rpm, ready to run against the instance.
 *
 * As Leapp does with its target userspace, the transaction is run by the
 * target's own rpm so that the rpmdb is in the target's native format and
 * written by it, and scriptlets and triggers run as on the target. The
 * userspace is the closure of the target's `rpm` package among the staged
 * (verified) packages, its payloads extracted without scriptlets into
 * ROOT/var/lib/osmig/userspace. It runs chrooted into the instance root
 * through its own dynamic loader and libraries (nothing of the host or of the
 * source release is loaded), with RPM_CONFIGDIR pointing at its own
 * configuration.
 *
 * Building is idempotent: a complete userspace carries a marker naming the
 * packages it was made of; anything else is removed and built again. */
#ifndef OSM_USERSPACE_H
#define OSM_USERSPACE_H

#include <stddef.h>

#include "osm_buf.h"
#include "osm_error.h"
#include "planfile.h"

#define OSM_USERSPACE_SUBDIR "/var/lib/osmig/userspace"
/* The file a complete userspace carries (inside OSM_USERSPACE_SUBDIR). */
#define OSM_USERSPACE_MARKER ".osmig-userspace-complete"

struct osm_userspace_result {
    size_t packages; /* packages extracted (or found in a complete userspace) */
    int reused;      /* 1: a complete userspace was already there */
};

/* 1 when the plan brings the target's rpm package. */
int osm_userspace_possible(const struct osm_planfile *plan);
/* 1 when its staged package holds the rpm program, an ELF executable (the
 * test fixtures' stand-in rpm packages hold a script: their transaction
 * falls back to osmig's librpm, see apply.h). Call after staging. */
int osm_userspace_runnable(const struct osm_planfile *plan, const char *root);

/* Build the userspace from the staged packages of `plan` in `root`. */
int osm_userspace_build(const struct osm_planfile *plan, const char *root, struct osm_userspace_result *res,
                        struct osm_err *err);

/* 1 when ROOT has a complete userspace. */
int osm_userspace_ready(const char *root);

/* Run the target's `program` (rpm, rpmkeys or rpmdb) from the userspace,
 * chrooted into `root`, with `args` after it (NULL-terminated). `on_line` (may be NULL) sees each line of
 * stdout as it comes; `out`/`errout` (may be NULL) collect the streams.
 * Returns rpm's exit status, or -1 with err set when it could not run. */
int osm_userspace_rpm(const char *root, const char *program, const char *const *args, void (*on_line)(const char *line, void *ud),
                      void *ud, struct osm_buf *out, struct osm_buf *errout, struct osm_err *err);

/* The argv that runs the target's `program` from the userspace for a process
 * whose / is the instance root (chrooted on this host, or a guest's own /):
 * `root` is a host tree holding the same userspace (the instance's root,
 * or the controller's copy of what is shipped into a guest). With
 * `with_env`, the environment is set by `env` at the front (a guest's run
 * passes none). NULL and err without a loader. Free with
 * osm_userspace_argv_free. */
char **osm_userspace_argv(const char *root, const char *program, const char *const *args, int with_env,
                          struct osm_err *err);
void osm_userspace_argv_free(char **argv);

#endif
