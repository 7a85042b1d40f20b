/* api_auth: who is calling the fleet API and what they may do.
 *
 * Keys (keys.h) have a role and an optional instance scope:
 *   viewer   - read jobs, tasks, matrix, metrics
 *   operator - viewer + create jobs and control tasks (start, cancel, retry,
 *              rollback, reschedule, delete snapshot) on instances in scope
 *   admin    - everything, keys included, every instance
 * osm_api_authenticate() checks the signature (acs3.h), the date window and
 * the nonce; failures are 401 with a code. osm_api_authorize() answers 403
 * codes for a forbidden action or an instance out of scope. */
#ifndef OSM_API_AUTH_H
#define OSM_API_AUTH_H

#include <stdint.h>

#include "acs3.h"
#include "osm_error.h"
#include "store.h"

enum osm_role { OSM_ROLE_VIEWER = 1, OSM_ROLE_OPERATOR = 2, OSM_ROLE_ADMIN = 3 };

enum osm_api_action {
    OSM_ACT_READ,            /* describe anything */
    OSM_ACT_SUBMIT,          /* create jobs, check migratability */
    OSM_ACT_CONTROL,         /* start, cancel, retry, rollback, reschedule, delete snapshot */
    OSM_ACT_ADMIN,           /* keys */
};

struct osm_principal {
    char key_id[64];
    enum osm_role role;
    char *scope;             /* fnmatch pattern over instance URIs; NULL: all */
};
void osm_principal_free(struct osm_principal *p);

/* An API error: HTTP status, stable code ("SignatureDoesNotMatch",
 * "InvalidTimeStamp.Expired", "SignatureNonceUsed", "MissingAuthorization",
 * "InvalidAccessKeyId", "Forbidden.Role", "Forbidden.Instance", ...) and a
 * message. */
struct osm_api_error {
    int status;
    char code[64];
    char message[512];
};

/* 0 authenticated (*who filled), -1 not (e filled, status 401; 500 when the
 * store failed). `now` is injectable for tests. */
int osm_api_authenticate(struct osm_store *st, const char *master_key_path, const struct osm_acs3_request *rq,
                         int64_t now, struct osm_principal *who, struct osm_api_error *e);
/* As osm_api_authenticate, for a request whose first write (if any) may
 * record its nonce (osm_store_stage_nonce): one commit instead of two. When
 * *staged is set, the nonce is not recorded yet; the caller must call
 * osm_api_settle_nonce() before answering, and answer its error instead when
 * it fails (the nonce was used: 401 SignatureNonceUsed; the key changed
 * meanwhile: 401 InvalidAccessKeyId.Changed; in both cases the store
 * refused the request's writes). Only for requests whose effects are writes
 * of `st`: effects of other kinds would happen before a replay is seen. */
int osm_api_authenticate_staged(struct osm_store *st, const char *master_key_path, const struct osm_acs3_request *rq,
                                int64_t now, struct osm_principal *who, int *staged, struct osm_api_error *e);
int osm_api_settle_nonce(struct osm_store *st, const char *key_id, struct osm_api_error *e);
/* 0 allowed, -1 forbidden (e filled, status 403). instance may be NULL for
 * actions not about one instance (the role alone); an instance named by a
 * URI is judged as osm_api_authorize_named does (each path lexically). An
 * opened instance: osm_api_authorize_instance. */
int osm_api_authorize(const struct osm_principal *who, enum osm_api_action act, const char *instance,
                      struct osm_api_error *e);
/* As osm_api_authorize, for an opened instance: every path it is made of
 * (osm_instance_names: root, each disk, its descriptor; canonical) must
 * match the key's scope. as_given: the name in the request, for messages. */
struct osm_instance;
int osm_api_authorize_instance(const struct osm_principal *who, enum osm_api_action act,
                               const struct osm_instance *inst, const char *as_given, struct osm_api_error *e);
/* Lexical: does SCOPE cover every path of a canonical instance URI
 * (SCHEME:PATH[?disk=PATH...], %-decoded; a path with "//", "." or ".."
 * segments or a trailing '/' never is)? *bad (may be NULL): what was not. */
int osm_api_scope_covers(const char *scope, const char *uri, char **bad);
/* The role, then osm_api_scope_covers over a URI as named. */
int osm_api_authorize_named(const struct osm_principal *who, enum osm_api_action act, const char *instance,
                            struct osm_api_error *e);
int osm_role_parse(const char *name); /* -1 when unknown */
const char *osm_role_name(enum osm_role r);

#endif
