/* cli_report.c: write a run's reports and say where (cli_report.h). */
#include "cli_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "osm_fs.h"
#include "report.h"
#include "task_json.h"

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

void osm_cli_report_task(struct osm_store *st, const char *id, const char *task_dir)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task t;
    if (osm_store_get_task(st, id, &t, &err) != 0) {
        fprintf(stderr, "osmig: warning: the report was not written: %s\n", err.msg);
        return;
    }
    json_t *task = osm_task_to_json_full(st, &t, &err);
    char *plan_path = osm_path_join(task_dir, "plan.json");
    char *log_path = osm_path_join(task_dir, "osmig.log");
    json_t *plan = osm_is_file(plan_path) ? json_load_file(plan_path, 0, NULL) : NULL;
    struct osm_report_input in = {
        .command = "migrate", .instance = t.instance ? t.instance : "?", .target = t.target,
        .created = (int64_t)time(NULL), .assessment = plan, .task = task ? task : json_object(),
        .log_path = osm_is_file(log_path) ? log_path : NULL,
    };
    if (!task)
        fprintf(stderr, "osmig: warning: the report lacks the task's history: %s\n", err.msg);
    char *dir = write_report(&in);
    if (dir) {
        /* The history names it: `task show` and the API reach it from there. */
        struct osm_task_change ch = {.task = &t, .expect_state = -1, .expect_rev = t.rev,
                                     .event_type = "report", .event_message = dir};
        struct osm_err cerr = OSM_ERR_INIT;
        if (osm_store_commit(st, &ch, &cerr) != 0)
            fprintf(stderr, "osmig: warning: the task's history does not name its report: %s\n", cerr.msg);
    }
    if (!task)
        json_decref((json_t *)in.task);
    json_decref(task);
    json_decref(plan);
    free(dir);
    free(plan_path);
    free(log_path);
    osm_task_free(&t);
}
