/* cmd_cancel.c: `osmig cancel ID`: cancel a task before it changes anything. */
#include <stdio.h>

#include "cli_tasks.h"
#include "osm_cli.h"
#include "runner.h"

int cmd_cancel(int argc, char **argv)
{
    struct osm_task_args a;
    int rc = osm_task_args_parse(argc, argv, 1, "osmig cancel TASK_ID [--json] [--state-dir DIR]", &a);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    if (osm_cli_open_store(a.state_dir, 1, &st, &err) != 0)
        return osm_cli_fail(&err);
    struct osm_task t;
    int status = OSM_EXIT_OK;
    if (osm_runner_cancel(st, a.id, &err) != 0 || osm_store_get_task(st, a.id, &t, &err) != 0) {
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
