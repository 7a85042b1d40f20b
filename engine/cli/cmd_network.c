/* cmd_network.c: network migration plans (classic network to a VPC,
 * docs/network-plans.md).
 *
 * `osmig network verify PLAN`: the seed's "Verify": every finding at once,
 * the vSwitches planned or used. Reads files only; touches no store. Exit 0
 * when the plan has no error (warnings allowed), 3 when it has, 1 when a
 * file cannot be read or is malformed, 2 usage.
 *
 * `osmig network run PLAN`: the plan's Run: a network-migration task per
 * instance it migrates (engine/core/net_migration.h), in one job, each at
 * its migration time (engine/fleet/netplan_job.h: the same job as POST
 * /v1/network-plans); the tasks that are due run here in the foreground
 * (with --wait, the later ones too, each at its time), the others wait for
 * `osmig resume` or `osmig serve`. Nothing is created when the plan has an
 * error (a migration time that has come is not one here: it is due). */
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_tasks.h"
#include "ipv4.h"
#include "net_migration.h"
#include "netplan.h"
#include "netplan_job.h"
#include "netplan_verify.h"
#include "osm_cli.h"
#include "osm_fs.h"
#include "osm_time.h"
#include "provider.h"
#include "schedule.h"

static const char usage_text[] =
    "usage: osmig network verify PLAN [--json] [--previous PLAN] [--at TIME]\n"
    "       osmig network run PLAN [--wait] [--max-concurrency N|N%] [--max-errors N|N%] [--window JSON]\n"
    "                         [--state-dir DIR | --server URL [--key-id ID --key-secret SECRET]]\n"
    "  Check a network migration plan (classic network to a VPC) against every requirement\n"
    "  and report all findings together; plan the vSwitches when their policy is automatic.\n"
    "  --previous PLAN  the plan as it was created: with interconnection its instances are fixed\n"
    "  --at TIME        verify as of TIME (RFC 3339), not now: migration times before it are findings\n"
    "  Exit: 0 no error, 3 errors found, 1 unreadable or malformed file, 2 usage.\n"
    "  run: a network-migration task per instance the plan migrates, at its migration time (snapshot,\n"
    "  stop, NIC to the VPC, start, fix-ups, verify from inside, rollback on failure); the due ones run\n"
    "  now, the later ones with --wait or by `osmig resume`/`osmig serve`. The job's rate limits and\n"
    "  maintenance window (engine/sched/schedule.h) are those of POST /v1/network-plans (docs/api.md);\n"
    "  with --server the plan (its inventory inlined) goes there, and the server runs the job.\n"
    "  Exit: 0 every task run succeeded or waits, 1 one did not, 3 the plan has errors, 2 usage.\n";

static void print_text(const struct osm_netplan *p, const struct osm_net_report *r)
{
    char b[20];
    printf("plan %s (%s): %zu instance(s), %zu error(s), %zu warning(s)\n", p->name, p->path, p->n_inst, r->n_errors,
           r->n_warnings);
    for (size_t i = 0; i < r->n; i++) {
        const struct osm_net_finding *f = &r->f[i];
        printf("%-7s %s %s: %s\n", f->error ? "ERROR" : "WARNING", f->id, f->subject, f->detail);
        if (f->words)
            printf("        \"%s\"\n", f->words);
    }
    printf("vSwitches (%s, destination zone %s, VPC %s%s):\n",
           p->keep_ip ? (p->vswitch_auto ? "automatic" : "manual") : "internal IPs not kept", p->zone,
           osm_cidr_str(p->vpc_net, p->vpc_prefix, b), p->vpc_create ? ", created" : "");
    for (size_t k = 0; k < r->n_vsw; k++) {
        const struct osm_net_vsw_use *u = &r->vsw[k];
        printf("  %-18s %-16s %lld instance(s), %lld free private IP(s)%s\n", osm_cidr_str(u->net, u->prefix, b),
               u->id ? u->id : "(planned)", (long long)u->instances, (long long)u->free_ips,
               u->id ? "" : ", to create");
    }
    if (!r->n_vsw)
        printf("  none\n");
}

static int verify(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"previous", required_argument, NULL, 'p'},
                                         {"at", required_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int json = 0, c;
    const char *previous = NULL;
    int64_t now = (int64_t)time(NULL);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') {
            json = 1;
        } else if (c == 'p') {
            previous = optarg;
        } else if (c == 'a') {
            if (osm_time_parse(optarg, &now) != 0)
                return osm_cli_usage("--at: '%s' is not an RFC 3339 time (e.g. 2026-12-10T02:00:00Z)", optarg);
        } else {
            return osm_cli_getopt_end(c, usage_text);
        }
    }
    if (optind + 1 != argc)
        return osm_cli_usage("network verify takes one plan file");
    struct osm_err err = OSM_ERR_INIT;
    struct osm_netplan *p = NULL, *prev = NULL;
    if (osm_netplan_load(argv[optind], &p, &err) != 0)
        return osm_cli_fail(&err);
    if (previous && osm_netplan_load(previous, &prev, &err) != 0) {
        osm_err_prefix(&err, "--previous");
        osm_netplan_free(p);
        return osm_cli_fail(&err);
    }
    struct osm_net_report r;
    osm_netplan_verify(p, prev, now, &r);
    if (json) {
        json_t *o = osm_net_report_json(p, &r);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        print_text(p, &r);
    }
    int status = r.n_errors ? OSM_EXIT_INHIBITED : OSM_EXIT_OK;
    osm_net_report_free(&r);
    osm_netplan_free(prev);
    osm_netplan_free(p);
    return status;
}

/* Order of the tasks to run: by time. */
static const struct osm_task *by_time_base;
static int by_time(const void *a, const void *b)
{
    int64_t x = by_time_base[*(const size_t *)a].not_before, y = by_time_base[*(const size_t *)b].not_before;
    return x < y ? -1 : x > y;
}

/* `network run --server URL`: the plan (its inventory file inlined) posted
 * to POST /v1/network-plans; the server verifies it and makes the job. */
static int run_remote(const char *path, const struct osm_task_args *srv, const char *max_conc, const char *max_err,
                      const char *window)
{
    struct osm_err err = OSM_ERR_INIT;
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *resp = NULL;
    if (!doc) {
        osm_err_set(&err, OSM_EINPUT, "%s: line %d column %d: %s", path, je.line, je.column, je.text);
        return osm_cli_fail(&err);
    }
    const char *inv = json_string_value(json_object_get(doc, "inventory"));
    if (inv) { /* a file beside the plan: the server reads no file of ours */
        char *dir = osm_xstrdup(path);
        char *ipath = inv[0] == '/' ? osm_xstrdup(inv) : osm_path_join(dirname(dir), inv);
        json_t *i = json_load_file(ipath, JSON_REJECT_DUPLICATES, &je);
        if (!i)
            osm_err_set(&err, OSM_EINPUT, "%s: inventory %s: line %d column %d: %s", path, ipath, je.line, je.column,
                        je.text);
        else
            json_object_set_new(doc, "inventory", i);
        free(ipath);
        free(dir);
        if (!i) {
            json_decref(doc);
            return osm_cli_fail(&err);
        }
    }
    json_t *body = json_pack("{s:o}", "plan", doc);
    if (max_conc)
        json_object_set_new(body, "max_concurrency", json_string(max_conc));
    if (max_err)
        json_object_set_new(body, "max_errors", json_string(max_err));
    if (window)
        json_object_set_new(body, "schedule", json_pack("{s:o}", "window", json_loads(window, 0, NULL)));
    struct osm_api_client *c;
    int status = OSM_EXIT_OK, http;
    if (osm_cli_remote_open(srv->server, srv->key_id, srv->key_secret, &c, &err) != 0) {
        json_decref(body);
        return osm_cli_fail(&err);
    }
    if (osm_api_request(c, "POST", "/v1/network-plans", NULL, body, &http, &resp, &err) != 0) {
        /* the plan's findings: as the local run, exit 3 */
        int findings = strcmp(osm_api_client_error_code(c), "InvalidParameter.Plan") == 0;
        status = osm_cli_fail(&err);
        if (findings)
            status = OSM_EXIT_INHIBITED;
    } else {
        json_t *tasks = json_object_get(resp, "tasks"), *t;
        size_t k;
        printf("plan %s: job %s, %zu task(s) on %s\n", json_string_value(json_object_get(resp, "plan")),
               json_string_value(json_object_get(resp, "job_id")), json_array_size(tasks), osm_api_client_url(c));
        json_array_foreach(tasks, k, t) printf("  %s %s %s\n", json_string_value(json_object_get(t, "task_id")),
                                               json_string_value(json_object_get(t, "instance")),
                                               json_string_value(json_object_get(t, "starts")));
    }
    json_decref(resp);
    json_decref(body);
    osm_api_client_close(c);
    return status;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {{"wait", no_argument, NULL, 'w'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"max-concurrency", required_argument, NULL, 'c'},
                                         {"max-errors", required_argument, NULL, 'e'},
                                         {"window", required_argument, NULL, 'W'},
                                         {"server", required_argument, NULL, 'S'},
                                         {"key-id", required_argument, NULL, 'k'},
                                         {"key-secret", required_argument, NULL, 'K'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int wait = 0, c, v, pct;
    const char *state_dir = NULL, *max_conc = NULL, *max_err = NULL, *window = NULL;
    struct osm_task_args srv = {0};
    struct osm_err err = OSM_ERR_INIT;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'w') {
            wait = 1;
        } else if (c == 's') {
            state_dir = optarg;
        } else if (c == 'c' || c == 'e') {
            const char *name = c == 'c' ? "--max-concurrency" : "--max-errors";
            if (osm_rate_limit_parse(optarg, name, &v, &pct, &err) != 0)
                return osm_cli_usage("%s", err.msg);
            *(c == 'c' ? &max_conc : &max_err) = optarg;
        } else if (c == 'W') {
            struct osm_window *w = NULL;
            if (osm_window_parse(optarg, &w, &err) != 0)
                return osm_cli_usage("--window: %s", err.msg);
            osm_window_free(w);
            window = optarg;
        } else if (c == 'S') {
            srv.server = optarg;
        } else if (c == 'k') {
            srv.key_id = optarg;
        } else if (c == 'K') {
            srv.key_secret = optarg;
        } else {
            return osm_cli_getopt_end(c, usage_text);
        }
    }
    if (optind + 1 != argc)
        return osm_cli_usage("network run takes one plan file");
    if (srv.server && (state_dir || wait))
        return osm_cli_usage("network run: --server excludes --state-dir and --wait (the server keeps and runs the job)");
    if (srv.server)
        return run_remote(argv[optind], &srv, max_conc, max_err, window);
    struct osm_netplan *p = NULL;
    if (osm_netplan_load(argv[optind], &p, &err) != 0)
        return osm_cli_fail(&err);
    int64_t now = (int64_t)time(NULL);
    struct osm_net_report r;
    osm_netplan_verify(p, NULL, now, &r);
    size_t errors = osm_netplan_blocking(&r);
    if (errors)
        fprintf(stderr, "osmig: %s: the plan has errors; nothing was created:\n", p->path);
    for (size_t i = 0; i < r.n; i++)
        if (osm_netplan_finding_blocks(&r.f[i]))
            fprintf(stderr, "  %s %s: %s\n", r.f[i].id, r.f[i].subject, r.f[i].detail);
    int status = OSM_EXIT_OK;
    struct osm_task *tasks = NULL;
    size_t n = 0;
    char **canon = osm_xcalloc(p->n_inst + 1, sizeof *canon);
    struct osm_job job;
    osm_job_init(&job);
    if (errors) {
        status = OSM_EXIT_INHIBITED;
        goto out;
    }
    /* the tasks POST /v1/network-plans makes (netplan_job.h) */
    for (size_t i = 0; i < p->n_inst; i++) {
        const struct osm_net_instance *in = &p->inst[i];
        if (in->stays || !in->uri)
            continue;
        if (osm_instance_canonical_uri(in->uri, &canon[i], &err) != 0) {
            osm_err_prefix(&err, "%s: instance %s", p->path, in->id);
            status = osm_cli_fail(&err);
            goto out;
        }
    }
    struct osm_netplan_job_opts o = {.now = now, .window = window, .max_concurrency = max_conc,
                                     .max_errors = max_err, .created_by = "cli"};
    if (osm_netplan_job_make(p, &r, canon, &o, &job, &tasks, &n, &err) != 0) {
        status = osm_cli_fail(&err);
        goto out;
    }
    struct osm_store *st;
    if (osm_cli_open_store(state_dir, 0, &st, &err) != 0) {
        status = osm_cli_fail(&err);
        goto out;
    }
    if (osm_store_create_job(st, &job, tasks, n, &err) < 0) {
        osm_err_prefix(&err, "%s", p->path);
        status = osm_cli_fail(&err);
        osm_store_close(st);
        goto out;
    }
    char tb[32];
    printf("plan %s: job %s, %zu task(s)\n", p->name, job.id, n);
    for (size_t k = 0; k < n; k++)
        printf("  %s %s %s\n", tasks[k].id, tasks[k].instance,
               tasks[k].not_before ? osm_time_iso(tasks[k].not_before, tb) : "now");
    size_t *order = osm_xcalloc(n + 1, sizeof *order);
    for (size_t k = 0; k < n; k++)
        order[k] = k;
    by_time_base = tasks;
    qsort(order, n, sizeof *order, by_time);
    fflush(stdout);
    for (size_t k = 0; k < n; k++) {
        const struct osm_task *t = &tasks[order[k]];
        int64_t left = t->not_before - (int64_t)time(NULL);
        if (left > 0 && !wait) {
            printf("%s waits for %s (osmig resume or osmig serve runs it then)\n", t->id,
                   osm_time_iso(t->not_before, tb));
            continue;
        }
        while (left > 0) {
            sleep(left > 60 ? 60 : (unsigned)left);
            left = t->not_before - (int64_t)time(NULL);
        }
        int rc = osm_cli_run_task(st, t->id, "network-run", &err);
        if (rc < 0) {
            status = osm_cli_fail(&err);
            osm_err_clear(&err);
        } else if (rc != 0) {
            status = OSM_EXIT_ERROR;
        }
    }
    free(order);
    osm_store_close(st);
out:
    for (size_t k = 0; k < n; k++)
        osm_task_free(&tasks[k]);
    free(tasks);
    for (size_t i = 0; i < p->n_inst; i++)
        free(canon[i]);
    free(canon);
    osm_job_free(&job);
    osm_net_report_free(&r);
    osm_netplan_free(p);
    return status;
}

int cmd_network(int argc, char **argv)
{
    static const struct osm_cli_subcommand subs[] = {{"verify", verify}, {"run", run}};
    return osm_cli_subcommand(argc, argv, usage_text, subs, sizeof subs / sizeof subs[0]);
}
