/* report_task: the report of one run of a task (report.h), whoever ran it:
 * `osmig migrate`, `retry`, `rollback`, `resume` and the fleet worker's
 * child all end a run with osm_report_task(). It reads the task, its
 * history and journal, its plan (TASK_DIR/plan.json) and log
 * (TASK_DIR/osmig.log), TASK_DIR being STATE_DIR/tasks/ID of the state
 * directory its options name, writes REPORT_DIR/INSTANCE/RUN, and adds a
 * "report" event naming the run directory to the task's history, which
 * `osmig task show` and GET /v1/tasks/ID/report read back. */
#ifndef OSM_REPORT_TASK_H
#define OSM_REPORT_TASK_H

#include "osm_error.h"
#include "store.h"

/* `command` is the run's command ("migrate", "retry", "rollback",
 * "resume"; "migrate" of a task of another kind is that kind's name:
 * "host-maintenance"); `base` the report directory (NULL: osm_report_base_dir()).
 * The run directory in *run_dir (caller frees; may be NULL). -1 with err
 * when the report was not written; a report written whose history event
 * could not be added is 0 with a warning logged. */
int osm_report_task(struct osm_store *st, const char *id, const char *command, const char *base, char **run_dir,
                    struct osm_err *err);
/* TASK_DIR of task `t` (caller frees); NULL when its options name no
 * absolute state directory. */
char *osm_report_task_dir(const struct osm_task *t);

#endif
