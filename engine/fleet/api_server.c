/* api_server.c: the libmicrohttpd daemon behind `osmig serve`: request ids,
 * the body limit, authentication, the routing table, replies, metrics.
 *
 * A request's life: the URI log callback makes its api_req (so the raw URI,
 * as signed, is kept); the access handler's first call answers 413 at once
 * when the declared length is over the limit (the body is never read), then
 * body chunks are collected (a chunked body over the limit is read to its
 * end but not kept, and answered 413); the last call authenticates, routes
 * and answers; the completion callback records metrics and frees.
 * Connections are admitted per client address and in all (conn_limit.h):
 * one past a limit has its request answered 503 and is closed; one that
 * has not yet carried an authenticated request is closed after a short
 * idle time, an authenticated one after 60 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include "lazy_mhd.h"
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api_priv.h"
#include "conn_limit.h"
#include "fleet_metrics.h"
#include "metrics.h"
#include "osm_log.h"

/* Socket contexts (MHD_CONNECTION_INFO_SOCKET_CONTEXT): counted or not. */
static char conn_admitted, conn_over;
/* Idle seconds of a connection once a request on it was authenticated. */
#define AUTHED_IDLE_TIMEOUT 60
/* Idle seconds of a connection past a limit (its request is answered 503). */
#define OVER_IDLE_TIMEOUT 2

/* A chunked body is drained up to this much after the limit, then the
 * connection is closed without an answer. */
#define DRAIN_LIMIT (16 * 1024 * 1024)

static const struct api_route routes[] = {
    {"GET", "/healthz", OSM_ACT_READ, 1, api_healthz, 0},
    {"GET", "/metrics", OSM_ACT_READ, 0, api_metrics, 0},
    {"GET", "/v1/openapi.json", OSM_ACT_READ, 0, api_openapi, 0},
    {"POST", "/v1/jobs", OSM_ACT_SUBMIT, 0, api_jobs_create, 1},
    {"GET", "/v1/jobs", OSM_ACT_READ, 0, api_jobs_list, 0},
    {"GET", "/v1/jobs/{id}", OSM_ACT_READ, 0, api_jobs_get, 0},
    {"PATCH", "/v1/jobs/{id}", OSM_ACT_CONTROL, 0, api_jobs_update, 0},
    {"POST", "/v1/jobs/{id}/pause", OSM_ACT_CONTROL, 0, api_jobs_pause, 0},
    {"POST", "/v1/jobs/{id}/resume", OSM_ACT_CONTROL, 0, api_jobs_resume, 0},
    {"POST", "/v1/jobs/{id}/cancel", OSM_ACT_CONTROL, 0, api_jobs_cancel, 0},
    {"POST", "/v1/assessments", OSM_ACT_SUBMIT, 0, api_assessments, 0},
    {"GET", "/v1/tasks", OSM_ACT_READ, 0, api_tasks_list, 0},
    {"GET", "/v1/tasks/{id}", OSM_ACT_READ, 0, api_tasks_get, 0},
    {"POST", "/v1/tasks/{id}/start", OSM_ACT_CONTROL, 0, api_tasks_start, 0},
    {"POST", "/v1/tasks/{id}/cancel", OSM_ACT_CONTROL, 0, api_tasks_cancel, 0},
    {"POST", "/v1/tasks/{id}/retry", OSM_ACT_CONTROL, 0, api_tasks_retry, 0},
    {"POST", "/v1/tasks/{id}/rollback", OSM_ACT_CONTROL, 0, api_tasks_rollback, 0},
    {"POST", "/v1/tasks/{id}/reschedule", OSM_ACT_CONTROL, 0, api_tasks_reschedule, 0},
    {"POST", "/v1/tasks/{id}/release", OSM_ACT_ADMIN, 0, api_tasks_release, 0},
    {"DELETE", "/v1/tasks/{id}/snapshot", OSM_ACT_CONTROL, 0, api_tasks_delete_snapshot, 0},
    {"GET", "/v1/tasks/{id}/report", OSM_ACT_READ, 0, api_tasks_report, 0},
    {"GET", "/v1/tasks/{id}/log", OSM_ACT_READ, 0, api_tasks_log, 0},
    {"POST", "/v1/events", OSM_ACT_SUBMIT, 0, api_events_import, 0},
    {"POST", "/v1/network-plans", OSM_ACT_SUBMIT, 0, api_netplans_create, 0},
    {"POST", "/v1/network-plans/verify", OSM_ACT_READ, 0, api_netplans_verify, 0},
    {"GET", "/v1/matrix", OSM_ACT_READ, 0, api_matrix, 0},
    {"GET", "/v1/findings", OSM_ACT_READ, 0, api_findings, 0},
    {"GET", "/dashboard", OSM_ACT_READ, 1, api_dashboard, 0},
    {"GET", "/dashboard/{id}", OSM_ACT_READ, 1, api_dashboard, 0},
    {"POST", "/v1/keys", OSM_ACT_ADMIN, 0, api_keys_create, 0},
    {"GET", "/v1/keys", OSM_ACT_ADMIN, 0, api_keys_list, 0},
    {"DELETE", "/v1/keys/{id}", OSM_ACT_ADMIN, 0, api_keys_delete, 0},
    {"PATCH", "/v1/keys/{id}", OSM_ACT_ADMIN, 0, api_keys_update, 0},
    {"POST", "/v1/keys/{id}/rotate", OSM_ACT_ADMIN, 0, api_keys_rotate, 0},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- percent-decoding and the query ---- */

/* Decode %XX (and '+' as a space in queries); NULL when malformed or when it
 * decodes to a NUL. */
static char *pct_decode(const char *s, size_t n, int plus_space)
{
    char *out = osm_xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n) {
                free(out);
                return NULL;
            }
            int h = osm_hexval((unsigned char)s[i + 1]), l = osm_hexval((unsigned char)s[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0)) {
                free(out);
                return NULL;
            }
            *o++ = (char)(h * 16 + l);
            i += 2;
        } else if (s[i] == '+' && plus_space) {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static int parse_query(struct api_req *rq)
{
    const char *q = rq->query;
    if (!q || !*q)
        return 0;
    while (*q) {
        size_t n = strcspn(q, "&");
        if (n > 0) {
            const char *eq = memchr(q, '=', n);
            size_t nl = eq ? (size_t)(eq - q) : n;
            char *name = pct_decode(q, nl, 1);
            char *value = eq ? pct_decode(eq + 1, n - nl - 1, 1) : osm_xstrdup("");
            if (!name || !value || !*name) {
                free(name);
                free(value);
                return api_fail(rq, 400, "InvalidParameter", "query", "the query string is malformed near '%.*s'",
                                (int)(n > 60 ? 60 : n), q);
            }
            rq->q = osm_xrealloc(rq->q, (rq->n_q + 1) * sizeof *rq->q);
            rq->q[rq->n_q].name = name;
            rq->q[rq->n_q].value = value;
            rq->n_q++;
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return 0;
}

const char *api_query(const struct api_req *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_q; i++)
        if (strcmp(rq->q[i].name, name) == 0)
            return rq->q[i].value;
    return NULL;
}

int api_query_check(struct api_req *rq, const char *const *allowed)
{
    for (size_t i = 0; i < rq->n_q; i++) {
        int ok = 0;
        for (size_t k = 0; allowed[k] && !ok; k++)
            ok = strcmp(rq->q[i].name, allowed[k]) == 0;
        char *f = osm_xasprintf("query.%s", rq->q[i].name);
        int rc = 0;
        if (!ok)
            rc = api_fail(rq, 400, "UnknownField", f, "%s: unknown query parameter", f);
        for (size_t k = 0; k < i && rc == 0; k++)
            if (strcmp(rq->q[k].name, rq->q[i].name) == 0)
                rc = api_fail(rq, 400, "InvalidParameter", f, "%s: given more than once", f);
        free(f);
        if (rc)
            return -1;
    }
    return 0;
}

/* ---- replies ---- */

void api_reply(struct api_req *rq, int status, json_t *body)
{
    json_decref(rq->reply);
    free(rq->reply_text);
    rq->reply_text = NULL;
    rq->status = status;
    rq->reply = body;
}

/* A JSON string of text that may hold invalid UTF-8 (it can quote a request's
 * raw path or parameters): jansson refuses such text, which would leave the
 * error without its message, so each byte that does not begin a well-formed
 * sequence becomes '?'. */
static json_t *text_string(const char *text)
{
    json_t *j = json_string(text);
    if (j)
        return j;
    char *copy = osm_xstrdup(text);
    unsigned char *p = (unsigned char *)copy;
    while (*p) {
        int len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 2 : (*p & 0xf0) == 0xe0 ? 3
                  : (*p & 0xf8) == 0xf0 && *p <= 0xf4 ? 4 : 0;
        int ok = len > 0;
        for (int i = 1; ok && i < len; i++)
            ok = (p[i] & 0xc0) == 0x80;
        if (ok && len > 1) {
            json_t *one = json_stringn((const char *)p, (size_t)len); /* overlong or surrogate forms */
            ok = one != NULL;
            json_decref(one);
        }
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += len;
    }
    j = json_string(copy);
    free(copy);
    return j ? j : json_string("(unprintable)");
}

int api_fail(struct api_req *rq, int status, const char *code, const char *field, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(code));
    json_object_set_new(e, "field", field ? text_string(field) : json_null());
    json_object_set_new(e, "message", text_string(msg));
    json_object_set_new(e, "request_id", json_string(rq->request_id));
    /* Alibaba Cloud's shape at the top level, which its SDKs read (they throw
     * `Code`, with `Message` and `RequestId`); osmig's own object, with the
     * field path, stays beside it for osmig's clients. */
    json_t *o = json_object();
    json_object_set_new(o, "Code", json_string(code));
    json_object_set_new(o, "Message", text_string(msg));
    json_object_set_new(o, "RequestId", json_string(rq->request_id));
    json_object_set_new(o, "error", e);
    api_reply(rq, status, o);
    snprintf(rq->error_code, sizeof rq->error_code, "%s", code);
    return -1;
}

void api_reply_page(struct api_req *rq, const char *name, json_t *items, int64_t next)
{
    json_t *o = json_object();
    json_object_set_new(o, name, items);
    char cur[32];
    snprintf(cur, sizeof cur, "%lld", (long long)next);
    json_object_set_new(o, "next", next > 0 ? json_string(cur) : json_null());
    api_reply(rq, 200, o);
}

int api_fail_err(struct api_req *rq, const struct osm_err *err, const char *nf_code, const char *conflict_code)
{
    switch (err->code) {
    case OSM_ENOTFOUND: return api_fail(rq, 404, nf_code ? nf_code : "NotFound", NULL, "%s", err->msg);
    case OSM_ECONFLICT: return api_fail(rq, 409, conflict_code ? conflict_code : "Conflict", NULL, "%s", err->msg);
    case OSM_EINPUT:
    case OSM_EUSAGE: return api_fail(rq, 400, "InvalidParameter", NULL, "%s", err->msg);
    default:
        osm_warn("api.error", "request=%s code=%d msg=\"%s\"", rq->request_id, err->code, err->msg);
        if (osm_store_full_since())
            return api_fail(rq, 507, "InsufficientStorage", NULL,
                            "the state store is out of space; nothing was changed (free space on its file system: "
                            "osmig goes on by itself): %s", err->msg);
        return api_fail(rq, 500, "InternalError", NULL, "%s", err->msg);
    }
}

const char *api_actor(const struct api_req *rq)
{
    return rq->authed ? rq->who.key_id : "-";
}

void api_audit(struct api_req *rq, const char *object, const char *action, const char *detail)
{
    struct osm_store *st = api_store(rq);
    struct osm_err err = OSM_ERR_INIT;
    if (st && osm_store_audit_add(st, object, action, api_actor(rq), detail, &err) != 0)
        osm_warn("api.audit", "request=%s object=%s action=%s msg=\"%s\"", rq->request_id, object, action, err.msg);
}

void api_kick(struct api_req *rq)
{
    if (rq->srv->cfg.kick)
        rq->srv->cfg.kick(rq->srv->cfg.kick_user);
}

int api_in_scope(const struct api_req *rq, const char *instance)
{
    if (!rq->authed || !rq->who.scope || rq->who.role == OSM_ROLE_ADMIN)
        return 1;
    return instance && osm_api_scope_covers(rq->who.scope, instance, NULL);
}

int api_authorize_instance(struct api_req *rq, enum osm_api_action act, const char *instance)
{
    struct osm_api_error e = {0};
    if (!rq->authed)
        return 0;
    if (osm_api_authorize_named(&rq->who, act, instance, &e) == 0)
        return 0;
    return api_fail(rq, e.status ? e.status : 403, e.code[0] ? e.code : "Forbidden.Instance", NULL, "%s", e.message);
}

/* ---- the store pool ---- */

struct osm_store *api_store(struct api_req *rq)
{
    if (rq->st)
        return rq->st;
    struct osm_api_server *srv = rq->srv;
    pthread_mutex_lock(&srv->pool_lock);
    while (!srv->n_pool && srv->n_open >= OSM_API_MAX_STORE_CONNS)
        pthread_cond_wait(&srv->pool_cond, &srv->pool_lock);
    if (srv->n_pool)
        rq->st = srv->pool[--srv->n_pool];
    else
        srv->n_open++; /* this request opens one */
    pthread_mutex_unlock(&srv->pool_lock);
    if (rq->st)
        return rq->st;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_open_location(srv->cfg.store_location, &rq->st, &err) != 0) {
        rq->st = NULL;
        pthread_mutex_lock(&srv->pool_lock);
        srv->n_open--;
        pthread_cond_signal(&srv->pool_cond);
        pthread_mutex_unlock(&srv->pool_lock);
        osm_warn("api.store", "request=%s msg=\"%s\"", rq->request_id, err.msg);
        api_fail(rq, 500, "InternalError", NULL, "the task store cannot be opened: %s", err.msg);
        return NULL;
    }
    return rq->st;
}

static void store_return(struct api_req *rq)
{
    if (!rq->st)
        return;
    struct osm_api_server *srv = rq->srv;
    pthread_mutex_lock(&srv->pool_lock);
    srv->pool = osm_xrealloc(srv->pool, (srv->n_pool + 1) * sizeof *srv->pool);
    srv->pool[srv->n_pool++] = rq->st;
    pthread_cond_signal(&srv->pool_cond);
    pthread_mutex_unlock(&srv->pool_lock);
    rq->st = NULL;
}

/* ---- routing ---- */

/* Does `path` (raw) match `pattern`? On a match with {id}, *param is the
 * decoded segment (caller frees). */
static int route_match(const char *pattern, const char *path, char **param)
{
    *param = NULL;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (strncmp(p, "{id}", 4) == 0) {
            size_t n = strcspn(s, "/");
            if (n == 0)
                break;
            free(*param);
            *param = pct_decode(s, n, 0);
            if (!*param)
                break;
            p += 4;
            s += n;
        } else if (*p == *s) {
            p++, s++;
        } else {
            break;
        }
    }
    if (*p == '\0' && *s == '\0')
        return 1;
    free(*param);
    *param = NULL;
    return 0;
}

/* The route for the request, or NULL (then route_fail() answers 404 / 405). */
static const struct api_route *route_find(struct api_req *rq)
{
    /* Only read by send_reply() in this same call on this thread. */
    static __thread char allow_buf[128];
    allow_buf[0] = '\0';
    for (size_t i = 0; i < N_ROUTES; i++) {
        char *param;
        if (!route_match(routes[i].pattern, rq->path, &param))
            continue;
        if (strcmp(routes[i].method, rq->method) == 0) {
            rq->param = param;
            return &routes[i];
        }
        free(param);
        size_t len = strlen(allow_buf);
        snprintf(allow_buf + len, sizeof allow_buf - len, "%s%s", len ? ", " : "", routes[i].method);
    }
    if (allow_buf[0])
        rq->allow = allow_buf;
    return NULL;
}

static void route_fail(struct api_req *rq)
{
    if (rq->allow)
        api_fail(rq, 405, "MethodNotAllowed", NULL, "%s is not allowed on %s (allowed: %s)", rq->method, rq->path,
                 rq->allow);
    else
        api_fail(rq, 404, "NotFound.Route", NULL, "no such endpoint: %s %s", rq->method, rq->path);
}

/* ---- authentication ---- */

struct hdrs {
    struct osm_acs3_header *v;
    size_t n;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct hdrs *h = cls;
    h->v = osm_xrealloc(h->v, (h->n + 1) * sizeof *h->v);
    h->v[h->n].name = key;
    h->v[h->n].value = value ? value : "";
    h->n++;
    return MHD_YES;
}

static int authenticate(struct api_req *rq)
{
    struct osm_store *st = api_store(rq);
    if (!st)
        return -1;
    struct hdrs h = {0};
    MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, collect_header, &h);
    struct osm_acs3_request ar = {.method = rq->method, .path = rq->path, .query = rq->query, .headers = h.v,
                                  .n_headers = h.n, .body = rq->body.s, .body_len = rq->body.len};
    struct osm_api_error e = {0};
    int rc = rq->route && rq->route->nonce_with_write
                 ? osm_api_authenticate_staged(st, rq->srv->cfg.master_key, &ar, rq->now, &rq->who, &rq->nonce_staged, &e)
                 : osm_api_authenticate(st, rq->srv->cfg.master_key, &ar, rq->now, &rq->who, &e);
    free(h.v);
    if (rc != 0)
        return api_fail(rq, e.status ? e.status : 401, e.code[0] ? e.code : "SignatureDoesNotMatch", NULL, "%s",
                        e.message[0] ? e.message : "the request is not authenticated");
    rq->authed = 1;
    MHD_set_connection_option(rq->conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)AUTHED_IDLE_TIMEOUT);
    if (rq->route && osm_api_authorize(&rq->who, rq->route->action, NULL, &e) != 0)
        return api_fail(rq, e.status ? e.status : 403, e.code[0] ? e.code : "Forbidden.Role", NULL, "%s", e.message);
    return 0;
}

/* The request's nonce, if it waited for a write: recorded now, or the
 * answer becomes the refusal (the store refused the request's writes). */
static void settle_nonce(struct api_req *rq)
{
    if (!rq->nonce_staged)
        return;
    rq->nonce_staged = 0;
    struct osm_api_error e = {0};
    if (osm_api_settle_nonce(rq->st, rq->who.key_id, &e) != 0)
        api_fail(rq, e.status, e.code, NULL, "%s", e.message);
}

static void serve_route(struct api_req *rq);

static void serve(struct api_req *rq)
{
    serve_route(rq);
    settle_nonce(rq);
}

static void serve_route(struct api_req *rq)
{
    rq->now = osm_store_now();
    const char *ct = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (parse_query(rq) != 0)
        return;
    /* Who asks comes before what: an unsigned request learns nothing, not
     * even which routes exist. */
    rq->route = route_find(rq);
    int open = rq->route && (rq->route->no_auth || (rq->route->fn == api_metrics && rq->srv->cfg.public_metrics));
    if (!open && authenticate(rq) != 0)
        return;
    if (!rq->route) {
        route_fail(rq);
        return;
    }
    if (rq->body.len > 0 && ct && strncasecmp(ct, "application/json", 16) != 0) {
        api_fail(rq, 415, "UnsupportedMediaType", NULL, "the body must be application/json, not '%s'", ct);
        return;
    }
    rq->route->fn(rq);
    if (rq->status == 0)
        api_fail(rq, 500, "InternalError", NULL, "the endpoint gave no answer");
}

void api_req_set_uri(struct api_req *rq, const char *uri)
{
    rq->raw_uri = osm_xstrdup(uri && *uri ? uri : "/");
    const char *qm = strchr(rq->raw_uri, '?');
    if (qm) {
        rq->path = osm_xasprintf("%.*s", (int)(qm - rq->raw_uri), rq->raw_uri);
        rq->query = osm_xstrdup(qm + 1);
    } else {
        rq->path = osm_xstrdup(rq->raw_uri);
    }
    osm_buf_init(&rq->body);
}

/* ---- libmicrohttpd callbacks ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct api_req *rq = osm_xcalloc(1, sizeof *rq);
    rq->srv = cls;
    rq->conn = conn;
    rq->t0 = mono_now();
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        memset(rnd, 0, sizeof rnd);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(rq->request_id + 2 * i, 3, "%02x", rnd[i]);
    api_req_set_uri(rq, uri);
    return rq;
}

static enum MHD_Result send_reply(struct api_req *rq)
{
    struct MHD_Response *resp;
    if (rq->reply_text) {
        size_t len = strlen(rq->reply_text);
        resp = MHD_create_response_from_buffer(len, rq->reply_text, MHD_RESPMEM_MUST_FREE);
        rq->reply_text = NULL;
    } else {
        char *text = rq->reply ? json_dumps(rq->reply, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
        char *body = osm_xasprintf("%s\n", text ? text : "{}");
        free(text);
        resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        rq->reply_type = "application/json";
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rq->reply_type);
    MHD_add_response_header(resp, "X-Request-Id", rq->request_id);
    MHD_add_response_header(resp, "x-acs-request-id", rq->request_id); /* where Alibaba Cloud's SDKs look */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (strncmp(rq->reply_type, "text/html", 9) == 0) { /* the dashboard: its own files and API only */
        MHD_add_response_header(resp, "Content-Security-Policy",
                                rq->reply_csp ? rq->reply_csp
                                              : "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                                "form-action 'none'");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    }
    if (rq->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rq->allow);
    if (rq->too_large || rq->over_limit)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (rq->over_limit)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result r = MHD_queue_response(rq->conn, (unsigned)rq->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    (void)cls, (void)url, (void)version;
    struct api_req *rq = *con_cls;
    if (!rq)
        return MHD_NO;
    rq->method = method;
    rq->conn = conn;
    if (!rq->started) {
        rq->started = 1;
        const union MHD_ConnectionInfo *sc = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (sc && sc->socket_context == &conn_over) {
            /* Answered before the body is read, and closed. */
            rq->over_limit = 1;
            api_fail(rq, 503, "ServiceUnavailable", NULL,
                     "too many connections (at most %u from one address, %u in all): close idle ones and retry",
                     rq->srv->per_addr_limit, rq->srv->total_limit);
            return send_reply(rq);
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > OSM_API_MAX_BODY) {
            /* Answer before reading: libmicrohttpd then closes the
             * connection instead of receiving the body. */
            rq->too_large = 1;
            api_fail(rq, 413, "PayloadTooLarge", NULL, "the body (%s bytes) is over the limit of %d bytes", cl,
                     OSM_API_MAX_BODY);
            return send_reply(rq);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        rq->body_seen += *upload_data_size;
        if (!rq->too_large && rq->body.len + *upload_data_size > OSM_API_MAX_BODY) {
            rq->too_large = 1;
            osm_buf_free(&rq->body);
            osm_buf_init(&rq->body);
        }
        if (!rq->too_large)
            osm_buf_add(&rq->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return rq->body_seen > DRAIN_LIMIT ? MHD_NO : MHD_YES;
    }
    if (rq->status) /* already answered */
        return MHD_YES;
    if (rq->too_large)
        api_fail(rq, 413, "PayloadTooLarge", NULL, "the body is over the limit of %d bytes", OSM_API_MAX_BODY);
    else
        serve(rq);
    return send_reply(rq);
}

/* One line of the request log: written whole by one write() to a file
 * opened O_APPEND, so lines of concurrent requests never interleave. */
static void audit_line(struct osm_api_server *srv, const struct api_req *rq, struct MHD_Connection *conn, double dt)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char when[96], addr[INET6_ADDRSTRLEN + 8] = "";
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(now.tv_nsec / 1000000) % 1000);
    const union MHD_ConnectionInfo *ci = conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof addr);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof addr);
    }
    json_t *o = json_object();
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "request_id", json_string(rq->request_id));
    json_object_set_new(o, "key_id", rq->authed ? json_string(rq->who.key_id) : json_null());
    json_object_set_new(o, "method", rq->method ? text_string(rq->method) : json_null());
    json_object_set_new(o, "path", text_string(rq->path));
    json_object_set_new(o, "status", rq->status ? json_integer(rq->status) : json_null());
    json_object_set_new(o, "code", rq->error_code[0] ? json_string(rq->error_code) : json_null());
    json_object_set_new(o, "latency_ms", json_real((double)(long long)(dt * 1e6) / 1000.0));
    json_object_set_new(o, "client", addr[0] ? json_string(addr) : json_null());
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps's NUL becomes the newline */
    if (write(srv->audit_fd, text, len + 1) != (ssize_t)(len + 1))
        osm_warn("api.audit_log", "request=%s msg=\"the request log could not be written: %s\"", rq->request_id,
                 strerror(errno));
    free(text);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct osm_api_server *srv = cls;
    struct api_req *rq = *con_cls;
    if (!rq)
        return;
    *con_cls = NULL;
    double dt = mono_now() - rq->t0;
    if (srv->audit_fd >= 0)
        audit_line(srv, rq, conn, dt);
    if (rq->status) {
        const char *route = rq->route ? rq->route->pattern : "unmatched";
        char status[8];
        snprintf(status, sizeof status, "%d", rq->status);
        const char *labels[] = {"route", route, "status", status, NULL};
        osm_metrics_counter_add(srv->cfg.metrics, OSM_M_API_REQUESTS, labels, 1);
        const char *rl[] = {"route", route, NULL};
        osm_metrics_observe(srv->cfg.metrics, OSM_M_API_DURATION, osm_metrics_seconds_bounds,
                            osm_metrics_n_seconds_bounds, rl, dt);
        osm_info("api.request", "id=%s method=%s path=%s status=%d code=%s ms=%.1f key=%s", rq->request_id,
                 rq->method ? rq->method : "-", rq->path, rq->status, rq->error_code[0] ? rq->error_code : "-",
                 dt * 1000, rq->authed ? rq->who.key_id : "-");
    } else if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        osm_info("api.request", "id=%s path=%s aborted=%d", rq->request_id, rq->path, (int)toe);
    }
    store_return(rq);
    if (rq->authed)
        osm_principal_free(&rq->who);
    for (size_t i = 0; i < rq->n_q; i++)
        osm_free_all(rq->q[i].name, rq->q[i].value);
    free(rq->q);
    free(rq->param);
    json_decref(rq->reply);
    free(rq->reply_text);
    osm_buf_free(&rq->body);
    free(rq->raw_uri);
    free(rq->path);
    free(rq->query);
    free(rq);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct osm_api_server *srv = cls;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        if (osm_conn_limit_open(srv->limit, sa)) {
            *socket_context = &conn_admitted;
        } else {
            *socket_context = &conn_over;
            MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)OVER_IDLE_TIMEOUT);
            osm_metrics_counter_add(srv->cfg.metrics, OSM_M_API_OVER_LIMIT, NULL, 1);
        }
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context == &conn_admitted) {
        osm_conn_limit_close(srv->limit, sa);
        *socket_context = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    osm_info("api.httpd", "msg=\"%s\"", msg);
}

/* ---- start and stop ---- */

static char *dup_or_null(const char *s)
{
    return s ? osm_xstrdup(s) : NULL;
}

int osm_api_start(const struct osm_api_config *cfg, struct osm_api_server **out, struct osm_err *err)
{
    *out = NULL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    int v6 = strchr(cfg->host, ':') != NULL;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    ss.ss_family = v6 ? AF_INET6 : AF_INET;
    if (inet_pton(ss.ss_family, cfg->host, v6 ? (void *)&a6->sin6_addr : (void *)&a4->sin_addr) != 1)
        return osm_err_set(err, OSM_EUSAGE, "listen address '%s' is not a numeric %s address", cfg->host,
                           v6 ? "IPv6" : "IPv4");
    *(v6 ? &a6->sin6_port : &a4->sin_port) = htons((uint16_t)cfg->port);
    int tls = cfg->tls_cert_pem || cfg->tls_key_pem;
    if (tls && (!cfg->tls_cert_pem || !cfg->tls_key_pem))
        return osm_err_set(err, OSM_EUSAGE, "TLS needs both a certificate and a key");
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return osm_err_set(err, OSM_EUNSUPPORTED, "this libmicrohttpd has no TLS support");

    struct osm_api_server *srv = osm_xcalloc(1, sizeof *srv);
    srv->cfg = *cfg;
    srv->cfg.host = osm_xstrdup(cfg->host);
    srv->cfg.store_location = dup_or_null(cfg->store_location);
    srv->cfg.state_dir = dup_or_null(cfg->state_dir);
    srv->cfg.master_key = dup_or_null(cfg->master_key);
    srv->cfg.tls_cert_pem = dup_or_null(cfg->tls_cert_pem);
    srv->cfg.tls_key_pem = dup_or_null(cfg->tls_key_pem);
    pthread_mutex_init(&srv->pool_lock, NULL);
    pthread_cond_init(&srv->pool_cond, NULL);
    srv->audit_fd = -1;
    srv->total_limit = cfg->connection_limit ? cfg->connection_limit : 512;
    srv->per_addr_limit = cfg->per_ip_limit ? cfg->per_ip_limit : 64;
    srv->limit = osm_conn_limit_new(srv->total_limit, srv->per_addr_limit);
    if (cfg->audit_log) {
        srv->audit_fd = open(cfg->audit_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        struct stat ast;
        if (srv->audit_fd < 0) {
            int e = errno;
            osm_api_stop(srv);
            errno = e;
            return osm_err_errno(err, "the request log %s", cfg->audit_log);
        }
        if (fstat(srv->audit_fd, &ast) != 0 || !S_ISREG(ast.st_mode)) {
            osm_api_stop(srv);
            return osm_err_set(err, OSM_EINPUT, "the request log %s is not a regular file", cfg->audit_log);
        }
    }

    /* A request blocks its thread while the store writes (its nonce, its
     * job) and waits for the batch's commit: with a thread of its own per
     * connection no other connection waits behind it, and the writes of all
     * connections share one commit (sqlite_group.h). A pool of `threads`
     * serves each connection from one of them (a blocked request then
     * holds up the pool thread's other connections). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    flags |= cfg->threads ? MHD_USE_EPOLL : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    if (tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[16];
    size_t n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
    if (cfg->threads)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, NULL};
    /* libmicrohttpd's limits, above ours: room to answer 503 to the
     * connections past ours; beyond these a connection is refused at once. */
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, srv->total_limit + srv->total_limit / 2, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, 2 * srv->per_addr_limit, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                        cfg->idle_timeout ? cfg->idle_timeout : 10, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, srv};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv};
    if (tls) {
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)srv->cfg.tls_cert_pem};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)srv->cfg.tls_key_pem};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    errno = 0;
    srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!srv->daemon) {
        int e = errno;
        osm_api_stop(srv);
        errno = e;
        return osm_err_errno(err, "cannot listen on %s%s%s:%d%s", v6 ? "[" : "", cfg->host, v6 ? "]" : "", cfg->port,
                             tls ? " with TLS (is the certificate and key PEM and do they match?)" : "");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    *out = srv;
    return 0;
}

int osm_api_port(const struct osm_api_server *srv)
{
    return srv->port;
}

void osm_api_stop(struct osm_api_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    for (size_t i = 0; i < srv->n_pool; i++)
        osm_store_close(srv->pool[i]);
    free(srv->pool);
    pthread_mutex_destroy(&srv->pool_lock);
    pthread_cond_destroy(&srv->pool_cond);
    osm_conn_limit_free(srv->limit);
    if (srv->audit_fd >= 0)
        close(srv->audit_fd);
    free((char *)srv->cfg.host);
    free((char *)srv->cfg.store_location);
    free((char *)srv->cfg.state_dir);
    free((char *)srv->cfg.master_key);
    free((char *)srv->cfg.tls_cert_pem);
    free((char *)srv->cfg.tls_key_pem);
    free(srv);
}
