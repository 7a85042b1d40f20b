/* cli_tasks.c: see cli_tasks.h. */
#include "cli_tasks.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_report.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_cli.h"
#include "osm_log.h"
#include "osm_time.h"
#include "report_task.h"
#include "task_json.h"
#include "runner.h"


/* Double fork so the resumer is not our child and outlives us; setsid so a
 * terminal's hangup does not kill it. It is said on stderr: a command that
 * only reads must not start migrations behind the admin's back. */
static void spawn_resume(const char *state_dir, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return;
    exe[len] = '\0';
    char *log = osm_path_join(state_dir, "resume.log");
    pid_t pid = fork();
    if (pid == 0) {
        if (setsid() < 0 || fork() != 0)
            _exit(0);
        int devnull = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (devnull < 0 || out < 0)
            _exit(1);
        dup2(devnull, 0);
        dup2(out, 1);
        dup2(out, 2);
        char *const argv[] = {exe, "resume", "--state-dir", (char *)state_dir, "--interrupted", NULL};
        execv(exe, argv);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
    osm_info("task.auto_resume", "state_dir=%s log=%s", state_dir, log);
    if (pid > 0)
        fprintf(stderr, "osmig: %zu interrupted task%s of %s resumed in the background by `osmig resume "
                        "--interrupted` (its output in %s); --no-auto-resume or OSMIG_NO_AUTO_RESUME=1 leaves "
                        "them as they are\n", n, n == 1 ? "" : "s", state_dir, log);
    free(log);
}

int osm_cli_open_store(const char *state_dir, int existing, struct osm_store **out, struct osm_err *err)
{
    char *dir = osm_store_state_dir(state_dir);
    char *db = osm_path_join(dir, "state.db");
    /* A store this user may not read is not a missing one. */
    struct stat st;
    int gone = stat(db, &st) != 0 ? errno : 0;
    int rc;
    if (gone == EACCES || (gone == 0 && access(db, existing ? R_OK : R_OK | W_OK) != 0 && errno == EACCES))
        rc = osm_err_set(err, OSM_EFAIL, "permission denied: the task store %s cannot be %s by this user (uid %u); "
                         "run as its owner (often root)", db, existing ? "read" : "read and written",
                         (unsigned)geteuid());
    else if (existing && gone)
        rc = osm_err_set(err, OSM_ENOTFOUND, "no task store at %s (nothing was submitted there; check --state-dir "
                         "or OSMIG_STATE_DIR)", db);
    else
        rc = osm_store_open(dir, out, err);
    free(db);
    if (rc == 0 && !getenv("OSMIG_NO_AUTO_RESUME")) {
        size_t n = 0;
        struct osm_err rerr = OSM_ERR_INIT;
        if (osm_runner_count_resumable(*out, 1, &n, &rerr) == 0 && n > 0)
            spawn_resume(dir, n);
    }
    free(dir);
    return rc;
}

/* ---- running in the foreground ---- */

struct fg {
    int last_pct;
};

static void fg_event(void *user, const struct osm_task *t, const char *type, const char *message)
{
    (void)user;
    printf("%s %-13s %s%s%s\n", t->id, t->phase, type, message ? ": " : "", message ? message : "");
    fflush(stdout);
}

static void fg_progress(void *user, const struct osm_task *t)
{
    struct fg *fg = user;
    int pct = (int)t->progress;
    if (pct / 5 == fg->last_pct / 5)
        return;
    fg->last_pct = pct;
    printf("%s %-13s progress %d%%%s%s\n", t->id, t->phase, pct, t->progress_msg ? " " : "",
           t->progress_msg ? t->progress_msg : "");
    fflush(stdout);
}

static struct fg fg_state = {-100};
const struct osm_runner_opts osm_cli_fg_opts = {fg_event, fg_progress, &fg_state, 0};

int osm_cli_print_outcome(const struct osm_task *t)
{
    if (t->state == OSM_TASK_SUCCEEDED)
        printf("%s succeeded%s%s%s\n", t->id, t->snapshot_set ? "; snapshot set " : "",
               t->snapshot_set ? t->snapshot_set : "", t->snapshot_set ? " kept until you delete it" : "");
    else if (t->state == OSM_TASK_SCHEDULED)
        printf("%s is scheduled and waits for its start time\n", t->id);
    else
        printf("%s %s: %s\n", t->id, osm_task_state_name(t->state), t->cause ? t->cause : "no cause recorded");
    return (t->state == OSM_TASK_SUCCEEDED || t->state == OSM_TASK_SCHEDULED) ? 0 : 1;
}

int osm_cli_run_task(struct osm_store *st, const char *id, const char *command, struct osm_err *err)
{
    fg_state.last_pct = -100;
    int rc = osm_runner_run(st, id, &osm_cli_fg_opts, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        osm_cli_report_task(st, id, command); /* every run leaves its report, as migrate's does */
    struct osm_task t;
    if (osm_store_get_task(st, id, &t, err) != 0)
        return -1;
    int status;
    if (rc == 1) {
        printf("%s is being run by another osmig (%s); `osmig task show %s` follows it\n", id,
               t.owner ? t.owner : "?", id);
        status = 1;
    } else {
        status = osm_cli_print_outcome(&t);
    }
    osm_task_free(&t);
    return status;
}

static int final_status(const struct osm_task *t, int printed_status, int want)
{
    if (want < 0)
        return printed_status;
    return (int)t->state == want ? OSM_EXIT_OK : OSM_EXIT_ERROR;
}

int osm_cli_act_and_run(int argc, char **argv, const char *usage, const char *action,
                        int (*request)(struct osm_store *st, const char *id, struct osm_err *err), int want)
{
    struct osm_task_args a;
    int rc = osm_task_args_parse_remote(argc, argv, 1, usage, &a);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    if (a.json)
        return osm_cli_usage("%s shows its progress as lines; `osmig task show ID --json` gives the result", action);
    struct osm_err err = OSM_ERR_INIT;
    struct osm_task t;
    /* Both change the instance again: asked first, as migrate is. */
    char *question = osm_xasprintf("%s task %s? Its instance is %s.\nType 'yes' to go on: ",
                                   strcmp(action, "rollback") == 0 ? "Roll back (restore every disk of)" : "Run again",
                                   a.id, strcmp(action, "rollback") == 0 ? "restored from the task's snapshot set"
                                                                         : "migrated again from the first step");
    char *what = osm_xasprintf("the %s of task %s", action, a.id);
    rc = osm_cli_confirm(a.yes, question, what);
    free(question);
    free(what);
    if (rc)
        return rc;
    if (a.server) {
        if (osm_cli_remote_act_and_follow(&a, action, &t, &err) != 0)
            return osm_cli_fail(&err);
        int status = final_status(&t, osm_cli_print_outcome(&t), want);
        osm_task_free(&t);
        return status;
    }
    struct osm_store *st;
    if (osm_cli_open_store(a.state_dir, 1, &st, &err) != 0)
        return osm_cli_fail(&err);
    int status;
    if (request(st, a.id, &err) != 0) {
        status = osm_cli_fail(&err);
    } else if (osm_store_audit_add(st, a.id, strcmp(action, "rollback") == 0 ? "rolled_back" : "retried",
                                   osm_cli_actor(), NULL, &err) != 0) {
        status = osm_cli_fail(&err);
    } else if ((status = osm_cli_run_task(st, a.id, action, &err)) < 0) {
        status = osm_cli_fail(&err);
    } else if (want >= 0 && osm_store_get_task(st, a.id, &t, &err) == 0) {
        status = final_status(&t, status, want);
        osm_task_free(&t);
    }
    osm_store_close(st);
    return status;
}

/* ---- showing ---- */


void osm_cli_print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
}

void osm_cli_print_list(const char *name, const void *list, size_t n, json_t *(*item)(const void *list, size_t i))
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, item(list, i));
    json_t *o = json_pack("{s:o}", name, arr);
    osm_cli_print_json(o);
    json_decref(o);
}

void osm_task_print_table(FILE *f, const struct osm_task *tasks, size_t n)
{
    fprintf(f, "%-15s %-15s %-13s %5s  %-20s  %-10s %s\n", "ID", "STATE", "PHASE", "DONE", "UPDATED", "TARGET",
            "INSTANCE");
    for (size_t i = 0; i < n; i++) {
        const struct osm_task *t = &tasks[i];
        char buf[32];
        fprintf(f, "%-15s %-15s %-13s %4d%%  %-20s  %-10s %s\n", t->id, osm_task_state_name(t->state), t->phase,
                (int)t->progress, osm_time_iso(t->updated, buf), t->target ? t->target : "-",
                t->instance ? t->instance : "-");
    }
}

void osm_task_print_with(FILE *f, const struct osm_task *t, const struct osm_task_event *ev, size_t n,
                         int show_owner)
{
    char b1[32];
    fprintf(f, "task %s (%s)\n", t->id, t->kind);
    fprintf(f, "  instance:     %s\n", t->instance ? t->instance : "-");
    fprintf(f, "  target:       %s\n", t->target ? t->target : "-");
    fprintf(f, "  state:        %s\n", osm_task_state_name(t->state));
    fprintf(f, "  phase:        %s\n", t->phase);
    fprintf(f, "  progress:     %d%%%s%s\n", (int)t->progress, t->progress_msg ? "  " : "",
            t->progress_msg ? t->progress_msg : "");
    fprintf(f, "  snapshot set: %s\n", t->snapshot_set ? t->snapshot_set : "-");
    if (t->not_before || t->window || t->latest_start) {
        fprintf(f, "  not before:   %s\n", osm_time_iso(t->not_before, b1));
        fprintf(f, "  window:       %s\n", t->window ? t->window : "-");
        fprintf(f, "  latest start: %s\n", osm_time_iso(t->latest_start, b1));
    }
    fprintf(f, "  created:      %s\n", osm_time_iso(t->created, b1));
    fprintf(f, "  updated:      %s\n", osm_time_iso(t->updated, b1));
    if (show_owner && t->owner && !osm_task_state_finished(t->state))
        fprintf(f, "  running in:   %s\n", t->owner);
    if (t->cause)
        fprintf(f, "  cause:        %s%s%s%s\n", t->cause, t->error_code ? " [" : "", t->error_code ? t->error_code : "",
                t->error_code ? "]" : "");
    /* Every run's report (cli_report.h) and the task's log: where they are
     * on the host that ran it, and the API's route to each (the same lines
     * for a local task and one read through a server). */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ev[i].type, "report") != 0 || !ev[i].message)
            continue;
        const char *run = strrchr(ev[i].message, '/');
        fprintf(f, "  report:       %s/osmig-report.txt (.json, .html; the API: /v1/tasks/%s/report?run=%s)\n",
                ev[i].message, t->id, run ? run + 1 : ev[i].message);
    }
    char *task_dir = osm_report_task_dir(t);
    if (task_dir)
        fprintf(f, "  log:          %s/osmig.log (the API: /v1/tasks/%s/log)\n", task_dir, t->id);
    free(task_dir);
    fprintf(f, "  history:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "    %s  %-18s %s\n", osm_time_iso(ev[i].at, b1), ev[i].type, ev[i].message ? ev[i].message : "");
}

void osm_task_print(FILE *f, struct osm_store *st, const struct osm_task *t)
{
    struct osm_task_event *ev;
    size_t n;
    struct osm_err err = OSM_ERR_INIT;
    int show_owner = t->owner && !osm_store_owner_dead(t->owner);
    if (osm_store_list_events(st, t->id, &ev, &n, &err) != 0) {
        osm_task_print_with(f, t, NULL, 0, show_owner);
        fprintf(f, "    unavailable: %s\n", err.msg);
        return;
    }
    osm_task_print_with(f, t, ev, n, show_owner);
    osm_task_events_free(ev, n);
}

static int args_parse(int argc, char **argv, int want_id, int remote, const char *usage, struct osm_task_args *a)
{
    memset(a, 0, sizeof *a);
    static const char *const valued[] = {"--state-dir", "--server", "--key-id", "--key-secret"};
    const char **const slot[] = {&a->state_dir, &a->server, &a->key_id, &a->key_secret};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int f = osm_cli_arg(argc, argv, &i, usage, &a->json, &a->yes, valued, slot, remote ? 4 : 1);
        if (f == OSM_CLI_TAKEN)
            continue;
        if (f != OSM_CLI_NOT_MINE)
            return f;
        if (arg[0] == '-') {
            return osm_cli_usage("%s: unknown option '%s' (usage: %s)", argv[0], arg, usage);
        } else if (want_id && !a->id) {
            a->id = arg;
        } else {
            return osm_cli_usage("%s: unexpected argument '%s' (usage: %s)", argv[0], arg, usage);
        }
    }
    if (want_id && !a->id)
        return osm_cli_usage("%s needs a task id (usage: %s)", argv[0], usage);
    if (remote) {
        if (a->server && a->state_dir)
            return osm_cli_usage("%s: --server and --state-dir exclude each other: the server keeps its own tasks",
                                 argv[0]);
        /* An explicit local store wins over the environment's server. */
        if (!a->server && !a->state_dir)
            a->server = osm_api_server(NULL);
        if (a->server && !*a->server)
            return osm_cli_usage("%s: --server needs a URL", argv[0]);
        if (!a->server && (a->key_id || a->key_secret))
            return osm_cli_usage("%s: --key-id and --key-secret need --server URL (or OSMIG_SERVER)", argv[0]);
    }
    return 0;
}

int osm_task_args_parse(int argc, char **argv, int want_id, const char *usage, struct osm_task_args *a)
{
    return args_parse(argc, argv, want_id, 0, usage, a);
}

int osm_task_args_parse_remote(int argc, char **argv, int want_id, const char *usage, struct osm_task_args *a)
{
    return args_parse(argc, argv, want_id, 1, usage, a);
}

int osm_task_command_start(int argc, char **argv, int want_id, const char *usage,
                           int (*remote)(const struct osm_task_args *), struct osm_task_args *a,
                           struct osm_store **st, struct osm_err *err)
{
    int rc = osm_task_args_parse_remote(argc, argv, want_id, usage, a);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    if (a->server)
        return remote(a);
    return osm_cli_open_store(a->state_dir, 1, st, err) == 0 ? OSM_CLI_LOCAL : OSM_CLI_NO_STORE;
}

/* ---- through the fleet API ---- */

int osm_cli_remote_open(const char *server, const char *key_id, const char *key_secret, struct osm_api_client **out,
                        struct osm_err *err)
{
    struct osm_api_creds creds;
    if (osm_api_creds_resolve(key_id, key_secret, &creds, err) != 0)
        return -1;
    int rc = osm_api_client_open(server, &creds, out, err);
    osm_api_creds_free(&creds);
    return rc;
}


int osm_cli_remote_task(const struct osm_task_args *a, const char *action, void (*print)(const struct osm_task *, json_t *))
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_api_client *c;
    if (osm_cli_remote_open(a->server, a->key_id, a->key_secret, &c, &err) != 0)
        return osm_cli_fail(&err);
    int status = OSM_EXIT_OK;
    json_t *doc = action ? osm_cli_remote_action(c, a->id, action, &err) : osm_cli_remote_get_task(c, a->id, &err);
    struct osm_task t;
    if (!doc) {
        status = osm_cli_fail(&err);
    } else if (a->json) {
        osm_cli_print_json(doc);
    } else if (osm_task_from_json(doc, &t, &err) != 0) {
        status = osm_cli_fail(&err);
    } else {
        print(&t, doc);
        osm_task_free(&t);
    }
    json_decref(doc);
    osm_api_client_close(c);
    return status;
}

json_t *osm_cli_remote_get_task(struct osm_api_client *c, const char *id, struct osm_err *err)
{
    char *path_id = osm_api_escape(id);
    char *path = osm_xasprintf("/v1/tasks/%s", path_id);
    int status;
    json_t *doc = NULL;
    if (osm_api_request(c, "GET", path, NULL, NULL, &status, &doc, err) == 0 && !json_is_object(doc)) {
        osm_err_set(err, OSM_EINPUT, "GET %s: the answer is not a task", path);
        json_decref(doc);
        doc = NULL;
    }
    free(path);
    free(path_id);
    return doc;
}

/* Polling: fast at first (short steps finish quickly), then once a second. */
static void poll_sleep(unsigned round)
{
    long ms = round < 10 ? 100 : round < 40 ? 250 : 1000;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The phase a task is in after history event `type`, as the runner sets it. */
static void phase_after(const struct osm_task *t, const char *type, const char *msg, char phase[40])
{
    static const char *const same[] = {"submitted", "scheduled", "expired", "succeeded", "rolled_back",
                                       "rollback_failed", "cancelled"};
    if (strcmp(type, "step.start") == 0 && msg) {
        const struct osm_task_kind *k = osm_task_kind_find(t->kind);
        for (size_t i = 0; k && i < k->n_steps; i++)
            if (strcmp(k->steps[i].name, msg) == 0)
                snprintf(phase, 40, "%s", k->steps[i].phase);
    } else if (strcmp(type, "rollback.start") == 0) {
        snprintf(phase, 40, "rolling_back");
    } else if (strcmp(type, "retried") == 0) {
        snprintf(phase, 40, "submitted");
    } else {
        for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
            if (strcmp(type, same[i]) == 0)
                snprintf(phase, 40, "%s", type);
    }
}

int osm_cli_remote_follow(struct osm_api_client *c, const char *id, size_t from_event,
                          const struct osm_runner_opts *opts, json_t **final, struct osm_err *err)
{
    *final = NULL;
    size_t seen = from_event;
    double last_progress = -1;
    char phase[40] = "submitted";
    for (unsigned round = 0;; round++) {
        json_t *doc = osm_cli_remote_get_task(c, id, err);
        if (!doc)
            return -1;
        struct osm_task t;
        if (osm_task_from_json(doc, &t, err) != 0) {
            json_decref(doc);
            return -1;
        }
        json_t *h = json_object_get(doc, "history");
        size_t n_ev = json_array_size(h);
        char real_phase[sizeof t.phase];
        memcpy(real_phase, t.phase, sizeof real_phase);
        for (; seen < n_ev; seen++) {
            json_t *e = json_array_get(h, seen);
            const char *type = json_string_value(json_object_get(e, "type"));
            type = type ? type : "?";
            const char *msg = json_string_value(json_object_get(e, "message"));
            /* Several events may arrive in one poll: each is shown with the
             * phase it began, the last with the task's own. */
            if (seen + 1 < n_ev)
                phase_after(&t, type, msg, phase);
            else
                memcpy(phase, real_phase, sizeof phase);
            memcpy(t.phase, phase, sizeof t.phase);
            if (opts->on_event)
                opts->on_event(opts->user, &t, type, msg);
        }
        memcpy(t.phase, real_phase, sizeof t.phase);
        if (t.progress != last_progress && opts->on_progress && t.state == OSM_TASK_RUNNING)
            opts->on_progress(opts->user, &t);
        last_progress = t.progress;
        /* Scheduled for later: the server starts it then; following on
         * would only wait. */
        int waits = t.state == OSM_TASK_SCHEDULED && t.not_before > (int64_t)time(NULL);
        int done = osm_task_state_finished(t.state) || waits;
        osm_task_free(&t);
        if (done) {
            *final = doc;
            return 0;
        }
        json_decref(doc);
        poll_sleep(round);
    }
}

json_t *osm_cli_remote_action(struct osm_api_client *c, const char *id, const char *action, struct osm_err *err)
{
    char *path_id = osm_api_escape(id);
    char *path = osm_xasprintf("/v1/tasks/%s/%s", path_id, action);
    int status;
    json_t *resp = NULL, *task = NULL;
    if (osm_api_request(c, "POST", path, NULL, NULL, &status, &resp, err) == 0) {
        task = json_object_get(resp, "task");
        if (json_is_object(task))
            json_incref(task);
        else
            osm_err_set(err, OSM_EINPUT, "POST %s%s: the answer has no \"task\"", osm_api_client_url(c), path);
    }
    json_decref(resp);
    free(path);
    free(path_id);
    return json_is_object(task) ? task : NULL;
}

int osm_cli_remote_act_and_follow(const struct osm_task_args *a, const char *action, struct osm_task *final,
                                  struct osm_err *err)
{
    struct osm_api_client *c;
    if (osm_cli_remote_open(a->server, a->key_id, a->key_secret, &c, err) != 0)
        return -1;
    int rc = -1;
    /* Only events from the action on are news to the user. */
    json_t *before = osm_cli_remote_get_task(c, a->id, err), *task = NULL, *doc = NULL;
    if (!before)
        goto out;
    size_t from = json_array_size(json_object_get(before, "history"));
    if (!(task = osm_cli_remote_action(c, a->id, action, err)))
        goto out;
    fg_state.last_pct = -100;
    if (osm_cli_remote_follow(c, a->id, from, &osm_cli_fg_opts, &doc, err) != 0)
        goto out;
    rc = osm_task_from_json(doc, final, err);
out:
    if (rc != 0)
        osm_err_prefix(err, "%s %s", action, a->id);
    json_decref(before);
    json_decref(task);
    json_decref(doc);
    osm_api_client_close(c);
    return rc;
}

const char *osm_cli_actor(void)
{
    static char actor[160];
    if (actor[0])
        return actor;
    const struct passwd *pw = getpwuid(geteuid());
    const char *sudo = getenv("SUDO_USER");
    char uid[24];
    snprintf(uid, sizeof uid, "uid%u", (unsigned)geteuid());
    snprintf(actor, sizeof actor, "local:%s%s%s%s", pw ? pw->pw_name : uid, sudo ? "(sudo:" : "", sudo ? sudo : "",
             sudo ? ")" : "");
    return actor;
}

void osm_cli_print_audit(FILE *f, const json_t *doc)
{
    json_t *a = json_object_get(doc, "audit");
    if (json_array_size(a) == 0)
        return;
    fprintf(f, "audit:\n");
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) {
        const char *detail = json_string_value(json_object_get(e, "detail"));
        fprintf(f, "  %-20s %-16s by %s%s%s%s\n", json_string_value(json_object_get(e, "at")) ?: "-",
                json_string_value(json_object_get(e, "action")) ?: "-", json_string_value(json_object_get(e, "by")) ?: "-",
                detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
    }
}

int osm_cli_confirm(int yes, const char *question, const char *what)
{
    if (yes)
        return 0;
    if (!isatty(STDIN_FILENO))
        return osm_cli_usage("not on a terminal: pass --yes to confirm %s", what);
    fputs(question, stderr);
    char line[32];
    if (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "yes") == 0 || strcmp(line, "y") == 0)
            return 0;
    }
    fprintf(stderr, "osmig: not confirmed; nothing was changed\n");
    return OSM_EXIT_ERROR;
}
