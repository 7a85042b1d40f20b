/* cmd_task.c: `osmig task show ID [--json]`: one task with its history and
 * audit trail, from the local store or, with --server, from GET
 * /v1/tasks/ID. `osmig task release ID --reason TEXT`: an admin frees the
 * instance of a task whose rollback failed (job_control.h), locally or with
 * POST /v1/tasks/ID/release. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_tasks.h"
#include "job_control.h"
#include "osm_buf.h"
#include "osm_cli.h"

#define USAGE                                                                                                     \
    "osmig task show TASK_ID [--json] [--state-dir DIR | --server URL [--key-id ID --key-secret SECRET]]\n"      \
    "       osmig task release TASK_ID --reason TEXT [--yes] [--json] [--state-dir DIR | --server URL ...]"

/* `task release`: the task after it, as JSON (caller decrefs), or NULL. */
static json_t *release(const struct osm_task_args *a, const char *reason, struct osm_err *err)
{
    json_t *out = NULL;
    if (a->server) {
        struct osm_api_client *c;
        if (osm_cli_remote_open(a->server, a->key_id, a->key_secret, &c, err) != 0)
            return NULL;
        char *esc = osm_api_escape(a->id), *path = osm_xasprintf("/v1/tasks/%s/release", esc);
        json_t *body = json_pack("{s:s}", "reason", reason);
        int status;
        osm_api_request(c, "POST", path, NULL, body, &status, &out, err);
        json_decref(body);
        free(path);
        free(esc);
        osm_api_client_close(c);
        return out;
    }
    struct osm_store *st;
    if (osm_cli_open_store(a->state_dir, 1, &st, err) != 0)
        return NULL;
    struct osm_task t;
    if (osm_task_release(st, a->id, osm_cli_actor(), reason, err) == 0 && osm_store_get_task(st, a->id, &t, err) == 0) {
        out = osm_task_to_json_full(st, &t, err);
        osm_task_free(&t);
    }
    osm_store_close(st);
    return out;
}

static int cmd_release(int argc, char **argv)
{
    /* --reason is this subcommand's; the rest are every task command's. */
    const char *reason = NULL;
    char **rest = osm_xcalloc((size_t)argc + 1, sizeof *rest);
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *names[] = {"--reason"};
        const char **dst[] = {&reason};
        int m = osm_cli_option(argc, argv, &i, names, dst, 1, USAGE);
        if (m < 0) {
            free(rest);
            return OSM_EXIT_USAGE;
        }
        if (!m)
            rest[n++] = argv[i];
    }
    struct osm_task_args a;
    int rc = osm_task_args_parse_remote(n, rest, 1, USAGE, &a);
    free(rest);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    if (!reason || !*reason)
        return osm_cli_usage("task release needs --reason TEXT (it is recorded on the task)");
    char *q = osm_xasprintf("Release task %s? Its rollback failed: its instance is in a state nobody checked, and "
                            "other tasks may start on it once released.\nType 'yes' to go on: ", a.id);
    char *what = osm_xasprintf("the release of task %s", a.id);
    rc = osm_cli_confirm(a.yes, q, what);
    free(q);
    free(what);
    if (rc)
        return rc;
    struct osm_err err = OSM_ERR_INIT;
    json_t *t = release(&a, reason, &err);
    if (!t)
        return osm_cli_fail(&err);
    if (a.json)
        osm_cli_print_json(json_object_get(t, "task") ? json_object_get(t, "task") : t);
    else
        printf("released task %s: %s\n", a.id, reason);
    json_decref(t);
    return OSM_EXIT_OK;
}

static void print_task(const struct osm_task *t, json_t *doc)
{
    struct osm_task_event *ev;
    size_t n;
    osm_task_events_from_json(doc, &ev, &n);
    osm_task_print_with(stdout, t, ev, n, 1);
    osm_cli_print_audit(stdout, doc);
    osm_task_events_free(ev, n);
}

static int remote_show(const struct osm_task_args *a)
{
    return osm_cli_remote_task(a, NULL, print_task);
}

int cmd_task(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc >= 2) {
            printf("usage: %s\n", USAGE);
            return OSM_EXIT_OK;
        }
        return osm_cli_usage("task needs a subcommand (usage: %s)", USAGE);
    }
    if (strcmp(argv[1], "release") == 0)
        return cmd_release(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") != 0)
        return osm_cli_usage("task: unknown subcommand '%s' (usage: %s)", argv[1], USAGE);
    struct osm_task_args a;
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    int rc = osm_task_command_start(argc - 1, argv + 1, 1, USAGE, remote_show, &a, &st, &err);
    if (rc != OSM_CLI_LOCAL)
        return rc == OSM_CLI_NO_STORE ? osm_cli_fail(&err) : rc;
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
        json_t *audit = json_object();
        if (osm_audit_json(st, t.id, audit, &err) == 0)
            osm_cli_print_audit(stdout, audit);
        json_decref(audit);
    }
    osm_task_free(&t);
    osm_store_close(st);
    return status;
}
