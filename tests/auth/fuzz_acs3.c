/* fuzz_acs3.c: libFuzzer target for the Authorization parser and the
 * canonical request (built with clang and -DOSMIG_FUZZ=ON).
 *
 * Input, '\n'-separated: Authorization value, path, query, signed header
 * names, then "name:value" header lines up to an empty line; the rest is the
 * body. Beyond memory errors it checks two properties and aborts when one
 * fails: a parsed Authorization header prints back to the same fields, and a
 * request signed by osm_acs3_sign verifies with the same secret. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acs3.h"

#define MAX_HEADERS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    size_t text_len = strlen(buf); /* a NUL ends the text part */

    char *fields[4] = {"", "", "", ""};
    char *p = buf;
    for (int i = 0; i < 4 && p; i++) {
        fields[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    struct osm_acs3_header hs[MAX_HEADERS + 1];
    size_t nh = 0;
    hs[nh++] = (struct osm_acs3_header){"host", "fuzz.example"};
    while (p && *p && *p != '\n' && nh < MAX_HEADERS) {
        char *line = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        hs[nh++] = (struct osm_acs3_header){line, colon + 1};
    }
    const char *body = "";
    size_t body_len = 0;
    if (p && *p == '\n') {
        body = p + 1;
        body_len = text_len - (size_t)(body - buf);
    }

    /* 1. the parser, and its round trip */
    char id[64], sh[1024], sig[65];
    if (osm_acs3_parse_authorization(fields[0], id, sizeof id, sh, sizeof sh, sig, NULL) == 0) {
        char again[2048];
        snprintf(again, sizeof again, "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s", id, sh, sig);
        char id2[64], sh2[1024], sig2[65];
        if (osm_acs3_parse_authorization(again, id2, sizeof id2, sh2, sizeof sh2, sig2, NULL) != 0 ||
            strcmp(id, id2) || strcmp(sh, sh2) || strcmp(sig, sig2))
            abort();
    }

    /* 2. canonical requests of arbitrary paths, queries and header lists */
    struct osm_acs3_request rq = {"POST", fields[1], fields[2], hs, nh, body, body_len};
    char *c1 = osm_acs3_canonical_request(&rq, fields[3]);
    char *c2 = osm_acs3_canonical_request(&rq, fields[3]);
    if ((c1 == NULL) != (c2 == NULL) || (c1 && strcmp(c1, c2) != 0))
        abort();
    free(c1);
    free(c2);
    char out[65];
    osm_acs3_signature(&rq, fields[3], "secret", out);

    /* 3. sign, then verify as the server would */
    struct osm_acs3_signed s;
    if (osm_acs3_sign(&rq, "OSMFUZZ", "secret", 1700000000, &s, NULL) == 0) {
        struct osm_acs3_header all[MAX_HEADERS + 5];
        memcpy(all, hs, nh * sizeof hs[0]);
        memcpy(all + nh, s.headers, sizeof s.headers);
        struct osm_acs3_request got = rq;
        got.headers = all;
        got.n_headers = nh + 4;
        if (osm_acs3_parse_authorization(s.headers[3].value, id, sizeof id, sh, sizeof sh, sig, NULL) != 0)
            abort();
        osm_acs3_signature(&got, sh, "secret", out);
        if (strcmp(out, sig) != 0)
            abort();
        osm_acs3_signed_free(&s);
    }
    free(buf);
    return 0;
}
