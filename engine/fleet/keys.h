/* keys: API access keys. An id ("OSM" + 20 base32 chars) and a secret (32
 * random bytes, base64url) shown once at creation. The store keeps the secret
 * only sealed with AES-256-GCM under a master key (a 32-byte file, mode 0600,
 * made on first use at STATE_DIR/master.key or --master-key FILE); HMAC
 * verification needs the secret itself, so a one-way hash cannot be used.
 * `osmig key create --role viewer|operator|admin [--scope PATTERN]`,
 * `osmig key list`, `osmig key delete ID`, `disable`, `enable`, `expire`,
 * `rotate` (cmd_key.c). A key past its expiry time is refused like a
 * disabled one. */
#ifndef OSM_KEYS_H
#define OSM_KEYS_H

#include "osm_error.h"
#include "store.h"

/* Create a key; writes the id and the clear secret (caller frees *secret). */
int osm_key_create(struct osm_store *st, const char *master_key_path, const char *role, const char *scope,
                   char id_out[64], char **secret, struct osm_err *err);
/* The clear secret of key `id` (caller frees), OSM_ENOTFOUND when none or
 * disabled, OSM_EINPUT when it cannot be unsealed (wrong master key). */
int osm_key_secret(struct osm_store *st, const char *master_key_path, const char *id, char **secret,
                   struct osm_key *key_out, struct osm_err *err);
/* Can `scope` match an instance? OSM_EUSAGE naming why not: a pattern that
 * is not "dir:/..." or whose literal text no canonical name holds ("//",
 * "/./", "/../", a trailing '/'), or not printable, empty or too long. */
int osm_key_scope_check(const char *scope, struct osm_err *err);
/* A new secret for key `id` (the old one stops working at once); the clear
 * secret in *secret (caller frees). */
int osm_key_rotate(struct osm_store *st, const char *master_key_path, const char *id, char **secret,
                   struct osm_err *err);
/* Set disabled (0/1; -1 keeps it) and expires (unix time, 0 never; -1
 * keeps it) of key `id`. OSM_ENOTFOUND when none. */
int osm_key_set_state(struct osm_store *st, const char *id, int disabled, int64_t expires, struct osm_err *err);
/* STATE_DIR/master.key unless `path` is given (caller frees). */
char *osm_master_key_path(const char *state_dir, const char *path);

#endif
