/* cmd_matrix.c: `osmig matrix [--json] [--matrix FILE]...`: the paths. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "families.h"
#include "osm_buf.h"
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
    struct osm_err err = OSM_ERR_INIT;
    json_t *arr = json_array();
    struct osm_buf text;
    osm_buf_init(&text);
    int rc = OSM_EXIT_OK;
    /* Every family's paths, in the table's order; the text of each is
     * kept until all are listed, so an error prints nothing on stdout. */
    for (size_t i = 0; osm_families[i] && rc == OSM_EXIT_OK; i++) {
        const struct osm_family *f = osm_families[i];
        if (!f->matrix)
            continue;
        json_t *paths = NULL;
        char *t = NULL;
        size_t tlen = 0;
        FILE *tf = json ? NULL : open_memstream(&t, &tlen);
        int r = f->matrix(files, n_files, &paths, tf, &err);
        if (tf)
            fclose(tf);
        if (r != 0) {
            rc = osm_cli_fail(&err);
        } else {
            size_t k;
            json_t *p;
            json_array_foreach(paths, k, p)
            {
                json_object_set_new(p, "family", json_string(f->name));
                json_array_append(arr, p);
            }
            if (t)
                osm_buf_adds(&text, t);
        }
        free(t);
        json_decref(paths);
    }
    free(files);
    if (rc == OSM_EXIT_OK && json) {
        json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else if (rc == OSM_EXIT_OK) {
        fputs(text.s, stdout);
    }
    json_decref(arr);
    osm_buf_free(&text);
    return rc;
}
