/* nonce_memory: request nonces kept in this process's memory while the
 * store cannot record them (out of space: osm_store_full_since), so that
 * signed reads go on and a replay is still refused, also after the store
 * writes again (the window of a nonce is its date's: minutes). */
#ifndef OSM_NONCE_MEMORY_H
#define OSM_NONCE_MEMORY_H

#include <stdint.h>

/* Record the nonce of `key_id` until `expires`: 1 new, 0 seen before (a
 * replay), -1 the table is full (too many requests in the window). */
int osm_nonce_memory_use(const char *key_id, const char *nonce, int64_t expires, int64_t now);
/* Was it recorded here (and not expired)? 1 yes, 0 no; cheap while empty. */
int osm_nonce_memory_seen(const char *key_id, const char *nonce, int64_t now);

#endif
