/* api_client.c: see api_client.h. */
#include "api_client.h"

#include "lazy_curl.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "acs3.h"
#include "osm_buf.h"
#include "osm_fs.h"

struct osm_api_client {
    CURL *curl;
    char *url;       /* as given, for messages */
    char *origin;    /* scheme://host[:port] */
    char *base_path; /* "" or "/prefix" without a trailing slash */
    char *host;      /* the Host header's value, signed */
    struct osm_api_creds creds;
    char error_code[64];
};

/* ---- credentials ---- */

void osm_api_creds_free(struct osm_api_creds *c)
{
    free(c->key_id);
    if (c->secret) {
        /* The secret should not linger in freed memory. */
        memset(c->secret, 0, strlen(c->secret));
        free(c->secret);
    }
    c->key_id = c->secret = NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int osm_api_creds_read_file(const char *path, struct osm_api_creds *out, struct osm_err *err)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return osm_err_set(err, OSM_ENOTFOUND, "credentials file %s: no such file", path);
        return osm_err_errno(err, "credentials file %s", path);
    }
    if (!S_ISREG(sb.st_mode))
        return osm_err_set(err, OSM_EINPUT, "credentials file %s: not a regular file", path);
    if (sb.st_mode & 077)
        return osm_err_set(err, OSM_EINPUT,
                           "credentials file %s is readable or writable by others (mode %04o); it holds a secret: "
                           "chmod 600 %s",
                           path, (unsigned)(sb.st_mode & 07777), path);
    struct osm_buf b;
    osm_buf_init(&b);
    if (osm_read_file(path, &b, err) != 0) {
        osm_buf_free(&b);
        return -1;
    }
    int line_no = 0, rc = 0;
    char *save = NULL;
    for (char *line = strtok_r(b.s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *l = trim(line);
        if (!*l || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            rc = osm_err_set(err, OSM_EINPUT, "credentials file %s, line %d: expected NAME=VALUE", path, line_no);
            break;
        }
        *eq = '\0';
        char *name = trim(l), *value = trim(eq + 1);
        if (strcmp(name, "key_id") == 0) {
            free(out->key_id);
            out->key_id = osm_xstrdup(value);
        } else if (strcmp(name, "secret") == 0) {
            osm_api_creds_free(&(struct osm_api_creds){NULL, out->secret});
            out->secret = osm_xstrdup(value);
        } else {
            rc = osm_err_set(err, OSM_EINPUT, "credentials file %s, line %d: unknown name '%s' (key_id, secret)",
                             path, line_no, name);
            break;
        }
    }
    memset(b.s, 0, b.len);
    osm_buf_free(&b);
    if (rc == 0 && (!out->key_id || !*out->key_id || !out->secret || !*out->secret))
        rc = osm_err_set(err, OSM_EINPUT, "credentials file %s: needs both key_id= and secret=", path);
    if (rc != 0)
        osm_api_creds_free(out);
    return rc;
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/* A key given whole (0, taken into *out), not at all (1), or half (-1, the
 * half named: by its option, or by its variable when `from_env`). */
static int take_pair(const char *id, const char *secret, int from_env, struct osm_api_creds *out, struct osm_err *err)
{
    id = nonempty(id);
    secret = nonempty(secret);
    if (!id && !secret)
        return 1;
    const char *names[2][2] = {{"--key-id", "--key-secret"}, {"OSMIG_ACCESS_KEY_ID", "OSMIG_ACCESS_KEY_SECRET"}};
    const char *given = names[from_env][!id], *missing = names[from_env][!!id];
    if (!id || !secret)
        return from_env ? osm_err_set(err, OSM_EUSAGE, "%s is set but %s is not", given, missing)
                        : osm_err_set(err, OSM_EUSAGE, "%s given without %s", given, missing);
    out->key_id = osm_xstrdup(id);
    out->secret = osm_xstrdup(secret);
    return 0;
}

int osm_api_creds_resolve(const char *key_id, const char *secret, struct osm_api_creds *out, struct osm_err *err)
{
    memset(out, 0, sizeof *out);
    int r = take_pair(key_id, secret, 0, out, err);
    if (r == 1)
        r = take_pair(getenv("OSMIG_ACCESS_KEY_ID"), getenv("OSMIG_ACCESS_KEY_SECRET"), 1, out, err);
    if (r != 1)
        return r;
    const char *home = nonempty(getenv("HOME"));
    char *path = osm_xasprintf("%s/.config/osmig/credentials", home ? home : "");
    int rc = osm_api_creds_read_file(path, out, err);
    if (rc != 0 && err->code == OSM_ENOTFOUND)
        osm_err_set(err, OSM_EUSAGE,
                    "no API credentials: pass --key-id and --key-secret, set OSMIG_ACCESS_KEY_ID and "
                    "OSMIG_ACCESS_KEY_SECRET, or write %s (mode 0600) with key_id= and secret= lines",
                    path);
    free(path);
    return rc;
}

/* ---- URLs and queries ---- */

const char *osm_api_server(const char *opt)
{
    return opt ? opt : nonempty(getenv("OSMIG_SERVER"));
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

static void escape_into(struct osm_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p))
            osm_buf_addc(b, (char)*p);
        else
            osm_buf_addf(b, "%%%02X", *p);
    }
}

char *osm_api_escape(const char *s)
{
    struct osm_buf b;
    osm_buf_init(&b);
    escape_into(&b, s);
    return osm_buf_detach(&b);
}

void osm_api_query_add(char **q, const char *name, const char *value)
{
    struct osm_buf b;
    osm_buf_init(&b);
    if (*q && **q) {
        osm_buf_adds(&b, *q);
        osm_buf_addc(&b, '&');
    }
    escape_into(&b, name);
    osm_buf_addc(&b, '=');
    escape_into(&b, value);
    free(*q);
    *q = osm_buf_detach(&b);
}

/* ---- the client ---- */

static int parse_url(struct osm_api_client *c, const char *url, struct osm_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *user = NULL;
    int rc = -1;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        osm_err_set(err, OSM_EINPUT, "server URL '%s': %s (expected http://HOST:PORT)", url, curl_url_strerror(uc));
        goto out;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* only when the URL names one */
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    curl_url_get(u, CURLUPART_USER, &user, 0);
    if (!scheme || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        osm_err_set(err, OSM_EINPUT, "server URL '%s': the scheme must be http or https", url);
        goto out;
    }
    if (!host || !*host || query || user) {
        osm_err_set(err, OSM_EINPUT, "server URL '%s': expected %s://HOST[:PORT][/PATH] without a query or user", url,
                    scheme);
        goto out;
    }
    c->host = port ? osm_xasprintf("%s:%s", host, port) : osm_xstrdup(host);
    c->origin = osm_xasprintf("%s://%s", scheme, c->host);
    size_t n = path ? strlen(path) : 0;
    while (n > 0 && path[n - 1] == '/')
        n--;
    c->base_path = osm_xmalloc(n + 1);
    memcpy(c->base_path, path ? path : "", n);
    c->base_path[n] = '\0';
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

int osm_api_client_open(const char *url, const struct osm_api_creds *creds, struct osm_api_client **out,
                        struct osm_err *err)
{
    static int global_done;
    if (!global_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_done = 1;
    }
    struct osm_api_client *c = osm_xcalloc(1, sizeof *c);
    c->url = osm_xstrdup(url);
    if (parse_url(c, url, err) != 0) {
        osm_api_client_close(c);
        return -1;
    }
    c->creds.key_id = osm_xstrdup(creds->key_id);
    c->creds.secret = osm_xstrdup(creds->secret);
    c->curl = curl_easy_init();
    if (!c->curl) {
        osm_api_client_close(c);
        return osm_err_set(err, OSM_EFAIL, "cannot initialise libcurl");
    }
    *out = c;
    return 0;
}

void osm_api_client_close(struct osm_api_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    osm_api_creds_free(&c->creds);
    osm_free_all(c->url, c->origin, c->base_path, c->host, c);
}

const char *osm_api_client_url(const struct osm_api_client *c)
{
    return c->url;
}

const char *osm_api_client_error_code(const struct osm_api_client *c)
{
    return c->error_code;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    osm_buf_add(user, data, size * n);
    return size * n;
}

static int err_code_for_status(long status)
{
    switch (status) {
    case 400:
    case 413: return OSM_EINPUT;
    case 404: return OSM_ENOTFOUND;
    case 409: return OSM_ECONFLICT;
    default: return OSM_EFAIL;
    }
}

/* An error answer in words: the server's code, field and message. */
static void error_answer(struct osm_api_client *c, const char *method, const char *full_url, long status,
                         const struct osm_buf *body, struct osm_err *err)
{
    json_t *j = json_loadb(body->s, body->len, 0, NULL);
    json_t *e = json_object_get(j, "error");
    /* osmig's error object, else Alibaba Cloud's top-level shape (the same
     * code, message and request id; a gateway in between may answer so). */
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *field = json_string_value(json_object_get(e, "field"));
    const char *rid = json_string_value(json_object_get(e, "request_id"));
    if (!code) {
        code = json_string_value(json_object_get(j, "Code"));
        msg = json_string_value(json_object_get(j, "Message"));
        rid = json_string_value(json_object_get(j, "RequestId"));
    }
    if (code) {
        snprintf(c->error_code, sizeof c->error_code, "%s", code);
        osm_err_set(err, err_code_for_status(status), "%s %s: %ld %s: %s%s%s%s%s%s%s", method, full_url, status, code,
                    msg ? msg : "(no message)", field ? " [field " : "", field ? field : "", field ? "]" : "",
                    rid ? " (request " : "", rid ? rid : "", rid ? ")" : "");
    } else {
        /* Not our server's error shape (a proxy?): show the start of it. */
        osm_err_set(err, err_code_for_status(status), "%s %s: HTTP %ld: %.200s", method, full_url, status,
                    body->len ? body->s : "(empty body)");
    }
    json_decref(j);
}

int osm_api_request(struct osm_api_client *c, const char *method, const char *path, const char *query,
                    const json_t *body, int *status, json_t **resp, struct osm_err *err)
{
    *status = 0;
    *resp = NULL;
    c->error_code[0] = '\0';
    char *body_text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    size_t body_len = body_text ? strlen(body_text) : 0;
    char *full_path = osm_xasprintf("%s%s", c->base_path, path);
    char *full_url = osm_xasprintf("%s%s%s%s", c->origin, full_path, query && *query ? "?" : "", query ? query : "");

    struct osm_acs3_header host = {"host", c->host};
    struct osm_acs3_request rq = {
        .method = method, .path = full_path, .query = query, .headers = &host, .n_headers = 1,
        .body = body_text ? body_text : "", .body_len = body_len,
    };
    struct osm_acs3_signed sig;
    memset(&sig, 0, sizeof sig);
    int rc = -1;
    struct curl_slist *hdrs = NULL;
    struct osm_buf in;
    osm_buf_init(&in);
    if (osm_acs3_sign(&rq, c->creds.key_id, c->creds.secret, (int64_t)time(NULL), &sig, err) != 0) {
        osm_err_prefix(err, "signing %s %s", method, full_url);
        goto out;
    }
    char *h = osm_xasprintf("Host: %s", c->host);
    hdrs = curl_slist_append(hdrs, h);
    free(h);
    for (size_t i = 0; i < sizeof sig.headers / sizeof sig.headers[0]; i++) {
        if (!sig.headers[i].name)
            continue;
        h = osm_xasprintf("%s: %s", sig.headers[i].name, sig.headers[i].value);
        hdrs = curl_slist_append(hdrs, h);
        free(h);
    }
    if (body_text)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */

    CURL *k = c->curl;
    curl_easy_reset(k);
    curl_easy_setopt(k, CURLOPT_URL, full_url);
    curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(k, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &in);
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    const char *ca = nonempty(getenv("OSMIG_CA_FILE"));
    if (ca)
        curl_easy_setopt(k, CURLOPT_CAINFO, ca);
    if (body_text) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, body_text);
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)body_len);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, 0L);
    }
    char curl_msg[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, curl_msg);
    CURLcode cc = curl_easy_perform(k);
    if (cc != CURLE_OK) {
        osm_err_set(err, OSM_ENET, "%s %s: cannot reach the server: %s", method, full_url, curl_msg[0] ? curl_msg : curl_easy_strerror(cc));
        goto out;
    }
    long code = 0;
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &code);
    *status = (int)code;
    if (code < 200 || code > 299) {
        error_answer(c, method, full_url, code, &in, err);
        goto out;
    }
    if (in.len > 0) {
        json_error_t je;
        *resp = json_loadb(in.s, in.len, 0, &je);
        if (!*resp) {
            osm_err_set(err, OSM_EINPUT, "%s %s: the answer (HTTP %ld) is not JSON: %s at byte %d", method, full_url,
                        code, je.text, je.position);
            goto out;
        }
    }
    rc = 0;
out:
    /* The handle keeps pointers to these options until the next reset. */
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    osm_acs3_signed_free(&sig);
    osm_buf_free(&in);
    free(body_text);
    free(full_path);
    free(full_url);
    return rc;
}
