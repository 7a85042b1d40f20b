/* cmd_serve.c: `osmig serve`: the fleet API (api.h) and the worker that
 * runs tasks (worker.h) in one process, until SIGINT or SIGTERM. The first
 * line on stdout says where it listens (with the real port when --listen
 * asks for port 0), so scripts can wait for it. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "keys.h"
#include "fleet_metrics.h"
#include "metrics.h"
#include "osm_buf.h"
#include "osm_cli.h"
#include "osm_fs.h"
#include "store.h"
#include "worker.h"

static const char usage_text[] =
    "usage: osmig serve [--listen HOST:PORT] [--store LOCATION] [--state-dir DIR] [--workers N]\n"
    "                   [--tls-cert FILE --tls-key FILE] [--public-metrics]\n"
    "                   [--scheduler-interval SECONDS] [--master-key FILE] [--lease SECONDS]\n"
    "                   [--audit-log FILE] [--max-connections N] [--max-connections-per-address N]\n"
    "                   [--idle-timeout SECONDS]\n"
    "  Serve the fleet API (docs/api.md) and run the tasks of its jobs.\n"
    "  --listen             address and port (default 127.0.0.1:8470; [::1]:8470 for IPv6;\n"
    "                       port 0 picks a free one, printed on the first line)\n"
    "  --store              a state directory or a postgresql:// URL (default: the state directory)\n"
    "  --state-dir          where task directories go (default $OSMIG_STATE_DIR or /var/lib/osmig)\n"
    "  --workers            tasks run at once, each in a process of its own (default 2)\n"
    "  --tls-cert/--tls-key PEM certificate and key: serve HTTPS only\n"
    "  --public-metrics     GET /metrics without a signature\n"
    "  --scheduler-interval seconds between scheduler passes (default 5)\n"
    "  --master-key         the key sealing access-key secrets (default STATE_DIR/master.key)\n"
    "  --lease              seconds a claim on a task lasts unless renewed (default 300)\n"
    "  --audit-log          append one JSON line per API request to FILE (time, request id, key id,\n"
    "                       method, path, status, error code, latency, client address)\n"
    "  --max-connections    connections served at once (default 512); past it a request gets 503\n"
    "  --max-connections-per-address  of them from one client address (default 64)\n"
    "  --idle-timeout       seconds an idle connection that has not yet carried an authenticated\n"
    "                       request stays open (default 10; 60 once it has)\n";

/* "HOST:PORT" or "[V6]:PORT" -> host (caller frees) and port. */
static int parse_listen(const char *s, char **host, int *port)
{
    const char *colon;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return -1;
        *host = osm_xasprintf("%.*s", (int)(end - s - 1), s + 1);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s)
            return -1;
        *host = osm_xasprintf("%.*s", (int)(colon - s), s);
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535) {
        free(*host);
        *host = NULL;
        return -1;
    }
    *port = (int)p;
    return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* An option that takes a whole number in lo..hi. */
struct number_opt {
    int val;
    int lo, hi, seconds;
    int *out;
};

static const struct number_opt *number_opt(const struct number_opt *v, size_t n, int val)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].val == val)
            return &v[i];
    return NULL;
}

static const char *option_name(const struct option *opts, int val)
{
    while (opts->name && opts->val != val)
        opts++;
    return opts->name;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"store", required_argument, NULL, 's'},
        {"state-dir", required_argument, NULL, 'd'},
        {"workers", required_argument, NULL, 'w'},
        {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},
        {"public-metrics", no_argument, NULL, 'p'},
        {"scheduler-interval", required_argument, NULL, 'i'},
        {"master-key", required_argument, NULL, 'm'},
        {"lease", required_argument, NULL, 'L'},
        {"run-task", required_argument, NULL, 'R'},
        {"audit-log", required_argument, NULL, 'A'},
        {"max-connections", required_argument, NULL, 'C'},
        {"max-connections-per-address", required_argument, NULL, 'P'},
        {"idle-timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *listen = "127.0.0.1:8470", *store = NULL, *state_opt = NULL, *cert = NULL, *key = NULL,
               *master_opt = NULL;
    const char *run_task = NULL, *audit_log = NULL;
    int workers = 2, interval = 5, public_metrics = 0, lease = 300, c;
    int max_conns = 512, max_per_addr = 64, idle_timeout = 10;
    const struct number_opt numbers[] = {
        {'w', 1, 256, 0, &workers},       {'i', 1, 86400, 1, &interval},   {'L', 3, 86400, 1, &lease},
        {'C', 1, 4096, 0, &max_conns},    {'P', 1, 4096, 0, &max_per_addr}, {'T', 1, 3600, 1, &idle_timeout},
    };
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen = optarg; break;
        case 's': store = optarg; break;
        case 'd': state_opt = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'p': public_metrics = 1; break;
        case 'm': master_opt = optarg; break;
        case 'R': run_task = optarg; break;
        case 'A': audit_log = optarg; break;
        default: {
            const struct number_opt *n = number_opt(numbers, sizeof numbers / sizeof *numbers, c);
            if (!n)
                return osm_cli_getopt_end(c, usage_text);
            if (parse_int(optarg, n->lo, n->hi, n->out) != 0)
                return osm_cli_usage("--%s takes %d..%d%s, not '%s'", option_name(opts, c), n->lo, n->hi,
                                     n->seconds ? " seconds" : "", optarg);
        }
        }
    }
    if (optind != argc)
        return osm_cli_usage("serve takes no positional argument ('%s')", argv[optind]);
    if (run_task) {
        /* A worker's child: run one task handed over by the server. */
        char *dir = osm_store_state_dir(state_opt);
        int r = osm_worker_child(store ? store : dir, run_task, lease);
        free(dir);
        return r;
    }
    if (!cert != !key)
        return osm_cli_usage("--tls-cert and --tls-key go together");
    char *host = NULL;
    int port = 0;
    if (parse_listen(listen, &host, &port) != 0)
        return osm_cli_usage("--listen takes HOST:PORT or [IPV6]:PORT, not '%s'", listen);

    struct osm_err err = OSM_ERR_INIT;
    int rc = OSM_EXIT_ERROR;
    char *state_dir = osm_store_state_dir(state_opt);
    char *master = NULL;
    struct osm_buf cert_pem, key_pem;
    osm_buf_init(&cert_pem);
    osm_buf_init(&key_pem);
    struct osm_metrics *metrics = NULL;
    struct osm_worker *worker = NULL;
    struct osm_api_server *api = NULL;
    struct osm_store *st = NULL;
    if (osm_mkdir_p(state_dir, 0700, &err) != 0)
        goto out;
    const char *location = store ? store : state_dir;
    /* Open once here so a bad store fails now, with its own message. */
    if (osm_store_open_location(location, &st, &err) != 0)
        goto out;
    osm_store_close(st);
    master = osm_master_key_path(state_dir, master_opt);
    if (cert && (osm_read_file(cert, &cert_pem, &err) != 0 || osm_read_file(key, &key_pem, &err) != 0))
        goto out;

    /* Signals are taken by sigwait() below: block them before any thread
     * starts so every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    metrics = osm_metrics_new();
    osm_fleet_metrics_start(metrics);
    struct osm_worker_config wc = {.store_location = location, .n_workers = workers, .interval = interval,
                                   .lease_seconds = lease, .metrics = metrics};
    if (osm_worker_start(&wc, &worker, &err) != 0)
        goto out;
    struct osm_api_config ac = {.host = host, .port = port, .store_location = location, .state_dir = state_dir,
                                .master_key = master, .tls_cert_pem = cert ? cert_pem.s : NULL,
                                .tls_key_pem = cert ? key_pem.s : NULL, .public_metrics = public_metrics,
                                .metrics = metrics, .kick = osm_worker_kick, .kick_user = worker,
                                .audit_log = audit_log, .connection_limit = (unsigned)max_conns,
                                .per_ip_limit = (unsigned)max_per_addr, .idle_timeout = (unsigned)idle_timeout};
    if (osm_api_start(&ac, &api, &err) != 0)
        goto out;
    int v6 = strchr(host, ':') != NULL;
    printf("osmig serve: listening on %s://%s%s%s:%d (store %s, %d workers)\n", cert ? "https" : "http",
           v6 ? "[" : "", host, v6 ? "]" : "", osm_api_port(api), location, workers);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "osmig serve: signal %d: stopping (tasks being run finish first)\n", sig);
    rc = OSM_EXIT_OK;
out:
    if (rc != OSM_EXIT_OK)
        rc = osm_cli_fail(&err);
    osm_api_stop(api);
    osm_worker_stop(worker);
    osm_fleet_metrics_stop();
    osm_metrics_free(metrics);
    osm_buf_free(&cert_pem);
    osm_buf_free(&key_pem);
    free(master);
    free(state_dir);
    free(host);
    return rc;
}
