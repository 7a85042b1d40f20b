/* acs3.c: ACS3-HMAC-SHA256 canonical requests, signatures and the
 * Authorization header (see acs3.h). Pure: no store, no clock of its own. */
#include "acs3.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "osm_buf.h"
#include "osm_hash.h"

#define ALGORITHM "ACS3-HMAC-SHA256"

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

/* Append s[0..len) percent-decoded then RFC 3986-encoded, so that every
 * spelling of the same bytes ("%7e", "~", "%7E") gives one canonical form.
 * '+' is a plus sign, not a space (RFC 3986). -1 on a malformed escape. */
static int add_recoded(struct osm_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = osm_hexval((unsigned char)s[i + 1]), lo = osm_hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (unreserved(c)) {
            osm_buf_addc(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            osm_buf_add(b, e, 3);
        }
    }
    return 0;
}

/* The path, each '/'-separated segment recoded; "/" when empty. */
static int add_canonical_uri(struct osm_buf *b, const char *path)
{
    if (!path || !*path) {
        osm_buf_addc(b, '/');
        return 0;
    }
    const char *seg = path;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
        if (add_recoded(b, seg, n) != 0)
            return -1;
        if (!slash)
            return 0;
        osm_buf_addc(b, '/');
        seg = slash + 1;
    }
}

struct qparam {
    char *name;
    char *value;
};

static int qparam_cmp(const void *a, const void *b)
{
    const struct qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* name=value pairs recoded and sorted by name (then value, for repeated
 * names), joined by '&'; a parameter without '=' has an empty value. */
static int add_canonical_query(struct osm_buf *b, const char *query)
{
    if (!query || !*query)
        return 0;
    size_t cap = 1;
    for (const char *p = query; *p; p++)
        cap += *p == '&';
    struct qparam *ps = osm_xcalloc(cap, sizeof *ps);
    size_t n = 0;
    int rc = 0;
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t nlen = eq ? (size_t)(eq - p) : len;
            struct osm_buf nb, vb;
            osm_buf_init(&nb);
            osm_buf_init(&vb);
            if (add_recoded(&nb, p, nlen) != 0 || (eq && add_recoded(&vb, eq + 1, len - nlen - 1) != 0)) {
                osm_buf_free(&nb);
                osm_buf_free(&vb);
                rc = -1;
                break;
            }
            ps[n].name = osm_buf_detach(&nb);
            ps[n].value = osm_buf_detach(&vb);
            n++;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    if (rc == 0) {
        qsort(ps, n, sizeof *ps, qparam_cmp);
        for (size_t i = 0; i < n; i++)
            osm_buf_addf(b, "%s%s=%s", i ? "&" : "", ps[i].name, ps[i].value);
    }
    for (size_t i = 0; i < n; i++) {
        free(ps[i].name);
        free(ps[i].value);
    }
    free(ps);
    return rc;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The signed header names lower-cased, sorted, without duplicates or empty
 * names (caller frees the array and the strings). */
static char **signed_names(const char *signed_headers, size_t *n_out)
{
    size_t cap = 1;
    for (const char *p = signed_headers; *p; p++)
        cap += *p == ';';
    char **names = osm_xcalloc(cap, sizeof *names);
    size_t n = 0;
    const char *p = signed_headers;
    for (;;) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        if (len > 0) {
            char *s = osm_xmalloc(len + 1);
            for (size_t i = 0; i < len; i++)
                s[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] - 'A' + 'a' : p[i]);
            s[len] = '\0';
            names[n++] = s;
        }
        if (!semi)
            break;
        p = semi + 1;
    }
    qsort(names, n, sizeof *names, str_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && strcmp(names[w - 1], names[i]) == 0)
            free(names[i]);
        else
            names[w++] = names[i];
    }
    *n_out = w;
    return names;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* "name:value\n" with the value trimmed; a header sent more than once has
 * its values joined by ',' in the order received. */
static void add_canonical_header(struct osm_buf *b, const struct osm_acs3_request *rq, const char *name)
{
    osm_buf_adds(b, name);
    osm_buf_addc(b, ':');
    int first = 1;
    for (size_t i = 0; i < rq->n_headers; i++) {
        const struct osm_acs3_header *h = &rq->headers[i];
        if (!h->name || strcasecmp(h->name, name) != 0)
            continue;
        const char *v = h->value ? h->value : "";
        while (is_space(*v))
            v++;
        size_t len = strlen(v);
        while (len > 0 && is_space(v[len - 1]))
            len--;
        if (!first)
            osm_buf_addc(b, ',');
        osm_buf_add(b, v, len);
        first = 0;
    }
    osm_buf_addc(b, '\n');
}

char *osm_acs3_canonical_request(const struct osm_acs3_request *rq, const char *signed_headers)
{
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_adds(&b, rq->method ? rq->method : "");
    osm_buf_addc(&b, '\n');
    if (add_canonical_uri(&b, rq->path) != 0)
        goto malformed;
    osm_buf_addc(&b, '\n');
    if (add_canonical_query(&b, rq->query) != 0)
        goto malformed;
    osm_buf_addc(&b, '\n');
    size_t n;
    char **names = signed_names(signed_headers ? signed_headers : "", &n);
    for (size_t i = 0; i < n; i++)
        add_canonical_header(&b, rq, names[i]);
    osm_buf_addc(&b, '\n');
    for (size_t i = 0; i < n; i++) {
        if (i)
            osm_buf_addc(&b, ';');
        osm_buf_adds(&b, names[i]);
        free(names[i]);
    }
    free(names);
    osm_buf_addc(&b, '\n');
    char payload[65];
    osm_sha256_hex(rq->body ? rq->body : "", rq->body ? rq->body_len : 0, payload);
    osm_buf_adds(&b, payload);
    return osm_buf_detach(&b);
malformed:
    osm_buf_free(&b);
    return NULL;
}

static void hmac_sha256_hex(const char *key, const char *data, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[32];
    size_t n = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, strlen(key), (const unsigned char *)data, strlen(data),
                   mac, sizeof mac, &n) ||
        n != sizeof mac) {
        out[0] = '\0';
        return;
    }
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
    OPENSSL_cleanse(mac, sizeof mac);
}

void osm_acs3_signature(const struct osm_acs3_request *rq, const char *signed_headers, const char *secret,
                        char out[65])
{
    out[0] = '\0'; /* matches no signature */
    char *canonical = osm_acs3_canonical_request(rq, signed_headers);
    if (!canonical)
        return;
    char hashed[65];
    osm_sha256_hex(canonical, strlen(canonical), hashed);
    free(canonical);
    char to_sign[sizeof ALGORITHM + 1 + 64];
    snprintf(to_sign, sizeof to_sign, "%s\n%s", ALGORITHM, hashed);
    hmac_sha256_hex(secret, to_sign, out);
}

static int has_header(const struct osm_acs3_request *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_headers; i++)
        if (rq->headers[i].name && strcasecmp(rq->headers[i].name, name) == 0)
            return 1;
    return 0;
}

/* A key id as it may appear in Credential=: printable, no separators. */
static int valid_key_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= ' ' || c >= 0x7f || c == ',' || c == ';' || c == '=')
            return 0;
    }
    return 1;
}

/* Header names as they may be listed in SignedHeaders. */
static int header_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static const char *const set_by_signing[] = {"x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256",
                                             "authorization"};

void osm_acs3_signed_free(struct osm_acs3_signed *s)
{
    for (size_t i = 0; i < sizeof s->owned / sizeof s->owned[0]; i++) {
        if (s->owned[i])
            OPENSSL_cleanse(s->owned[i], strlen(s->owned[i]));
        free(s->owned[i]);
    }
    memset(s, 0, sizeof *s);
}

int osm_acs3_sign(const struct osm_acs3_request *rq, const char *key_id, const char *secret, int64_t now,
                  struct osm_acs3_signed *out, struct osm_err *err)
{
    memset(out, 0, sizeof *out);
    if (!key_id || !valid_key_id(key_id))
        return osm_err_set(err, OSM_EINPUT, "signing: invalid access key id '%s'", key_id ? key_id : "");
    if (!secret || !*secret)
        return osm_err_set(err, OSM_EINPUT, "signing: empty secret for key %s", key_id);
    if (!has_header(rq, "host"))
        return osm_err_set(err, OSM_EINPUT, "signing: the request has no host header");
    for (size_t i = 0; i < sizeof set_by_signing / sizeof set_by_signing[0]; i++)
        if (has_header(rq, set_by_signing[i]))
            return osm_err_set(err, OSM_EINPUT, "signing: the request already has a %s header (signing sets it)",
                               set_by_signing[i]);

    char date[32];
    time_t t = (time_t)now;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return osm_err_set(err, OSM_EINPUT, "signing: time %lld cannot be written as a date", (long long)now);
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return osm_err_set(err, OSM_EFAIL, "signing: no random bytes for the nonce");
    char nonce[33];
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
    char payload[65];
    osm_sha256_hex(rq->body ? rq->body : "", rq->body ? rq->body_len : 0, payload);

    /* Sign every header that is host, content-type or x-acs-*, as
     * Alibaba Cloud's V3 signature asks, plus the three added here. */
    struct osm_acs3_header *hs = osm_xcalloc(rq->n_headers + 3, sizeof *hs);
    if (rq->n_headers)
        memcpy(hs, rq->headers, rq->n_headers * sizeof *hs);
    hs[rq->n_headers] = (struct osm_acs3_header){"x-acs-date", date};
    hs[rq->n_headers + 1] = (struct osm_acs3_header){"x-acs-signature-nonce", nonce};
    hs[rq->n_headers + 2] = (struct osm_acs3_header){"x-acs-content-sha256", payload};
    struct osm_buf names;
    osm_buf_init(&names);
    for (size_t i = 0; i < rq->n_headers + 3; i++) {
        const char *nm = hs[i].name;
        if (!nm)
            continue;
        if (strcasecmp(nm, "host") == 0 || strcasecmp(nm, "content-type") == 0 || strncasecmp(nm, "x-acs-", 6) == 0) {
            for (const char *c = nm; *c; c++) {
                unsigned char lc = (unsigned char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
                if (!header_name_char(lc)) {
                    free(hs);
                    osm_buf_free(&names);
                    return osm_err_set(err, OSM_EINPUT, "signing: header name '%.64s' has a character not allowed",
                                       nm);
                }
            }
            osm_buf_adds(&names, nm);
            osm_buf_addc(&names, ';');
        }
    }
    struct osm_acs3_request signed_rq = *rq;
    signed_rq.headers = hs;
    signed_rq.n_headers = rq->n_headers + 3;
    /* The canonical form sorts and lower-cases: take its SignedHeaders line. */
    char *canonical = osm_acs3_canonical_request(&signed_rq, names.s);
    if (!canonical) {
        free(hs);
        osm_buf_free(&names);
        return osm_err_set(err, OSM_EINPUT, "signing: malformed percent-encoding in path '%s' or query '%s'",
                           rq->path ? rq->path : "", rq->query ? rq->query : "");
    }
    char *end = strrchr(canonical, '\n');
    *end = '\0';
    char *sh = strrchr(canonical, '\n') + 1;
    char signature[65];
    osm_acs3_signature(&signed_rq, sh, secret, signature);
    out->owned[0] = osm_xstrdup(date);
    out->owned[1] = osm_xstrdup(nonce);
    out->owned[2] = osm_xstrdup(payload);
    out->owned[3] = osm_xasprintf(ALGORITHM " Credential=%s,SignedHeaders=%s,Signature=%s", key_id, sh, signature);
    out->headers[0] = (struct osm_acs3_header){"x-acs-date", out->owned[0]};
    out->headers[1] = (struct osm_acs3_header){"x-acs-signature-nonce", out->owned[1]};
    out->headers[2] = (struct osm_acs3_header){"x-acs-content-sha256", out->owned[2]};
    out->headers[3] = (struct osm_acs3_header){"Authorization", out->owned[3]};
    free(canonical);
    free(hs);
    osm_buf_free(&names);
    return 0;
}

#define MAX_AUTHORIZATION 4096

int osm_acs3_parse_authorization(const char *value, char *key_id, size_t key_id_size, char *signed_headers,
                                 size_t sh_size, char signature[65], struct osm_err *err)
{
    if (!value)
        return osm_err_set(err, OSM_EINPUT, "Authorization header: missing");
    size_t vlen = strnlen(value, MAX_AUTHORIZATION + 1);
    if (vlen > MAX_AUTHORIZATION)
        return osm_err_set(err, OSM_EINPUT, "Authorization header: longer than %d bytes", MAX_AUTHORIZATION);
    size_t alen = strlen(ALGORITHM);
    if (strncmp(value, ALGORITHM, alen) != 0 || value[alen] != ' ')
        return osm_err_set(err, OSM_EINPUT, "Authorization header: does not start with '" ALGORITHM " '");
    const char *p = value + alen;
    while (*p == ' ')
        p++;
    int have_cred = 0, have_sh = 0, have_sig = 0;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq)
            return osm_err_set(err, OSM_EINPUT, "Authorization header: '%.*s' is not NAME=VALUE", (int)len, p);
        size_t nlen = (size_t)(eq - p), val_len = len - nlen - 1;
        const char *val = eq + 1;
        if (nlen == 10 && strncmp(p, "Credential", 10) == 0) {
            if (have_cred++)
                return osm_err_set(err, OSM_EINPUT, "Authorization header: Credential given twice");
            if (val_len == 0 || val_len >= key_id_size)
                return osm_err_set(err, OSM_EINPUT, "Authorization header: Credential is empty or longer than %zu",
                                   key_id_size - 1);
            memcpy(key_id, val, val_len);
            key_id[val_len] = '\0';
            if (!valid_key_id(key_id))
                return osm_err_set(err, OSM_EINPUT, "Authorization header: Credential has a character not allowed");
        } else if (nlen == 13 && strncmp(p, "SignedHeaders", 13) == 0) {
            if (have_sh++)
                return osm_err_set(err, OSM_EINPUT, "Authorization header: SignedHeaders given twice");
            if (val_len == 0 || val_len >= sh_size)
                return osm_err_set(err, OSM_EINPUT, "Authorization header: SignedHeaders is empty or longer than %zu",
                                   sh_size - 1);
            /* lower-case names, ';'-separated, strictly ascending */
            const char *prev = NULL;
            size_t prev_len = 0;
            const char *name = val;
            for (size_t i = 0; i <= val_len; i++) {
                if (i < val_len && val[i] != ';') {
                    if (!header_name_char((unsigned char)val[i]))
                        return osm_err_set(err, OSM_EINPUT,
                                           "Authorization header: SignedHeaders has '%c' (names are lower-case)",
                                           val[i] >= ' ' && val[i] < 0x7f ? val[i] : '?');
                    continue;
                }
                size_t n = (size_t)(val + i - name);
                if (n == 0)
                    return osm_err_set(err, OSM_EINPUT, "Authorization header: SignedHeaders has an empty name");
                if (prev) {
                    size_t m = prev_len < n ? prev_len : n;
                    int c = memcmp(prev, name, m);
                    if (c > 0 || (c == 0 && prev_len >= n))
                        return osm_err_set(err, OSM_EINPUT,
                                           "Authorization header: SignedHeaders are not sorted or repeat "
                                           "'%.*s'",
                                           (int)n, name);
                }
                prev = name;
                prev_len = n;
                name = val + i + 1;
            }
            memcpy(signed_headers, val, val_len);
            signed_headers[val_len] = '\0';
        } else if (nlen == 9 && strncmp(p, "Signature", 9) == 0) {
            if (have_sig++)
                return osm_err_set(err, OSM_EINPUT, "Authorization header: Signature given twice");
            if (val_len != 64)
                return osm_err_set(err, OSM_EINPUT, "Authorization header: Signature is not 64 hex digits");
            for (size_t i = 0; i < 64; i++)
                if (!((val[i] >= '0' && val[i] <= '9') || (val[i] >= 'a' && val[i] <= 'f')))
                    return osm_err_set(err, OSM_EINPUT,
                                       "Authorization header: Signature is not 64 lower-case hex digits");
            memcpy(signature, val, 64);
            signature[64] = '\0';
        } else {
            return osm_err_set(err, OSM_EINPUT, "Authorization header: unknown item '%.*s'", (int)(nlen > 40 ? 40 : nlen),
                               p);
        }
        if (!comma)
            break;
        p = comma + 1;
        while (*p == ' ')
            p++;
        if (!*p)
            return osm_err_set(err, OSM_EINPUT, "Authorization header: ends with ','");
    }
    if (!have_cred)
        return osm_err_set(err, OSM_EINPUT, "Authorization header: no Credential=");
    if (!have_sh)
        return osm_err_set(err, OSM_EINPUT, "Authorization header: no SignedHeaders=");
    if (!have_sig)
        return osm_err_set(err, OSM_EINPUT, "Authorization header: no Signature=");
    return 0;
}
