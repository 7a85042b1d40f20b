/* cmd_rollback.c: `osmig rollback ID`: restore the instance of a succeeded
 * task from its snapshot set, or run a failed rollback again once a person
 * has fixed what stopped it; with --server, the server runs it and this
 * follows it. Exit 0 only when the task ends rolled back. */
#include "cli_tasks.h"
#include "runner.h"

#define USAGE "osmig rollback TASK_ID [--state-dir DIR | --server URL [--key-id ID --key-secret SECRET]]"

int cmd_rollback(int argc, char **argv)
{
    return osm_cli_act_and_run(argc, argv, USAGE, "rollback", osm_runner_request_rollback, OSM_TASK_ROLLED_BACK);
}
