/* cmd_migrate.c: `osmig migrate INSTANCE --to TARGET`: one os-migration task
 * run here to its end, with the phase and a progress bar on a terminal (plain
 * progress lines otherwise), then what happened. The steps are the Linux
 * backend's (os_migration.h); the task is created already claimed so that no
 * background resumer takes it from us. With --server URL (or OSMIG_SERVER)
 * it submits a job of this one instance to the fleet API instead and follows
 * the task the server runs, showing the same phases and summary. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli_config.h"
#include "osm_buf.h"
#include "cli_report.h"
#include "cli_tasks.h"
#include "job_control.h"
#include "os_migration.h"
#include "osm_cli.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "provider.h"
#include "runner.h"

static const char usage_text[] =
    "usage: osmig migrate INSTANCE --to TARGET [--yes] [--no-signature-check] [--matrix FILE]...\n"
    "                     [--events FILE]... [--repo ID=URL]... [--allow-erase NAME]...\n"
    "                     [--snapshot-store DIR] [--state-dir DIR] [--cache-dir DIR] [--json]\n"
    "       osmig migrate INSTANCE --to TARGET --server URL [--key-id ID --key-secret SECRET]\n"
    "                     [--yes] [--no-signature-check] [--repo ID=URL]... [--allow-erase NAME]...\n"
    "                     [--json]\n"
    "  Migrate INSTANCE to TARGET: prechecks, a snapshot of every disk, staging,\n"
    "  the upgrade, verification; on any failure every disk is restored. Asks\n"
    "  for confirmation on a terminal unless --yes. Exit 0 when it succeeded,\n"
    "  3 when prechecks or inhibitors stopped it before any change, 1 otherwise.\n"
    "  With --server the server migrates INSTANCE (named as the server sees it).\n"
    "  --allow-erase NAME accepts the removal of an essential package (openssh-server,\n"
    "  yum, ...) that the target does not provide; `osmig assess` names them.\n";

/* What the user sees while the task runs. */
struct view {
    FILE *out;
    int tty;
    int bar_shown;
    char last_phase[40];
    char last_progress_phase[40];
    time_t last_line;
    int last_pct;
    /* Timings for the summary: wall and CPU (this process and its children,
     * e.g. scriptlets) at the start of each step. */
    double step_wall0, step_cpu0;
    double snapshot_wall, stage_wall0, stage_cpu0, stage_to_verify_wall, stage_to_verify_cpu;
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    double t = 0;
    struct rusage *r[] = {&self, &kids};
    for (int i = 0; i < 2; i++)
        t += (double)r[i]->ru_utime.tv_sec + (double)r[i]->ru_utime.tv_usec / 1e6 + (double)r[i]->ru_stime.tv_sec +
             (double)r[i]->ru_stime.tv_usec / 1e6;
    return t;
}

static void note_timing(struct view *v, const char *type, const char *message)
{
    if (!message)
        return;
    if (strcmp(type, "step.start") == 0) {
        v->step_wall0 = wall_now();
        v->step_cpu0 = cpu_now();
        if (strcmp(message, "stage") == 0) {
            v->stage_wall0 = v->step_wall0;
            v->stage_cpu0 = v->step_cpu0;
        }
    } else if (strcmp(type, "step.done") == 0) {
        if (strcmp(message, "snapshot") == 0 || strncmp(message, "snapshot:", 9) == 0)
            v->snapshot_wall = wall_now() - v->step_wall0;
        if ((strcmp(message, "verify") == 0 || strncmp(message, "verify:", 7) == 0) && v->stage_wall0 > 0) {
            v->stage_to_verify_wall = wall_now() - v->stage_wall0;
            v->stage_to_verify_cpu = cpu_now() - v->stage_cpu0;
        }
    }
}

static void bar_clear(struct view *v)
{
    if (v->bar_shown) {
        fputs("\r\033[K", v->out);
        v->bar_shown = 0;
    }
}

static void on_event(void *user, const struct osm_task *t, const char *type, const char *message)
{
    struct view *v = user;
    bar_clear(v);
    note_timing(v, type, message);
    /* Journal records are for `task show`; users see the phases and results. */
    if (strcmp(type, "step.intent") == 0 || strcmp(type, "step.outcome") == 0)
        return;
    if (strcmp(t->phase, v->last_phase) != 0) {
        snprintf(v->last_phase, sizeof v->last_phase, "%s", t->phase);
        fprintf(v->out, "== %s\n", t->phase);
    }
    fprintf(v->out, "   %s%s%s\n", type, message ? ": " : "", message ? message : "");
    fflush(v->out);
}

static void on_progress(void *user, const struct osm_task *t)
{
    struct view *v = user;
    int pct = (int)t->progress;
    const char *msg = t->progress_msg ? t->progress_msg : "";
    if (v->tty) {
        int width = 30, fill = pct * width / 100;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(v->out, "\r\033[K[%s] %3d%% %s: %.90s", bar, pct, t->phase, msg);
        v->bar_shown = 1;
        fflush(v->out);
        return;
    }
    /* Plain lines: at most one a second, and the first of each phase. */
    time_t now = time(NULL);
    if (now == v->last_line && strcmp(v->last_progress_phase, t->phase) == 0)
        return;
    snprintf(v->last_progress_phase, sizeof v->last_progress_phase, "%s", t->phase);
    v->last_line = now;
    v->last_pct = pct;
    fprintf(v->out, "progress %d%% %s: %s\n", pct, t->phase, msg);
    fflush(v->out);
}

/* 0 to go on, else the exit status (osm_cli_confirm). */
static int confirm(int yes, const char *instance, const char *shown, const char *target)
{
    char *q = osm_xasprintf("Migrate %s to %s?\nEvery disk is snapshotted first and restored if anything fails; the "
                            "instance is rebooted twice.\nType 'yes' to go on: ", instance, target);
    char *what = osm_xasprintf("the migration of %s", shown);
    int rc = osm_cli_confirm(yes, q, what);
    free(q);
    free(what);
    return rc;
}

/* The plan's counts of package changes, for the summary. */
static void print_changes(FILE *f, const char *plan_path)
{
    json_t *p = json_load_file(plan_path, 0, NULL);
    json_t *s = json_object_get(p, "summary");
    if (json_is_object(s)) {
        const char *names[] = {"install", "upgrade", "downgrade", "replace", "erase"};
        fprintf(f, "  packages changed:");
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            fprintf(f, " %s %lld%s", names[i], (long long)json_integer_value(json_object_get(s, names[i])),
                    i + 1 < sizeof names / sizeof names[0] ? "," : "\n");
    }
    json_t *t = json_object_get(p, "target");
    const char *name = json_string_value(json_object_get(t, "name"));
    if (name)
        fprintf(f, "  new release: %s\n", name);
    json_decref(p);
}

static void print_summary(FILE *f, const struct view *v, const struct osm_task *t, const char *task_dir,
                          const char *store)
{
    char *plan = osm_path_join(task_dir, "plan.json");
    fputc('\n', f);
    if (t->state == OSM_TASK_SUCCEEDED) {
        fprintf(f, "Migration %s succeeded: %s is now %s.\n", t->id, t->instance, t->target);
        print_changes(f, plan);
        fprintf(f, "  snapshot set %s is kept; once you are satisfied, delete it with:\n"
                   "    osmig snapshot delete %s %s%s%s\n",
                t->snapshot_set ? t->snapshot_set : "?", t->instance, t->snapshot_set ? t->snapshot_set : "?",
                store ? " --snapshot-store " : "", store ? store : "");
    } else if (t->state == OSM_TASK_ROLLED_BACK) {
        fprintf(f, "Migration %s failed and was rolled back: every disk of %s is as it was before.\n", t->id,
                t->instance);
        fprintf(f, "  why: %s\n", t->cause ? t->cause : "no cause recorded");
    } else {
        fprintf(f, "Migration %s ended %s.\n", t->id, osm_task_state_name(t->state));
        fprintf(f, "  why: %s\n", t->cause ? t->cause : "no cause recorded");
    }
    if (v->stage_to_verify_wall > 0)
        fprintf(f, "  time: snapshot %.2f s; staging to end of verification %.2f s wall, %.2f s CPU\n",
                v->snapshot_wall, v->stage_to_verify_wall, v->stage_to_verify_cpu);
    fprintf(f, "  logs: %s/osmig.log; history: osmig task show %s\n", task_dir, t->id);
    free(plan);
}

/* ---- through the fleet API ---- */

struct remote_opts {
    const char *server, *key_id, *key_secret;
};

static void print_remote_summary(FILE *f, const struct osm_task *t, const char *server)
{
    fputc('\n', f);
    if (t->state == OSM_TASK_SUCCEEDED) {
        fprintf(f, "Migration %s succeeded: %s is now %s.\n", t->id, t->instance, t->target);
        fprintf(f, "  snapshot set %s is kept on the server's side until it is deleted\n",
                t->snapshot_set ? t->snapshot_set : "?");
    } else if (t->state == OSM_TASK_ROLLED_BACK) {
        fprintf(f, "Migration %s failed and was rolled back: every disk of %s is as it was before.\n", t->id,
                t->instance);
        fprintf(f, "  why: %s\n", t->cause ? t->cause : "no cause recorded");
    } else if (t->state == OSM_TASK_SCHEDULED) {
        fprintf(f, "Migration %s is scheduled and waits for its start time.\n", t->id);
    } else {
        fprintf(f, "Migration %s ended %s.\n", t->id, osm_task_state_name(t->state));
        fprintf(f, "  why: %s\n", t->cause ? t->cause : "no cause recorded");
    }
    fprintf(f, "  history: osmig task show %s --server %s\n", t->id, server);
}

static int migrate_remote(const char *instance, const struct osm_migration_options *mo, const struct osm_cli_list *repos,
                          const struct remote_opts *ro, int json)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_api_client *c;
    if (osm_cli_remote_open(ro->server, ro->key_id, ro->key_secret, &c, &err) != 0)
        return osm_cli_fail(&err);
    json_t *options = json_object();
    if (repos->n) {
        json_t *r = json_array();
        for (size_t i = 0; i < repos->n; i++)
            json_array_append_new(r, json_string(repos->v[i]));
        json_object_set_new(options, "repos", r);
    }
    if (mo->no_signature_check)
        json_object_set_new(options, "no_signature_check", json_true());
    if (mo->n_allow_erase) {
        json_t *a = json_array();
        for (size_t i = 0; i < mo->n_allow_erase; i++)
            json_array_append_new(a, json_string(mo->allow_erase[i]));
        json_object_set_new(options, "allow_erase", a);
    }
    json_t *body = json_pack("{s:s, s:[s]}", "target", mo->target, "instances", instance);
    if (json_object_size(options))
        json_object_set(body, "options", options);
    json_decref(options);
    int status, rc = OSM_EXIT_ERROR;
    json_t *resp = NULL, *doc = NULL;
    if (osm_api_request(c, "POST", "/v1/jobs", NULL, body, &status, &resp, &err) != 0) {
        rc = osm_cli_fail(&err);
        goto out;
    }
    const char *id = json_string_value(json_array_get(json_object_get(resp, "task_ids"), 0));
    if (!id) {
        osm_err_set(&err, OSM_EINPUT, "POST %s/v1/jobs: the answer has no task_ids", osm_api_client_url(c));
        rc = osm_cli_fail(&err);
        goto out;
    }
    FILE *vout = json ? stderr : stdout;
    struct view v = {.out = vout, .tty = isatty(fileno(vout)), .last_pct = -100};
    fprintf(vout, "task %s: migrating %s to %s on %s\n", id, instance, mo->target, osm_api_client_url(c));
    struct osm_runner_opts fo = {on_event, on_progress, &v, 0};
    struct osm_task t;
    if (osm_cli_remote_follow(c, id, 0, &fo, &doc, &err) != 0 || osm_task_from_json(doc, &t, &err) != 0) {
        bar_clear(&v);
        rc = osm_cli_fail(&err);
        goto out;
    }
    bar_clear(&v);
    if (json)
        osm_cli_print_json(doc);
    print_remote_summary(vout, &t, osm_api_client_url(c));
    if (t.state == OSM_TASK_SUCCEEDED || t.state == OSM_TASK_SCHEDULED)
        rc = OSM_EXIT_OK;
    else if (t.state == OSM_TASK_FAILED && t.error_code && strcmp(t.error_code, "step.precheck") == 0)
        rc = OSM_EXIT_INHIBITED;
    osm_task_free(&t);
out:
    json_decref(body);
    json_decref(resp);
    json_decref(doc);
    osm_api_client_close(c);
    return rc;
}

int cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},
        {"yes", no_argument, NULL, 'y'},
        {"no-signature-check", no_argument, NULL, 'n'},
        {"matrix", required_argument, NULL, 'm'},
        {"events", required_argument, NULL, 'e'},
        {"repo", required_argument, NULL, 'r'},
        {"allow-erase", required_argument, NULL, 'a'},
        {"snapshot-store", required_argument, NULL, 's'},
        {"state-dir", required_argument, NULL, 'd'},
        {"cache-dir", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"server", required_argument, NULL, 'S'},
        {"key-id", required_argument, NULL, 'K'},
        {"key-secret", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct remote_opts rem = {0};
    int local_only = 0; /* an option that names something on this host */
    struct osm_migration_options mo = {0};
    struct osm_cli_list matrix = {0}, events = {0}, repos = {0}, allow = {0};
    int yes = 0, json = 0, rc = OSM_EXIT_USAGE, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hy", opts, NULL)) != -1) {
        switch (c) {
        case 't': mo.target = optarg; break;
        case 'y': yes = 1; break;
        case 'n': mo.no_signature_check = 1; break;
        case 'm': osm_cli_list_push(&matrix, optarg); local_only = 1; break;
        case 'e': osm_cli_list_push(&events, optarg); local_only = 1; break;
        case 'r':
            if (!strchr(optarg, '=')) {
                rc = osm_cli_usage("--repo takes ID=URL, not '%s'", optarg);
                goto out;
            }
            osm_cli_list_push(&repos, optarg);
            break;
        case 'a': osm_cli_list_push(&allow, optarg); break;
        case 's': mo.snapshot_store = optarg; local_only = 1; break;
        case 'd': mo.state_dir = optarg; local_only = 1; break;
        case 'c': mo.cache_dir = optarg; local_only = 1; break;
        case 'S': rem.server = optarg; break;
        case 'K': rem.key_id = optarg; break;
        case 'P': rem.key_secret = optarg; break;
        case 'j': json = 1; break;
        default: rc = osm_cli_getopt_end(c, usage_text); goto out;
        }
    }
    if ((rc = osm_cli_instance_and_target(argc, mo.target, usage_text)) != 0)
        goto out;
    /* An explicit local option wins over the environment's server. */
    if (!rem.server && !local_only)
        rem.server = osm_api_server(NULL);
    if (rem.server) {
        if (local_only) {
            rc = osm_cli_usage("--matrix, --events, --snapshot-store, --state-dir and --cache-dir name things on "
                               "this host; with --server the server uses its own");
            goto out;
        }
        if ((rc = confirm(yes, argv[optind], argv[optind], mo.target)) != 0)
            goto out;
        mo.allow_erase = allow.v, mo.n_allow_erase = allow.n;
        rc = migrate_remote(argv[optind], &mo, &repos, &rem, json);
        goto out;
    }
    if (rem.key_id || rem.key_secret) {
        rc = osm_cli_usage("--key-id and --key-secret need --server URL (or OSMIG_SERVER)");
        goto out;
    }
    for (size_t i = 0; i < matrix.n; i++)
        if (!osm_is_file(matrix.v[i])) {
            rc = osm_cli_usage("--matrix %s: no such file", matrix.v[i]);
            goto out;
        }
    for (size_t i = 0; i < events.n; i++)
        if (!osm_is_file(events.v[i])) {
            rc = osm_cli_usage("--events %s: no such file", events.v[i]);
            goto out;
        }
    /* the configuration's local mirrors and site matrices */
    if ((rc = osm_cli_config_sources(&repos, &matrix)) != 0)
        goto out;
    struct osm_err err = OSM_ERR_INIT;
    struct osm_err terr = OSM_ERR_INIT;
    int known = osm_known_target(mo.target, matrix.v, matrix.n, &terr);
    if (known <= 0) {
        rc = known < 0 ? osm_cli_fail(&terr)
                       : osm_cli_usage("--to %s: not a known target (`osmig matrix` lists them); nothing was done",
                                       mo.target);
        goto out;
    }
    mo.matrix_files = matrix.v, mo.n_matrix_files = matrix.n;
    mo.event_files = events.v, mo.n_event_files = events.n;
    mo.repo_overrides = repos.v, mo.n_repo_overrides = repos.n;
    mo.allow_erase = allow.v, mo.n_allow_erase = allow.n;

    struct osm_instance *inst;
    if (osm_instance_open(argv[optind], &inst, &err) != 0) {
        rc = osm_cli_fail(&err);
        goto out;
    }
    char *uri = osm_xstrdup(inst->uri);
    osm_instance_close(inst);
    if ((rc = confirm(yes, uri, argv[optind], mo.target)) != 0) {
        free(uri);
        goto out;
    }

    char *state_dir = osm_store_state_dir(mo.state_dir);
    if (osm_mkdir_p(state_dir, 0700, &err) != 0) {
        free(state_dir);
        free(uri);
        rc = osm_cli_fail(&err);
        goto out;
    }
    mo.state_dir = state_dir;
    struct osm_store *st;
    if (osm_cli_open_store(state_dir, 0, &st, &err) != 0) {
        free(state_dir);
        free(uri);
        rc = osm_cli_fail(&err);
        goto out;
    }
    struct osm_task t;
    osm_task_init(&t);
    snprintf(t.kind, sizeof t.kind, "%s", OSM_KIND_OS_MIGRATION);
    t.instance = uri;
    t.target = osm_xstrdup(mo.target);
    json_t *oj = osm_migration_options_json(&mo);
    t.options = json_dumps(oj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(oj);
    t.owner = osm_xstrdup(osm_store_self_owner());
    t.lease_until = osm_store_now() + 300;
    if (osm_store_create_task(st, &t, &err) != 0 ||
        osm_store_audit_add(st, t.id, "created", osm_cli_actor(), NULL, &err) != 0) {
        rc = osm_cli_fail(&err);
        goto close;
    }
    char *task_dir = osm_migration_task_dir(state_dir, t.id);
    char *log_path = osm_path_join(task_dir, "osmig.log");
    if (osm_mkdir_p(task_dir, 0755, &err) == 0)
        osm_log_set_file(log_path);
    FILE *vout = json ? stderr : stdout;
    struct view v = {.out = vout, .tty = isatty(fileno(vout)), .last_pct = -100};
    fprintf(vout, "task %s: migrating %s to %s\n", t.id, t.instance, t.target);
    struct osm_runner_opts ro = {on_event, on_progress, &v, 0};
    struct osm_cli_interrupt *intr = osm_cli_interrupt_start(state_dir, t.id);
    int r = osm_runner_run(st, t.id, &ro, &err);
    osm_cli_interrupt_stop(intr);
    bar_clear(&v);
    if (r >= 0)
        osm_cli_report_task(st, t.id, "migrate");
    struct osm_task done;
    if (r < 0 || osm_store_get_task(st, t.id, &done, &err) != 0) {
        rc = osm_cli_fail(&err);
    } else {
        if (json) {
            json_t *o = osm_task_to_json_full(st, &done, &err);
            if (o)
                osm_cli_print_json(o);
            json_decref(o);
        }
        print_summary(vout, &v, &done, task_dir, mo.snapshot_store);
        if (done.state == OSM_TASK_SUCCEEDED)
            rc = OSM_EXIT_OK;
        else if (done.state == OSM_TASK_FAILED && done.error_code && strcmp(done.error_code, "step.precheck") == 0)
            rc = OSM_EXIT_INHIBITED;
        else
            rc = OSM_EXIT_ERROR;
        osm_task_free(&done);
    }
    osm_log_set_file(NULL);
    free(log_path);
    free(task_dir);
close:
    osm_task_free(&t);
    osm_store_close(st);
    free(state_dir);
out:
    osm_free_all(matrix.v, events.v, repos.v, allow.v);
    return rc;
}
