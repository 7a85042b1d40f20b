/* cli_report.c: write a run's reports and say where (cli_report.h). */
#include "cli_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "report.h"
#include "report_task.h"

static char *write_report(const struct osm_report_input *in)
{
    json_t *r = osm_report_build(in);
    char *base = osm_report_base_dir(), *dir = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_report_write(base, r, &dir, &err) != 0)
        fprintf(stderr, "osmig: warning: the report was not written: %s (set the report directory with "
                        "--report-dir DIR or report_dir in the configuration file)\n", err.msg);
    else
        fprintf(stderr, "osmig: report: %s/osmig-report.txt (.json, .html)\n", dir);
    free(base);
    json_decref(r);
    return dir;
}

void osm_cli_report_assessment(const char *command, const char *instance, const char *target, const json_t *doc,
                               const json_t *actions, int inhibited)
{
    struct osm_report_input in = {
        .command = command, .instance = instance, .target = target, .created = (int64_t)time(NULL),
        .assessment = doc, .actions = actions, .inhibited = inhibited,
    };
    free(write_report(&in));
}

void osm_cli_report_task(struct osm_store *st, const char *id, const char *command)
{
    struct osm_err err = OSM_ERR_INIT;
    char *dir = NULL;
    if (osm_report_task(st, id, command, NULL, &dir, &err) != 0)
        fprintf(stderr, "osmig: warning: the report was not written: %s (set the report directory with "
                        "--report-dir DIR or report_dir in the configuration file)\n", err.msg);
    else
        fprintf(stderr, "osmig: report: %s/osmig-report.txt (.json, .html)\n", dir);
    free(dir);
}
