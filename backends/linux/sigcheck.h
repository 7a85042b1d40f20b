/* sigcheck: verify RPM signatures against the target's keys only.
 *
 * The keyring is private: built from the plan's key files with librpm's
 * rpmPubkey/rpmKeyring API, never the host's or the root's rpmdb keys, so a
 * package signed by a key the source system happened to trust is refused.
 * A package passes only when it carries an OpenPGP signature that verifies
 * with one of those keys; then the whole package is verified as `rpmkeys -K`
 * does (header and payload digests, signatures), so a damaged payload is
 * refused at staging even when the repository metadata agrees with it. */
#ifndef OSM_SIGCHECK_H
#define OSM_SIGCHECK_H

#include <stddef.h>

#include "osm_error.h"

struct osm_keyring;

/* Load ASCII-armored public key files (local paths). Each file's first key
 * block is used, with its subkeys. */
int osm_keyring_load(const char *const *key_files, size_t n, struct osm_keyring **out, struct osm_err *err);
size_t osm_keyring_count(const struct osm_keyring *kr);
void osm_keyring_free(struct osm_keyring *kr);

/* 0 when `path` is signed by a key of `kr`; -1 with err = "LABEL: reason"
 * (unsigned, signed with unknown key ID ..., bad signature, bad digest). */
int osm_sigcheck_package(struct osm_keyring *kr, const char *path, const char *label, struct osm_err *err);

#endif
