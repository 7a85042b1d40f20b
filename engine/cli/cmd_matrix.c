/* cmd_matrix.c: `osmig matrix [--json] [--matrix FILE]...`: the paths. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_config.h"
#include "families.h"
#include "osm_cli.h"

static const char usage_text[] = "usage: osmig matrix [--json] [--matrix FILE]...\n"
                                 "  List the supported migration paths (source, versions, target, arches).\n";

int cmd_matrix(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"matrix", required_argument, NULL, 'm'}, {"help", no_argument, NULL, 'h'}, {0}};
    int json = 0;
    const char **files = NULL;
    size_t n_files = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') {
            json = 1;
        } else if (c == 'm') {
            files = osm_xrealloc(files, (n_files + 1) * sizeof *files);
            files[n_files++] = optarg;
        } else if (c == 'h') {
            fputs(usage_text, stdout);
            free(files);
            return OSM_EXIT_OK;
        } else {
            fputs(usage_text, stderr);
            free(files);
            return OSM_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        free(files);
        return osm_cli_usage("matrix takes no positional argument");
    }
    /* The text is kept until every family is listed: an error prints
     * nothing on stdout. */
    struct osm_err err = OSM_ERR_INIT;
    struct osm_cli_list site = {files, n_files}; /* the configuration's site matrices too */
    if (osm_cli_config_matrices(&site, &err) != 0) {
        free(site.v);
        return osm_cli_fail(&err);
    }
    files = site.v, n_files = site.n;
    json_t *paths = NULL;
    char *text = NULL;
    size_t text_len = 0;
    FILE *tf = json ? NULL : open_memstream(&text, &text_len);
    int r = osm_families_matrix(osm_families, files, n_files, &paths, tf, &err);
    if (tf)
        fclose(tf);
    free(files);
    if (r != 0) {
        free(text);
        return osm_cli_fail(&err);
    }
    if (json) {
        json_dumpf(paths, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        fputs(text ? text : "", stdout);
    }
    free(text);
    json_decref(paths);
    return OSM_EXIT_OK;
}
