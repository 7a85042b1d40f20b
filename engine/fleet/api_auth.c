/* api_auth.c: authenticate a signed fleet API request and authorize what
 * its key asks to do (see api_auth.h). */
#include "api_auth.h"

#include <ctype.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "keys.h"
#include "nonce_memory.h"
#include "provider.h"
#include "osm_buf.h"
#include "osm_hash.h"
#include "osm_time.h"

static const char *const role_names[] = {[OSM_ROLE_VIEWER] = "viewer",
                                         [OSM_ROLE_OPERATOR] = "operator",
                                         [OSM_ROLE_ADMIN] = "admin"};

int osm_role_parse(const char *name)
{
    for (int r = OSM_ROLE_VIEWER; r <= OSM_ROLE_ADMIN; r++)
        if (name && strcmp(name, role_names[r]) == 0)
            return r;
    return -1;
}

const char *osm_role_name(enum osm_role r)
{
    return r >= OSM_ROLE_VIEWER && r <= OSM_ROLE_ADMIN ? role_names[r] : "unknown";
}

void osm_principal_free(struct osm_principal *p)
{
    free(p->scope);
    memset(p, 0, sizeof *p);
}

__attribute__((format(printf, 4, 5))) static int fail(struct osm_api_error *e, int status, const char *code,
                                                      const char *fmt, ...)
{
    e->status = status;
    snprintf(e->code, sizeof e->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* The value of header `name` and how many times it was sent. */
static const char *header(const struct osm_acs3_request *rq, const char *name, int *count)
{
    const char *v = NULL;
    *count = 0;
    for (size_t i = 0; i < rq->n_headers; i++) {
        if (rq->headers[i].name && strcasecmp(rq->headers[i].name, name) == 0) {
            if (!v)
                v = rq->headers[i].value ? rq->headers[i].value : "";
            ++*count;
        }
    }
    return v;
}

static int listed(const char *signed_headers, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = signed_headers; p; p = strchr(p, ';'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && (p[n] == ';' || p[n] == '\0'))
            return 1;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly, a real UTC time; -1 otherwise. */
static int parse_date(const char *s, int64_t *out)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof shape - 1)
        return -1;
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return -1;
    struct tm tm = {0};
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = atoi(s + 11);
    tm.tm_min = atoi(s + 14);
    tm.tm_sec = atoi(s + 17);
    struct tm want = tm;
    time_t t = timegm(&tm);
    /* timegm normalises 02-31 to 03-03: a date that moved was not real */
    if (tm.tm_year != want.tm_year || tm.tm_mon != want.tm_mon || tm.tm_mday != want.tm_mday ||
        tm.tm_hour != want.tm_hour || tm.tm_min != want.tm_min || tm.tm_sec != want.tm_sec)
        return -1;
    *out = (int64_t)t;
    return 0;
}

/* A nonce is stored and echoed in messages: bounded, printable, no spaces. */
static int valid_nonce(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* ---- key rows and unsealed secrets, kept in memory ----
 *
 * Unsealing a secret (reading the master key file, AES-256-GCM) on every
 * request cost an eighth of the server's CPU, and reading the key row a
 * twelfth. An entry keeps the row (id, role, scope, sealed text), its
 * secret and the generation of the keys it was read at (use_nonce_gen: a
 * number every key change bumps, read in the transaction that records the
 * request's nonce). A request signed with a cached entry is checked against
 * it; once its nonce is recorded, the entry still serves if the generation
 * is the one cached, else the row is read again: a deleted or disabled key
 * is refused, a changed one is unsealed and the signature checked again.
 * So a key change made before the request's nonce was committed (by this
 * server or another process) is never missed. An entry also serves only
 * while the master key file is the same file, unchanged (one stat). A store
 * without a generation (PostgreSQL) reads the row on every request.
 * Process-wide, behind a mutex: the server runs requests on many threads. */
#define SECRET_CACHE 64

struct cached_secret {
    struct osm_key key;            /* key.id[0] == 0: empty */
    char *master;
    struct stat mst;               /* the master key file when cached */
    char *secret;
    int64_t gen;                   /* the keys' generation the row is known at (-1: none) */
};
static struct cached_secret secret_cache[SECRET_CACHE];
static size_t secret_cache_next; /* the slot to reuse when all are taken */
static pthread_mutex_t secret_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The same key as far as a request is concerned. */
static int same_key(const struct osm_key *a, const struct osm_key *b)
{
    return strcmp(a->id, b->id) == 0 && same(a->role, b->role) && same(a->scope, b->scope) &&
           same(a->sealed_secret, b->sealed_secret) && a->disabled == b->disabled && a->expires == b->expires;
}

static void cached_clear(struct cached_secret *c)
{
    if (c->secret)
        OPENSSL_cleanse(c->secret, strlen(c->secret));
    free(c->secret);
    osm_key_free(&c->key);
    free(c->master);
    memset(c, 0, sizeof *c);
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The cached row and a copy of the secret of key `id`: 1, or 0 when none. */
static int cache_get(const char *id, const char *master, const struct stat *mst, struct osm_key *key, char **secret,
                     int64_t *gen)
{
    int found = 0;
    pthread_mutex_lock(&secret_cache_lock);
    for (size_t i = 0; i < SECRET_CACHE; i++) {
        struct cached_secret *c = &secret_cache[i];
        if (c->key.id[0] && strcmp(c->key.id, id) == 0 && same(c->master, master) && same_file(&c->mst, mst)) {
            osm_key_copy(key, &c->key);
            *secret = osm_xstrdup(c->secret);
            *gen = c->gen;
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&secret_cache_lock);
    return found;
}

static void cache_put(const struct osm_key *k, const char *master, const struct stat *mst, const char *secret,
                      int64_t gen)
{
    pthread_mutex_lock(&secret_cache_lock);
    struct cached_secret *slot = NULL;
    for (size_t i = 0; i < SECRET_CACHE && !slot; i++) /* the key's old entry, else a free one */
        if (secret_cache[i].key.id[0] && strcmp(secret_cache[i].key.id, k->id) == 0)
            slot = &secret_cache[i];
    for (size_t i = 0; i < SECRET_CACHE && !slot; i++)
        if (!secret_cache[i].key.id[0])
            slot = &secret_cache[i];
    if (!slot)
        slot = &secret_cache[secret_cache_next++ % SECRET_CACHE];
    cached_clear(slot);
    osm_key_copy(&slot->key, k);
    slot->mst = *mst;
    slot->master = master ? osm_xstrdup(master) : NULL;
    slot->secret = osm_xstrdup(secret);
    slot->gen = gen;
    pthread_mutex_unlock(&secret_cache_lock);
}

static void cache_forget(const char *id)
{
    pthread_mutex_lock(&secret_cache_lock);
    for (size_t i = 0; i < SECRET_CACHE; i++)
        if (secret_cache[i].key.id[0] && strcmp(secret_cache[i].key.id, id) == 0)
            cached_clear(&secret_cache[i]);
    pthread_mutex_unlock(&secret_cache_lock);
}

/* The key row of `key_id` (enabled) read now and its clear secret (unsealed
 * by keys.c unless `known` is the same row, whose secret is `known_secret`). */
static int key_and_secret(struct osm_store *st, const char *master, const char *key_id, const struct osm_key *known,
                          const char *known_secret, char **secret, struct osm_key *key, struct osm_err *err)
{
    *secret = NULL;
    if (osm_store_get_key(st, key_id, key, err) != 0)
        return -1;
    if (key->disabled) {
        osm_key_free(key);
        return osm_err_set(err, OSM_ENOTFOUND, "key %s is disabled", key_id);
    }
    if (known && known_secret && same_key(known, key)) {
        *secret = osm_xstrdup(known_secret);
        return 0;
    }
    osm_key_free(key);
    return osm_key_secret(st, master, key_id, secret, key, err);
}

static void secret_free(char **secret)
{
    if (*secret) {
        OPENSSL_cleanse(*secret, strlen(*secret));
        free(*secret);
        *secret = NULL;
    }
}

static const char *const required[] = {"host", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce"};

static int authenticate(struct osm_store *st, const char *master_key_path, const struct osm_acs3_request *rq,
                        int64_t now, struct osm_principal *who, int *staged, struct osm_api_error *e)
{
    memset(who, 0, sizeof *who);
    memset(e, 0, sizeof *e);
    int count;
    const char *auth = header(rq, "authorization", &count);
    if (!auth || !*auth)
        return fail(e, 401, "MissingAuthorization",
                    "no Authorization header: every request but GET /healthz is signed with ACS3-HMAC-SHA256");
    if (count > 1)
        return fail(e, 401, "IncompleteSignature", "the Authorization header was sent %d times", count);
    char key_id[64], sh[1024], sig[65];
    struct osm_err err = OSM_ERR_INIT;
    if (osm_acs3_parse_authorization(auth, key_id, sizeof key_id, sh, sizeof sh, sig, &err) != 0)
        return fail(e, 401, "IncompleteSignature", "%s", err.msg);

    /* The request's freshness and uniqueness rest on these being signed. */
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!listed(sh, required[i]))
            return fail(e, 401, "IncompleteSignature", "header %s must be among the SignedHeaders (%s)", required[i],
                        sh);
        if (!header(rq, required[i], &count))
            return fail(e, 401, "IncompleteSignature", "the request has no %s header", required[i]);
        if (count > 1)
            return fail(e, 401, "IncompleteSignature", "header %s was sent %d times", required[i], count);
    }
    for (const char *p = sh; p; p = strchr(p, ';'), p = p ? p + 1 : NULL) {
        size_t n = strcspn(p, ";");
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
        if (!header(rq, name, &count))
            return fail(e, 401, "IncompleteSignature", "signed header %s is not in the request", name);
    }

    char body_sha[65];
    osm_sha256_hex(rq->body ? rq->body : "", rq->body ? rq->body_len : 0, body_sha);
    const char *claimed = header(rq, "x-acs-content-sha256", &count);
    if (strcmp(claimed, body_sha) != 0)
        return fail(e, 401, "SignatureDoesNotMatch", "x-acs-content-sha256 is not the SHA-256 of the body (%s)",
                    body_sha);

    /* The key: from memory when cached (checked again once the nonce is
     * recorded, below), else read and unsealed. */
    char *secret = NULL;
    struct osm_key key = {0};
    int64_t cached_gen = -1;
    struct stat mst;
    int cacheable = master_key_path && stat(master_key_path, &mst) == 0;
    int from_cache = cacheable && cache_get(key_id, master_key_path, &mst, &key, &secret, &cached_gen);
    char want[65];
    if (from_cache) {
        osm_acs3_signature(rq, sh, secret, want);
        if (strlen(want) != 64 || CRYPTO_memcmp(want, sig, 64) != 0) {
            /* Perhaps the key changed: judge by the row as it is. */
            osm_key_free(&key);
            secret_free(&secret);
            from_cache = 0;
        }
    }
    if (!from_cache) {
        if (key_and_secret(st, master_key_path, key_id, NULL, NULL, &secret, &key, &err) != 0) {
            if (err.code == OSM_ENOTFOUND)
                return fail(e, 401, "InvalidAccessKeyId", "access key %s does not exist or is disabled", key_id);
            return fail(e, 500, "InternalError", "access key %s: %s", key_id, err.msg);
        }
        osm_acs3_signature(rq, sh, secret, want);
    }
    if (strlen(want) != 64 || CRYPTO_memcmp(want, sig, 64) != 0) {
        osm_key_free(&key);
        secret_free(&secret);
        char *canonical = osm_acs3_canonical_request(rq, sh);
        if (!canonical)
            return fail(e, 401, "SignatureDoesNotMatch", "the path or query has a malformed %%-escape");
        /* The hash of the canonical request helps a client find which part it
         * canonicalised differently; it reveals nothing of the secret. */
        char hashed[65];
        osm_sha256_hex(canonical, strlen(canonical), hashed);
        free(canonical);
        return fail(e, 401, "SignatureDoesNotMatch",
                    "the signature does not match; the server's string to sign is ACS3-HMAC-SHA256\\n%s", hashed);
    }

    const char *date = header(rq, "x-acs-date", &count);
    int64_t t;
    int rc;
    if (parse_date(date, &t) != 0) {
        rc = fail(e, 401, "InvalidTimeStamp.Format", "x-acs-date '%.40s' is not YYYY-MM-DDTHH:MM:SSZ (UTC)", date);
        goto out;
    }
    int64_t skew = now > t ? now - t : t - now;
    if (skew > OSM_ACS3_MAX_SKEW) {
        rc = fail(e, 401, "InvalidTimeStamp.Expired",
                  "x-acs-date %s is %lld s %s the server's clock; at most %d s are allowed", date, (long long)skew,
                  t < now ? "behind" : "ahead of", OSM_ACS3_MAX_SKEW);
        goto out;
    }
    const char *nonce = header(rq, "x-acs-signature-nonce", &count);
    if (!valid_nonce(nonce)) {
        rc = fail(e, 401, "IncompleteSignature", "x-acs-signature-nonce must be 1 to 128 printable characters");
        goto out;
    }
    /* Remember the nonce as long as its date passes the window (a second
     * more against a boundary replay); after that the window refuses it. */
    int64_t gen = -1;
    if (staged && from_cache &&
        osm_store_stage_nonce(st, nonce, t + OSM_ACS3_MAX_SKEW + 1, now, &key, cached_gen) == 1) {
        /* The request's first write records the nonce and checks the row
         * (the caller settles it before answering). */
        *staged = 1;
        goto authorised;
    }
    int fresh = osm_store_use_nonce_gen(st, key_id, nonce, t + OSM_ACS3_MAX_SKEW + 1, now, &gen, &err);
    if (fresh < 0 && osm_store_full_since()) {
        /* The store has no room for the nonce: reads go on, the nonce kept
         * in memory (a write of the request fails on its own). */
        fresh = osm_nonce_memory_use(key_id, nonce, t + OSM_ACS3_MAX_SKEW + 1, now);
        gen = -1;
        if (fresh < 0) {
            rc = fail(e, 507, "InsufficientStorage", "the state store is out of space and too many requests came "
                      "meanwhile: %s", err.msg);
            goto out;
        }
    } else if (fresh == 1 && osm_nonce_memory_seen(key_id, nonce, now)) {
        fresh = 0; /* recorded in memory while the store was full */
    }
    if (fresh < 0) {
        rc = fail(e, 500, "InternalError", "recording the request nonce: %s", err.msg);
        goto out;
    }
    if (fresh == 0) {
        rc = fail(e, 401, "SignatureNonceUsed", "nonce %s was already used with key %s", nonce, key_id);
        goto out;
    }
    /* The row as of the nonce's commit: unchanged since the entry was
     * cached when the generation is the same, else read again. A row read
     * now is at least as new as `gen`, so it may be cached under it. */
    if (!from_cache || gen < 0 || gen != cached_gen) {
        struct osm_key now_key = {0};
        char *now_secret = NULL;
        if (key_and_secret(st, master_key_path, key_id, &key, secret, &now_secret, &now_key, &err) != 0) {
            rc = err.code == OSM_ENOTFOUND
                     ? fail(e, 401, "InvalidAccessKeyId", "access key %s does not exist or is disabled", key_id)
                     : fail(e, 500, "InternalError", "access key %s: %s", key_id, err.msg);
            goto out;
        }
        int changed = !same_key(&key, &now_key);
        osm_key_free(&key);
        secret_free(&secret);
        key = now_key;
        secret = now_secret;
        if (changed) {
            osm_acs3_signature(rq, sh, secret, want);
            if (strlen(want) != 64 || CRYPTO_memcmp(want, sig, 64) != 0) {
                rc = fail(e, 401, "SignatureDoesNotMatch", "access key %s changed: the signature does not match",
                          key_id);
                goto out;
            }
        }
        if (cacheable && (changed || gen != cached_gen || !from_cache))
            cache_put(&key, master_key_path, &mst, secret, gen);
    }

authorised:;
    if (key.expires > 0 && now >= key.expires) {
        char t[32];
        rc = fail(e, 401, "InvalidAccessKeyId.Expired", "access key %s expired at %s", key_id,
                  osm_time_iso(key.expires, t));
        goto out;
    }
    int role = osm_role_parse(key.role);
    if (role < 0) {
        rc = fail(e, 500, "InternalError", "access key %s has an unknown role '%s'", key_id, key.role ? key.role : "");
        goto out;
    }
    snprintf(who->key_id, sizeof who->key_id, "%s", key_id);
    who->role = (enum osm_role)role;
    who->scope = key.scope ? osm_xstrdup(key.scope) : NULL;
    rc = 0;
out:
    osm_key_free(&key);
    secret_free(&secret);
    return rc;
}

int osm_api_authenticate(struct osm_store *st, const char *master_key_path, const struct osm_acs3_request *rq,
                         int64_t now, struct osm_principal *who, struct osm_api_error *e)
{
    return authenticate(st, master_key_path, rq, now, who, NULL, e);
}

int osm_api_authenticate_staged(struct osm_store *st, const char *master_key_path, const struct osm_acs3_request *rq,
                                int64_t now, struct osm_principal *who, int *staged, struct osm_api_error *e)
{
    *staged = 0;
    int rc = authenticate(st, master_key_path, rq, now, who, staged, e);
    if (rc != 0 && *staged) { /* refused after staging (an unknown role): record the nonce anyway */
        struct osm_err err = OSM_ERR_INIT;
        osm_store_settle_nonce(st, &err);
        *staged = 0;
    }
    return rc;
}

int osm_api_settle_nonce(struct osm_store *st, const char *key_id, struct osm_api_error *e)
{
    struct osm_err err = OSM_ERR_INIT;
    switch (osm_store_settle_nonce(st, &err)) {
    case OSM_NONCE_FRESH:
        return 0;
    case OSM_NONCE_USED:
        return fail(e, 401, "SignatureNonceUsed", "the request's nonce was already used with key %s; nothing was done",
                    key_id);
    case OSM_NONCE_KEY_CHANGED:
        cache_forget(key_id);
        return fail(e, 401, "InvalidAccessKeyId.Changed",
                    "access key %s changed while the request was served; nothing was done: sign it again", key_id);
    default:
        if (osm_store_full_since())
            return fail(e, 507, "InsufficientStorage",
                        "the state store is out of space; nothing was changed (free space on its file system: osmig "
                        "goes on by itself): %s", err.msg);
        return fail(e, 500, "InternalError", "recording the request nonce: %s", err.msg);
    }
}

static const char *action_name(enum osm_api_action act)
{
    switch (act) {
    case OSM_ACT_READ:
        return "read";
    case OSM_ACT_SUBMIT:
        return "submit jobs and assessments";
    case OSM_ACT_CONTROL:
        return "control tasks";
    case OSM_ACT_ADMIN:
        return "manage keys";
    }
    return "act";
}

/* A path as a canonical instance names it: absolute, no empty, "." or ".."
 * segment, no trailing slash ("/" alone is fine). */
static int plain_path(const char *p)
{
    if (p[0] != '/')
        return 0;
    if (strcmp(p, "/") == 0)
        return 1;
    for (const char *seg = p + 1;;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        if (!end)
            return 1;
        seg = end + 1;
    }
}

static char *unescape(const char *s, size_t n)
{
    char *o = osm_xmalloc(n + 1), *w = o;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2]) &&
            sscanf(s + i + 1, "%2x", &v) == 1) {
            *w++ = (char)v;
            i += 2;
        } else {
            *w++ = s[i];
        }
    }
    *w = '\0';
    return o;
}

/* Lexically, without touching the file system: does SCOPE cover every path
 * of URI (a stored task's instance: canonical since it was created)?
 * SCHEME:PATH[?disk=PATH&disk=PATH...], each path %-decoded, plain, and
 * "SCHEME:PATH" matching the pattern. On a refusal *bad is what was not
 * covered (caller frees). */
int osm_api_scope_covers(const char *scope, const char *uri, char **bad)
{
    if (bad)
        *bad = NULL;
    if (!scope)
        return 1;
    const char *colon = uri ? strchr(uri, ':') : NULL;
    if (!colon) {
        if (bad)
            *bad = osm_xstrdup(uri ? uri : "");
        return 0;
    }
    const char *p = colon + 1;
    int first = 1;
    while (p) {
        const char *amp = first ? strchr(p, '?') : strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        const char *val = p;
        if (!first) {
            if (n < 5 || strncmp(p, "disk=", 5) != 0) {
                if (bad)
                    *bad = osm_xstrdup(uri);
                return 0;
            }
            val += 5, n -= 5;
        }
        char *path = unescape(val, n);
        char *name = osm_xasprintf("%.*s:%s", (int)(colon - uri), uri, path);
        int ok = plain_path(path) && fnmatch(scope, name, 0) == 0;
        free(path);
        if (!ok) {
            if (bad)
                *bad = name;
            else
                free(name);
            return 0;
        }
        free(name);
        first = 0;
        p = amp ? amp + 1 : NULL;
    }
    return 1;
}

static int need_role(const struct osm_principal *who, enum osm_api_action act, struct osm_api_error *e)
{
    memset(e, 0, sizeof *e);
    enum osm_role need = act == OSM_ACT_READ ? OSM_ROLE_VIEWER : act == OSM_ACT_ADMIN ? OSM_ROLE_ADMIN
                                                                                        : OSM_ROLE_OPERATOR;
    if (who->role < need)
        return fail(e, 403, "Forbidden.Role", "key %s is a %s key: it may not %s (that needs %s)", who->key_id,
                    osm_role_name(who->role), action_name(act), osm_role_name(need));
    return 0;
}

int osm_api_authorize(const struct osm_principal *who, enum osm_api_action act, const char *instance,
                      struct osm_api_error *e)
{
    /* An instance is judged path by path, never by its text: every path it
     * names (root, each disk) must be covered, and a path spelled with
     * "..", "." or "//" never is. */
    if (instance)
        return osm_api_authorize_named(who, act, instance, e);
    return need_role(who, act, e);
}

static int scope_refusal(const struct osm_principal *who, enum osm_api_action act, const char *instance,
                         struct osm_api_error *e)
{
    if (need_role(who, act, e) != 0)
        return -1;
    char *bad = NULL;
    if (!instance || who->role == OSM_ROLE_ADMIN || !who->scope || osm_api_scope_covers(who->scope, instance, &bad))
        return 0;
    int rc = strcmp(bad, instance) == 0
                 ? fail(e, 403, "Forbidden.Instance", "instance %s is outside the scope '%s' of key %s", instance,
                        who->scope, who->key_id)
                 : fail(e, 403, "Forbidden.Instance", "instance %s: %s is outside the scope '%s' of key %s", instance,
                        bad, who->scope, who->key_id);
    free(bad);
    return rc;
}

int osm_api_authorize_named(const struct osm_principal *who, enum osm_api_action act, const char *instance,
                            struct osm_api_error *e)
{
    return scope_refusal(who, act, instance, e);
}

int osm_api_authorize_instance(const struct osm_principal *who, enum osm_api_action act,
                               const struct osm_instance *inst, const char *as_given, struct osm_api_error *e)
{
    if (need_role(who, act, e) != 0)
        return -1;
    if (who->role == OSM_ROLE_ADMIN || !who->scope)
        return 0;
    char **names = NULL;
    size_t n = osm_instance_names(inst, &names);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (fnmatch(who->scope, names[i], 0) != 0)
            rc = fail(e, 403, "Forbidden.Instance", "instance %s is %s, whose %s is outside the scope '%s' of key %s",
                      as_given, inst->uri, names[i], who->scope, who->key_id);
    osm_instance_names_free(names, n);
    return rc;
}
