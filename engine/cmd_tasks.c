/* cmd_tasks.c: `osmig tasks [--json]`: every task, newest first. */
#include <stdio.h>

#include "cli_tasks.h"
#include "osm_cli.h"

int cmd_tasks(int argc, char **argv)
{
    struct osm_task_args a;
    int rc = osm_task_args_parse(argc, argv, 0, "osmig tasks [--json] [--state-dir DIR]", &a);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    if (osm_cli_open_store(a.state_dir, 1, &st, &err) != 0) {
        if (err.code != OSM_ENOTFOUND)
            return osm_cli_fail(&err);
        if (a.json)
            puts("{\n  \"tasks\": []\n}");
        else
            printf("no tasks: %s\n", err.msg);
        return OSM_EXIT_OK;
    }
    struct osm_task *tasks;
    size_t n;
    if (osm_store_list_tasks(st, &tasks, &n, &err) != 0) {
        osm_store_close(st);
        return osm_cli_fail(&err);
    }
    if (a.json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, osm_task_to_json(&tasks[i]));
        json_t *o = json_pack("{s:o}", "tasks", arr);
        osm_cli_print_json(o);
        json_decref(o);
    } else if (n == 0) {
        printf("no tasks in %s\n", st->location);
    } else {
        osm_task_print_table(stdout, tasks, n);
    }
    osm_task_list_free(tasks, n);
    osm_store_close(st);
    return OSM_EXIT_OK;
}
