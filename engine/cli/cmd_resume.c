/* cmd_resume.c: `osmig resume [--interrupted]`: continue every task an
 * engine left unfinished (killed, crashed, rebooted), each from its recorded
 * step, and start due tasks nobody started; with --interrupted (what the
 * background resumer runs), only the first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_report.h"
#include "cli_tasks.h"
#include "osm_cli.h"
#include "osm_fs.h"
#include "runner.h"

/* The tasks this resume ran, each to get its run's report at the end. */
struct ran {
    char (*ids)[40];
    size_t n;
};

static void on_event(void *user, const struct osm_task *t, const char *type, const char *message)
{
    struct ran *ran = user;
    size_t k = 0;
    while (k < ran->n && strcmp(ran->ids[k], t->id) != 0)
        k++;
    if (k == ran->n) {
        ran->ids = osm_xrealloc(ran->ids, (ran->n + 1) * sizeof *ran->ids);
        snprintf(ran->ids[ran->n++], sizeof *ran->ids, "%s", t->id);
    }
    printf("%s %-13s %s%s%s\n", t->id, t->phase, type, message ? ": " : "", message ? message : "");
    fflush(stdout);
}

int cmd_resume(int argc, char **argv)
{
    struct osm_task_args a;
    int interrupted_only = 0;
    if (argc > 1 && strcmp(argv[argc - 1], "--interrupted") == 0) {
        interrupted_only = 1;
        argc--;
    }
    int rc = osm_task_args_parse(argc, argv, 0, "osmig resume [--interrupted] [--state-dir DIR]", &a);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    if (a.json)
        return osm_cli_usage("resume prints its progress as lines; `osmig tasks --json` gives the results");
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    char *dir = osm_store_state_dir(a.state_dir);
    char *db = osm_path_join(dir, "state.db");
    /* Resume here, in the foreground: no background resumer for this one. */
    rc = osm_is_file(db) ? osm_store_open(dir, &st, &err) : 1;
    free(db);
    free(dir);
    if (rc < 0)
        return osm_cli_fail(&err);
    if (rc > 0) {
        printf("resumed 0 tasks (no task store yet)\n");
        return OSM_EXIT_OK;
    }
    struct ran ran = {NULL, 0};
    struct osm_runner_opts opts = {on_event, NULL, &ran, 0};
    size_t n;
    rc = osm_runner_resume_all(st, interrupted_only, &opts, &n, &err);
    for (size_t k = 0; k < ran.n; k++)
        osm_cli_report_task(st, ran.ids[k], "resume");
    free(ran.ids);
    if (rc != 0) {
        osm_store_close(st);
        return osm_cli_fail(&err);
    }
    printf("resumed %zu task%s\n", n, n == 1 ? "" : "s");
    osm_store_close(st);
    return OSM_EXIT_OK;
}
