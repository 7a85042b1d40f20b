/* cmd_task.c: `osmig task show ID [--json]`: one task with its history. */
#include <stdio.h>
#include <string.h>

#include "cli_tasks.h"
#include "osm_cli.h"

#define USAGE "osmig task show TASK_ID [--json] [--state-dir DIR]"

int cmd_task(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc >= 2) {
            printf("usage: %s\n", USAGE);
            return OSM_EXIT_OK;
        }
        return osm_cli_usage("task needs a subcommand (usage: %s)", USAGE);
    }
    if (strcmp(argv[1], "show") != 0)
        return osm_cli_usage("task: unknown subcommand '%s' (usage: %s)", argv[1], USAGE);
    struct osm_task_args a;
    int rc = osm_task_args_parse(argc - 1, argv + 1, 1, USAGE, &a);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    if (osm_cli_open_store(a.state_dir, 1, &st, &err) != 0)
        return osm_cli_fail(&err);
    struct osm_task t;
    if (osm_store_get_task(st, a.id, &t, &err) != 0) {
        osm_store_close(st);
        return osm_cli_fail(&err);
    }
    int status = OSM_EXIT_OK;
    if (a.json) {
        json_t *o = osm_task_to_json_full(st, &t, &err);
        if (o)
            osm_cli_print_json(o);
        else
            status = osm_cli_fail(&err);
        json_decref(o);
    } else {
        osm_task_print(stdout, st, &t);
    }
    osm_task_free(&t);
    osm_store_close(st);
    return status;
}
