/* cmd_inspect.c: `osmig inspect INSTANCE [--json]`: what osmig sees. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "families.h"
#include "osm_cli.h"
#include "osm_paths.h"
#include "providers/provider.h"

static const char usage_text[] = "usage: osmig inspect INSTANCE [--json]\n"
                                 "  Print the OS identity, architecture, installed packages (epoch, version,\n"
                                 "  release, arch, vendor) and configured repositories of INSTANCE.\n";

int cmd_inspect(int argc, char **argv)
{
    int json = 0;
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'h') {
            fputs(usage_text, stdout);
            return OSM_EXIT_OK;
        } else {
            fputs(usage_text, stderr);
            return OSM_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fputs(usage_text, stderr);
        return osm_cli_usage("inspect takes exactly one INSTANCE");
    }
    struct osm_err err = OSM_ERR_INIT;
    struct osm_instance *inst;
    if (osm_instance_open(argv[optind], &inst, &err) != 0)
        return osm_cli_fail(&err);
    const struct osm_family *fam = osm_family_detect(osm_families, inst->root);
    json_t *facts = NULL;
    /* The text is kept until the inspection succeeded: a failure prints
     * nothing on stdout. */
    char *text = NULL;
    size_t text_len = 0;
    FILE *tf = json ? NULL : open_memstream(&text, &text_len);
    int rc = fam->inspect(inst, &facts, tf, &err);
    if (tf)
        fclose(tf);
    if (rc != 0) {
        free(text);
        osm_err_prefix(&err, "inspecting %s", inst->uri);
        osm_instance_close(inst);
        return osm_cli_fail(&err);
    }
    if (json) {
        json_object_set_new(facts, "instance", json_string(inst->uri));
        json_dumpf(facts, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        printf("Instance:      %s\n%s", inst->uri, text ? text : "");
    }
    free(text);
    json_decref(facts);
    osm_instance_close(inst);
    return OSM_EXIT_OK;
}
