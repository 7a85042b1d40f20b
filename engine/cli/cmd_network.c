/* cmd_network.c: `osmig network verify PLAN`: the seed's "Verify" of a
 * network migration plan (classic network to a VPC): every finding at once,
 * the vSwitches planned or used (docs/network-plans.md). Reads files only;
 * touches no store. Exit 0 when the plan has no error (warnings allowed), 3
 * when it has, 1 when a file cannot be read or is malformed, 2 usage. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipv4.h"
#include "netplan.h"
#include "netplan_verify.h"
#include "osm_cli.h"
#include "osm_time.h"

static const char usage_text[] =
    "usage: osmig network verify PLAN [--json] [--previous PLAN] [--at TIME]\n"
    "  Check a network migration plan (classic network to a VPC) against every requirement\n"
    "  and report all findings together; plan the vSwitches when their policy is automatic.\n"
    "  --previous PLAN  the plan as it was created: with interconnection its instances are fixed\n"
    "  --at TIME        verify as of TIME (RFC 3339), not now: migration times before it are findings\n"
    "  Exit: 0 no error, 3 errors found, 1 unreadable or malformed file, 2 usage.\n";

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
        } else if (c == 'h') {
            fputs(usage_text, stdout);
            return OSM_EXIT_OK;
        } else {
            fputs(usage_text, stderr);
            return OSM_EXIT_USAGE;
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

int cmd_network(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? OSM_EXIT_USAGE : OSM_EXIT_OK;
    }
    if (strcmp(argv[1], "verify") == 0)
        return verify(argc - 1, argv + 1);
    return osm_cli_usage("network: unknown subcommand '%s' (verify)", argv[1]);
}
