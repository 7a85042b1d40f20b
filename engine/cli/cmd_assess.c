/* cmd_assess.c: `osmig assess` and `osmig plan`: the same computation, two
 * outputs (the report, or the full transaction). */
#include <getopt.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_config.h"
#include "osm_buf.h"
#include "cli_report.h"
#include "families.h"
#include "osm_cli.h"
#include "osm_fs.h"
#include "osm_paths.h"
#include "providers/provider.h"

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
        default: rc = osm_cli_getopt_end(c, usage); goto out;
        }
    }
    if ((rc = osm_cli_instance_and_target(argc, target, usage)) != 0)
        goto out;
    /* the configuration's local mirrors and site matrices */
    if ((rc = osm_cli_config_sources(&repos, &matrix)) != 0)
        goto out;
    struct osm_err err = OSM_ERR_INIT;
    struct osm_instance *inst = NULL;
    json_t *doc = NULL, *plan_doc = NULL;
    char *text = NULL;
    size_t text_len = 0;
    if (osm_instance_open(argv[optind], &inst, &err) != 0) {
        rc = osm_cli_fail(&err);
        goto out;
    }
    struct osm_facts facts;
    if (osm_instance_facts(inst, &facts, &err) != 0) {
        rc = osm_cli_fail(&err);
        goto done;
    }
    const struct osm_family *fam = osm_family_detect(osm_families, inst->root);
    struct osm_assess_request rq = {
        .target = target,
        .matrix_files = matrix.v, .n_matrix_files = matrix.n,
        .event_files = events.v, .n_event_files = events.n,
        .repo_overrides = repos.v, .n_repo_overrides = repos.n,
        .allow_erase = allow.v, .n_allow_erase = allow.n,
        .full_plan = is_plan,
        .plan = is_plan ? NULL : &plan_doc,
    };
    /* The report's text is kept until the assessment is done: a failure
     * prints nothing on stdout. */
    FILE *tf = !json && !is_plan ? open_memstream(&text, &text_len) : NULL;
    int r = fam->assess(inst, &facts, &rq, &doc, tf, &err);
    if (tf)
        fclose(tf);
    if (r < 0) {
        rc = osm_cli_fail(&err);
        goto done;
    }
    if (is_plan) {
        char *out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        size_t len = strlen(out);
        out = osm_xrealloc(out, len + 2);
        out[len++] = '\n';
        out[len] = '\0';
        if (output && strcmp(output, "-") != 0) {
            if (osm_write_file_atomic(output, out, len, 0644, &err) != 0) {
                free(out);
                rc = osm_cli_fail(&err);
                goto done;
            }
            json_t *actions = json_object_get(doc, "actions");
            const char *tid = json_string_value(json_object_get(json_object_get(doc, "target"), "id"));
            fprintf(stderr, "osmig: plan for %s -> %s written to %s (", inst->uri, tid ? tid : target, output);
            if (json_is_array(actions))
                fprintf(stderr, "%zu actions%s)\n", json_array_size(actions), r == 1 ? ", INHIBITED: see its inhibitors" : "");
            else
                fprintf(stderr, "%s)\n", r == 1 ? "INHIBITED: see its inhibitors" : "the upgrade path and its prechecks");
        } else {
            fputs(out, stdout);
        }
        free(out);
        rc = OSM_EXIT_OK;
    } else {
        if (json) {
            json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        } else {
            fputs(text ? text : "", stdout);
        }
        rc = r == 1 ? OSM_EXIT_INHIBITED : OSM_EXIT_OK;
    }
    osm_cli_report_assessment(is_plan ? "plan" : "assess", inst->uri, target, doc,
                              json_object_get(plan_doc, "actions"), r == 1);
done:
    free(text);
    json_decref(doc);
    json_decref(plan_doc);
    osm_instance_close(inst);
out:
    osm_free_all(matrix.v, events.v, repos.v, allow.v);
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
