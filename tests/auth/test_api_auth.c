/* test_api_auth.c: authentication (signature, date window, nonce) and
 * authorization (roles, instance scope) of fleet API requests, with keys in a
 * real SQLite store and a real master key file; again on PostgreSQL when
 * OSMIG_TEST_PG_URL names a server (tests/fleet/with_pg.sh starts one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "api_auth.h"
#include "keys.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_hash.h"
#include "store.h"
#include "store_pg.h"
#include "store_sqlite.h"
#include "teststore.h"

#define NOW ((int64_t)1800000000) /* injected server clock */

static const char *pg_url; /* NULL: the SQLite store of the test directory */

struct fx {
    char dir[64];
    char *mk;
    struct osm_store *st;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/osmig-auth-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->mk = osm_master_key_path(f->dir, NULL);
    struct osm_err err = OSM_ERR_INIT;
    static int pg_dropped; /* the first case drops the schema, the others empty the rows */
    if (pg_url && osm_store_pg_reset(pg_url, !pg_dropped++, &err) != 0) {
        fprintf(stderr, "reset: %s\n", err.msg);
        return -1;
    }
    if (osm_store_open_location(pg_url ? pg_url : f->dir, &f->st, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    osm_store_close(f->st);
    osm_remove_tree(f->dir, NULL);
    free(f->mk);
    free(f);
    return 0;
}

static char *new_key(struct fx *f, const char *role, const char *scope, char id[64])
{
    struct osm_err err = OSM_ERR_INIT;
    char *secret;
    if (osm_key_create(f->st, f->mk, role, scope, id, &secret, &err) != 0)
        fail_msg("key create: %s", err.msg);
    return secret;
}

/* A request as the server receives it, signed by a client at `at`. */
struct req {
    struct osm_acs3_header hs[16];
    struct osm_acs3_signed s;
    struct osm_acs3_request rq;
    char auth[1024];
};

static void sign_at(struct req *r, const char *method, const char *path, const char *query, const char *body,
                    const char *id, const char *secret, int64_t at)
{
    memset(r, 0, sizeof *r);
    r->hs[0] = (struct osm_acs3_header){"Host", "127.0.0.1:7443"};
    r->hs[1] = (struct osm_acs3_header){"Content-Type", "application/json"};
    r->hs[2] = (struct osm_acs3_header){"User-Agent", "osmig"};
    r->rq = (struct osm_acs3_request){method, path, query, r->hs, 3, body, body ? strlen(body) : 0};
    struct osm_err err = OSM_ERR_INIT;
    if (osm_acs3_sign(&r->rq, id, secret, at, &r->s, &err) != 0)
        fail_msg("sign: %s", err.msg);
    memcpy(r->hs + 3, r->s.headers, sizeof r->s.headers);
    r->rq.n_headers = 7;
}

static struct osm_acs3_header *hdr(struct req *r, const char *name)
{
    for (size_t i = 0; i < r->rq.n_headers; i++)
        if (strcasecmp(r->hs[i].name, name) == 0)
            return &r->hs[i];
    fail_msg("no header %s", name);
    return NULL;
}

/* Drop header `name` from the request. */
static void drop(struct req *r, const char *name)
{
    struct osm_acs3_header *h = hdr(r, name);
    size_t i = (size_t)(h - r->hs);
    memmove(h, h + 1, (r->rq.n_headers - i - 1) * sizeof *h);
    r->rq.n_headers--;
}

/* Replace the Authorization with a correct signature over `signed_headers`. */
static void resign(struct req *r, const char *id, const char *secret, const char *signed_headers)
{
    char sig[65];
    osm_acs3_signature(&r->rq, signed_headers, secret, sig);
    snprintf(r->auth, sizeof r->auth, "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s", id,
             signed_headers, sig);
    hdr(r, "authorization")->value = r->auth;
}

static void expect_fail(struct fx *f, struct req *r, int64_t now, int status, const char *code, const char *says)
{
    struct osm_principal who;
    struct osm_api_error e;
    if (osm_api_authenticate(f->st, f->mk, &r->rq, now, &who, &e) != -1)
        fail_msg("authenticated; expected %s", code);
    if (e.status != status)
        fail_msg("%d %s: %s; expected %d %s", e.status, e.code, e.message, status, code);
    assert_string_equal(e.code, code);
    if (says && !strstr(e.message, says))
        fail_msg("message '%s' does not say '%s'", e.message, says);
}

static void expect_ok(struct fx *f, struct req *r, int64_t now, struct osm_principal *who)
{
    struct osm_api_error e;
    if (osm_api_authenticate(f->st, f->mk, &r->rq, now, who, &e) != 0)
        fail_msg("%d %s: %s", e.status, e.code, e.message);
}

/* GET /v1/tasks signed by (id, secret) at `at`, judged at NOW: with status
 * 0 it must authenticate (the principal's role is returned), else it must
 * fail with that status, code and message text. */
static int get_tasks(struct fx *f, const char *id, const char *secret, int64_t at, int status, const char *code,
                     const char *says)
{
    struct req r;
    int role = -1;
    sign_at(&r, "GET", "/v1/tasks", NULL, NULL, id, secret, at);
    if (status == 0) {
        struct osm_principal who;
        expect_ok(f, &r, NOW, &who);
        role = who.role;
        osm_principal_free(&who);
    } else {
        expect_fail(f, &r, NOW, status, code, says);
    }
    osm_acs3_signed_free(&r.s);
    return role;
}

/* Put key `k` back into the store with `role` (as someone with write access
 * to the database, not the master key, would). */
static void rewrite_key_role(struct fx *f, struct osm_key *k, const char *role)
{
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_delete_key(f->st, k->id, &err), 0);
    free(k->role);
    k->role = osm_xstrdup(role);
    assert_int_equal(osm_store_put_key(f->st, k, &err), 0);
}

/* Disable or enable key `id` through another connection's SQL. */
static void set_disabled_elsewhere(struct osm_store *other, const char *id, int disabled)
{
    char *sql = sqlite3_mprintf("UPDATE api_keys SET disabled=%d WHERE id=%Q", disabled, id);
    assert_int_equal(sqlite3_exec(osm_store_sqlite_handle(other), sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_free(sql);
}

static void signed_request_authenticates_with_the_keys_role_and_scope(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "operator", "dir:/srv/web*", id);
    assert_int_equal(strlen(id), 23);
    assert_memory_equal(id, "OSM", 3);
    assert_int_equal(strspn(id + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 20);
    assert_int_equal(strlen(secret), 43); /* 32 bytes, base64url */

    struct req r;
    sign_at(&r, "POST", "/v1/jobs", NULL, "{\"instances\":[\"dir:/srv/web01\"]}", id, secret, NOW);
    struct osm_principal who;
    expect_ok(f, &r, NOW, &who);
    assert_string_equal(who.key_id, id);
    assert_int_equal(who.role, OSM_ROLE_OPERATOR);
    assert_string_equal(who.scope, "dir:/srv/web*");
    osm_principal_free(&who);
    osm_acs3_signed_free(&r.s);
    free(secret);
}

static void missing_authorization_is_401(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "viewer", NULL, id);
    struct req r;
    sign_at(&r, "GET", "/v1/tasks", NULL, NULL, id, secret, NOW);
    drop(&r, "authorization");
    expect_fail(f, &r, NOW, 401, "MissingAuthorization", "no Authorization header");
    osm_acs3_signed_free(&r.s);
    free(secret);
}

static void malformed_authorization_is_401(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "viewer", NULL, id);
    struct req r;
    sign_at(&r, "GET", "/v1/tasks", NULL, NULL, id, secret, NOW);
    hdr(&r, "authorization")->value = "Bearer abc";
    expect_fail(f, &r, NOW, 401, "IncompleteSignature", "does not start with");
    snprintf(r.auth, sizeof r.auth, "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=host", id);
    hdr(&r, "authorization")->value = r.auth;
    expect_fail(f, &r, NOW, 401, "IncompleteSignature", "no Signature");
    osm_acs3_signed_free(&r.s);
    free(secret);
}

static void unknown_or_deleted_key_is_401(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "viewer", NULL, id);
    get_tasks(f, "OSMNOSUCHKEYAAAAAAAAAAA", secret, NOW, 401, "InvalidAccessKeyId", "OSMNOSUCHKEYAAAAAAAAAAA");
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_delete_key(f->st, id, &err), 0);
    get_tasks(f, id, secret, NOW, 401, "InvalidAccessKeyId", id);
    free(secret);
}

static void wrong_signature_is_401(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "viewer", NULL, id);
    struct req r;
    sign_at(&r, "GET", "/v1/tasks", "limit=5", NULL, id, "not-the-secret", NOW);
    expect_fail(f, &r, NOW, 401, "SignatureDoesNotMatch", "string to sign");
    osm_acs3_signed_free(&r.s);

    /* a signed header changed on the way */
    sign_at(&r, "GET", "/v1/tasks", "limit=5", NULL, id, secret, NOW);
    hdr(&r, "host")->value = "evil.example:7443";
    expect_fail(f, &r, NOW, 401, "SignatureDoesNotMatch", NULL);
    hdr(&r, "host")->value = "127.0.0.1:7443";
    r.rq.query = "limit=500";
    expect_fail(f, &r, NOW, 401, "SignatureDoesNotMatch", NULL);
    r.rq.query = "limit=5";
    r.rq.path = "/v1/jobs";
    expect_fail(f, &r, NOW, 401, "SignatureDoesNotMatch", NULL);
    osm_acs3_signed_free(&r.s);
    free(secret);
}

static void tampered_body_is_401(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "operator", NULL, id);
    struct req r;
    sign_at(&r, "POST", "/v1/jobs", NULL, "{\"instances\":[\"dir:/srv/a\"]}", id, secret, NOW);
    r.rq.body = "{\"instances\":[\"dir:/srv/b\"]}";
    expect_fail(f, &r, NOW, 401, "SignatureDoesNotMatch", "x-acs-content-sha256");
    /* ... and with the content hash header fixed up to match */
    char sha[65];
    osm_sha256_hex(r.rq.body, r.rq.body_len, sha);
    hdr(&r, "x-acs-content-sha256")->value = sha;
    expect_fail(f, &r, NOW, 401, "SignatureDoesNotMatch", "string to sign");
    osm_acs3_signed_free(&r.s);
    free(secret);
}

static void reordered_query_still_authenticates(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "viewer", NULL, id);
    struct req r;
    sign_at(&r, "GET", "/v1/tasks", "state=failed,running&limit=10&after=t-1", NULL, id, secret, NOW);
    r.rq.query = "after=t-1&limit=10&state=failed%2Crunning";
    struct osm_principal who;
    expect_ok(f, &r, NOW, &who);
    osm_principal_free(&who);
    osm_acs3_signed_free(&r.s);
    free(secret);
}

static void date_outside_15_minutes_is_401_either_way(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "viewer", NULL, id);
    get_tasks(f, id, secret, NOW - 16 * 60, 401, "InvalidTimeStamp.Expired", "behind");
    get_tasks(f, id, secret, NOW + 16 * 60, 401, "InvalidTimeStamp.Expired", "ahead of");
    /* the edges of the window pass */
    get_tasks(f, id, secret, NOW - 15 * 60, 0, NULL, NULL);
    get_tasks(f, id, secret, NOW + 15 * 60, 0, NULL, NULL);
    /* a date that is not one */
    struct req r;
    sign_at(&r, "GET", "/v1/tasks", NULL, NULL, id, secret, NOW);
    const char *bad[] = {"2027-01-15 08:00:00Z", "2027-02-31T08:00:00Z", "Fri, 15 Jan 2027 08:00:00 GMT", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hdr(&r, "x-acs-date")->value = bad[i];
        resign(&r, id, secret, "content-type;host;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce");
        expect_fail(f, &r, NOW, 401, "InvalidTimeStamp.Format", "x-acs-date");
    }
    osm_acs3_signed_free(&r.s);
    free(secret);
}

static void replayed_nonce_is_401(void **state)
{
    struct fx *f = *state;
    char id[64], id2[64];
    char *secret = new_key(f, "operator", NULL, id);
    char *secret2 = new_key(f, "operator", NULL, id2);
    struct req r;
    struct osm_principal who;
    sign_at(&r, "POST", "/v1/tasks/t-1/cancel", NULL, "", id, secret, NOW);
    expect_ok(f, &r, NOW, &who);
    osm_principal_free(&who);
    expect_fail(f, &r, NOW + 5, 401, "SignatureNonceUsed", hdr(&r, "x-acs-signature-nonce")->value);
    /* still refused late in the window, and by the window after it */
    expect_fail(f, &r, NOW + OSM_ACS3_MAX_SKEW, 401, "SignatureNonceUsed", NULL);
    expect_fail(f, &r, NOW + OSM_ACS3_MAX_SKEW + 1, 401, "InvalidTimeStamp.Expired", NULL);

    /* the same nonce under another key is that key's own */
    const char *nonce = hdr(&r, "x-acs-signature-nonce")->value;
    struct req r2;
    sign_at(&r2, "POST", "/v1/tasks/t-1/cancel", NULL, "", id2, secret2, NOW);
    hdr(&r2, "x-acs-signature-nonce")->value = nonce;
    resign(&r2, id2, secret2, "content-type;host;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce");
    expect_ok(f, &r2, NOW, &who);
    osm_principal_free(&who);
    osm_acs3_signed_free(&r2.s);
    osm_acs3_signed_free(&r.s);
    free(secret);
    free(secret2);
}

static void unsigned_required_header_is_401(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "viewer", NULL, id);
    struct req r;
    const char *lists[][2] = {
        {"content-type;host;x-acs-content-sha256;x-acs-date", "x-acs-signature-nonce must be among"},
        {"content-type;host;x-acs-content-sha256;x-acs-signature-nonce", "x-acs-date must be among"},
        {"content-type;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce", "host must be among"},
        {"host;x-acs-date;x-acs-signature-nonce", "x-acs-content-sha256 must be among"},
        {"host;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version", "x-acs-version is not in"},
    };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        sign_at(&r, "GET", "/v1/tasks", NULL, NULL, id, secret, NOW);
        resign(&r, id, secret, lists[i][0]); /* a correct signature over fewer headers */
        expect_fail(f, &r, NOW, 401, "IncompleteSignature", lists[i][1]);
        osm_acs3_signed_free(&r.s);
    }
    sign_at(&r, "GET", "/v1/tasks", NULL, NULL, id, secret, NOW);
    drop(&r, "x-acs-signature-nonce");
    expect_fail(f, &r, NOW, 401, "IncompleteSignature", "no x-acs-signature-nonce header");
    osm_acs3_signed_free(&r.s);
    /* the same header twice */
    sign_at(&r, "GET", "/v1/tasks", NULL, NULL, id, secret, NOW);
    r.hs[r.rq.n_headers++] = (struct osm_acs3_header){"X-Acs-Date", "2027-01-15T08:00:00Z"};
    expect_fail(f, &r, NOW, 401, "IncompleteSignature", "sent 2 times");
    osm_acs3_signed_free(&r.s);
    free(secret);
}

static void roles_and_scopes_are_enforced(void **state)
{
    (void)state;
    struct osm_principal viewer = {"OSMVIEWER", OSM_ROLE_VIEWER, NULL};
    struct osm_principal op = {"OSMOPERATOR", OSM_ROLE_OPERATOR, "dir:/srv/web*"};
    struct osm_principal scoped_viewer = {"OSMSV", OSM_ROLE_VIEWER, "dir:/srv/db?"};
    struct osm_principal admin = {"OSMADMIN", OSM_ROLE_ADMIN, NULL};
    struct osm_api_error e;

    assert_int_equal(osm_api_authorize(&viewer, OSM_ACT_READ, "dir:/srv/a", &e), 0);
    assert_int_equal(osm_api_authorize(&viewer, OSM_ACT_SUBMIT, "dir:/srv/a", &e), -1);
    assert_int_equal(e.status, 403);
    assert_string_equal(e.code, "Forbidden.Role");
    assert_non_null(strstr(e.message, "viewer"));
    assert_int_equal(osm_api_authorize(&viewer, OSM_ACT_CONTROL, NULL, &e), -1);
    assert_string_equal(e.code, "Forbidden.Role");

    assert_int_equal(osm_api_authorize(&op, OSM_ACT_SUBMIT, "dir:/srv/web01", &e), 0);
    /* Every path the instance names must be in scope: a disk outside it is
     * refused, one inside is not; ".." never climbs out of a scope. */
    assert_int_equal(osm_api_authorize(&op, OSM_ACT_CONTROL, "dir:/srv/web/02?disk=/srv/web-data", &e), 0);
    assert_int_equal(osm_api_authorize(&op, OSM_ACT_CONTROL, "dir:/srv/web/02?disk=/d", &e), -1);
    assert_string_equal(e.code, "Forbidden.Instance");
    assert_int_equal(osm_api_authorize(&op, OSM_ACT_CONTROL, "dir:/srv/web01/../db01", &e), -1);
    assert_string_equal(e.code, "Forbidden.Instance");
    assert_int_equal(osm_api_authorize(&op, OSM_ACT_CONTROL, "dir:/srv/db01", &e), -1);
    assert_int_equal(e.status, 403);
    assert_string_equal(e.code, "Forbidden.Instance");
    assert_non_null(strstr(e.message, "dir:/srv/db01"));
    assert_non_null(strstr(e.message, "dir:/srv/web*"));
    assert_int_equal(osm_api_authorize(&op, OSM_ACT_ADMIN, NULL, &e), -1);
    assert_int_equal(e.status, 403);
    assert_string_equal(e.code, "Forbidden.Role");
    assert_non_null(strstr(e.message, "manage keys"));

    assert_int_equal(osm_api_authorize(&scoped_viewer, OSM_ACT_READ, "dir:/srv/db1", &e), 0);
    assert_int_equal(osm_api_authorize(&scoped_viewer, OSM_ACT_READ, "dir:/srv/web1", &e), -1);
    assert_string_equal(e.code, "Forbidden.Instance");
    assert_int_equal(osm_api_authorize(&scoped_viewer, OSM_ACT_READ, NULL, &e), 0);

    assert_int_equal(osm_api_authorize(&admin, OSM_ACT_ADMIN, NULL, &e), 0);
    assert_int_equal(osm_api_authorize(&admin, OSM_ACT_CONTROL, "ecs:i-123", &e), 0);
}

static void role_names_round_trip(void **state)
{
    (void)state;
    assert_int_equal(osm_role_parse("viewer"), OSM_ROLE_VIEWER);
    assert_int_equal(osm_role_parse("operator"), OSM_ROLE_OPERATOR);
    assert_int_equal(osm_role_parse("admin"), OSM_ROLE_ADMIN);
    assert_int_equal(osm_role_parse("Admin"), -1);
    assert_int_equal(osm_role_parse("root"), -1);
    assert_int_equal(osm_role_parse(NULL), -1);
    assert_string_equal(osm_role_name(OSM_ROLE_OPERATOR), "operator");
}

static int file_contains(const char *path, const char *needle)
{
    struct osm_buf b;
    osm_buf_init(&b);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_read_file(path, &b, &err) != 0) {
        osm_buf_free(&b);
        return 0; /* absent (no WAL file): holds nothing */
    }
    int found = memmem(b.s, b.len, needle, strlen(needle)) != NULL;
    osm_buf_free(&b);
    return found;
}

static void key_secret_is_never_stored_in_clear(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secrets[3];
    const char *roles[] = {"viewer", "operator", "admin"};
    for (int i = 0; i < 3; i++)
        secrets[i] = new_key(f, roles[i], NULL, id);
    /* the store holds the last key; its secret unseals to the same bytes */
    char *got;
    struct osm_key k;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_key_secret(f->st, f->mk, id, &got, &k, &err), 0);
    assert_string_equal(got, secrets[2]);
    assert_string_equal(k.role, "admin");
    assert_null(strstr(k.sealed_secret, secrets[2]));
    free(got);
    osm_key_free(&k);
    osm_store_close(f->st); /* flush: the bytes on disk are what matters */
    f->st = NULL;
    char *db = osm_path_join(f->dir, "state.db");
    char *wal = osm_path_join(f->dir, "state.db-wal");
    assert_true(file_contains(db, "OSM")); /* the ids are there... */
    for (int i = 0; i < 3; i++) {
        assert_false(file_contains(db, secrets[i])); /* ...the secrets are not */
        assert_false(file_contains(wal, secrets[i]));
        free(secrets[i]);
    }
    free(db);
    free(wal);
    assert_int_equal(osm_store_open(f->dir, &f->st, &err), 0);
}

static void master_key_is_made_private_and_checked(void **state)
{
    struct fx *f = *state;
    char id[64];
    free(new_key(f, "viewer", NULL, id));
    struct stat sb;
    assert_int_equal(stat(f->mk, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 32);

    char *secret;
    struct osm_err err = OSM_ERR_INIT;
    chmod(f->mk, 0644);
    assert_int_equal(osm_key_create(f->st, f->mk, "viewer", NULL, id, &secret, &err), -1);
    assert_non_null(strstr(err.msg, "mode 0600"));
    assert_non_null(strstr(err.msg, f->mk));
    chmod(f->mk, 0600);
    assert_int_equal(osm_write_file_atomic(f->mk, "short", 5, 0600, &err), 0);
    assert_int_equal(osm_key_create(f->st, f->mk, "viewer", NULL, id, &secret, &err), -1);
    assert_non_null(strstr(err.msg, "exactly 32 bytes"));
}

static void wrong_master_key_is_a_clear_error(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "operator", NULL, id);
    char *other = osm_path_join(f->dir, "other.key");
    unsigned char k32[32];
    memset(k32, 7, sizeof k32);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_write_file_atomic(other, k32, sizeof k32, 0600, &err), 0);

    char *got = NULL;
    assert_int_equal(osm_key_secret(f->st, other, id, &got, NULL, &err), -1);
    assert_int_equal(err.code, OSM_EINPUT);
    assert_null(got);
    assert_non_null(strstr(err.msg, "wrong master key"));
    assert_non_null(strstr(err.msg, other));
    assert_non_null(strstr(err.msg, id));

    /* the server answers 500, not 401: its configuration is wrong */
    struct req r;
    sign_at(&r, "GET", "/v1/tasks", NULL, NULL, id, secret, NOW);
    struct osm_principal who;
    struct osm_api_error e;
    assert_int_equal(osm_api_authenticate(f->st, other, &r.rq, NOW, &who, &e), -1);
    assert_int_equal(e.status, 500);
    assert_string_equal(e.code, "InternalError");
    assert_non_null(strstr(e.message, "wrong master key"));

    /* a missing master key file is named too */
    char *none = osm_path_join(f->dir, "none.key");
    assert_int_equal(osm_key_secret(f->st, none, id, &got, NULL, &err), -1);
    assert_int_equal(err.code, OSM_EINPUT);
    assert_non_null(strstr(err.msg, "none.key does not exist"));
    osm_acs3_signed_free(&r.s);
    free(none);
    free(other);
    free(secret);
}

/* A role raised in the store (by someone with write access to the database
 * but not the master key) makes the secret unusable, not an admin key. */
static void changed_key_record_does_not_unseal(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "viewer", "dir:/srv/a", id);
    struct osm_key k;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_get_key(f->st, id, &k, &err), 0);
    rewrite_key_role(f, &k, "admin");
    char *got = NULL;
    assert_int_equal(osm_key_secret(f->st, f->mk, id, &got, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "changed in the store"));

    /* a widened scope as well */
    free(k.scope);
    k.scope = NULL;
    rewrite_key_role(f, &k, "viewer");
    assert_int_equal(osm_key_secret(f->st, f->mk, id, &got, NULL, &err), -1);
    osm_key_free(&k);
    free(secret);
}

/* The server keeps unsealed secrets in memory: a key authenticated once and
 * then changed, deleted, or put under another master key is judged by the
 * store's row and the master key file as they are now. */
static void cached_secret_follows_the_key_row_and_master_key(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "viewer", "dir:/srv/a", id);
    get_tasks(f, id, secret, NOW, 0, NULL, NULL);

    /* the row's role widened behind the server's back: refused, not admin */
    struct osm_key k;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_get_key(f->st, id, &k, &err), 0);
    rewrite_key_role(f, &k, "admin");
    get_tasks(f, id, secret, NOW, 500, "InternalError", "changed in the store");

    /* put back as it was: served again */
    rewrite_key_role(f, &k, "viewer");
    assert_int_equal(get_tasks(f, id, secret, NOW, 0, NULL, NULL), OSM_ROLE_VIEWER);

    /* another master key file at the same path: the sealed secret no
     * longer opens, cached or not */
    unsigned char k32[32];
    memset(k32, 9, sizeof k32);
    struct osm_buf saved;
    osm_buf_init(&saved);
    assert_int_equal(osm_read_file(f->mk, &saved, &err), 0);
    assert_int_equal(osm_write_file_atomic(f->mk, k32, sizeof k32, 0600, &err), 0);
    get_tasks(f, id, secret, NOW, 500, "InternalError", "wrong master key");
    assert_int_equal(osm_write_file_atomic(f->mk, saved.s, saved.len, 0600, &err), 0);
    osm_buf_free(&saved);

    /* deleted: refused at once */
    assert_int_equal(osm_store_delete_key(f->st, id, &err), 0);
    get_tasks(f, id, secret, NOW, 401, "InvalidAccessKeyId", id);
    osm_key_free(&k);
    free(secret);
}

/* A key row changed by another connection (another process: `osmig key`,
 * or someone with SQL) after its row was cached: the next request sees it,
 * as the generation read with its nonce moved. Disabled, enabled again,
 * deleted. */
static void cached_key_follows_changes_made_elsewhere(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = new_key(f, "viewer", NULL, id);
    get_tasks(f, id, secret, NOW, 0, NULL, NULL); /* cached now */

    struct osm_store *other;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_open_location(f->dir, &other, &err), 0);
    set_disabled_elsewhere(other, id, 1);
    get_tasks(f, id, secret, NOW, 401, "InvalidAccessKeyId", id);
    set_disabled_elsewhere(other, id, 0);
    get_tasks(f, id, secret, NOW, 0, NULL, NULL);
    assert_int_equal(osm_store_delete_key(other, id, &err), 0);
    get_tasks(f, id, secret, NOW, 401, "InvalidAccessKeyId", id);
    osm_store_close(other);
    free(secret);
}

/* Create a job of one task on `instance` through `st`: 0 or -1. */
static int create_one(struct osm_store *st, const char *instance)
{
    struct osm_err err = OSM_ERR_INIT;
    return osm_test_create_one(st, NULL, instance, NULL, &err);
}

static int count_tasks(struct fx *f)
{
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_prepare_v2(osm_store_sqlite_handle(f->st), "SELECT count(*) FROM tasks", -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int n = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

/* authenticate_staged on a cached key: the nonce waits for the write. */
static void expect_staged(struct fx *f, struct req *r)
{
    struct osm_principal who;
    struct osm_api_error e;
    int staged = -1;
    if (osm_api_authenticate_staged(f->st, f->mk, &r->rq, NOW, &who, &staged, &e) != 0)
        fail_msg("%d %s: %s", e.status, e.code, e.message);
    assert_int_equal(staged, 1);
    osm_principal_free(&who);
}

static void expect_settled(struct fx *f, const char *id, const char *code)
{
    struct osm_api_error e;
    if (!code) {
        if (osm_api_settle_nonce(f->st, id, &e) != 0)
            fail_msg("%d %s: %s", e.status, e.code, e.message);
        return;
    }
    assert_int_equal(osm_api_settle_nonce(f->st, id, &e), -1);
    assert_int_equal(e.status, 401);
    assert_string_equal(e.code, code);
}

static void nonce_staged_with_a_write_is_refused_with_it(void **state)
{
    struct fx *f = *state;
    char id[64], other_id[64];
    char *secret = new_key(f, "operator", NULL, id);
    char *other_secret = new_key(f, "viewer", NULL, other_id);
    struct req r, first;
    struct osm_principal who;
    sign_at(&first, "GET", "/v1/tasks", NULL, NULL, id, secret, NOW);
    expect_ok(f, &first, NOW, &who); /* the key is cached now */
    osm_principal_free(&who);

    /* The nonce commits with the job; the replay writes nothing. */
    sign_at(&r, "POST", "/v1/jobs", NULL, "{}", id, secret, NOW);
    expect_staged(f, &r);
    assert_int_equal(create_one(f->st, "dir:/srv/a"), 0);
    expect_settled(f, id, NULL);
    expect_staged(f, &r);
    assert_int_equal(create_one(f->st, "dir:/srv/b"), -1);
    assert_int_equal(create_one(f->st, "dir:/srv/c"), -1); /* nor any later write of the request */
    expect_settled(f, id, "SignatureNonceUsed");
    assert_int_equal(count_tasks(f), 1);
    osm_acs3_signed_free(&r.s);

    /* A write that fails on its own (a busy instance) keeps its nonce. */
    sign_at(&r, "POST", "/v1/jobs", NULL, "{}", id, secret, NOW);
    expect_staged(f, &r);
    assert_int_equal(create_one(f->st, "dir:/srv/a"), -1);
    expect_settled(f, id, NULL);
    expect_fail(f, &r, NOW, 401, "SignatureNonceUsed", NULL);
    osm_acs3_signed_free(&r.s);

    /* Another key changes: this one's writes go on. */
    struct osm_store *other;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_open_location(f->dir, &other, &err), 0);
    assert_int_equal(osm_store_delete_key(other, other_id, &err), 0);
    sign_at(&r, "POST", "/v1/jobs", NULL, "{}", id, secret, NOW);
    expect_staged(f, &r);
    assert_int_equal(create_one(f->st, "dir:/srv/d"), 0);
    expect_settled(f, id, NULL);
    osm_acs3_signed_free(&r.s);
    assert_int_equal(count_tasks(f), 2);

    /* This key changes between the check and the write (disabled
     * elsewhere): nothing is written, the nonce is kept, and the next
     * request is judged by the row as it is. */
    sign_at(&r, "POST", "/v1/jobs", NULL, "{}", id, secret, NOW);
    expect_staged(f, &r);
    set_disabled_elsewhere(other, id, 1);
    assert_int_equal(create_one(f->st, "dir:/srv/e"), -1);
    expect_settled(f, id, "InvalidAccessKeyId.Changed");
    assert_int_equal(count_tasks(f), 2);
    expect_fail(f, &r, NOW, 401, "InvalidAccessKeyId", "disabled");
    set_disabled_elsewhere(other, id, 0);
    expect_fail(f, &r, NOW, 401, "SignatureNonceUsed", NULL);
    osm_acs3_signed_free(&r.s);

    /* A request that writes nothing: its nonce is recorded when settled
     * (the key read again and cached first: a key not cached is checked
     * and its nonce recorded at once). */
    get_tasks(f, id, secret, NOW, 0, NULL, NULL);
    sign_at(&r, "POST", "/v1/jobs", NULL, "{}", id, secret, NOW);
    expect_staged(f, &r);
    expect_settled(f, id, NULL);
    expect_fail(f, &r, NOW, 401, "SignatureNonceUsed", NULL);
    osm_acs3_signed_free(&r.s);

    osm_store_close(other);
    osm_acs3_signed_free(&first.s);
    free(secret);
    free(other_secret);
}

static void key_create_refuses_bad_roles_and_scopes(void **state)
{
    struct fx *f = *state;
    char id[64];
    char *secret = (char *)"x";
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_key_create(f->st, f->mk, "root", NULL, id, &secret, &err), -1);
    assert_int_equal(err.code, OSM_EUSAGE);
    assert_non_null(strstr(err.msg, "'root'"));
    assert_null(secret);
    assert_int_equal(osm_key_create(f->st, f->mk, "admin", "dir:*", id, &secret, &err), -1);
    assert_non_null(strstr(err.msg, "--scope"));
    assert_int_equal(osm_key_create(f->st, f->mk, "viewer", "", id, &secret, &err), -1);
    assert_int_equal(osm_key_create(f->st, f->mk, "viewer", "dir:\n*", id, &secret, &err), -1);
    /* nothing was stored */
    struct osm_key *keys;
    size_t n;
    assert_int_equal(osm_store_list_keys(f->st, &keys, &n, &err), 0);
    assert_int_equal(n, 0);
    osm_key_list_free(keys, n);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
/* The cases that go through the store, on either store. */
#define STORE_CASES                                                                  \
    T(signed_request_authenticates_with_the_keys_role_and_scope),                    \
    T(missing_authorization_is_401),                                                 \
    T(malformed_authorization_is_401),                                               \
    T(unknown_or_deleted_key_is_401),                                                \
    T(wrong_signature_is_401),                                                       \
    T(tampered_body_is_401),                                                         \
    T(reordered_query_still_authenticates),                                          \
    T(date_outside_15_minutes_is_401_either_way),                                    \
    T(replayed_nonce_is_401),                                                        \
    T(unsigned_required_header_is_401),                                              \
    T(wrong_master_key_is_a_clear_error),                                            \
    T(changed_key_record_does_not_unseal),                                           \
    T(cached_secret_follows_the_key_row_and_master_key),                             \
    T(key_create_refuses_bad_roles_and_scopes)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        STORE_CASES,
        cmocka_unit_test(roles_and_scopes_are_enforced),
        cmocka_unit_test(role_names_round_trip),
        T(key_secret_is_never_stored_in_clear),
        T(master_key_is_made_private_and_checked),
        T(cached_key_follows_changes_made_elsewhere),
        T(nonce_staged_with_a_write_is_refused_with_it),
    };
    const struct CMUnitTest pg_tests[] = {STORE_CASES};
    int failed = cmocka_run_group_tests_name("api auth: sqlite", sqlite_tests, NULL, NULL);
    const char *url = getenv("OSMIG_TEST_PG_URL");
    if (url && *url) {
        pg_url = url;
        failed += cmocka_run_group_tests_name("api auth: postgresql", pg_tests, NULL, NULL);
    }
    return failed ? 1 : 0;
}
