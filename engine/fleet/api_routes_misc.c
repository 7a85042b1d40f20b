/* api_routes_misc.c: GET /v1/matrix, the access keys (admin), GET
 * /v1/openapi.json, GET /healthz and GET /metrics. */
#include <limits.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_priv.h"
#include "fleet_metrics.h"
#include "families.h"
#include "task_json.h"
#include "keys.h"
#include "metrics.h"
#include "osm_buf.h"
#include "osm_time.h"
#include "osm_run.h"

static int no_query(struct api_req *rq)
{
    static const char *const none[] = {NULL};
    return api_query_check(rq, none);
}

/* A request with no query: the store, or NULL when the answer is given. */
static struct osm_store *store_no_query(struct api_req *rq)
{
    return no_query(rq) ? NULL : api_store(rq);
}

/* A request with no query and a JSON body of only `allowed` members: the
 * body (the caller decrefs), or NULL when the answer is given. */
static json_t *body_of_only(struct api_req *rq, const char *const *allowed)
{
    if (no_query(rq))
        return NULL;
    json_t *body = apij_body(rq, 0);
    if (body && apij_only(rq, body, NULL, allowed)) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* GET /v1/matrix: what `osmig matrix --json` prints, from the same table
 * of families. */
void api_matrix(struct api_req *rq)
{
    if (no_query(rq))
        return;
    json_t *paths = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_families_matrix(osm_families, NULL, 0, &paths, NULL, &err) != 0)
        api_fail(rq, 500, "InternalError", NULL, "the migration matrix: %s", err.msg);
    else
        api_reply(rq, 200, paths);
}

/* ---- keys ---- */

static json_t *key_json(const struct osm_key *k)
{
    char buf[32];
    json_t *o = json_object();
    json_object_set_new(o, "key_id", json_string(k->id));
    json_object_set_new(o, "role", json_string(k->role ? k->role : ""));
    json_object_set_new(o, "scope", k->scope ? json_string(k->scope) : json_null());
    json_object_set_new(o, "created", k->created > 0 ? json_string(osm_time_iso(k->created, buf)) : json_null());
    json_object_set_new(o, "disabled", json_boolean(k->disabled));
    json_object_set_new(o, "expires", k->expires > 0 ? json_string(osm_time_iso(k->expires, buf)) : json_null());
    return o;
}

void api_keys_create(struct api_req *rq)
{
    static const char *const allowed[] = {"role", "scope", NULL};
    json_t *body = body_of_only(rq, allowed);
    if (!body)
        return;
    const char *role, *scope;
    if (apij_string(rq, body, NULL, "role", 1, 16, &role) ||
        apij_string(rq, body, NULL, "scope", 0, 1024, &scope))
        goto out;
    int r = osm_role_parse(role);
    if (r < 0) {
        api_fail(rq, 400, "InvalidParameter.Role", "role", "role: '%s' is not viewer, operator or admin", role);
        goto out;
    }
    if (scope && !*scope) {
        api_fail(rq, 400, "InvalidParameter.Scope", "scope", "scope: empty (leave it out for every instance)");
        goto out;
    }
    struct osm_err serr = OSM_ERR_INIT;
    if (scope && osm_key_scope_check(scope, &serr) != 0) {
        api_fail(rq, 400, "InvalidParameter.Scope", "scope", "scope: %s", serr.msg);
        goto out;
    }
    if (scope && r == OSM_ROLE_ADMIN) {
        api_fail(rq, 400, "InvalidParameter.Scope", "scope", "scope: an admin key acts on every instance");
        goto out;
    }
    struct osm_store *st = api_store(rq);
    if (!st)
        goto out;
    char id[64];
    char *secret = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_key_create(st, rq->srv->cfg.master_key, role, scope, id, &secret, &err) != 0) {
        api_fail_err(rq, &err, NULL, NULL);
        goto out;
    }
    json_t *o = json_object();
    json_object_set_new(o, "key_id", json_string(id));
    json_object_set_new(o, "secret", json_string(secret));
    json_object_set_new(o, "role", json_string(role));
    json_object_set_new(o, "scope", scope ? json_string(scope) : json_null());
    api_audit(rq, id, "created", role);
    api_reply(rq, 201, o);
    free(secret);
out:
    json_decref(body);
}

void api_keys_list(struct api_req *rq)
{
    struct osm_store *st = store_no_query(rq);
    if (!st)
        return;
    struct osm_key *keys = NULL;
    size_t n = 0;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_list_keys(st, &keys, &n, &err) != 0) {
        api_fail_err(rq, &err, NULL, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, key_json(&keys[i]));
    osm_key_list_free(keys, n);
    json_t *o = json_object();
    json_object_set_new(o, "keys", arr);
    api_reply(rq, 200, o);
}

void api_keys_delete(struct api_req *rq)
{
    if (no_query(rq))
        return;
    if (rq->authed && strcmp(rq->param, rq->who.key_id) == 0) {
        api_fail(rq, 409, "Conflict.KeyInUse", NULL, "key %s signed this request: a key cannot delete itself",
                 rq->param);
        return;
    }
    struct osm_store *st = api_store(rq);
    if (!st)
        return;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_delete_key(st, rq->param, &err) != 0) {
        if (err.code == OSM_ENOTFOUND)
            api_fail(rq, 404, "NotFound.Key", NULL, "no key %s", rq->param);
        else
            api_fail_err(rq, &err, "NotFound.Key", NULL);
        return;
    }
    api_audit(rq, rq->param, "deleted", NULL);
    json_t *o = json_object();
    json_object_set_new(o, "key_id", json_string(rq->param));
    json_object_set_new(o, "deleted", json_true());
    api_reply(rq, 200, o);
}

static void key_not_found(struct api_req *rq, const struct osm_err *err)
{
    if (err->code == OSM_ENOTFOUND)
        api_fail(rq, 404, "NotFound.Key", NULL, "no key %s", rq->param);
    else
        api_fail_err(rq, err, "NotFound.Key", NULL);
}

/* PATCH /v1/keys/{id}: {"disabled": bool, "expires": time or null}. */
void api_keys_update(struct api_req *rq)
{
    static const char *const allowed[] = {"disabled", "expires", NULL};
    json_t *body = body_of_only(rq, allowed);
    if (!body)
        return;
    int disabled = -1, has_exp;
    int64_t expires;
    if (apij_bool(rq, body, NULL, "disabled", &disabled) ||
        apij_time(rq, body, NULL, "expires", &expires, &has_exp))
        goto out;
    int exp_given = json_object_get(body, "expires") != NULL;
    if (disabled < 0 && !exp_given) {
        api_fail(rq, 400, "MissingParameter", NULL, "give disabled, expires or both");
        goto out;
    }
    if (rq->authed && strcmp(rq->param, rq->who.key_id) == 0 && (disabled == 1 || (has_exp && expires <= rq->now))) {
        api_fail(rq, 409, "Conflict.KeyInUse", NULL, "key %s signed this request: a key cannot disable itself",
                 rq->param);
        goto out;
    }
    struct osm_store *st = api_store(rq);
    if (!st)
        goto out;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_key_set_state(st, rq->param, disabled, exp_given ? (has_exp ? expires : 0) : -1, &err) != 0) {
        key_not_found(rq, &err);
        goto out;
    }
    char t[32];
    if (disabled >= 0)
        api_audit(rq, rq->param, disabled ? "disabled" : "enabled", NULL);
    if (exp_given)
        api_audit(rq, rq->param, "expires", has_exp ? osm_time_iso(expires, t) : "never");
    struct osm_key k;
    if (osm_store_get_key(st, rq->param, &k, &err) != 0) {
        key_not_found(rq, &err);
        goto out;
    }
    api_reply(rq, 200, key_json(&k));
    osm_key_free(&k);
out:
    json_decref(body);
}

/* POST /v1/keys/{id}/rotate: a new secret, shown once; the old one stops. */
void api_keys_rotate(struct api_req *rq)
{
    if (apij_no_body(rq) != 0)
        return;
    struct osm_store *st = api_store(rq);
    if (!st)
        return;
    char *secret = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_key_rotate(st, rq->srv->cfg.master_key, rq->param, &secret, &err) != 0) {
        key_not_found(rq, &err);
        return;
    }
    api_audit(rq, rq->param, "rotated", NULL);
    json_t *o = json_object();
    json_object_set_new(o, "key_id", json_string(rq->param));
    json_object_set_new(o, "secret", json_string(secret));
    api_reply(rq, 200, o);
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
}

/* ---- openapi, health, metrics ---- */

void api_openapi(struct api_req *rq)
{
    if (no_query(rq))
        return;
    rq->status = 200;
    rq->reply_text = osm_xmalloc(osm_openapi_json_len + 1);
    memcpy(rq->reply_text, osm_openapi_json, osm_openapi_json_len);
    rq->reply_text[osm_openapi_json_len] = '\0';
    rq->reply_type = "application/json";
}

void api_healthz(struct api_req *rq)
{
    struct osm_store *st = api_store(rq);
    struct osm_task_counts c;
    struct osm_err err = OSM_ERR_INIT;
    if (!st || osm_store_count_tasks(st, NULL, &c, &err) != 0) {
        api_reply(rq, 503, json_pack("{s:s,s:s}", "status", "unavailable", "message", st ? err.msg : "no store"));
        return;
    }
    int64_t full = osm_store_full_since();
    if (full) {
        /* Reads work, writes do not: up, but not well. */
        char t[32];
        char *cause = osm_xasprintf("the state store is out of space since %s: reads work, writes (new jobs, task "
                                    "changes) fail until space is freed", osm_time_iso(full, t));
        api_reply(rq, 200, json_pack("{s:s,s:s}", "status", "degraded", "cause", cause));
        free(cause);
        return;
    }
    api_reply(rq, 200, json_pack("{s:s}", "status", "ok"));
}

void api_metrics(struct api_req *rq)
{
    struct osm_store *st = store_no_query(rq);
    if (!st)
        return;
    struct osm_err err = OSM_ERR_INIT;
    char *text = osm_fleet_metrics_scrape(rq->srv->cfg.metrics, st, rq->srv->cfg.state_dir, osm_store_now(), &err);
    if (!text) {
        api_fail_err(rq, &err, NULL, NULL);
        return;
    }
    rq->status = 200;
    rq->reply_text = text;
    rq->reply_type = "text/plain; version=0.0.4; charset=utf-8";
}
