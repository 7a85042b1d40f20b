/* cli_tasks.c: see cli_tasks.h. */
#include "cli_tasks.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_cli.h"
#include "osm_log.h"
#include "runner.h"

const char *osm_cli_time(int64_t t, char buf[32])
{
    if (t <= 0)
        return strcpy(buf, "-");
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* Double fork so the resumer is not our child and outlives us; setsid so a
 * terminal's hangup does not kill it. */
static void spawn_resume(const char *state_dir)
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
    free(log);
}

int osm_cli_open_store(const char *state_dir, int existing, struct osm_store **out, struct osm_err *err)
{
    char *dir = osm_store_state_dir(state_dir);
    char *db = osm_path_join(dir, "state.db");
    int missing = existing && !osm_is_file(db);
    int rc = missing ? osm_err_set(err, OSM_ENOTFOUND, "no task store at %s (nothing was submitted there; check --state-dir "
                                   "or OSMIG_STATE_DIR)", db)
                     : osm_store_open(dir, out, err);
    free(db);
    if (rc == 0 && !getenv("OSMIG_NO_AUTO_RESUME")) {
        size_t n = 0;
        struct osm_err rerr = OSM_ERR_INIT;
        if (osm_runner_count_resumable(*out, 1, &n, &rerr) == 0 && n > 0)
            spawn_resume(dir);
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

int osm_cli_run_task(struct osm_store *st, const char *id, struct osm_err *err)
{
    struct fg fg = {-100};
    struct osm_runner_opts opts = {fg_event, fg_progress, &fg};
    int rc = osm_runner_run(st, id, &opts, err);
    if (rc < 0)
        return -1;
    struct osm_task t;
    if (osm_store_get_task(st, id, &t, err) != 0)
        return -1;
    if (rc == 1)
        printf("%s is being run by another osmig (%s); `osmig task show %s` follows it\n", id,
               t.owner ? t.owner : "?", id);
    else if (t.state == OSM_TASK_SUCCEEDED)
        printf("%s succeeded%s%s%s\n", id, t.snapshot_set ? "; snapshot set " : "",
               t.snapshot_set ? t.snapshot_set : "", t.snapshot_set ? " kept until you delete it" : "");
    else if (t.state == OSM_TASK_SCHEDULED)
        printf("%s is scheduled and waits for its start time\n", id);
    else
        printf("%s %s: %s\n", id, osm_task_state_name(t.state), t.cause ? t.cause : "no cause recorded");
    int status = (rc == 0 && (t.state == OSM_TASK_SUCCEEDED || t.state == OSM_TASK_SCHEDULED)) ? 0 : 1;
    osm_task_free(&t);
    return status;
}

/* ---- showing ---- */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t t)
{
    char buf[32];
    return t > 0 ? json_string(osm_cli_time(t, buf)) : json_null();
}

json_t *osm_task_to_json(const struct osm_task *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(t->id));
    json_object_set_new(o, "kind", json_string(t->kind));
    json_object_set_new(o, "instance", str_or_null(t->instance));
    json_object_set_new(o, "target", str_or_null(t->target));
    json_object_set_new(o, "state", json_string(osm_task_state_name(t->state)));
    json_object_set_new(o, "phase", json_string(t->phase));
    json_object_set_new(o, "finished", json_boolean(osm_task_state_finished(t->state)));
    json_object_set_new(o, "progress", json_real(t->progress));
    json_object_set_new(o, "progress_message", str_or_null(t->progress_msg));
    json_t *sched = json_object();
    json_object_set_new(sched, "not_before", time_or_null(t->not_before));
    json_object_set_new(sched, "window", str_or_null(t->window));
    json_object_set_new(sched, "latest_start", time_or_null(t->latest_start));
    json_object_set_new(o, "schedule", sched);
    json_object_set_new(o, "snapshot_set", str_or_null(t->snapshot_set));
    json_object_set_new(o, "changed_instance", json_boolean(t->changed));
    if (t->error_code || t->cause) {
        json_t *e = json_object();
        json_object_set_new(e, "code", str_or_null(t->error_code));
        json_object_set_new(e, "cause", str_or_null(t->cause));
        json_object_set_new(o, "error", e);
    } else {
        json_object_set_new(o, "error", json_null());
    }
    json_object_set_new(o, "created", time_or_null(t->created));
    json_object_set_new(o, "updated", time_or_null(t->updated));
    json_t *opts = t->options ? json_loads(t->options, 0, NULL) : NULL;
    json_object_set_new(o, "options", opts ? opts : json_object());
    json_object_set_new(o, "owner", str_or_null(t->owner));
    return o;
}

json_t *osm_task_to_json_full(struct osm_store *st, const struct osm_task *t, struct osm_err *err)
{
    struct osm_task_event *ev;
    struct osm_journal_entry *jl;
    size_t nev, nj;
    if (osm_store_list_events(st, t->id, &ev, &nev, err) != 0)
        return NULL;
    if (osm_store_list_journal(st, t->id, &jl, &nj, err) != 0) {
        osm_task_events_free(ev, nev);
        return NULL;
    }
    json_t *o = osm_task_to_json(t);
    json_t *h = json_array();
    for (size_t i = 0; i < nev; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "at", time_or_null(ev[i].at));
        json_object_set_new(e, "type", json_string(ev[i].type));
        json_object_set_new(e, "message", str_or_null(ev[i].message));
        json_array_append_new(h, e);
    }
    json_object_set_new(o, "history", h);
    json_t *j = json_array();
    for (size_t i = 0; i < nj; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "at", time_or_null(jl[i].at));
        json_object_set_new(e, "step", json_string(jl[i].step));
        json_object_set_new(e, "what", json_string(jl[i].what));
        json_object_set_new(e, "result", str_or_null(jl[i].result));
        json_object_set_new(e, "detail", str_or_null(jl[i].detail));
        json_array_append_new(j, e);
    }
    json_object_set_new(o, "journal", j);
    osm_task_events_free(ev, nev);
    osm_journal_free(jl, nj);
    return o;
}

void osm_cli_print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
}

void osm_task_print_table(FILE *f, const struct osm_task *tasks, size_t n)
{
    fprintf(f, "%-15s %-15s %-13s %5s  %-20s  %-10s %s\n", "ID", "STATE", "PHASE", "DONE", "UPDATED", "TARGET",
            "INSTANCE");
    for (size_t i = 0; i < n; i++) {
        const struct osm_task *t = &tasks[i];
        char buf[32];
        fprintf(f, "%-15s %-15s %-13s %4d%%  %-20s  %-10s %s\n", t->id, osm_task_state_name(t->state), t->phase,
                (int)t->progress, osm_cli_time(t->updated, buf), t->target ? t->target : "-",
                t->instance ? t->instance : "-");
    }
}

void osm_task_print(FILE *f, struct osm_store *st, const struct osm_task *t)
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
        fprintf(f, "  not before:   %s\n", osm_cli_time(t->not_before, b1));
        fprintf(f, "  window:       %s\n", t->window ? t->window : "-");
        fprintf(f, "  latest start: %s\n", osm_cli_time(t->latest_start, b1));
    }
    fprintf(f, "  created:      %s\n", osm_cli_time(t->created, b1));
    fprintf(f, "  updated:      %s\n", osm_cli_time(t->updated, b1));
    if (t->owner && !osm_task_state_finished(t->state) && !osm_store_owner_dead(t->owner))
        fprintf(f, "  running in:   %s\n", t->owner);
    if (t->cause)
        fprintf(f, "  cause:        %s%s%s%s\n", t->cause, t->error_code ? " [" : "", t->error_code ? t->error_code : "",
                t->error_code ? "]" : "");
    struct osm_task_event *ev;
    size_t n;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_list_events(st, t->id, &ev, &n, &err) != 0) {
        fprintf(f, "  history:      unavailable: %s\n", err.msg);
        return;
    }
    fprintf(f, "  history:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "    %s  %-18s %s\n", osm_cli_time(ev[i].at, b1), ev[i].type, ev[i].message ? ev[i].message : "");
    osm_task_events_free(ev, n);
}

int osm_task_args_parse(int argc, char **argv, int want_id, const char *usage, struct osm_task_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            printf("usage: %s\n", usage);
            return 1;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = 1;
        } else if (strcmp(arg, "--state-dir") == 0) {
            if (++i >= argc)
                return osm_cli_usage("--state-dir needs a directory (usage: %s)", usage);
            a->state_dir = argv[i];
        } else if (strncmp(arg, "--state-dir=", 12) == 0) {
            a->state_dir = arg + 12;
        } else if (arg[0] == '-') {
            return osm_cli_usage("%s: unknown option '%s' (usage: %s)", argv[0], arg, usage);
        } else if (want_id && !a->id) {
            a->id = arg;
        } else {
            return osm_cli_usage("%s: unexpected argument '%s' (usage: %s)", argv[0], arg, usage);
        }
    }
    if (want_id && !a->id)
        return osm_cli_usage("%s needs a task id (usage: %s)", argv[0], usage);
    return 0;
}
