/* keys.c: API access keys (see keys.h): random ids and secrets, the master
 * key file, and secrets sealed with AES-256-GCM before they reach the store.
 *
 * Sealed form: "v1:" base64url(12-byte nonce) ":" base64url(ciphertext + 16-byte
 * tag). The associated data binds the sealed secret to its key's id, role and
 * scope: a record whose role or scope was changed in the database, or a sealed
 * secret copied to another key, no longer unseals. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_auth.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "providers/provider.h"

#define MASTER_KEY_LEN 32
#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN 16
#define SECRET_LEN 32
#define MAX_SCOPE 1024

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding. */
static void add_b64url(struct osm_buf *b, const unsigned char *d, size_t n)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];
        char o[4] = {b64url[v >> 18], b64url[(v >> 12) & 63], b64url[(v >> 6) & 63], b64url[v & 63]};
        osm_buf_add(b, o, 4);
    }
    if (n - i == 1) {
        unsigned v = (unsigned)d[i] << 16;
        char o[2] = {b64url[v >> 18], b64url[(v >> 12) & 63]};
        osm_buf_add(b, o, 2);
    } else if (n - i == 2) {
        unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8;
        char o[3] = {b64url[v >> 18], b64url[(v >> 12) & 63], b64url[(v >> 6) & 63]};
        osm_buf_add(b, o, 3);
    }
}

/* Decode base64url without padding into a new buffer; -1 when malformed. */
static int b64url_decode(const char *s, size_t len, unsigned char **out, size_t *out_len)
{
    if (len % 4 == 1)
        return -1;
    unsigned char *d = osm_xmalloc(len * 3 / 4 + 1);
    size_t n = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = s[i] ? strchr(b64url, s[i]) : NULL;
        if (!p) {
            free(d);
            return -1;
        }
        v = (v << 6) | (unsigned)(p - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            d[n++] = (unsigned char)(v >> bits);
            v &= (1u << bits) - 1;
        }
    }
    *out = d;
    *out_len = n;
    return 0;
}

char *osm_master_key_path(const char *state_dir, const char *path)
{
    if (path && *path)
        return osm_xstrdup(path);
    char *dir = osm_store_state_dir(state_dir);
    char *p = osm_path_join(dir, "master.key");
    free(dir);
    return p;
}

/* Read the master key; with `create`, make it (32 random bytes, 0600) when
 * the file does not exist. A key readable by others is refused: it protects
 * every secret. */
static int load_master_key(const char *path, int create, unsigned char key[MASTER_KEY_LEN], struct osm_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        unsigned char fresh[MASTER_KEY_LEN];
        if (RAND_bytes(fresh, sizeof fresh) != 1)
            return osm_err_set(err, OSM_EFAIL, "master key %s: no random bytes", path);
        char *dir = osm_xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            if (osm_mkdir_p(dir, 0700, err) != 0) {
                free(dir);
                OPENSSL_cleanse(fresh, sizeof fresh);
                osm_err_prefix(err, "master key %s", path);
                return -1;
            }
        }
        free(dir);
        /* O_EXCL: two processes creating it at once must not both win. */
        int wfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (wfd >= 0) {
            ssize_t w = write(wfd, fresh, sizeof fresh);
            int ok = w == (ssize_t)sizeof fresh && fsync(wfd) == 0;
            int saved = errno;
            close(wfd);
            OPENSSL_cleanse(fresh, sizeof fresh);
            if (!ok) {
                unlink(path);
                errno = saved;
                return osm_err_errno(err, "master key %s: cannot write it", path);
            }
        } else {
            OPENSSL_cleanse(fresh, sizeof fresh);
            if (errno != EEXIST)
                return osm_err_errno(err, "master key %s: cannot create it", path);
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        if (errno == ENOENT)
            return osm_err_set(err, OSM_ENOTFOUND, "master key %s does not exist", path);
        return osm_err_errno(err, "master key %s: cannot open it", path);
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return osm_err_errno(err, "master key %s", path);
    }
    if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
        close(fd);
        return osm_err_set(err, OSM_EINPUT, "master key %s: must be a regular file of mode 0600 (it is %04o)", path,
                           (unsigned)(sb.st_mode & 07777));
    }
    unsigned char buf[MASTER_KEY_LEN + 1];
    ssize_t n = read(fd, buf, sizeof buf);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        return osm_err_errno(err, "master key %s: cannot read it", path);
    }
    if (n != MASTER_KEY_LEN) {
        OPENSSL_cleanse(buf, sizeof buf);
        return osm_err_set(err, OSM_EINPUT, "master key %s: must hold exactly %d bytes", path, MASTER_KEY_LEN);
    }
    memcpy(key, buf, MASTER_KEY_LEN);
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}

static void add_aad(struct osm_buf *b, const char *id, const char *role, const char *scope)
{
    osm_buf_adds(b, "osmig-key-v1");
    osm_buf_addc(b, '\0');
    osm_buf_adds(b, id);
    osm_buf_addc(b, '\0');
    osm_buf_adds(b, role);
    osm_buf_addc(b, '\0');
    if (scope) /* "" and NULL differ: NULL has no byte at all */
        osm_buf_add(b, scope, strlen(scope) + 1);
}

/* AES-256-GCM of `n` bytes of `in` into `out`, the key record's id, role
 * and scope as associated data: sealing (enc 1) writes the tag after the n
 * bytes of out; opening (enc 0) checks the tag that follows the n bytes of
 * in. 1 when it worked (and, opening, the tag held). */
static int gcm(int enc, const unsigned char key[MASTER_KEY_LEN], const unsigned char *nonce, const char *id,
               const char *role, const char *scope, const unsigned char *in, size_t n, unsigned char *out)
{
    struct osm_buf aad;
    osm_buf_init(&aad);
    add_aad(&aad, id, role, scope);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    int ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_LEN, NULL) == 1 &&
             EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) == 1 &&
             EVP_CipherUpdate(c, NULL, &len, (const unsigned char *)aad.s, (int)aad.len) == 1 &&
             EVP_CipherUpdate(c, out, &len, in, (int)n) == 1 &&
             (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, (void *)(in + n)) == 1) &&
             EVP_CipherFinal_ex(c, out + len, &fin) == 1 && (size_t)(len + fin) == n &&
             (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, out + n) == 1);
    EVP_CIPHER_CTX_free(c);
    osm_buf_free(&aad);
    return ok;
}

/* AES-256-GCM of `secret`; the sealed text (caller frees) or NULL. */
static char *seal(const unsigned char key[MASTER_KEY_LEN], const char *id, const char *role, const char *scope,
                  const char *secret, struct osm_err *err)
{
    unsigned char nonce[GCM_NONCE_LEN];
    if (RAND_bytes(nonce, sizeof nonce) != 1) {
        osm_err_set(err, OSM_EFAIL, "sealing key %s: no random bytes", id);
        return NULL;
    }
    size_t plen = strlen(secret);
    unsigned char *ct = osm_xmalloc(plen + GCM_TAG_LEN);
    int ok = gcm(1, key, nonce, id, role, scope, (const unsigned char *)secret, plen, ct);
    if (!ok) {
        free(ct);
        osm_err_set(err, OSM_EFAIL, "sealing key %s: AES-256-GCM failed", id);
        return NULL;
    }
    struct osm_buf out;
    osm_buf_init(&out);
    osm_buf_adds(&out, "v1:");
    add_b64url(&out, nonce, sizeof nonce);
    osm_buf_addc(&out, ':');
    add_b64url(&out, ct, plen + GCM_TAG_LEN);
    free(ct);
    return osm_buf_detach(&out);
}

/* The clear secret of a sealed text (caller frees), or NULL with OSM_EINPUT. */
static char *unseal(const unsigned char key[MASTER_KEY_LEN], const struct osm_key *k, const char *mk_path,
                    struct osm_err *err)
{
    const char *s = k->sealed_secret ? k->sealed_secret : "";
    const char *colon = strncmp(s, "v1:", 3) == 0 ? strchr(s + 3, ':') : NULL;
    unsigned char *nonce = NULL, *ct = NULL;
    size_t nlen = 0, clen = 0;
    if (!colon || b64url_decode(s + 3, (size_t)(colon - s - 3), &nonce, &nlen) != 0 ||
        b64url_decode(colon + 1, strlen(colon + 1), &ct, &clen) != 0 || nlen != GCM_NONCE_LEN ||
        clen <= GCM_TAG_LEN) {
        free(nonce);
        free(ct);
        osm_err_set(err, OSM_EINPUT, "key %s: the stored sealed secret is malformed", k->id);
        return NULL;
    }
    size_t plen = clen - GCM_TAG_LEN;
    unsigned char *plain = osm_xmalloc(plen + 1);
    int ok = gcm(0, key, nonce, k->id, k->role ? k->role : "", k->scope, ct, plen, plain);
    free(nonce);
    free(ct);
    if (!ok) {
        OPENSSL_cleanse(plain, plen + 1);
        free(plain);
        osm_err_set(err, OSM_EINPUT,
                    "key %s: cannot unseal its secret with master key %s: wrong master key, or the key's record "
                    "was changed in the store",
                    k->id, mk_path);
        return NULL;
    }
    plain[plen] = '\0';
    return (char *)plain;
}

/* What a scope pattern may hold: printable ASCII, bounded. */
static int valid_scope(const char *scope)
{
    size_t n = strlen(scope);
    if (n == 0 || n > MAX_SCOPE)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)scope[i] < 0x20 || (unsigned char)scope[i] == 0x7f)
            return 0;
    return 1;
}

/* The literal text of `scope` before its first wildcard (fnmatch's * ? [
 * and the escaping backslash). */
static size_t literal_prefix(const char *scope)
{
    return strcspn(scope, "*?[\\");
}

int osm_key_scope_check(const char *scope, struct osm_err *err)
{
    if (!valid_scope(scope))
        return osm_err_set(err, OSM_EUSAGE, "key scope '%s' is empty, longer than %d or has control characters",
                           scope, MAX_SCOPE);
    /* A scope is matched against canonical names, a provider's scheme and
     * an absolute path with no "//", "." or ".." component and no trailing
     * '/' (provider.h): literal text that no such name holds never matches. */
    size_t lit = literal_prefix(scope), sl = 0;
    int named = 0;
    for (size_t i = 0; osm_provider_at(i) && !named; i++) {
        char *scheme = osm_xasprintf("%s:/", osm_provider_at(i)->scheme);
        sl = strlen(scheme);
        named = lit < sl ? strncmp(scope, scheme, lit) == 0 : strncmp(scope, scheme, sl) == 0;
        free(scheme);
    }
    if (!named) {
        char *known = osm_provider_schemes();
        osm_err_set(err, OSM_EUSAGE,
                    "key scope '%s' can never match: instances are named SCHEME:/ABSOLUTE/PATH, SCHEME one of %s "
                    "(e.g. 'dir:/srv/roots/web*', 'qemu:/srv/vms/*')", scope, known);
        free(known);
        return -1;
    }
    static const char *const never[] = {"//", "/./", "/../"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strstr(scope, never[i]))
            return osm_err_set(err, OSM_EUSAGE,
                               "key scope '%s' can never match: an instance's name is canonical, without '%s'",
                               scope, never[i]);
    size_t n = strlen(scope);
    int ends_dot = (n >= 2 && strcmp(scope + n - 2, "/.") == 0) || (n >= 3 && strcmp(scope + n - 3, "/..") == 0);
    if (ends_dot || (n > sl && scope[n - 1] == '/' && lit == n))
        return osm_err_set(err, OSM_EUSAGE,
                           "key scope '%s' can never match: an instance's name is canonical, without a trailing "
                           "'/', '.' or '..'", scope);
    return 0;
}

int osm_key_create(struct osm_store *st, const char *master_key_path, const char *role, const char *scope,
                   char id_out[64], char **secret, struct osm_err *err)
{
    *secret = NULL;
    id_out[0] = '\0';
    int r = role ? osm_role_parse(role) : -1;
    if (r < 0)
        return osm_err_set(err, OSM_EUSAGE, "key role '%s' is unknown (viewer, operator or admin)", role ? role : "");
    if (scope && osm_key_scope_check(scope, err) != 0)
        return -1;
    if (scope && r == OSM_ROLE_ADMIN)
        return osm_err_set(err, OSM_EUSAGE, "an admin key acts on every instance: --scope is for viewer and "
                                            "operator keys");
    unsigned char mk[MASTER_KEY_LEN];
    if (load_master_key(master_key_path, 1, mk, err) != 0)
        return -1;

    /* id: "OSM" + 20 base32 characters (100 random bits). */
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned char rnd[20], raw[SECRET_LEN];
    if (RAND_bytes(rnd, sizeof rnd) != 1 || RAND_bytes(raw, sizeof raw) != 1) {
        OPENSSL_cleanse(mk, sizeof mk);
        return osm_err_set(err, OSM_EFAIL, "creating a key: no random bytes");
    }
    char id[24];
    memcpy(id, "OSM", 3);
    for (int i = 0; i < 20; i++)
        id[3 + i] = b32[rnd[i] & 31];
    id[23] = '\0';
    struct osm_buf sb;
    osm_buf_init(&sb);
    add_b64url(&sb, raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);

    const char *role_name = osm_role_name((enum osm_role)r);
    char *sealed = seal(mk, id, role_name, scope, sb.s, err);
    OPENSSL_cleanse(mk, sizeof mk);
    if (!sealed) {
        OPENSSL_cleanse(sb.s, sb.len);
        osm_buf_free(&sb);
        return -1;
    }
    struct osm_key k = {0};
    snprintf(k.id, sizeof k.id, "%s", id);
    k.role = (char *)role_name;
    k.scope = (char *)scope;
    k.sealed_secret = sealed;
    k.created = osm_store_now();
    int rc = osm_store_put_key(st, &k, err);
    free(sealed);
    if (rc != 0) {
        OPENSSL_cleanse(sb.s, sb.len);
        osm_buf_free(&sb);
        osm_err_prefix(err, "storing key %s", id);
        return -1;
    }
    snprintf(id_out, 64, "%s", id);
    *secret = osm_buf_detach(&sb);
    return 0;
}

int osm_key_secret(struct osm_store *st, const char *master_key_path, const char *id, char **secret,
                   struct osm_key *key_out, struct osm_err *err)
{
    *secret = NULL;
    struct osm_key k = {0};
    if (osm_store_get_key(st, id, &k, err) != 0)
        return -1;
    if (k.disabled) {
        osm_key_free(&k);
        return osm_err_set(err, OSM_ENOTFOUND, "key %s is disabled", id);
    }
    unsigned char mk[MASTER_KEY_LEN];
    if (load_master_key(master_key_path, 0, mk, err) != 0) {
        osm_key_free(&k);
        if (err && err->code == OSM_ENOTFOUND)
            err->code = OSM_EINPUT; /* the key exists: its master key is what is missing */
        return -1;
    }
    *secret = unseal(mk, &k, master_key_path, err);
    OPENSSL_cleanse(mk, sizeof mk);
    if (!*secret) {
        osm_key_free(&k);
        return -1;
    }
    if (key_out)
        *key_out = k;
    else
        osm_key_free(&k);
    return 0;
}

int osm_key_rotate(struct osm_store *st, const char *master_key_path, const char *id, char **secret,
                   struct osm_err *err)
{
    *secret = NULL;
    struct osm_key k;
    if (osm_store_get_key(st, id, &k, err) != 0)
        return -1;
    unsigned char mk[MASTER_KEY_LEN], raw[SECRET_LEN];
    if (load_master_key(master_key_path, 0, mk, err) != 0) {
        osm_key_free(&k);
        return -1;
    }
    if (RAND_bytes(raw, sizeof raw) != 1) {
        OPENSSL_cleanse(mk, sizeof mk);
        osm_key_free(&k);
        return osm_err_set(err, OSM_EFAIL, "rotating key %s: no random bytes", id);
    }
    struct osm_buf sb;
    osm_buf_init(&sb);
    add_b64url(&sb, raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    char *sealed = seal(mk, k.id, k.role, k.scope, sb.s, err);
    OPENSSL_cleanse(mk, sizeof mk);
    int rc = -1;
    if (sealed) {
        free(k.sealed_secret);
        k.sealed_secret = sealed;
        rc = osm_store_update_key(st, &k, err);
    }
    osm_key_free(&k);
    if (rc != 0) {
        OPENSSL_cleanse(sb.s, sb.len);
        osm_buf_free(&sb);
        osm_err_prefix(err, "rotating key %s", id);
        return -1;
    }
    *secret = osm_buf_detach(&sb);
    return 0;
}

int osm_key_set_state(struct osm_store *st, const char *id, int disabled, int64_t expires, struct osm_err *err)
{
    struct osm_key k;
    if (osm_store_get_key(st, id, &k, err) != 0)
        return -1;
    if (disabled >= 0)
        k.disabled = disabled;
    if (expires >= 0)
        k.expires = expires;
    int rc = osm_store_update_key(st, &k, err);
    osm_key_free(&k);
    return rc;
}
