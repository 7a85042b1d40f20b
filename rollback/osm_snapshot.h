/* osm_snapshot: snapshot sets of every disk of an instance, and restore.
 *
 * A set is one snapshot of all disks of an instance, kept in a store (a
 * directory, never inside a disk). Tree disks go into a content-addressed
 * store of zstd chunks named by their SHA-256, kept many to a pack file and
 * shared by every set; raw images are chunked like files; qcow2 images get
 * an internal snapshot.
 *
 * Contract:
 *  - create: a set becomes "ready" only once all its packs and indexes are
 *    complete and durable (syncfs, then set.json renamed to state ready). A create that
 *    fails removes what it wrote; one that is killed leaves a set in state
 *    "creating" that list shows as "failed" and delete removes.
 *  - restore: verifies every chunk it needs before changing any disk, then
 *    makes each disk equal to the set (content and metadata), then checks the
 *    tree digest against the one recorded at create. Idempotent: a killed
 *    restore can simply be run again.
 *  - delete: marks the set "deleting", removes it, then collects the chunks
 *    no remaining set references (whole dead packs removed, mostly-dead
 *    packs rewritten: snap_gc.h).
 * Every function returns 0 (or a pointer) on success and -1 (NULL) with `err`
 * filled on failure; errors name the set, the disk and the file. */
#ifndef OSM_SNAPSHOT_H
#define OSM_SNAPSHOT_H

#include <stdint.h>

#include "osm_error.h"
#include "provider.h"
#include "snapset.h"

void osm_snap_info_free(struct osm_snap_info *info);
void osm_snap_list_free(struct osm_snap_info *infos, size_t n);

/* Create a set of every disk of `inst`; `id_out` receives its id. */
int osm_snap_create(struct osm_instance *inst, const char *label, const struct osm_snap_opts *opts,
                    char id_out[64], struct osm_err *err);
/* Sets of `inst`, oldest first, with space accounting. */
int osm_snap_list(struct osm_instance *inst, const struct osm_snap_opts *opts, struct osm_snap_info **out,
                  size_t *n_out, struct osm_err *err);
/* Check every chunk and index of a set; a corrupt one is named in `err` and
 * the set is marked corrupt. */
int osm_snap_verify(struct osm_instance *inst, const char *id, const struct osm_snap_opts *opts,
                    struct osm_err *err);
/* Put every disk back as it was in the set. `digest_ok` (may be NULL) is set
 * to 1 when every tree's digest after restore equals the recorded one. */
int osm_snap_restore(struct osm_instance *inst, const char *id, const struct osm_snap_opts *opts, int *digest_ok,
                     struct osm_err *err);
int osm_snap_delete(struct osm_instance *inst, const char *id, const struct osm_snap_opts *opts,
                    struct osm_err *err);
/* Digest (content + metadata) of a directory tree as create would record it. */
int osm_snap_tree_digest(const char *path, char hex[65], struct osm_err *err);

#endif
