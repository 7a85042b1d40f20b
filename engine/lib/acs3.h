/* acs3: request signatures in the style of Alibaba Cloud's ACS3-HMAC-SHA256,
 * for the fleet API (server verifies, CLI signs).
 *
 * Canonical request = METHOD \n CanonicalURI \n CanonicalQueryString \n
 * CanonicalHeaders \n SignedHeaders \n HashedRequestPayload, where the query
 * parameters are percent-encoded (RFC 3986, space as %20) and sorted by name,
 * the canonical headers are the signed headers lower-cased, trimmed and
 * sorted ("name:value\n" each), and the payload hash is the lower-case hex
 * SHA-256 of the body (also sent as x-acs-content-sha256). The string to sign
 * is "ACS3-HMAC-SHA256\n" + hex(SHA-256(canonical request)); the signature
 * is hex(HMAC-SHA256(secret, string to sign)). The Authorization header:
 *   ACS3-HMAC-SHA256 Credential=KEYID,SignedHeaders=h1;h2,Signature=HEX
 * Signed headers must include host, x-acs-date (ISO 8601 UTC, within 15
 * minutes of the server's clock), x-acs-signature-nonce (never accepted
 * twice) and x-acs-content-sha256. */
#ifndef OSM_ACS3_H
#define OSM_ACS3_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"

struct osm_acs3_header {
    const char *name;
    const char *value;
};

/* A request as received or about to be sent. path is the URI path as sent
 * (percent-encoded); query is the raw query string without '?' (NULL or ""
 * for none). */
struct osm_acs3_request {
    const char *method;
    const char *path;
    const char *query;
    const struct osm_acs3_header *headers;
    size_t n_headers;
    const void *body;
    size_t body_len;
};

#define OSM_ACS3_MAX_SKEW 900 /* seconds */

/* The canonical request text (caller frees); NULL when the path or query
 * has a malformed %-escape. signed_headers: lower-case, ';'-separated,
 * sorted (the names are lower-cased, sorted and deduplicated anyway). */
char *osm_acs3_canonical_request(const struct osm_acs3_request *rq, const char *signed_headers);
/* Lower-case hex signature of `rq` with `secret` (out: 65 bytes; "", which
 * matches no signature, when there is no canonical request). */
void osm_acs3_signature(const struct osm_acs3_request *rq, const char *signed_headers, const char *secret,
                        char out[65]);

/* Client side: the headers to add to a request for `key_id`/`secret` at
 * time `now`: x-acs-date, x-acs-signature-nonce (random), x-acs-content-sha256
 * and Authorization (host must already be among rq->headers). Writes into
 * `out` (4 entries) with strings owned by `store` (freed by
 * osm_acs3_signed_free). */
struct osm_acs3_signed {
    struct osm_acs3_header headers[4];
    char *owned[8];
};
int osm_acs3_sign(const struct osm_acs3_request *rq, const char *key_id, const char *secret, int64_t now,
                  struct osm_acs3_signed *out, struct osm_err *err);
void osm_acs3_signed_free(struct osm_acs3_signed *s);

/* Parse an Authorization header. 0 ok (strings point into caller buffers of
 * the given sizes), -1 malformed (err says what). */
int osm_acs3_parse_authorization(const char *value, char *key_id, size_t key_id_size, char *signed_headers,
                                 size_t sh_size, char signature[65], struct osm_err *err);

#endif
