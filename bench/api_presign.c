/* api_presign: writes COUNT complete, signed HTTP/1.1 requests for the fleet
 * API to a file that bench/api.lua replays with wrk (wrk's Lua has no HMAC,
 * and every request needs its own nonce, so each one is signed here).
 *
 *   api_presign describe URL IDS_FILE COUNT OUT     GET /v1/tasks/{id}, ids drawn at random
 *   api_presign create URL INSTANCE_DIR TARGET COUNT OUT [now]
 *                                                   POST /v1/jobs of one instance each,
 *                                                   INSTANCE_DIR/iNNNNNNN made as it goes
 *
 * Credentials: OSMIG_ACCESS_KEY_ID / OSMIG_ACCESS_KEY_SECRET. Created jobs
 * start a day later (schedule.not_before: a submission for a maintenance
 * window), so the server only stores them; with `now` they have no
 * schedule and start at once (the server's workers run them meanwhile).
 * Output framing: for each request, its length in decimal, '\n', the bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "acs3.h"
#include "osm_buf.h"

static void die(const char *what)
{
    fprintf(stderr, "api_presign: %s\n", what);
    exit(1);
}

/* host[:port] of an http:// URL. */
static char *host_of(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p || strncmp(url, "http://", 7) != 0)
        die("URL must be http://HOST:PORT");
    p += 3;
    size_t n = strcspn(p, "/");
    char *h = osm_xmalloc(n + 1);
    memcpy(h, p, n);
    h[n] = '\0';
    return h;
}

static void emit(FILE *out, const char *host, const char *method, const char *path, const char *body,
                 const char *key_id, const char *secret, int64_t now)
{
    struct osm_acs3_header hh = {"host", host};
    struct osm_acs3_request rq = {
        .method = method, .path = path, .query = NULL, .headers = &hh, .n_headers = 1,
        .body = body ? body : "", .body_len = body ? strlen(body) : 0,
    };
    struct osm_acs3_signed sig;
    memset(&sig, 0, sizeof sig);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_acs3_sign(&rq, key_id, secret, now, &sig, &err) != 0)
        die(err.msg);
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_addf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host);
    for (size_t i = 0; i < sizeof sig.headers / sizeof sig.headers[0]; i++)
        if (sig.headers[i].name)
            osm_buf_addf(&b, "%s: %s\r\n", sig.headers[i].name, sig.headers[i].value);
    if (body)
        osm_buf_addf(&b, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    else
        osm_buf_adds(&b, "\r\n");
    fprintf(out, "%zu\n", b.len);
    fwrite(b.s, 1, b.len, out);
    osm_buf_free(&b);
    osm_acs3_signed_free(&sig);
}

static char **read_ids(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open the ids file");
    char **ids = NULL, line[128];
    size_t cap = 0;
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            ids = osm_xrealloc(ids, cap * sizeof *ids);
        }
        ids[(*n)++] = osm_xstrdup(line);
    }
    fclose(f);
    if (*n == 0)
        die("the ids file has no ids");
    return ids;
}

int main(int argc, char **argv)
{
    const char *key_id = getenv("OSMIG_ACCESS_KEY_ID"), *secret = getenv("OSMIG_ACCESS_KEY_SECRET");
    if (!key_id || !secret)
        die("set OSMIG_ACCESS_KEY_ID and OSMIG_ACCESS_KEY_SECRET");
    int describe = argc == 6 && strcmp(argv[1], "describe") == 0;
    int create = (argc == 7 || (argc == 8 && strcmp(argv[7], "now") == 0)) && strcmp(argv[1], "create") == 0;
    int start_now = argc == 8;
    if (!describe && !create)
        die("usage: api_presign describe URL IDS_FILE COUNT OUT | create URL INSTANCE_DIR TARGET COUNT OUT [now]");
    char *host = host_of(argv[2]);
    long count = strtol(argv[describe ? 4 : 5], NULL, 10);
    if (count <= 0)
        die("COUNT must be a positive number");
    FILE *out = fopen(argv[describe ? 5 : 6], "w");
    if (!out)
        die("cannot write the output file");
    int64_t now = (int64_t)time(NULL);
    srand((unsigned)now);
    if (describe) {
        size_t n;
        char **ids = read_ids(argv[3], &n);
        for (long i = 0; i < count; i++) {
            size_t k = (size_t)(((unsigned long)rand() << 16 ^ (unsigned long)rand()) % n);
            char *path = osm_xasprintf("/v1/tasks/%s", ids[k]);
            emit(out, host, "GET", path, NULL, key_id, secret, now);
            free(path);
        }
        for (size_t i = 0; i < n; i++)
            free(ids[i]);
        free(ids);
    } else {
        const char *dir = argv[3], *target = argv[4];
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            die("cannot make INSTANCE_DIR");
        char nb[32];
        time_t later = (time_t)(now + 86400);
        struct tm tm;
        gmtime_r(&later, &tm);
        strftime(nb, sizeof nb, "%Y-%m-%dT%H:%M:%SZ", &tm);
        for (long i = 0; i < count; i++) {
            char *inst = osm_xasprintf("%s/i%07ld", dir, i);
            if (mkdir(inst, 0755) != 0 && errno != EEXIST)
                die("cannot make an instance directory");
            char *body = start_now ? osm_xasprintf("{\"target\":\"%s\",\"instances\":[\"dir:%s\"]}", target, inst)
                                   : osm_xasprintf("{\"target\":\"%s\",\"instances\":[\"dir:%s\"],"
                                                   "\"schedule\":{\"not_before\":\"%s\"}}", target, inst, nb);
            emit(out, host, "POST", "/v1/jobs", body, key_id, secret, now);
            free(body);
            free(inst);
        }
    }
    if (fclose(out) != 0)
        die("writing the output file failed");
    free(host);
    return 0;
}
