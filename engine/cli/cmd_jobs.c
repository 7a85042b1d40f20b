/* cmd_jobs.c: `osmig jobs create FILE | list | show ID | pause ID |
 * resume ID | cancel ID | set ID`: fleet jobs as objects, in the local store
 * (the rules of job_control.h, done here as "local:USER") or, with --server
 * (or OSMIG_SERVER), through the fleet API.
 *
 * FILE lists instances, one a line: INSTANCE [TARGET] [not_before=TIME]
 * [latest_start=TIME] (TIME as 2027-01-31T02:00:00Z; '#' starts a comment);
 * a line without TARGET takes --target. It becomes the body of POST
 * /v1/jobs, so a file means the same to both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_tasks.h"
#include "job_control.h"
#include "os_migration.h"
#include "osm_buf.h"
#include "osm_cli.h"
#include "osm_fs.h"
#include "osm_time.h"
#include "provider.h"

#define USAGE                                                                                                     \
    "osmig jobs create FILE [--target T] [--name N] [--max-concurrency N|N%] [--max-errors N|N%]\n"              \
    "       osmig jobs list | show ID\n"                                                                        \
    "       osmig jobs pause ID [--reason TEXT] | resume ID [--max-concurrency N|N%]\n"                          \
    "       osmig jobs set ID [--max-concurrency N|N%] [--max-errors N|N%]\n"                                    \
    "       osmig jobs cancel ID [--running finish|rollback] [--reason TEXT] [--yes]\n"                         \
    "options: --json, --state-dir DIR | --server URL [--key-id ID --key-secret SECRET]\n"                        \
    "FILE: one instance a line: INSTANCE [TARGET] [not_before=TIME] [latest_start=TIME]"

struct jobs_args {
    struct osm_task_args t;  /* state_dir, json, yes, server and its key; t.id is the job */
    const char *sub, *file, *target, *name, *maxc, *maxe, *reason, *running;
};

static int parse(int argc, char **argv, struct jobs_args *a)
{
    memset(a, 0, sizeof *a);
    static const char *const subs[] = {"create", "list", "show", "pause", "resume", "cancel", "set"};
    const char *const names[] = {"--state-dir", "--server", "--key-id", "--key-secret", "--target", "--name",
                                 "--max-concurrency", "--max-errors", "--reason", "--running"};
    const char **const dst[] = {&a->t.state_dir, &a->t.server, &a->t.key_id, &a->t.key_secret, &a->target, &a->name,
                                &a->maxc, &a->maxe, &a->reason, &a->running};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int f = osm_cli_arg(argc, argv, &i, USAGE, &a->t.json, &a->t.yes, names, dst, sizeof names / sizeof names[0]);
        if (f == OSM_CLI_TAKEN)
            continue;
        if (f != OSM_CLI_NOT_MINE)
            return f;
        if (arg[0] == '-')
            return osm_cli_usage("jobs: unknown option '%s' (usage: %s)", arg, USAGE);
        if (!a->sub) {
            for (size_t s = 0; s < sizeof subs / sizeof subs[0]; s++)
                if (strcmp(arg, subs[s]) == 0)
                    a->sub = subs[s];
            if (!a->sub)
                return osm_cli_usage("jobs: unknown subcommand '%s' (usage: %s)", arg, USAGE);
        } else if (strcmp(a->sub, "list") != 0 && !a->t.id) {
            a->t.id = arg;
        } else {
            return osm_cli_usage("jobs %s: unexpected argument '%s' (usage: %s)", a->sub, arg, USAGE);
        }
    }
    if (!a->sub)
        return osm_cli_usage("jobs needs a subcommand (usage: %s)", USAGE);
    if (strcmp(a->sub, "list") != 0 && !a->t.id)
        return osm_cli_usage("jobs %s needs %s (usage: %s)", a->sub, strcmp(a->sub, "create") ? "a job id" : "a FILE",
                             USAGE);
    if (a->running && strcmp(a->running, "finish") != 0 && strcmp(a->running, "rollback") != 0)
        return osm_cli_usage("jobs cancel: --running is finish or rollback, not '%s'", a->running);
    if (strcmp(a->sub, "create") == 0)
        a->file = a->t.id;
    if (a->t.server && a->t.state_dir)
        return osm_cli_usage("jobs: --server and --state-dir exclude each other: the server keeps its own jobs");
    if (!a->t.server && !a->t.state_dir)
        a->t.server = osm_api_server(NULL);
    return 0;
}

/* ---- the instance file, as the body of POST /v1/jobs ---- */

/* One line's instance: a JSON member of "instances", or NULL after err. */
static json_t *instance_line(char *line, const char *file, int lineno, const char *target, struct osm_err *err)
{
    json_t *o = json_object(), *sched = json_object();
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save), n++) {
        char *eq = strchr(w, '=');
        if (n == 0) {
            json_object_set_new(o, "instance", json_string(w));
        } else if (!eq && n == 1) {
            json_object_set_new(o, "target", json_string(w));
        } else if (eq && (strncmp(w, "not_before=", 11) == 0 || strncmp(w, "latest_start=", 13) == 0)) {
            int64_t t;
            *eq = '\0';
            if (osm_time_parse(eq + 1, &t) != 0) {
                osm_err_set(err, OSM_EUSAGE, "%s:%d: %s: '%s' is not a time like 2027-01-31T02:00:00Z", file, lineno,
                            w, eq + 1);
                goto bad;
            }
            json_object_set_new(sched, w, json_string(eq + 1));
        } else {
            osm_err_set(err, OSM_EUSAGE, "%s:%d: '%s' is not a target, not_before=TIME or latest_start=TIME", file,
                        lineno, w);
            goto bad;
        }
    }
    if (!json_object_get(o, "target") && !target) {
        osm_err_set(err, OSM_EUSAGE, "%s:%d: no target for %s (give one on the line or --target)", file, lineno,
                    json_string_value(json_object_get(o, "instance")));
        goto bad;
    }
    if (json_object_size(sched))
        json_object_set(o, "schedule", sched);
    json_decref(sched);
    return o;
bad:
    json_decref(sched);
    json_decref(o);
    return NULL;
}

static json_t *job_body(const struct jobs_args *a, struct osm_err *err)
{
    struct osm_buf text;
    osm_buf_init(&text);
    if (osm_read_regular_file(a->file, OSM_CONFIG_FILE_MAX, &text, err) != 0) {
        osm_buf_free(&text);
        return NULL;
    }
    json_t *items = json_array();
    int lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(text.s ? text.s : (char *)"", "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        line[strcspn(line, "#\r")] = '\0';
        if (strspn(line, " \t") == strlen(line))
            continue;
        json_t *it = instance_line(line, a->file, lineno, a->target, err);
        if (!it) {
            json_decref(items);
            osm_buf_free(&text);
            return NULL;
        }
        json_array_append_new(items, it);
    }
    osm_buf_free(&text);
    if (json_array_size(items) == 0) {
        json_decref(items);
        osm_err_set(err, OSM_EUSAGE, "%s lists no instance", a->file);
        return NULL;
    }
    json_t *body = json_object();
    if (a->name)
        json_object_set_new(body, "name", json_string(a->name));
    if (a->target)
        json_object_set_new(body, "target", json_string(a->target));
    json_object_set_new(body, "instances", items);
    if (a->maxc)
        json_object_set_new(body, "max_concurrency", json_string(a->maxc));
    if (a->maxe)
        json_object_set_new(body, "max_errors", json_string(a->maxe));
    return body;
}

/* ---- local ---- */

static int local_create(struct osm_store *st, const char *state_dir, json_t *body, json_t **out, struct osm_err *err)
{
    json_t *items = json_object_get(body, "instances");
    size_t n = json_array_size(items);
    const char *dflt = json_string_value(json_object_get(body, "target"));
    struct osm_task *tasks = osm_xcalloc(n, sizeof *tasks);
    int64_t now = osm_store_now();
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *it = json_array_get(items, i), *sched = json_object_get(it, "schedule");
        const char *inst = json_string_value(json_object_get(it, "instance"));
        const char *target = json_string_value(json_object_get(it, "target"));
        target = target ? target : dflt;
        char *canon = NULL;
        int64_t nb = 0, ls = 0;
        const char *t;
        if ((t = json_string_value(json_object_get(sched, "not_before"))))
            osm_time_parse(t, &nb);
        if ((t = json_string_value(json_object_get(sched, "latest_start"))))
            osm_time_parse(t, &ls);
        osm_task_init(&tasks[i]);
        if (osm_instance_canonical_uri(inst, &canon, err) != 0) {
            rc = -1;
        } else if ((rc = osm_known_target(target, NULL, 0, err)) <= 0) {
            rc = rc == 0 ? osm_err_set(err, OSM_EUSAGE, "%s: '%s' is not a known target (`osmig matrix` lists them)",
                                       inst, target)
                         : -1;
        } else {
            struct osm_migration_options mo = {.target = target, .state_dir = state_dir};
            json_t *oj = osm_migration_options_json(&mo);
            osm_job_task_init(&tasks[i], canon, target, json_dumps(oj, JSON_COMPACT | JSON_PRESERVE_ORDER), nb, ls,
                              NULL, now);
            json_decref(oj);
            rc = 0;
        }
        free(canon);
    }
    struct osm_job job;
    osm_job_init(&job);
    if (rc == 0) {
        const char *maxc = json_string_value(json_object_get(body, "max_concurrency"));
        const char *maxe = json_string_value(json_object_get(body, "max_errors"));
        const char *name = json_string_value(json_object_get(body, "name"));
        job.name = name ? osm_xstrdup(name) : NULL;
        job.max_concurrency = maxc ? osm_xstrdup(maxc) : NULL;
        job.max_errors = osm_xstrdup(maxe ? maxe : "0");
        job.state = osm_xstrdup(osm_job_limit_is_zero(maxc) ? "paused" : "active");
        job.created_by = osm_xstrdup(osm_cli_actor());
        job.spec = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        rc = osm_store_create_job(st, &job, tasks, n, err) < 0 ? -1 : 0;
    }
    if (rc == 0) {
        json_t *ids = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(ids, json_string(tasks[i].id));
        *out = json_pack("{s:s, s:o}", "job_id", job.id, "task_ids", ids);
    }
    osm_job_free(&job);
    osm_task_list_free(tasks, n);
    return rc;
}

/* pause, resume, set, cancel of a job in the local store: the job as JSON. */
static int local_control(struct osm_store *st, const struct jobs_args *a, json_t **out, struct osm_err *err)
{
    struct osm_job job;
    if (osm_store_get_job(st, a->t.id, &job, err) != 0)
        return -1;
    const char *who = osm_cli_actor(), *s = a->sub;
    struct osm_job_cancel_result res = {0};
    int rc = strcmp(s, "pause") == 0    ? osm_job_pause(st, &job, who, a->reason, err)
             : strcmp(s, "resume") == 0 ? osm_job_resume(st, &job, who, a->maxc, err)
             : strcmp(s, "set") == 0    ? osm_job_set_limits(st, &job, who, a->maxc, a->maxe, err)
             : strcmp(s, "cancel") == 0 ? osm_job_cancel(st, &job, who, a->running && strcmp(a->running, "rollback") == 0,
                                                         a->reason, &res, err)
                                        : 0;
    if (rc == 1)
        rc = osm_err_set(err, OSM_ECONFLICT, "job %s changed meanwhile; try again", job.id);
    if (rc == 0 && res.failed)
        rc = osm_err_set(err, OSM_EFAIL, "job %s is cancelled, but %zu of its tasks could not be stopped; cancel them "
                                         "one by one", job.id, res.failed);
    if (rc == 0 && (*out = osm_job_to_json(st, &job, err)) == NULL)
        rc = -1;
    if (rc == 0 && strcmp(s, "cancel") == 0) {
        json_object_set_new(*out, "tasks_cancelled", json_integer((json_int_t)res.cancelled));
        json_object_set_new(*out, "tasks_rolled_back", json_integer((json_int_t)res.rolled_back));
    }
    osm_job_free(&job);
    return rc;
}

static int local_list(struct osm_store *st, json_t **out, struct osm_err *err)
{
    json_t *arr = json_array();
    int64_t after = 0;
    do {
        struct osm_job *jobs;
        size_t n;
        int64_t next;
        if (osm_store_list_jobs(st, after, 500, &jobs, &n, &next, err) != 0) {
            json_decref(arr);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *j = osm_job_to_json(st, &jobs[i], err);
            if (!j) {
                osm_job_list_free(jobs, n);
                json_decref(arr);
                return -1;
            }
            json_array_append_new(arr, j);
        }
        osm_job_list_free(jobs, n);
        after = next;
    } while (after > 0);
    *out = json_pack("{s:o}", "jobs", arr);
    return 0;
}

static int local(const struct jobs_args *a, json_t *body, json_t **out, struct osm_err *err)
{
    struct osm_store *st;
    int create = strcmp(a->sub, "create") == 0;
    char *state_dir = osm_store_state_dir(a->t.state_dir);
    if (create && osm_mkdir_p(state_dir, 0700, err) != 0) {
        free(state_dir);
        return -1;
    }
    if (osm_cli_open_store(a->t.state_dir, !create, &st, err) != 0) {
        free(state_dir);
        return -1;
    }
    int rc;
    if (create) {
        rc = local_create(st, state_dir, body, out, err);
    } else if (strcmp(a->sub, "list") == 0) {
        rc = local_list(st, out, err);
    } else if (strcmp(a->sub, "show") == 0) {
        struct osm_job job;
        rc = osm_store_get_job(st, a->t.id, &job, err);
        if (rc == 0) {
            *out = osm_job_to_json(st, &job, err);
            rc = *out ? 0 : -1;
            osm_job_free(&job);
        }
    } else {
        rc = local_control(st, a, out, err);
    }
    osm_store_close(st);
    free(state_dir);
    return rc;
}

/* ---- through the API ---- */

static int remote(const struct jobs_args *a, json_t *body, json_t **out, struct osm_err *err)
{
    struct osm_api_client *c;
    if (osm_cli_remote_open(a->t.server, a->t.key_id, a->t.key_secret, &c, err) != 0)
        return -1;
    const char *s = a->sub, *method = "POST";
    char *esc = a->t.id ? osm_api_escape(a->t.id) : NULL, *path;
    json_t *req = NULL;
    if (strcmp(s, "create") == 0) {
        path = osm_xstrdup("/v1/jobs");
        req = json_incref(body);
    } else if (strcmp(s, "list") == 0 || strcmp(s, "show") == 0) {
        method = "GET";
        path = strcmp(s, "list") == 0 ? osm_xstrdup("/v1/jobs?limit=1000") : osm_xasprintf("/v1/jobs/%s", esc);
    } else {
        req = json_object();
        if (a->reason)
            json_object_set_new(req, "reason", json_string(a->reason));
        if (a->maxc)
            json_object_set_new(req, "max_concurrency", json_string(a->maxc));
        if (a->maxe)
            json_object_set_new(req, "max_errors", json_string(a->maxe));
        if (a->running)
            json_object_set_new(req, "running", json_string(a->running));
        method = strcmp(s, "set") == 0 ? "PATCH" : "POST";
        path = strcmp(s, "set") == 0 ? osm_xasprintf("/v1/jobs/%s", esc) : osm_xasprintf("/v1/jobs/%s/%s", esc, s);
    }
    char *q = strchr(path, '?');
    if (q)
        *q++ = '\0';
    int status, rc = osm_api_request(c, method, path, q, req, &status, out, err);
    json_decref(req);
    free(path);
    free(esc);
    osm_api_client_close(c);
    return rc;
}

/* ---- printing ---- */

static void print_job(const json_t *j)
{
    const char *fields[] = {"job_id", "name", "state", "max_concurrency", "max_errors", "stop_reason", "created",
                            "created_by"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *v = json_string_value(json_object_get(j, fields[i]));
        printf("%-16s %s\n", fields[i], v ? v : "-");
    }
    printf("%-16s", "tasks");
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(j, "counts"), key, v)
        if (json_integer_value(v))
            printf(" %s %lld", key, (long long)json_integer_value(v));
    printf(" (of %lld)\n", (long long)json_integer_value(json_object_get(j, "n_tasks")));
    if (json_object_get(j, "tasks_cancelled"))
        printf("%-16s %lld cancelled, %lld rolling back\n", "this request",
               (long long)json_integer_value(json_object_get(j, "tasks_cancelled")),
               (long long)json_integer_value(json_object_get(j, "tasks_rolled_back")));
    osm_cli_print_audit(stdout, j);
}

static void print_result(const struct jobs_args *a, json_t *out)
{
    if (a->t.json) {
        osm_cli_print_json(out);
    } else if (strcmp(a->sub, "create") == 0) {
        printf("job %s: %zu tasks\n", json_string_value(json_object_get(out, "job_id")),
               json_array_size(json_object_get(out, "task_ids")));
    } else if (strcmp(a->sub, "list") == 0) {
        json_t *jobs = json_object_get(out, "jobs"), *j;
        size_t i;
        if (!json_array_size(jobs))
            printf("no jobs\n");
        else
            printf("%-24s %-10s %6s %8s  %s\n", "ID", "STATE", "TASKS", "PROGRESS", "NAME");
        json_array_foreach(jobs, i, j) {
            const char *name = json_string_value(json_object_get(j, "name"));
            printf("%-24s %-10s %6lld %7.0f%%  %s\n", json_string_value(json_object_get(j, "job_id")),
                   json_string_value(json_object_get(j, "state")) ?: "active",
                   (long long)json_integer_value(json_object_get(j, "n_tasks")),
                   json_number_value(json_object_get(j, "progress")), name ? name : "-");
        }
    } else {
        print_job(out);
    }
}

int cmd_jobs(int argc, char **argv)
{
    struct jobs_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    struct osm_err err = OSM_ERR_INIT;
    if (strcmp(a.sub, "cancel") == 0 && a.running && strcmp(a.running, "rollback") == 0) {
        char *q = osm_xasprintf("Cancel job %s and roll back its running tasks (their instances are restored from "
                                "their snapshot sets)?\nType 'yes' to go on: ", a.t.id);
        char *what = osm_xasprintf("the cancel of job %s with its running tasks rolled back", a.t.id);
        rc = osm_cli_confirm(a.t.yes, q, what);
        free(q);
        free(what);
        if (rc)
            return rc;
    }
    json_t *body = NULL, *out = NULL;
    if (strcmp(a.sub, "create") == 0 && !(body = job_body(&a, &err)))
        return osm_cli_fail(&err);
    rc = a.t.server ? remote(&a, body, &out, &err) : local(&a, body, &out, &err);
    json_decref(body);
    if (rc != 0) {
        json_decref(out);
        return osm_cli_fail(&err);
    }
    print_result(&a, out);
    json_decref(out);
    return OSM_EXIT_OK;
}
