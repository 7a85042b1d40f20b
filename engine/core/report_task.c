/* report_task.c: a task run's report and its history event (report_task.h). */
#include "report_task.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os_migration.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "report.h"
#include "task_json.h"

char *osm_report_task_dir(const struct osm_task *t)
{
    json_t *o = t->options ? json_loads(t->options, 0, NULL) : NULL;
    const char *sd = json_string_value(json_object_get(o, "state_dir"));
    char *dir = sd && sd[0] == '/' ? osm_migration_task_dir(sd, t->id) : NULL;
    json_decref(o);
    return dir;
}

/* The history names the run: `task show` and the API reach it from there.
 * The task may move meanwhile (a claim, a heartbeat): read it again and
 * retry a few times rather than lose the event. */
static void note_report(struct osm_store *st, const char *id, const char *dir)
{
    struct osm_err err = OSM_ERR_INIT;
    for (int tries = 0; tries < 5; tries++) {
        struct osm_task t;
        osm_err_clear(&err);
        if (osm_store_get_task(st, id, &t, &err) != 0)
            break;
        struct osm_task_change ch = {.task = &t, .expect_state = -1, .expect_rev = t.rev,
                                     .event_type = "report", .event_message = dir};
        int rc = osm_store_commit(st, &ch, &err);
        osm_task_free(&t);
        if (rc == 0)
            return;
        if (err.code != OSM_ECONFLICT)
            break;
    }
    osm_warn("report.history", "task=%s dir=%s msg=\"%s\"", id, dir, err.msg);
}

int osm_report_task(struct osm_store *st, const char *id, const char *command, const char *base, char **run_dir,
                    struct osm_err *err)
{
    if (run_dir)
        *run_dir = NULL;
    struct osm_task t;
    if (osm_store_get_task(st, id, &t, err) != 0)
        return -1;
    /* A task of another kind than a migration is reported as that kind
     * (host-maintenance), its run named so. */
    if (strcmp(command, "migrate") == 0 && strcmp(t.kind, OSM_KIND_OS_MIGRATION) != 0 && osm_name_is_plain(t.kind, 32))
        command = t.kind;
    struct osm_err terr = OSM_ERR_INIT;
    json_t *task = osm_task_to_json_full(st, &t, &terr);
    if (!task) {
        osm_warn("report.task", "task=%s msg=\"the report lacks the task's history: %s\"", id, terr.msg);
        task = json_pack("{s:s}", "id", t.id);
    }
    char *task_dir = osm_report_task_dir(&t);
    char *plan_path = task_dir ? osm_path_join(task_dir, "plan.json") : NULL;
    char *log_path = task_dir ? osm_path_join(task_dir, "osmig.log") : NULL;
    json_t *plan = plan_path && osm_is_file(plan_path) ? json_load_file(plan_path, 0, NULL) : NULL;
    struct osm_report_input in = {
        .command = command, .instance = t.instance ? t.instance : "?", .target = t.target,
        .created = (int64_t)time(NULL), .assessment = plan, .task = task,
        .log_path = log_path && osm_is_file(log_path) ? log_path : NULL,
    };
    json_t *r = osm_report_build(&in);
    char *b = base ? osm_xstrdup(base) : osm_report_base_dir(), *dir = NULL;
    int rc = osm_report_write(b, r, &dir, err);
    if (rc == 0) {
        note_report(st, id, dir);
        if (run_dir)
            *run_dir = dir;
        else
            free(dir);
    }
    free(b);
    json_decref(r);
    json_decref(plan);
    json_decref(task);
    free(plan_path);
    free(log_path);
    free(task_dir);
    osm_task_free(&t);
    return rc;
}
