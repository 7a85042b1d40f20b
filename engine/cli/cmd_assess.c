/* cmd_assess.c: `osmig assess` and `osmig plan`: the same computation, two
 * outputs (the report, or the full transaction). */
#include <getopt.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_cli.h"
#include "osm_fs.h"
#include "osm_paths.h"
#include "osm_windows.h"
#include "plan.h"
#include "providers/provider.h"
#include "system.h"

static const char assess_usage[] =
    "usage: osmig assess INSTANCE --to TARGET [--json] [--matrix FILE]... [--events FILE]...\n"
    "                    [--repo ID=URL]... [--allow-erase NAME]... [--cache-dir DIR]\n"
    "  Check whether INSTANCE can migrate to TARGET: inhibitors, warnings and a\n"
    "  summary of the package changes. Exit 3 when anything inhibits the migration.\n"
    "  --allow-erase NAME accepts the removal of an essential package (openssh-server,\n"
    "  yum, ...) that the target does not provide.\n";
static const char plan_usage[] =
    "usage: osmig plan INSTANCE --to TARGET [-o FILE] [--json] [--matrix FILE]... [--events FILE]...\n"
    "                  [--repo ID=URL]... [--allow-erase NAME]... [--cache-dir DIR]\n"
    "  Compute the full migration transaction and write it as JSON to FILE\n"
    "  (default: standard output). A plan with inhibitors is written too.\n";

/* Windows: prechecks and the upgrade path (hops); the "plan" of a Windows
 * migration is that report (media and transit disk come at migration). */
static int assess_windows(struct osm_instance *inst, const struct osm_facts *facts, const char *target, int json,
                          int is_plan, const char *output)
{
    struct osm_err err = OSM_ERR_INIT;
    json_t *report = NULL;
    int r = osm_windows_assess(inst->root, facts, target, &report, &err);
    if (r < 0) {
        osm_err_prefix(&err, "assessing %s", inst->uri);
        return osm_cli_fail(&err);
    }
    json_object_set_new(report, "instance", json_string(inst->uri));
    if (is_plan && output && strcmp(output, "-") != 0) {
        char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        int w = osm_write_file_atomic(output, text, strlen(text), 0644, &err);
        free(text);
        json_decref(report);
        if (w != 0)
            return osm_cli_fail(&err);
        fprintf(stderr, "osmig: Windows plan for %s written to %s%s\n", inst->uri, output,
                r == 1 ? " (INHIBITED: see its inhibitors)" : "");
        return OSM_EXIT_OK;
    }
    if (json || is_plan) {
        json_dumpf(report, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        osm_windows_print_report(stdout, report);
    }
    json_decref(report);
    if (is_plan)
        return OSM_EXIT_OK;
    return r == 1 ? OSM_EXIT_INHIBITED : OSM_EXIT_OK;
}

static int run(int argc, char **argv, int is_plan)
{
    /* A plan is a short process whose threads parse and free tens of MiB:
     * one arena that keeps 32 MiB of free top instead of handing pages back
     * and faulting them in again cut a cold CentOS Stream 9 plan from about
     * 1.1 to 0.85 s on 2 cores (page faults are dear in a VM), for about
     * 5 MiB more peak (bench/plan.sh). */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_TOP_PAD, 32 << 20);
    const char *usage = is_plan ? plan_usage : assess_usage;
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},     {"json", no_argument, NULL, 'j'},
        {"matrix", required_argument, NULL, 'm'}, {"events", required_argument, NULL, 'e'},
        {"repo", required_argument, NULL, 'r'},   {"output", required_argument, NULL, 'o'},
        {"cache-dir", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
        {"allow-erase", required_argument, NULL, 'a'},
        {0},
    };
    const char *target = NULL, *output = NULL;
    int json = 0;
    struct osm_cli_list matrix = {0}, events = {0}, repos = {0}, allow = {0};
    optind = 1;
    int c, rc = OSM_EXIT_USAGE;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 't': target = optarg; break;
        case 'j': json = 1; break;
        case 'm': osm_cli_list_push(&matrix, optarg); break;
        case 'e': osm_cli_list_push(&events, optarg); break;
        case 'r': osm_cli_list_push(&repos, optarg); break;
        case 'a': osm_cli_list_push(&allow, optarg); break;
        case 'o':
            if (!is_plan) {
                fputs(usage, stderr);
                goto out;
            }
            output = optarg;
            break;
        case 'c': osm_set_cache_dir(optarg); break;
        case 'h':
            fputs(usage, stdout);
            rc = OSM_EXIT_OK;
            goto out;
        default:
            fputs(usage, stderr);
            goto out;
        }
    }
    if (optind + 1 != argc || !target) {
        fputs(usage, stderr);
        rc = osm_cli_usage(!target ? "--to TARGET is required" : "exactly one INSTANCE is required");
        goto out;
    }
    struct osm_err err = OSM_ERR_INIT;
    struct osm_instance *inst = NULL;
    struct osm_linux_system sys;
    int sys_open = 0;
    struct osm_plan plan;
    int plan_done = 0;
    if (osm_instance_open(argv[optind], &inst, &err) != 0) {
        rc = osm_cli_fail(&err);
        goto out;
    }
    struct osm_facts facts;
    if (osm_instance_facts(inst, &facts, &err) != 0) {
        rc = osm_cli_fail(&err);
        goto done;
    }
    if (osm_windows_is_root(inst->root)) {
        rc = assess_windows(inst, &facts, target, json, is_plan, output);
        goto done;
    }
    if (osm_linux_system_open(inst->root, osm_cache_dir(), &sys, &err) != 0) {
        osm_err_prefix(&err, "inspecting %s", inst->uri);
        rc = osm_cli_fail(&err);
        goto done;
    }
    sys_open = 1;
    struct osm_plan_opts po = {
        .target = target,
        .matrix_files = matrix.v, .n_matrix_files = matrix.n,
        .event_files = events.v, .n_event_files = events.n,
        .repo_overrides = repos.v, .n_repo_overrides = repos.n,
        .cache_dir = osm_cache_dir(),
        .region = facts.region[0] ? facts.region : NULL,
        .allow_erase = allow.v, .n_allow_erase = allow.n,
    };
    if (osm_plan_compute(&sys, &po, &plan, &err) != 0) {
        rc = osm_cli_fail(&err);
        goto done;
    }
    plan_done = 1;
    if (is_plan) {
        json_t *o = osm_plan_json(&plan, inst->uri);
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(o);
        size_t len = strlen(text);
        text = osm_xrealloc(text, len + 2);
        text[len++] = '\n';
        text[len] = '\0';
        if (output && strcmp(output, "-") != 0) {
            if (osm_write_file_atomic(output, text, len, 0644, &err) != 0) {
                free(text);
                rc = osm_cli_fail(&err);
                goto done;
            }
            fprintf(stderr, "osmig: plan for %s -> %s written to %s (%zu actions%s)\n", inst->uri, plan.target->id,
                    output, plan.n_actions, osm_plan_inhibited(&plan) ? ", INHIBITED: see its inhibitors" : "");
        } else {
            fputs(text, stdout);
        }
        free(text);
        rc = OSM_EXIT_OK;
    } else {
        if (json) {
            json_t *o = osm_assess_json(&plan, inst->uri);
            json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
            json_decref(o);
        } else {
            osm_assess_print(&plan, inst->uri);
        }
        rc = osm_plan_inhibited(&plan) ? OSM_EXIT_INHIBITED : OSM_EXIT_OK;
    }
done:
    if (plan_done)
        osm_plan_free(&plan);
    if (sys_open)
        osm_linux_system_close(&sys);
    osm_instance_close(inst);
out:
    free(matrix.v);
    free(events.v);
    free(repos.v);
    free(allow.v);
    return rc;
}

int cmd_assess(int argc, char **argv)
{
    return run(argc, argv, 0);
}

int cmd_plan(int argc, char **argv)
{
    return run(argc, argv, 1);
}
