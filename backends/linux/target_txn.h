/* target_txn: the migration's rpm transaction, run by the target's own rpm
 * from the target userspace (userspace.h), as Leapp runs it.
 *
 * In order, each part skipped when already done (so a re-run after a crash
 * continues):
 *   1. the rpmdb in the target's native format (`rpm --rebuilddb` by the
 *      target's rpm when the root's format differs from its %_db_backend);
 *   2. directories the target ships that are symlinks in the root (plan.json
 *      "symlinked_dirs") become real directories, the link's own target left
 *      as it is;
 *   3. the target's keys imported (`rpm --import`), so that the target's rpm
 *      checks every package's signature itself during the transaction;
 *   4. `rpm -e --nodeps` of the packages the plan erases or replaces by
 *      another name (dependencies: checked in 5 on the final set);
 *   5. `rpm -U` of every staged package not yet installed, dependencies
 *      checked by the target's rpm over the whole resulting system;
 *   6. keys that signed only packages the migration removed (the source
 *      distribution's) are erased from the rpmdb.
 * Progress: packages done over the transaction's elements. */
#ifndef OSM_TARGET_TXN_H
#define OSM_TARGET_TXN_H

#include <stddef.h>

#include "osm_error.h"
#include "planfile.h"
#include "progress.h"
#include "txn_place.h"

struct osm_ttx_opts {
    int no_signature_check; /* the stage was not checked: do not ask rpm to insist either */
    osm_progress_fn progress;
    void *userdata;
    void (*crash_point)(const char *where); /* fault injection (runner.h), may be NULL */
};

struct osm_ttx_result {
    size_t erased, installed; /* elements run now */
    size_t skipped;           /* plan actions found already done */
    int rpmdb_rebuilt;        /* the target's rpm rebuilt the rpmdb in its format */
    size_t keys_imported, keys_removed, dirs_replaced;
};

int osm_target_transaction(const struct osm_planfile *plan, const char *root, const struct osm_ttx_opts *opts,
                           struct osm_ttx_result *res, struct osm_err *err);

/* Part 6 alone (idempotent): a task resumed after the transaction ended
 * but before its keys were tidied calls it again (verify does). */
int osm_target_finish(const char *root, size_t *keys_removed, struct osm_err *err);

/* How far the transaction got, read by the target's rpm: *done and *pending
 * count the plan's changes (keep actions excluded). */
int osm_target_progress(const struct osm_planfile *plan, const char *root, size_t *done, size_t *pending,
                        struct osm_err *err);

/* The installed packages as "name-E:V-R.A" lines (gpg-pubkey excluded),
 * read by the target's rpm. Caller frees. */
char *osm_target_installed(const char *root, struct osm_err *err);

/* Remove a Berkeley DB rpmdb's environment files (__db.NNN): the source's
 * libdb made them (the target's refuses them) or a killed rpm left its
 * locks in them (the next rpm would wait forever). Only when no rpm uses
 * the rpmdb. */
int osm_rpmdb_drop_environment(const char *root, struct osm_err *err);

/* The same, at a place (txn_place.h): a host root or a guest reached by
 * run and copy. The functions above are these with {.root = root}. */
int osm_target_transaction_at(const struct osm_planfile *plan, const struct osm_txn_place *pl,
                              const struct osm_ttx_opts *opts, struct osm_ttx_result *res, struct osm_err *err);
int osm_target_finish_at(const struct osm_txn_place *pl, size_t *keys_removed, struct osm_err *err);
int osm_target_progress_at(const struct osm_planfile *plan, const struct osm_txn_place *pl, size_t *done,
                           size_t *pending, struct osm_err *err);
char *osm_target_installed_at(const struct osm_txn_place *pl, struct osm_err *err);

/* "name-E:V-R.A" of a plan NEVRA whose epoch may be left out. Caller frees. */
char *osm_nevra_with_epoch(const char *nevra);
/* "name-V-R.A": how rpm's command line names one package. Caller frees. */
char *osm_nevra_without_epoch(const char *nevra);

#endif
