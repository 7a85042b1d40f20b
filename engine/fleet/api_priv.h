/* api_priv: what the API server (api_server.c) and its route files
 * (api_routes_*.c, api_json.c) share: the request being served, replies and
 * errors, strict JSON readers that name the field at fault, and the route
 * handlers. Not for use outside engine/api_*.c. */
#ifndef OSM_API_PRIV_H
#define OSM_API_PRIV_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "api_auth.h"
#include "osm_buf.h"
#include "store.h"

#define OSM_API_MAX_BODY (1024 * 1024)
#define OSM_API_DEFAULT_LIMIT 100
#define OSM_API_MAX_LIMIT 1000
#define OSM_API_MAX_INSTANCES 10000
#define OSM_API_MAX_ASSESS 100

struct osm_api_server {
    struct osm_api_config cfg;     /* strings owned (copied) */
    struct MHD_Daemon *daemon;
    int port;
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;      /* a connection was given back */
    struct osm_store **pool;       /* idle store connections */
    size_t n_pool;
    size_t n_open;                 /* connections open, idle or lent */
    int audit_fd;                  /* cfg.audit_log opened for appending; -1: none */
    struct osm_conn_limit *limit;  /* connections admitted (conn_limit.h) */
    unsigned total_limit, per_addr_limit;
};

/* Store connections open at most (each has its own page cache of up to
 * 32 MiB): with a thread per HTTP connection, more requests than this wait
 * for one to be given back. */
#define OSM_API_MAX_STORE_CONNS 32

struct api_qparam {
    char *name, *value;            /* percent-decoded */
};

struct api_route;

/* One request, from its first byte to its answer. */
struct api_req {
    struct osm_api_server *srv;
    char request_id[33];
    char *raw_uri;                 /* as sent: path?query */
    char *path;                    /* raw path (percent-encoded, as signed) */
    char *query;                   /* raw query without '?', NULL when none */
    const char *method;
    struct MHD_Connection *conn;
    struct osm_buf body;
    size_t body_seen;              /* bytes received, kept or not */
    int too_large;
    int over_limit;                /* its connection is past a limit: 503, closed */
    int started;                   /* the first call of the access handler is done */
    double t0;                     /* monotonic start, seconds */
    const struct api_route *route;
    char *param;                   /* the {id} of the path, decoded */
    struct api_qparam *q;
    size_t n_q;
    struct osm_principal who;
    int authed;
    int nonce_staged;              /* settle before answering (api_auth.h) */
    struct osm_store *st;          /* borrowed from the pool, returned at the end */
    int64_t now;
    /* The answer. */
    int status;
    json_t *reply;                 /* JSON body, or */
    char *reply_text;              /* a text body with its type */
    const char *reply_type;
    const char *reply_csp;         /* an HTML body's Content-Security-Policy (NULL: the dashboard's) */
    const char *allow;             /* 405: the Allow header */
    char error_code[64];           /* for logs */
};

typedef void (*api_handler)(struct api_req *rq);

struct api_route {
    const char *method;
    const char *pattern;           /* "/v1/tasks/{id}/start"; also the metrics label */
    enum osm_api_action action;    /* what the caller must be allowed to do */
    int no_auth;                   /* /healthz (and /metrics when public) */
    api_handler fn;
    int nonce_with_write;          /* its effects are writes of the store: the nonce rides with the first (api_auth.h) */
};

/* The request line's URI split into raw_uri, path and query (none: "/");
 * the body buffer made ready. */
void api_req_set_uri(struct api_req *rq, const char *uri);

/* ---- replies (api_server.c) ---- */

/* Answer `status` with JSON `body` (reference stolen). */
void api_reply(struct api_req *rq, int status, json_t *body);
/* Answer 200 with one page of a list: {NAME: items, "next": the cursor of
 * the next page as a string, null on the last} (items stolen). */
void api_reply_page(struct api_req *rq, const char *name, json_t *items, int64_t next);
/* Answer an error: {"Code", "Message", "RequestId" (Alibaba Cloud's shape),
 * "error": {code, field, message, request_id}}. field may be NULL. Returns -1 so handlers can `return api_fail(...)`. */
__attribute__((format(printf, 5, 6))) int api_fail(struct api_req *rq, int status, const char *code, const char *field,
                                                    const char *fmt, ...);
/* An osm_err as an answer: OSM_ENOTFOUND -> 404 nf_code, OSM_ECONFLICT -> 409
 * conflict_code, OSM_EINPUT/EUSAGE -> 400, else 500. */
int api_fail_err(struct api_req *rq, const struct osm_err *err, const char *nf_code, const char *conflict_code);
/* The request's store connection (borrowed on first use); NULL after
 * answering 500. */
struct osm_store *api_store(struct api_req *rq);
/* A query parameter's decoded value, NULL when absent. */
const char *api_query(const struct api_req *rq, const char *name);
/* 400 UnknownField for any query parameter not in `allowed` (NULL-ended);
 * 400 for a parameter given twice. */
int api_query_check(struct api_req *rq, const char *const *allowed);
/* `limit` (1..1000, default 100) and `after` (a cursor) of a list. */
int api_paging(struct api_req *rq, size_t *limit, int64_t *after);
/* Who the request acts as, for the audit trail: its key id ("-" unsigned). */
const char *api_actor(const struct api_req *rq);
/* Append to the audit trail of `object` (a job, task or key id) that the
 * caller did `action`. The action is done already: a failure to record it
 * is logged, not answered. */
void api_audit(struct api_req *rq, const char *object, const char *action, const char *detail);
/* The worker should look now (a task became runnable). */
void api_kick(struct api_req *rq);
/* Is `instance` in the caller's scope for `act`? 0 yes; -1 answered 403. */
int api_authorize_instance(struct api_req *rq, enum osm_api_action act, const char *instance);
/* Silent scope test (no answer): 1 visible, 0 not. */
int api_in_scope(const struct api_req *rq, const char *instance);
/* Open an instance named in a request, check the key's scope covers every
 * path of it, give its canonical URI (caller frees); else answer and -1. */
int api_check_instance(struct api_req *rq, enum osm_api_action act, const char *uri, const char *field,
                       char **canon);

/* ---- strict JSON (api_json.c) ---- */

/* "base.member" / "member" (caller frees). */
char *apij_path(const char *base, const char *member);
/* "base[i]" (caller frees). */
char *apij_index(const char *base, size_t i);
/* The body as a JSON object. An empty body is {} when `empty_ok`, else 400
 * MissingParameter. Malformed JSON: 400 InvalidJSON with line and column;
 * a non-object: 400 InvalidParameter. NULL after answering. */
json_t *apij_body(struct api_req *rq, int empty_ok);
/* apij_body of a request that takes no query parameter (any: 400 first). */
json_t *apij_body_no_query(struct api_req *rq, int empty_ok);
/* A request with no query parameter and no body but an empty one or {}:
 * 0, or -1 after answering 400. */
int apij_no_body(struct api_req *rq);
/* 400 UnknownField for a member of `obj` not in `allowed` (NULL-ended). */
int apij_only(struct api_req *rq, json_t *obj, const char *base, const char *const *allowed);
/* Member readers: 0 with *out set (NULL / 0 / -1 when absent and not
 * required), -1 after answering 400 naming "base.name". */
int apij_string(struct api_req *rq, json_t *obj, const char *base, const char *name, int required, size_t max_len,
                const char **out);
int apij_bool(struct api_req *rq, json_t *obj, const char *base, const char *name, int *out);
/* An RFC 3339 string or unix seconds; absent or null: *out = 0, *present = 0. */
int apij_time(struct api_req *rq, json_t *obj, const char *base, const char *name, int64_t *out, int *present);
/* An array of strings (absent: *out NULL, *n 0); the caller frees *out (not
 * the strings, which belong to obj). */
int apij_string_array(struct api_req *rq, json_t *obj, const char *base, const char *name, size_t max_items,
                      const char ***out, size_t *n);
/* Parse "2026-11-23T02:00:00Z", "...+08:00", fractions allowed. 0 / -1. */
int apij_parse_rfc3339(const char *s, int64_t *out);
/* A time from a query parameter: RFC 3339 or unix seconds. 0 / -1. */
int apij_parse_time_text(const char *s, int64_t *out);
/* The member path from a message "window.start: ..." -> "window.start";
 * NULL when the message does not start with a member path (caller frees). */
char *apij_member_of_message(const char *msg);

/* ---- shared JSON views (api_routes_tasks.c, api_routes_jobs.c) ---- */

/* The task as osm_task_to_json() (+ history and journal when `full`) plus
 * job_id. NULL after answering 500. */
json_t *api_task_json(struct api_req *rq, const struct osm_task *t, int full);
/* The task of the path's {id}, visible to the caller (out of its scope: 404
 * as if absent); -1 after answering. */
int api_load_task(struct api_req *rq, struct osm_task *t);
/* The job with counts and progress. NULL after answering 500. */
json_t *api_job_json(struct api_req *rq, const struct osm_job *j);
/* Answer 200 with job `id` read afresh (api_job_json); 404 NotFound.Job
 * when there is none, another store error as api_fail_err. */
void api_reply_job(struct api_req *rq, const char *id);
/* Options of a job or an assessment request, validated ("options" member
 * of obj, absent: empty). On success *out is a new object. */
int api_options(struct api_req *rq, json_t *obj, const char *base, json_t **out);
/* Parse a "schedule" object. */
struct api_schedule {
    int64_t not_before, latest_start;
    char *window;                  /* JSON text, owned */
};
int api_schedule_parse(struct api_req *rq, json_t *sched, const char *field, struct api_schedule *out);
void api_schedule_free(struct api_schedule *s);
/* A window spec object, validated by schedule.h; *text receives its compact
 * JSON (caller frees). Errors name field + the member. */
int api_window_parse(struct api_req *rq, json_t *w, const char *field, char **text);

/* ---- handlers ---- */

void api_jobs_create(struct api_req *rq);
void api_jobs_list(struct api_req *rq);
void api_jobs_get(struct api_req *rq);
void api_jobs_update(struct api_req *rq);
void api_jobs_pause(struct api_req *rq);
void api_jobs_resume(struct api_req *rq);
void api_jobs_cancel(struct api_req *rq);
void api_assessments(struct api_req *rq);
void api_tasks_list(struct api_req *rq);
void api_tasks_get(struct api_req *rq);
void api_tasks_start(struct api_req *rq);
void api_tasks_cancel(struct api_req *rq);
void api_tasks_retry(struct api_req *rq);
void api_tasks_rollback(struct api_req *rq);
void api_events_import(struct api_req *rq);
void api_netplans_create(struct api_req *rq);
void api_netplans_verify(struct api_req *rq);
void api_findings(struct api_req *rq);
void api_dashboard(struct api_req *rq);
void api_tasks_reschedule(struct api_req *rq);
void api_tasks_release(struct api_req *rq);
void api_tasks_delete_snapshot(struct api_req *rq);
void api_tasks_report(struct api_req *rq);
void api_tasks_log(struct api_req *rq);
void api_matrix(struct api_req *rq);
void api_keys_create(struct api_req *rq);
void api_keys_list(struct api_req *rq);
void api_keys_delete(struct api_req *rq);
void api_keys_update(struct api_req *rq);
void api_keys_rotate(struct api_req *rq);
void api_openapi(struct api_req *rq);
void api_healthz(struct api_req *rq);
void api_metrics(struct api_req *rq);

/* The OpenAPI document (docs/openapi.json, embedded at build time). */
extern const char osm_openapi_json[];
extern const size_t osm_openapi_json_len;

#endif
