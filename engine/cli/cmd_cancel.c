/* cmd_cancel.c: `osmig cancel ID`: cancel a task before it changes anything,
 * in the local store or, with --server, through POST /v1/tasks/ID/cancel. */
#include <stdio.h>

#include "cli_tasks.h"
#include "osm_cli.h"
#include "runner.h"

#define USAGE "osmig cancel TASK_ID [--json] [--state-dir DIR | --server URL [--key-id ID --key-secret SECRET]]"

static void print_cancelled(const struct osm_task *t, json_t *doc)
{
    (void)doc;
    printf("%s cancelled; instance %s was not changed\n", t->id, t->instance ? t->instance : "-");
}

static int remote_cancel(const struct osm_task_args *a)
{
    return osm_cli_remote_task(a, "cancel", print_cancelled);
}

int cmd_cancel(int argc, char **argv)
{
    struct osm_task_args a;
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    int rc = osm_task_command_start(argc, argv, 1, USAGE, remote_cancel, &a, &st, &err);
    if (rc != OSM_CLI_LOCAL)
        return rc == OSM_CLI_NO_STORE ? osm_cli_fail(&err) : rc;
    struct osm_task t;
    int status = OSM_EXIT_OK;
    if (osm_runner_cancel(st, a.id, &err) != 0 ||
        osm_store_audit_add(st, a.id, "cancelled", osm_cli_actor(), NULL, &err) != 0 ||
        osm_store_get_task(st, a.id, &t, &err) != 0) {
        status = osm_cli_fail(&err);
    } else {
        if (a.json) {
            json_t *o = osm_task_to_json(&t);
            osm_cli_print_json(o);
            json_decref(o);
        } else {
            printf("%s cancelled; instance %s was not changed\n", t.id, t.instance);
        }
        osm_task_free(&t);
    }
    osm_store_close(st);
    return status;
}
