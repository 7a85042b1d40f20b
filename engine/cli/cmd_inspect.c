/* cmd_inspect.c: `osmig inspect INSTANCE [--json]`: what osmig sees. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "osm_cli.h"
#include "osm_paths.h"
#include "osm_windows.h"
#include "providers/provider.h"
#include "system.h"

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
    if (osm_windows_is_root(inst->root)) {
        json_t *facts = NULL;
        if (osm_windows_inspect(inst->root, &facts, &err) != 0) {
            osm_err_prefix(&err, "inspecting %s", inst->uri);
            osm_instance_close(inst);
            return osm_cli_fail(&err);
        }
        if (json) {
            json_object_set_new(facts, "instance", json_string(inst->uri));
            json_dumpf(facts, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        } else {
            printf("Instance:      %s\n", inst->uri);
            osm_windows_print_facts(stdout, facts);
        }
        json_decref(facts);
        osm_instance_close(inst);
        return OSM_EXIT_OK;
    }
    struct osm_linux_system sys;
    if (osm_linux_system_open(inst->root, osm_cache_dir(), &sys, &err) != 0) {
        osm_err_prefix(&err, "inspecting %s", inst->uri);
        osm_instance_close(inst);
        return osm_cli_fail(&err);
    }
    if (json) {
        json_t *o = osm_linux_system_json(&sys);
        json_object_set_new(o, "instance", json_string(inst->uri));
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("Instance:      %s\n", inst->uri);
        osm_linux_system_print(&sys);
    }
    osm_linux_system_close(&sys);
    osm_instance_close(inst);
    return OSM_EXIT_OK;
}
