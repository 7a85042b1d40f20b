/* api: the fleet HTTP API server (`osmig serve`), contract in docs/api.md.
 *
 * A libmicrohttpd daemon with a pool of threads; every request gets an id,
 * is signed (api_auth.h) except /healthz (and /metrics when public), is
 * routed by a table of (method, path pattern) and answers JSON. Requests
 * are validated strictly before anything is written, so a refused request
 * leaves the store as it was. Each request borrows a store connection from
 * a pool (one connection is never used by two threads at once). */
#ifndef OSM_API_H
#define OSM_API_H

#include "osm_error.h"

struct osm_metrics;
struct osm_api_server;

struct osm_api_config {
    const char *host;              /* numeric IPv4 or IPv6 address to listen on */
    int port;                      /* 0: any free port (osm_api_port says which) */
    const char *store_location;    /* state dir or postgresql:// URL */
    const char *state_dir;         /* where task directories go */
    const char *master_key;        /* path of the key sealing access-key secrets */
    const char *tls_cert_pem;      /* PEM text; both NULL: plain HTTP */
    const char *tls_key_pem;
    int public_metrics;            /* GET /metrics without a signature */
    unsigned threads;              /* a pool of request threads (0: a thread per connection) */
    unsigned connection_limit;     /* connections served at once (0: 512); past it, 503 */
    unsigned per_ip_limit;         /* of them from one client address (0: 64); past it, 503 */
    unsigned idle_timeout;         /* seconds before closing an idle connection that has not yet
                                      carried an authenticated request (0: 10; afterwards 60) */
    struct osm_metrics *metrics;   /* required */
    /* The request log: one JSON line per request (time, request id, key
     * id, method, path, status, error code, latency, client address),
     * appended; NULL: none. Made mode 0600; a symlink is refused. */
    const char *audit_log;
    /* Called after a request changed tasks (a job created, a task started,
     * retried...), so the worker looks at once instead of at its next pass. */
    void (*kick)(void *user);
    void *kick_user;
};

int osm_api_start(const struct osm_api_config *cfg, struct osm_api_server **out, struct osm_err *err);
/* The port the server listens on. */
int osm_api_port(const struct osm_api_server *srv);
/* Stop accepting, finish the requests in flight, free everything. */
void osm_api_stop(struct osm_api_server *srv);

#endif
