/* nonce_memory.c: an open-addressing table of nonce hashes with their
 * expiry (nonce_memory.h), one lock. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nonce_memory.h"

#define SLOTS (1u << 18) /* 4 MiB; the SQLite store's own window holds about as many */

struct slot {
    uint64_t h;     /* 0: free */
    int64_t expires;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *table;
static atomic_size_t used;

static uint64_t hash(const char *key_id, const char *nonce)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over "key_id\0nonce" */
    for (const char *p = key_id;; p++) {
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        if (!*p)
            break;
    }
    for (const char *p = nonce; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h ? h : 1;
}

/* The slot of h, or the first free or expired one on its probe path. */
static struct slot *find(uint64_t h, int64_t now, int *found)
{
    struct slot *reuse = NULL;
    *found = 0;
    for (size_t i = 0, at = h & (SLOTS - 1); i < SLOTS; i++, at = (at + 1) & (SLOTS - 1)) {
        struct slot *s = &table[at];
        if (s->h == h && s->expires >= now) {
            *found = 1;
            return s;
        }
        if (!s->h)
            return reuse ? reuse : s;
        if (!reuse && s->expires < now)
            reuse = s;
    }
    return reuse;
}

int osm_nonce_memory_use(const char *key_id, const char *nonce, int64_t expires, int64_t now)
{
    uint64_t h = hash(key_id, nonce);
    pthread_mutex_lock(&lock);
    if (!table)
        table = calloc(SLOTS, sizeof *table);
    int found = 0, rc = -1;
    struct slot *s = table ? find(h, now, &found) : NULL;
    if (found) {
        rc = 0;
    } else if (s && atomic_load(&used) < SLOTS * 3 / 4) {
        if (!s->h)
            atomic_fetch_add(&used, 1);
        s->h = h;
        s->expires = expires;
        rc = 1;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int osm_nonce_memory_seen(const char *key_id, const char *nonce, int64_t now)
{
    if (!atomic_load_explicit(&used, memory_order_relaxed))
        return 0;
    uint64_t h = hash(key_id, nonce);
    pthread_mutex_lock(&lock);
    int found = 0;
    find(h, now, &found);
    pthread_mutex_unlock(&lock);
    return found;
}
