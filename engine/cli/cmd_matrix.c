/* cmd_matrix.c: `osmig matrix [--json] [--matrix FILE]...`: the paths. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matrix.h"
#include "osm_buf.h"
#include "osm_cli.h"
#include "osm_windows.h"

static const char usage_text[] = "usage: osmig matrix [--json] [--matrix FILE]...\n"
                                 "  List the supported migration paths (source, versions, target, arches).\n";

static json_t *strarr(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static char *joined(char **v, size_t n, const char *sep)
{
    struct osm_buf b;
    osm_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        osm_buf_addf(&b, "%s%s", i ? sep : "", v[i]);
    return osm_buf_detach(&b);
}

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
    struct osm_matrix m;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_matrix_load(&m, files, n_files, &err) != 0) {
        free(files);
        return osm_cli_fail(&err);
    }
    free(files);
    json_t *win = NULL;
    if (osm_windows_matrix_paths(&win, &err) != 0) {
        osm_matrix_free(&m);
        return osm_cli_fail(&err);
    }
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < m.n_paths; i++) {
            const struct osm_path *p = &m.paths[i];
            const struct osm_target *t = osm_matrix_target(&m, p->to);
            const struct osm_source_os *s = osm_matrix_source(&m, p->from_id);
            json_t *o = json_object();
            json_object_set_new(o, "from", json_string(p->from_id));
            json_object_set_new(o, "from_name", json_string(s ? s->name : p->from_id));
            json_object_set_new(o, "versions", strarr(p->versions, p->n_versions));
            json_object_set_new(o, "to", json_string(p->to));
            json_object_set_new(o, "to_name", json_string(t->name));
            json_object_set_new(o, "arches", strarr(p->arches, p->n_arches));
            json_object_set_new(o, "regions", p->n_regions ? strarr(p->regions, p->n_regions) : json_null());
            json_object_set_new(o, "trial_only", json_boolean(p->trial_only));
            json_object_set_new(o, "note", p->note ? json_string(p->note) : json_null());
            json_object_set_new(o, "family", json_string("linux"));
            json_array_append_new(arr, o);
        }
        size_t i;
        json_t *w;
        json_array_foreach(win, i, w)
        {
            json_object_set_new(w, "family", json_string("windows"));
            json_array_append(arr, w);
        }
        json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(arr);
    } else {
        printf("%-26s %-9s %-38s %-16s %s\n", "FROM", "VERSIONS", "TO", "ARCHES", "NOTES");
        for (size_t i = 0; i < m.n_paths; i++) {
            const struct osm_path *p = &m.paths[i];
            const struct osm_target *t = osm_matrix_target(&m, p->to);
            const struct osm_source_os *s = osm_matrix_source(&m, p->from_id);
            char *vers = joined(p->versions, p->n_versions, ",");
            char *arches = joined(p->arches, p->n_arches, ",");
            char *to = osm_xasprintf("%s (%s)", t->name, t->id);
            printf("%-26s %-9s %-38s %-16s %s\n", s ? s->name : p->from_id, vers, to, arches,
                   p->trial_only ? "trial only" : "");
            free(vers);
            free(arches);
            free(to);
        }
        printf("\nWindows Server:\n");
        osm_windows_print_paths(stdout, win);
    }
    json_decref(win);
    osm_matrix_free(&m);
    return OSM_EXIT_OK;
}
