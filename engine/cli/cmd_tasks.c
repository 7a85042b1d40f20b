/* cmd_tasks.c: `osmig tasks [--json]`: every task, newest first, from the
 * local store or, with --server, from the fleet API (every page of
 * GET /v1/tasks). */
#include <stdio.h>
#include <stdlib.h>

#include "cli_tasks.h"
#include "osm_buf.h"
#include "osm_cli.h"

#define USAGE "osmig tasks [--json] [--state-dir DIR | --server URL [--key-id ID --key-secret SECRET]]"

static json_t *task_item(const void *tasks, size_t i)
{
    return osm_task_to_json((const struct osm_task *)tasks + i);
}

static void print_tasks(struct osm_task *tasks, size_t n, int json, const char *where)
{
    if (json) {
        osm_cli_print_list("tasks", tasks, n, task_item);
    } else if (n == 0) {
        printf("no tasks in %s\n", where);
    } else {
        osm_task_print_table(stdout, tasks, n);
    }
}

/* Every page, oldest first as the API gives them, then turned around. */
static int remote_tasks(const struct osm_task_args *a)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_api_client *c;
    if (osm_cli_remote_open(a->server, a->key_id, a->key_secret, &c, &err) != 0)
        return osm_cli_fail(&err);
    json_t *all = json_array();
    char *after = NULL;
    int rc = OSM_EXIT_OK;
    for (;;) {
        char *q = NULL;
        osm_api_query_add(&q, "limit", "1000");
        if (after)
            osm_api_query_add(&q, "after", after);
        int status;
        json_t *page = NULL;
        int r = osm_api_request(c, "GET", "/v1/tasks", q, NULL, &status, &page, &err);
        free(q);
        free(after);
        after = NULL;
        if (r != 0) {
            rc = osm_cli_fail(&err);
            break;
        }
        json_t *tasks = json_object_get(page, "tasks");
        if (!json_is_array(tasks)) {
            json_decref(page);
            osm_err_set(&err, OSM_EINPUT, "GET %s/v1/tasks: the answer has no \"tasks\" list", osm_api_client_url(c));
            rc = osm_cli_fail(&err);
            break;
        }
        json_array_extend(all, tasks);
        json_t *next = json_object_get(page, "next");
        if (json_is_string(next) && json_string_length(next) > 0)
            after = osm_xstrdup(json_string_value(next));
        else if (json_is_integer(next))
            after = osm_xasprintf("%lld", (long long)json_integer_value(next));
        json_decref(page);
        if (!after)
            break;
    }
    if (rc == OSM_EXIT_OK) {
        size_t n = json_array_size(all);
        if (a->json) {
            /* As served (with job_id), newest first like the local list. */
            json_t *rev = json_array();
            for (size_t i = n; i-- > 0;)
                json_array_append(rev, json_array_get(all, i));
            json_t *o = json_pack("{s:o}", "tasks", rev);
            osm_cli_print_json(o);
            json_decref(o);
        } else {
            struct osm_task *tasks = n ? osm_xcalloc(n, sizeof *tasks) : NULL;
            size_t got = 0;
            for (size_t i = n; i-- > 0;) {
                if (osm_task_from_json(json_array_get(all, i), &tasks[got], &err) != 0) {
                    osm_err_prefix(&err, "%s", osm_api_client_url(c));
                    rc = osm_cli_fail(&err);
                    break;
                }
                got++;
            }
            if (rc == OSM_EXIT_OK)
                print_tasks(tasks, got, 0, osm_api_client_url(c));
            osm_task_list_free(tasks, got);
        }
    }
    json_decref(all);
    osm_api_client_close(c);
    return rc;
}

int cmd_tasks(int argc, char **argv)
{
    struct osm_task_args a;
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    int rc = osm_task_command_start(argc, argv, 0, USAGE, remote_tasks, &a, &st, &err);
    if (rc != OSM_CLI_LOCAL && rc != OSM_CLI_NO_STORE)
        return rc;
    if (rc == OSM_CLI_NO_STORE) {
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
    print_tasks(tasks, n, a.json, st->location);
    osm_task_list_free(tasks, n);
    osm_store_close(st);
    return OSM_EXIT_OK;
}
