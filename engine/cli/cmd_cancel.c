/* cmd_cancel.c: `osmig cancel ID`: cancel a task before it changes anything,
 * in the local store or, with --server, through POST /v1/tasks/ID/cancel. */
#include <stdio.h>

#include "cli_tasks.h"
#include "osm_cli.h"
#include "runner.h"

#define USAGE "osmig cancel TASK_ID [--json] [--state-dir DIR | --server URL [--key-id ID --key-secret SECRET]]"

static int remote_cancel(const struct osm_task_args *a)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_api_client *c;
    if (osm_cli_remote_open(a->server, a->key_id, a->key_secret, &c, &err) != 0)
        return osm_cli_fail(&err);
    int status = OSM_EXIT_OK;
    json_t *task = osm_cli_remote_action(c, a->id, "cancel", &err);
    struct osm_task t;
    if (!task) {
        status = osm_cli_fail(&err);
    } else if (a->json) {
        osm_cli_print_json(task);
    } else if (osm_task_from_json(task, &t, &err) != 0) {
        status = osm_cli_fail(&err);
    } else {
        printf("%s cancelled; instance %s was not changed\n", t.id, t.instance ? t.instance : "-");
        osm_task_free(&t);
    }
    json_decref(task);
    osm_api_client_close(c);
    return status;
}

int cmd_cancel(int argc, char **argv)
{
    struct osm_task_args a;
    int rc = osm_task_args_parse_remote(argc, argv, 1, USAGE, &a);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    if (a.server)
        return remote_cancel(&a);
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    if (osm_cli_open_store(a.state_dir, 1, &st, &err) != 0)
        return osm_cli_fail(&err);
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
