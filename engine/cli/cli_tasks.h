/* cli_tasks: what the task commands (tasks, task show, cancel, retry, resume,
 * rollback) share: opening the store for a command, resuming interrupted
 * tasks in the background when a command opens the store, running a task in
 * the foreground with plain progress lines, and showing tasks as text or
 * JSON (the JSON shape is the one the fleet API serves).
 *
 * With --server URL (or OSMIG_SERVER) the same commands talk to a fleet API
 * server instead of a local store (api_client.h): tasks read back from the
 * API's JSON print exactly as local ones, and a task the server runs is
 * followed by polling, its new history events printed as the local runner
 * prints them. */
#ifndef OSM_CLI_TASKS_H
#define OSM_CLI_TASKS_H

#include <jansson.h>
#include <stdio.h>

#include "api_client.h"
#include "osm_error.h"
#include "runner.h"
#include "store.h"
#include "task_json.h"

/* Open the store of `state_dir` (NULL: $OSMIG_STATE_DIR or the default).
 * With `existing`, a missing store is an OSM_ENOTFOUND error and nothing is
 * created (commands that only read or act on existing tasks).
 * When tasks were left half done by an engine that is gone, start a
 * detached `osmig resume` for them and say so on stderr (unless
 * OSMIG_NO_AUTO_RESUME is set: `osmig --no-auto-resume`); its output goes
 * to STATE_DIR/resume.log. */
int osm_cli_open_store(const char *state_dir, int existing, struct osm_store **out, struct osm_err *err);
/* Run task `id` here until it is finished or waits, printing its events,
 * then leave the run's report (cli_report.h) as `command` (retry,
 * rollback); the exit status: 0 when it succeeded (or waits), 1 otherwise. */
int osm_cli_run_task(struct osm_store *st, const char *id, const char *command, struct osm_err *err);

void osm_task_print(FILE *f, struct osm_store *st, const struct osm_task *t);
/* The same from a task and its history as given: `show_owner` prints the
 * owner of an unfinished task ("running in"). Its reports and log are
 * named by path and by the API's route. */
void osm_task_print_with(FILE *f, const struct osm_task *t, const struct osm_task_event *ev, size_t n,
                         int show_owner);
/* The last line of a foreground run: succeeded, scheduled, or the state and
 * cause. Returns the exit status (0 succeeded or scheduled, 1 otherwise). */
int osm_cli_print_outcome(const struct osm_task *t);
void osm_task_print_table(FILE *f, const struct osm_task *tasks, size_t n);
/* Print JSON to stdout with a newline. */
void osm_cli_print_json(json_t *j);
/* {"NAME": [item(list, 0), ... item(list, n-1)]} printed as osm_cli_print_json does. */
void osm_cli_print_list(const char *name, const void *list, size_t n, json_t *(*item)(const void *list, size_t i));

/* Arguments every task command takes: [ID] [--json] [--state-dir DIR], and
 * for those that can talk to a server: [--server URL] [--key-id ID]
 * [--key-secret SECRET]. */
struct osm_task_args {
    const char *state_dir;
    int json;
    const char *id;
    const char *server;      /* --server, else $OSMIG_SERVER unless --state-dir was given */
    const char *key_id, *key_secret;
    int yes;                 /* --yes: no question asked (destructive commands) */
};
/* argv[0] is the command. 0: go on; 1: --help was printed (exit 0);
 * 2: usage error printed (exit 2). The server options are refused. */
int osm_task_args_parse(int argc, char **argv, int want_id, const char *usage, struct osm_task_args *a);
/* The same, also taking the server options. */
int osm_task_args_parse_remote(int argc, char **argv, int want_id, const char *usage, struct osm_task_args *a);
/* The start of a task command that can talk to a server: its arguments
 * parsed into *a; with a server, `remote` does the work and its exit
 * status is returned; else the local store is opened into *st:
 * OSM_CLI_LOCAL, or OSM_CLI_NO_STORE with err saying why. */
#define OSM_CLI_LOCAL (-1)
#define OSM_CLI_NO_STORE (-2)
int osm_task_command_start(int argc, char **argv, int want_id, const char *usage,
                           int (*remote)(const struct osm_task_args *), struct osm_task_args *a,
                           struct osm_store **st, struct osm_err *err);

/* ---- through the fleet API ---- */

/* Open a client for `server` with the credentials of the options, the
 * environment or the credentials file. */
int osm_cli_remote_open(const char *server, const char *key_id, const char *key_secret, struct osm_api_client **out,
                        struct osm_err *err);
/* GET /v1/tasks/ID: the full document (caller decrefs), NULL on error. */
json_t *osm_cli_remote_get_task(struct osm_api_client *c, const char *id, struct osm_err *err);
/* Follow task `id` on the server until it is finished or waits for a later
 * start: every history event from index `from_event` on is passed to
 * opts->on_event (with the task as last read), progress changes to
 * opts->on_progress. *final gets the last full document (caller decrefs). */
int osm_cli_remote_follow(struct osm_api_client *c, const char *id, size_t from_event,
                          const struct osm_runner_opts *opts, json_t **final, struct osm_err *err);
/* POST /v1/tasks/ID/ACTION (cancel, retry, rollback, start): the "task"
 * of the answer (caller decrefs), NULL on error. */
json_t *osm_cli_remote_action(struct osm_api_client *c, const char *id, const char *action, struct osm_err *err);
/* `osmig task show|cancel ID --server`: the task after POST
 * /v1/tasks/ID/ACTION (or GET /v1/tasks/ID when `action` is NULL); with
 * --json the document as served, else `print` shows it (as a record, and
 * the document for what the record lacks). The exit status. */
int osm_cli_remote_task(const struct osm_task_args *a, const char *action, void (*print)(const struct osm_task *, json_t *));
/* `osmig retry|rollback ID --server`: ACTION, then follow the task with the
 * foreground lines until it ends or waits; *final is the task then. */
int osm_cli_remote_act_and_follow(const struct osm_task_args *a, const char *action, struct osm_task *final,
                                  struct osm_err *err);
/* `osmig retry|rollback ID`: the whole command. Locally `request` asks for
 * the action in the store and the task then runs here; with --server the
 * server runs it and this follows it. Exit 0 when the task ends in state
 * `want` (with want < 0: when it succeeded or waits), 1 otherwise. */
int osm_cli_act_and_run(int argc, char **argv, const char *usage, const char *action,
                        int (*request)(struct osm_store *st, const char *id, struct osm_err *err), int want);
/* Ask `question` on the terminal (stdin) unless `yes`: 0 to go on; else
 * the exit status after saying why: 2 when stdin is no terminal ("pass
 * --yes to confirm WHAT"), 1 when the answer was not yes ("nothing was
 * changed"). */
int osm_cli_confirm(int yes, const char *question, const char *what);
/* Ctrl-C, SIGHUP and SIGTERM while task `id` of the store in `state_dir`
 * runs in the foreground: cancelled before its instance changes, carried
 * on (and said so) after; SIGPIPE ignored (cli_interrupt.c). NULL when it
 * cannot be set up (the default actions stay). */
struct osm_cli_interrupt *osm_cli_interrupt_start(const char *state_dir, const char *task_id);
void osm_cli_interrupt_stop(struct osm_cli_interrupt *in);
/* Who acts, for audit trails: "local:USER" (the effective user; with
 * "(sudo:NAME)" when run through sudo). */
const char *osm_cli_actor(void);
/* The "audit" entries of a task or job document (osm_audit_json's shape)
 * as lines: "  TIME  ACTION by WHO (DETAIL)". Nothing when it has none. */
void osm_cli_print_audit(FILE *f, const json_t *doc);
/* The runner's foreground event and progress lines (osm_cli_run_task's). */
extern const struct osm_runner_opts osm_cli_fg_opts;
#endif
