/* store_nonce.c: request nonces (store.h): each recorded once, a replay
 * refused until it expires, with the generation of the access keys as of
 * the record; and, where the driver shares transactions among writes
 * (OSM_SQL_CAP_STAGE_NONCE), a nonce staged to ride along with the
 * request's write: one commit per request instead of two.
 *
 * A nonce need not survive a crash of the machine (the driver commits it
 * without waiting for the disk where it can): only the last few could be
 * lost, and the date window bounds their replay (docs/auth.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "osm_buf.h"
#include "osm_hash.h"
#include "store.h"
#include "store_sql.h"

/* How often a handle forgets expired nonces: a DELETE on every request
 * cost as much as the insert; the record treats an expired row as new, so
 * forgetting only bounds the table's size. */
#define NONCE_PURGE_EVERY 60
#define NONCE_PENDING (-2)

/* Two nonces collide once in 2^64: a fresh nonce is taken for a replay
 * about never. */
int64_t osm_nonce_hash(const char *key_id, const char *nonce)
{
    size_t lk = strlen(key_id), ln = strlen(nonce);
    char *buf = osm_xmalloc(lk + ln + 1);
    memcpy(buf, key_id, lk + 1);
    memcpy(buf + lk + 1, nonce, ln);
    char hex[65];
    osm_sha256_hex(buf, lk + 1 + ln, hex);
    free(buf);
    hex[16] = 0;
    return (int64_t)strtoull(hex, NULL, 16);
}

struct nonce_args {
    struct osm_store_impl *impl;
    const char *key_id, *nonce;
    int64_t expires, now;
    int64_t *keys_gen; /* NULL: not asked */
};

/* 1 new, 0 a replay, -1 err. */
static int use_nonce_w(struct osm_sql *c, void *arg, struct osm_err *err)
{
    const struct nonce_args *a = arg;
    const struct osm_sql_dialect *d = c->drv->dialect;
    struct osm_sql_stmt *s;
    if (a->now >= a->impl->next_nonce_purge) {
        if (!(s = c->drv->prepare(c, d->nonce_purge, err)))
            return -1;
        c->drv->bind_i64(s, 5, a->now);
        int rc = c->drv->step(s, "forgetting expired nonces", err);
        c->drv->finish(s);
        if (rc < 0)
            return -1;
        a->impl->next_nonce_purge = a->now + NONCE_PURGE_EVERY;
    }
    if (!(s = c->drv->prepare(c, d->nonce_record, err)))
        return -1;
    c->drv->bind_text(s, 1, a->key_id);
    c->drv->bind_text(s, 2, a->nonce);
    c->drv->bind_i64(s, 3, osm_nonce_hash(a->key_id, a->nonce));
    c->drv->bind_i64(s, 4, a->expires);
    c->drv->bind_i64(s, 5, a->now);
    int rc = c->drv->step(s, "recording a nonce", err);
    c->drv->finish(s);
    if (rc < 0)
        return -1;
    int fresh = c->drv->changes(c) == 1;
    if (a->keys_gen && d->keys_generation) {
        /* Read in the write transaction: a key change committed before it
         * is seen; keys change outside shared transactions only, so one
         * read serves the whole transaction. */
        if (c->memo_tx != c->drv->tx_seq(c) || c->memo < 0) {
            if (!(s = c->drv->prepare(c, d->keys_generation, err)))
                return -1;
            rc = c->drv->step(s, "reading the generation of the access keys", err);
            c->memo = rc == OSM_SQL_ROW ? c->drv->col_i64(s, 0) : -1;
            c->drv->finish(s);
            if (rc != OSM_SQL_ROW)
                return rc < 0 ? -1 : osm_err_set(err, OSM_EIO, "state store %s: no generation of the access keys",
                                                 c->location);
            c->memo_tx = c->drv->tx_seq(c);
        }
        *a->keys_gen = c->memo;
    }
    return fresh;
}

int osm_store_use_nonce(struct osm_store *st, const char *key_id, const char *nonce, int64_t expires, int64_t now,
                        struct osm_err *err)
{
    struct nonce_args a = {st->impl, key_id, nonce, expires, now, NULL};
    return osm_store_write(st, use_nonce_w, &a, 0, err);
}

int osm_store_use_nonce_gen(struct osm_store *st, const char *key_id, const char *nonce, int64_t expires, int64_t now,
                            int64_t *keys_gen, struct osm_err *err)
{
    *keys_gen = -1;
    struct nonce_args a = {st->impl, key_id, nonce, expires, now, keys_gen};
    return osm_store_write(st, use_nonce_w, &a, 0, err);
}

/* ---- a nonce staged for the next write ---- */

/* Is key `k` still the row in the store? 1 yes, 0 no (changed or gone). */
static int key_row_is(struct osm_sql *c, const struct osm_key *k, struct osm_err *err)
{
    struct osm_sql_stmt *s = c->drv->prepare(c, "SELECT role, scope, sealed_secret, disabled, expires FROM api_keys WHERE id=?1", err);
    if (!s)
        return -1;
    c->drv->bind_text(s, 1, k->id);
    int rc = c->drv->step(s, "reading an access key", err);
    int same = 0;
    if (rc == OSM_SQL_ROW) {
        const char *role = c->drv->col_text(s, 0), *scope = c->drv->col_text(s, 1), *sealed = c->drv->col_text(s, 2);
        same = role && k->role && strcmp(role, k->role) == 0 &&
               (scope && k->scope ? strcmp(scope, k->scope) == 0 : !scope == !k->scope) && sealed && k->sealed_secret &&
               strcmp(sealed, k->sealed_secret) == 0 && c->drv->col_i64(s, 3) == k->disabled &&
               c->drv->col_i64(s, 4) == k->expires;
    }
    c->drv->finish(s);
    return rc < 0 ? -1 : same;
}

static int exec_simple(struct osm_sql *c, const char *sql, const char *what, struct osm_err *err)
{
    struct osm_sql_stmt *s = c->drv->prepare(c, sql, err);
    if (!s)
        return -1;
    int rc = c->drv->step(s, what, err);
    c->drv->finish(s);
    return rc < 0 ? -1 : 0;
}

struct staged_args {
    struct osm_store_impl *impl;
    osm_sql_write_fn fn; /* NULL: the nonce alone */
    void *arg;
    int rc;              /* fn's */
};

/* The nonce, then the write in a savepoint of its own: a write that fails
 * is undone, its nonce stays recorded (a replay must not find it new). */
static int staged_w(struct osm_sql *c, void *arg, struct osm_err *err)
{
    struct staged_args *a = arg;
    struct osm_staged_nonce *n = &a->impl->nonce;
    int64_t gen = -1;
    struct nonce_args na = {a->impl, n->key.id, n->nonce, n->expires, n->now, &gen};
    int fresh = use_nonce_w(c, &na, err);
    if (fresh < 0)
        return -1;
    if (!fresh) {
        n->outcome = OSM_NONCE_USED;
        return 0;
    }
    if (gen != n->keys_gen) {
        /* A key changed since the request's row was read: is it this one? */
        int same = key_row_is(c, &n->key, err);
        if (same < 0)
            return -1;
        if (!same) {
            n->outcome = OSM_NONCE_KEY_CHANGED;
            return 0;
        }
    }
    n->outcome = OSM_NONCE_FRESH;
    if (!a->fn)
        return 0;
    if (exec_simple(c, "SAVEPOINT staged", "beginning a write after its nonce", err) != 0)
        return -1;
    a->rc = a->fn(c, a->arg, err);
    if (!c->drv->in_transaction(c)) /* the transaction ended: it fails, the nonce with it */
        return -1;
    if (a->rc < 0 && exec_simple(c, "ROLLBACK TO staged", "ending a write after its nonce", err) != 0)
        return -1;
    return exec_simple(c, "RELEASE staged", "ending a write after its nonce", err);
}

static int staged_write(struct osm_store *st, osm_sql_write_fn fn, void *arg, int durable, struct osm_err *err)
{
    struct osm_store_impl *impl = st->impl;
    struct osm_staged_nonce *n = &impl->nonce;
    if (n->outcome == OSM_NONCE_FRESH)
        return fn ? impl->drv->write(impl->sql, fn, arg, durable, err) : 0;
    if (n->outcome == NONCE_PENDING) {
        struct staged_args a = {impl, fn, arg, 0};
        if (impl->drv->write(impl->sql, staged_w, &a, durable, err) < 0) {
            n->outcome = -1; /* nothing of it was kept */
            n->err = *err;
            return -1;
        }
        if (n->outcome == OSM_NONCE_FRESH)
            return a.rc;
    }
    if (n->outcome == -1) {
        *err = n->err;
        return -1;
    }
    return osm_err_set(err, OSM_EFAIL, "state store %s: not written: the request's nonce %s", st->location,
                       n->outcome == OSM_NONCE_USED ? "was used before" : "came with an access key that has changed");
}

static void (*write_observer)(void *user, double seconds);
static void *write_observer_user;

void osm_store_set_write_observer(void (*fn)(void *user, double seconds), void *user)
{
    write_observer = fn;
    write_observer_user = user;
}

int osm_store_write(struct osm_store *st, osm_sql_write_fn fn, void *arg, int durable, struct osm_err *err)
{
    struct timespec t0, t1;
    if (write_observer)
        clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = st->impl->nonce.staged ? staged_write(st, fn, arg, durable, err)
                                    : st->impl->drv->write(st->impl->sql, fn, arg, durable, err);
    if (rc >= 0)
        osm_store_space_ok();
    if (write_observer) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        write_observer(write_observer_user,
                       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
    return rc;
}

void osm_store_nonce_clear(struct osm_store *st)
{
    struct osm_staged_nonce *n = &st->impl->nonce;
    free(n->nonce);
    osm_key_free(&n->key);
    memset(n, 0, sizeof *n);
}

int osm_store_stage_nonce(struct osm_store *st, const char *nonce, int64_t expires, int64_t now,
                          const struct osm_key *key, int64_t keys_gen)
{
    if (!(st->impl->drv->caps & OSM_SQL_CAP_STAGE_NONCE) || keys_gen < 0)
        return 0;
    struct osm_staged_nonce *n = &st->impl->nonce;
    osm_store_nonce_clear(st);
    n->staged = 1;
    n->outcome = NONCE_PENDING;
    n->nonce = osm_xstrdup(nonce);
    n->expires = expires;
    n->now = now;
    n->keys_gen = keys_gen;
    osm_key_copy(&n->key, key);
    return 1;
}

int osm_store_settle_nonce(struct osm_store *st, struct osm_err *err)
{
    struct osm_staged_nonce *n = &st->impl->nonce;
    if (!n->staged)
        return OSM_NONCE_FRESH;
    if (n->outcome == NONCE_PENDING) {
        struct osm_err ignore = OSM_ERR_INIT;
        staged_write(st, NULL, NULL, 0, &ignore);
    }
    int rc = n->outcome;
    if (rc == -1)
        *err = n->err;
    osm_store_nonce_clear(st);
    return rc;
}
