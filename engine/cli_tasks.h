/* cli_tasks: what the task commands (tasks, task show, cancel, retry, resume,
 * rollback) share: opening the store for a command, resuming interrupted
 * tasks in the background when a command opens the store, running a task in
 * the foreground with plain progress lines, and showing tasks as text or
 * JSON (the JSON shape is the one the fleet API will serve). */
#ifndef OSM_CLI_TASKS_H
#define OSM_CLI_TASKS_H

#include <jansson.h>
#include <stdio.h>

#include "osm_error.h"
#include "store.h"

/* Open the store of `state_dir` (NULL: $OSMIG_STATE_DIR or the default).
 * With `existing`, a missing store is an OSM_ENOTFOUND error and nothing is
 * created (commands that only read or act on existing tasks).
 * When tasks were left half done by an engine that is gone, start a
 * detached `osmig resume` for them (unless OSMIG_NO_AUTO_RESUME is set);
 * its output goes to STATE_DIR/resume.log. */
int osm_cli_open_store(const char *state_dir, int existing, struct osm_store **out, struct osm_err *err);
/* Run task `id` here until it is finished or waits, printing its events;
 * the exit status: 0 when it succeeded (or waits), 1 otherwise. */
int osm_cli_run_task(struct osm_store *st, const char *id, struct osm_err *err);

json_t *osm_task_to_json(const struct osm_task *t);
/* The task with its history and step journal. */
json_t *osm_task_to_json_full(struct osm_store *st, const struct osm_task *t, struct osm_err *err);
void osm_task_print(FILE *f, struct osm_store *st, const struct osm_task *t);
void osm_task_print_table(FILE *f, const struct osm_task *tasks, size_t n);
/* Print JSON to stdout with a newline. */
void osm_cli_print_json(json_t *j);
/* "2026-11-23T05:00:00Z"; "-" for 0. */
const char *osm_cli_time(int64_t t, char buf[32]);



/* Arguments every task command takes: [ID] [--json] [--state-dir DIR]. */
struct osm_task_args {
    const char *state_dir;
    int json;
    const char *id;
};
/* argv[0] is the command. 0: go on; 1: --help was printed (exit 0);
 * 2: usage error printed (exit 2). */
int osm_task_args_parse(int argc, char **argv, int want_id, const char *usage, struct osm_task_args *a);
#endif
