/* cmd_retry.c: `osmig retry ID`: run a failed, rolled back, cancelled or
 * expired task again from its first step (or a failed rollback again), here
 * and now; with --server, the server runs it and this follows it. */
#include <stdio.h>

#include "cli_tasks.h"
#include "osm_cli.h"
#include "runner.h"

#define USAGE "osmig retry TASK_ID [--state-dir DIR | --server URL [--key-id ID --key-secret SECRET]]"

int cmd_retry(int argc, char **argv)
{
    struct osm_task_args a;
    int rc = osm_task_args_parse_remote(argc, argv, 1, USAGE, &a);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    if (a.json)
        return osm_cli_usage("retry shows its progress as lines; `osmig task show ID --json` gives the result");
    struct osm_err err = OSM_ERR_INIT;
    if (a.server) {
        struct osm_task t;
        if (osm_cli_remote_act_and_follow(&a, "retry", &t, &err) != 0)
            return osm_cli_fail(&err);
        int status = osm_cli_print_outcome(&t);
        osm_task_free(&t);
        return status;
    }
    struct osm_store *st;
    if (osm_cli_open_store(a.state_dir, 1, &st, &err) != 0)
        return osm_cli_fail(&err);
    int status;
    if (osm_runner_retry(st, a.id, &err) != 0) {
        status = osm_cli_fail(&err);
    } else {
        status = osm_cli_run_task(st, a.id, &err);
        if (status < 0)
            status = osm_cli_fail(&err);
    }
    osm_store_close(st);
    return status;
}
