/* test_acs3.c: ACS3-HMAC-SHA256 canonical requests, signatures and the
 * Authorization header, against Alibaba Cloud's published example. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acs3.h"
#include "osm_hash.h"

/* Official vector: Alibaba Cloud, "Request syntax and signature method V3"
 * (https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature,
 * section "Signature method", steps 1-4): RunInstances on ECS, AccessKeyId
 * YourAccessKeyId, AccessKey secret YourAccessKeySecret, empty body. It
 * signs x-acs-action and x-acs-version beside the four headers we require. */
#define V_QUERY "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"
#define V_EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define V_SIGNED "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
static const char v_canonical[] = "POST\n"
                                  "/\n" V_QUERY "\n"
                                  "host:ecs.cn-shanghai.aliyuncs.com\n"
                                  "x-acs-action:RunInstances\n"
                                  "x-acs-content-sha256:" V_EMPTY_SHA "\n"
                                  "x-acs-date:2023-10-26T10:22:32Z\n"
                                  "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
                                  "x-acs-version:2014-05-26\n"
                                  "\n" V_SIGNED "\n" V_EMPTY_SHA;
#define V_HASHED "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
#define V_SIGNATURE "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
#define V_AUTHORIZATION "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=" V_SIGNED ",Signature=" V_SIGNATURE

static const struct osm_acs3_header v_headers[] = {
    {"host", "ecs.cn-shanghai.aliyuncs.com"},
    {"x-acs-action", "RunInstances"},
    {"x-acs-version", "2014-05-26"},
    {"x-acs-date", "2023-10-26T10:22:32Z"},
    {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
    {"x-acs-content-sha256", V_EMPTY_SHA},
    {"Authorization", V_AUTHORIZATION},
};

static struct osm_acs3_request vector_request(void)
{
    return (struct osm_acs3_request){"POST", "/", V_QUERY, v_headers, 7, "", 0};
}

/* `rq` signed with the vector's secret and headers gives the vector's signature. */
static void assert_signs_as_the_vector(const struct osm_acs3_request *rq)
{
    char sig[65];
    osm_acs3_signature(rq, V_SIGNED, "YourAccessKeySecret", sig);
    assert_string_equal(sig, V_SIGNATURE);
}

static void official_vector_is_reproduced_byte_for_byte(void **state)
{
    (void)state;
    struct osm_acs3_request rq = vector_request();
    char *c = osm_acs3_canonical_request(&rq, V_SIGNED);
    assert_non_null(c);
    assert_string_equal(c, v_canonical);
    char hashed[65];
    osm_sha256_hex(c, strlen(c), hashed);
    assert_string_equal(hashed, V_HASHED);
    free(c);
    assert_signs_as_the_vector(&rq);
}

static void official_authorization_header_parses(void **state)
{
    (void)state;
    char id[64], sh[512], sig[65];
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_acs3_parse_authorization(V_AUTHORIZATION, id, sizeof id, sh, sizeof sh, sig, &err), 0);
    assert_string_equal(id, "YourAccessKeyId");
    assert_string_equal(sh, V_SIGNED);
    assert_string_equal(sig, V_SIGNATURE);
}

/* Reordered query, other header-name case, padded values, no body pointer
 * and the signed names in another order: the same canonical request. */
static void reordered_query_and_header_case_keep_the_signature(void **state)
{
    (void)state;
    const struct osm_acs3_header hs[] = {
        {"X-Acs-Signature-Nonce", "3156853299f313e23d1673dc12e1703d"},
        {"Host", "  ecs.cn-shanghai.aliyuncs.com\t"},
        {"X-ACS-Version", "2014-05-26"},
        {"x-acs-action", " RunInstances "},
        {"Content-Length", "0"}, /* not signed: not in the canonical form */
        {"X-Acs-Date", "2023-10-26T10:22:32Z"},
        {"x-acs-content-sha256", V_EMPTY_SHA},
    };
    struct osm_acs3_request rq = {"POST", "", "RegionId=cn-shanghai&ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
                                  hs, 7, NULL, 0};
    char *c = osm_acs3_canonical_request(&rq, "x-acs-version;HOST;x-acs-action;x-acs-date;x-acs-signature-nonce;"
                                              "x-acs-content-sha256;host");
    assert_non_null(c);
    assert_string_equal(c, v_canonical);
    free(c);
    assert_signs_as_the_vector(&rq);
}

static void canonical_path_and_query_are_rfc3986_encoded_and_sorted(void **state)
{
    (void)state;
    const struct osm_acs3_header hs[] = {{"host", "h"}, {"x-acs-date", "d"}, {"x-acs-date", "e"}};
    struct osm_acs3_request rq = {"GET", "/v1/a%20b/%7e~/%2F/x*", "b=2&a=x%2By&a=1&flag&&c=%2a&d=a+b&%C3%A9=%e2%82%ac&",
                                  hs, 3, NULL, 0};
    char *c = osm_acs3_canonical_request(&rq, "host;x-acs-date");
    assert_non_null(c);
    char empty[65];
    osm_sha256_hex("", 0, empty);
    char want[1024];
    snprintf(want, sizeof want,
             "GET\n/v1/a%%20b/~~/%%2F/x%%2A\n%%C3%%A9=%%E2%%82%%AC&a=1&a=x%%2By&b=2&c=%%2A&d=a%%2Bb&flag=\n"
             "host:h\nx-acs-date:d,e\n\nhost;x-acs-date\n%s",
             empty);
    assert_string_equal(c, want);
    free(c);

    const char *bad[] = {"a=%zz", "a=%4", "a=%", "%G1=x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rq.query = bad[i];
        assert_null(osm_acs3_canonical_request(&rq, "host"));
        char sig[65] = "x";
        osm_acs3_signature(&rq, "host", "secret", sig);
        assert_string_equal(sig, "");
    }
    rq.query = NULL;
    rq.path = "/a%2";
    assert_null(osm_acs3_canonical_request(&rq, "host"));
}

static const char *find(const struct osm_acs3_signed *s, const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s->headers[i].name, name) == 0)
            return s->headers[i].value;
    return NULL;
}

static void sign_then_verify_round_trip(void **state)
{
    (void)state;
    const char body[] = "{\"instances\":[\"dir:/srv/a\"]}";
    const struct osm_acs3_header hs[] = {
        {"Host", "127.0.0.1:8443"}, {"Content-Type", "application/json"}, {"Accept", "application/json"}};
    struct osm_acs3_request rq = {"POST", "/v1/jobs", "dry=1", hs, 3, body, strlen(body)};
    struct osm_acs3_signed s;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_acs3_sign(&rq, "OSMABCDEFGHIJKLMNOPQRST", "s3cret", 1700000000, &s, &err), 0);
    assert_string_equal(find(&s, "x-acs-date"), "2023-11-14T22:13:20Z");
    char sha[65];
    osm_sha256_hex(body, strlen(body), sha);
    assert_string_equal(find(&s, "x-acs-content-sha256"), sha);
    const char *nonce = find(&s, "x-acs-signature-nonce");
    assert_int_equal(strlen(nonce), 32);
    assert_int_equal(strspn(nonce, "0123456789abcdef"), 32);

    char id[64], sh[512], sig[65];
    assert_int_equal(osm_acs3_parse_authorization(find(&s, "Authorization"), id, sizeof id, sh, sizeof sh, sig, &err), 0);
    assert_string_equal(id, "OSMABCDEFGHIJKLMNOPQRST");
    /* host, content-type and every x-acs-* header; not accept */
    assert_string_equal(sh, "content-type;host;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce");

    /* The server side: the request as received, all headers. */
    struct osm_acs3_header all[7];
    memcpy(all, hs, sizeof hs);
    memcpy(all + 3, s.headers, sizeof s.headers);
    struct osm_acs3_request got = {"POST", "/v1/jobs", "dry=1", all, 7, body, strlen(body)};
    char check[65];
    osm_acs3_signature(&got, sh, "s3cret", check);
    assert_string_equal(check, sig);
    osm_acs3_signature(&got, sh, "s3cret!", check);
    assert_string_not_equal(check, sig);
    got.body_len--; /* body tampered */
    osm_acs3_signature(&got, sh, "s3cret", check);
    assert_string_not_equal(check, sig);
    got.body_len++;
    got.query = "dry=2";
    osm_acs3_signature(&got, sh, "s3cret", check);
    assert_string_not_equal(check, sig);
    got.query = "dry=1";
    got.method = "PUT";
    osm_acs3_signature(&got, sh, "s3cret", check);
    assert_string_not_equal(check, sig);
    got.method = "POST";
    got.path = "/v1/jobs/";
    osm_acs3_signature(&got, sh, "s3cret", check);
    assert_string_not_equal(check, sig);

    /* A second signature of the same request has another nonce. */
    struct osm_acs3_signed s2;
    assert_int_equal(osm_acs3_sign(&rq, "OSMABCDEFGHIJKLMNOPQRST", "s3cret", 1700000000, &s2, &err), 0);
    assert_string_not_equal(find(&s2, "x-acs-signature-nonce"), nonce);
    osm_acs3_signed_free(&s2);
    osm_acs3_signed_free(&s);
}

static void sign_refuses_bad_requests_and_keys(void **state)
{
    (void)state;
    struct osm_acs3_signed s;
    struct osm_err err = OSM_ERR_INIT;
    const struct osm_acs3_header nohost[] = {{"accept", "*/*"}};
    struct osm_acs3_request rq = {"GET", "/v1/tasks", NULL, nohost, 1, NULL, 0};
    assert_int_equal(osm_acs3_sign(&rq, "OSMKEY", "x", 0, &s, &err), -1);
    assert_non_null(strstr(err.msg, "no host header"));

    const struct osm_acs3_header dated[] = {{"host", "h"}, {"X-Acs-Date", "2023-10-26T10:22:32Z"}};
    rq.headers = dated;
    rq.n_headers = 2;
    assert_int_equal(osm_acs3_sign(&rq, "OSMKEY", "x", 0, &s, &err), -1);
    assert_non_null(strstr(err.msg, "x-acs-date"));

    rq.n_headers = 1;
    assert_int_equal(osm_acs3_sign(&rq, "OSM KEY", "x", 0, &s, &err), -1);
    assert_non_null(strstr(err.msg, "invalid access key id"));
    assert_int_equal(osm_acs3_sign(&rq, "OSMKEY", "", 0, &s, &err), -1);
    assert_non_null(strstr(err.msg, "empty secret"));
    rq.query = "a=%x";
    assert_int_equal(osm_acs3_sign(&rq, "OSMKEY", "x", 0, &s, &err), -1);
    assert_non_null(strstr(err.msg, "percent-encoding"));
}

static void malformed_authorization_headers_are_refused_with_the_reason(void **state)
{
    (void)state;
    static const char sig[] = "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0";
    struct {
        const char *value;
        const char *why;
    } cases[] = {
        {"", "does not start with"},
        {"ACS3-HMAC-SHA1 Credential=a,SignedHeaders=host,Signature=x", "does not start with"},
        {"ACS3-HMAC-SHA256Credential=a", "does not start with"},
        {"ACS3-HMAC-SHA256 ", "no Credential"},
        {"ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host", "no Signature"},
        {"ACS3-HMAC-SHA256 Credential=k,Signature=x", "not 64 hex"},
        {"ACS3-HMAC-SHA256 SignedHeaders=host,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
         "no Credential"},
        {"ACS3-HMAC-SHA256 Credential=k,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
         "no SignedHeaders"},
        {"ACS3-HMAC-SHA256 Credential=,SignedHeaders=host", "Credential is empty"},
        {"ACS3-HMAC-SHA256 Credential=k,Credential=k", "Credential given twice"},
        {"ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;Host", "lower-case"},
        {"ACS3-HMAC-SHA256 Credential=k,SignedHeaders=x-acs-date;host", "not sorted"},
        {"ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;host", "not sorted or repeat"},
        {"ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;;x", "empty name"},
        {"ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;", "empty name"},
        {"ACS3-HMAC-SHA256 Credential=k,Signature=06563A9E1B43F5DFE96B81484DA74BCEAB24A1D853912EEE15083A6F0F3283C0",
         "lower-case hex"},
        {"ACS3-HMAC-SHA256 Credential=k,Algorithm=x", "unknown item"},
        {"ACS3-HMAC-SHA256 Credential=k,", "ends with ','"},
        {"ACS3-HMAC-SHA256 Credential", "not NAME=VALUE"},
    };
    char id[64], sh[512], out[65];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct osm_err err = OSM_ERR_INIT;
        if (osm_acs3_parse_authorization(cases[i].value, id, sizeof id, sh, sizeof sh, out, &err) != -1)
            fail_msg("accepted: %s", cases[i].value);
        if (!strstr(err.msg, cases[i].why))
            fail_msg("'%s': message '%s' does not say '%s'", cases[i].value, err.msg, cases[i].why);
        assert_non_null(strstr(err.msg, "Authorization header"));
    }
    /* Too long for the caller's buffers. */
    char longid[80];
    memset(longid, 'k', 70);
    longid[70] = '\0';
    char v[512];
    snprintf(v, sizeof v, "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=host,Signature=%s", longid, sig);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_acs3_parse_authorization(v, id, sizeof id, sh, sizeof sh, out, &err), -1);
    snprintf(v, sizeof v, "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;x-acs-date,Signature=%s", sig);
    assert_int_equal(osm_acs3_parse_authorization(v, id, sizeof id, sh, 10, out, &err), -1);
    assert_non_null(strstr(err.msg, "longer than 9"));
    /* Spaces after commas are tolerated. */
    snprintf(v, sizeof v, "ACS3-HMAC-SHA256  Credential=k, SignedHeaders=host, Signature=%s", sig);
    assert_int_equal(osm_acs3_parse_authorization(v, id, sizeof id, sh, sizeof sh, out, &err), 0);
    assert_string_equal(id, "k");
    assert_string_equal(sh, "host");
    assert_string_equal(out, sig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(official_vector_is_reproduced_byte_for_byte),
        cmocka_unit_test(official_authorization_header_parses),
        cmocka_unit_test(reordered_query_and_header_case_keep_the_signature),
        cmocka_unit_test(canonical_path_and_query_are_rfc3986_encoded_and_sorted),
        cmocka_unit_test(sign_then_verify_round_trip),
        cmocka_unit_test(sign_refuses_bad_requests_and_keys),
        cmocka_unit_test(malformed_authorization_headers_are_refused_with_the_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
