/* cmd_retry.c: `osmig retry ID`: run a failed, rolled back, cancelled or
 * expired task again from its first step (or a failed rollback again), here
 * and now; with --server, the server runs it and this follows it. */
#include "cli_tasks.h"
#include "runner.h"

#define USAGE "osmig retry TASK_ID [--state-dir DIR | --server URL [--key-id ID --key-secret SECRET]]"

int cmd_retry(int argc, char **argv)
{
    return osm_cli_act_and_run(argc, argv, USAGE, "retry", osm_runner_retry, -1);
}
