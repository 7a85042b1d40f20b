/* cmd_rollback.c: `osmig rollback ID`: restore the instance of a succeeded
 * task from its snapshot set, or run a failed rollback again once a person
 * has fixed what stopped it; with --server, the server runs it and this
 * follows it. Exit 0 only when the task ends rolled back. */
#include <stdio.h>

#include "cli_tasks.h"
#include "osm_cli.h"
#include "runner.h"

#define USAGE "osmig rollback TASK_ID [--state-dir DIR | --server URL [--key-id ID --key-secret SECRET]]"

int cmd_rollback(int argc, char **argv)
{
    struct osm_task_args a;
    int rc = osm_task_args_parse_remote(argc, argv, 1, USAGE, &a);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    if (a.json)
        return osm_cli_usage("rollback shows its progress as lines; `osmig task show ID --json` gives the result");
    struct osm_err err = OSM_ERR_INIT;
    if (a.server) {
        struct osm_task t;
        if (osm_cli_remote_act_and_follow(&a, "rollback", &t, &err) != 0)
            return osm_cli_fail(&err);
        osm_cli_print_outcome(&t);
        int status = t.state == OSM_TASK_ROLLED_BACK ? OSM_EXIT_OK : OSM_EXIT_ERROR;
        osm_task_free(&t);
        return status;
    }
    struct osm_store *st;
    if (osm_cli_open_store(a.state_dir, 1, &st, &err) != 0)
        return osm_cli_fail(&err);
    int status;
    if (osm_runner_request_rollback(st, a.id, &err) != 0) {
        status = osm_cli_fail(&err);
    } else {
        status = osm_cli_run_task(st, a.id, &err);
        if (status < 0) {
            status = osm_cli_fail(&err);
        } else {
            struct osm_task t;
            if (osm_store_get_task(st, a.id, &t, &err) == 0) {
                status = t.state == OSM_TASK_ROLLED_BACK ? OSM_EXIT_OK : OSM_EXIT_ERROR;
                osm_task_free(&t);
            }
        }
    }
    osm_store_close(st);
    return status;
}
