/* api_routes_jobs.c: POST /v1/jobs, GET /v1/jobs[/{id}], POST /v1/assessments,
 * and what requests about instances share: options, schedules, windows.
 *
 * A job is checked whole before anything is written: every member's type,
 * every instance (in scope, openable by its provider, not twice), every
 * target (known to the matrix), every schedule; then the store creates the
 * job and its tasks in one transaction, which also refuses a busy instance. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_priv.h"
#include "job_control.h"
#include "scheduler.h"
#include "task_json.h"
#include "families.h"
#include "os_migration.h"
#include "osm_buf.h"
#include "osm_time.h"
#include "osm_fs.h"
#include "osm_run.h"
#include "provider.h"
#include "schedule.h"

/* ---- options ---- */

static int check_paths(struct api_req *rq, const char *field, const char **v, size_t n, int must_exist)
{
    for (size_t i = 0; i < n; i++) {
        char *f = apij_index(field, i);
        int rc = 0;
        if (v[i][0] != '/')
            rc = api_fail(rq, 400, "InvalidParameter.Options", f, "%s: '%s' is not an absolute path on the server", f,
                          v[i]);
        else if (must_exist) {
            struct stat st;
            if (stat(v[i], &st) != 0)
                rc = api_fail(rq, 400, "InvalidParameter.Options", f, "%s: no such file on the server: %s", f, v[i]);
            else if (!S_ISREG(st.st_mode))
                rc = api_fail(rq, 400, "InvalidParameter.Options", f, "%s: %s is not a regular file", f, v[i]);
        }
        free(f);
        if (rc)
            return -1;
    }
    return 0;
}

int api_options(struct api_req *rq, json_t *obj, const char *base, json_t **out)
{
    static const char *const allowed[] = {"repos", "matrix", "events", "no_signature_check", "snapshot_store",
                                          "cache_dir", "allow_erase", NULL};
    *out = NULL;
    char *field = apij_path(base, "options");
    json_t *o = json_object_get(obj, "options");
    int rc = -1;
    const char **repos = NULL, **matrix = NULL, **events = NULL, **allow = NULL;
    size_t n_repos = 0, n_matrix = 0, n_events = 0, n_allow = 0;
    if (!o || json_is_null(o)) {
        *out = json_object();
        free(field);
        return 0;
    }
    if (!json_is_object(o)) {
        api_fail(rq, 400, "InvalidParameter.Options", field, "%s must be an object", field);
        goto out;
    }
    if (apij_only(rq, o, field, allowed) != 0)
        goto out;
    /* What reaches the server's files or weakens checks is the server's
     * configuration or an admin's: refused to others before any of it is
     * looked at (so no answer tells whether a server file exists). */
    if (rq->authed && rq->who.role != OSM_ROLE_ADMIN) {
        static const char *const admin_only[] = {"repos", "matrix", "events", "no_signature_check", "snapshot_store",
                                                 "cache_dir", NULL};
        for (int k = 0; admin_only[k]; k++) {
            json_t *v = json_object_get(o, admin_only[k]);
            if (!v || json_is_null(v) || json_is_false(v) || (json_is_array(v) && json_array_size(v) == 0))
                continue;
            char *f = apij_path(field, admin_only[k]);
            api_fail(rq, 403, "Forbidden.Option", f,
                     "%s: only an admin key may set it (it reaches the server's files or weakens a check); key %s "
                     "is a %s key",
                     f, rq->who.key_id, osm_role_name(rq->who.role));
            free(f);
            goto out;
        }
    }
    if (apij_string_array(rq, o, field, "repos", 100, &repos, &n_repos) ||
        apij_string_array(rq, o, field, "matrix", 20, &matrix, &n_matrix) ||
        apij_string_array(rq, o, field, "events", 20, &events, &n_events) ||
        apij_string_array(rq, o, field, "allow_erase", 100, &allow, &n_allow))
        goto out;
    for (size_t i = 0; i < n_repos; i++) {
        const char *eq = strchr(repos[i], '=');
        if (!eq || eq == repos[i] || !eq[1]) {
            char *f = osm_xasprintf("%s.repos[%zu]", field, i);
            api_fail(rq, 400, "InvalidParameter.Options", f, "%s: '%s' is not ID=URL", f, repos[i]);
            free(f);
            goto out;
        }
        char *id = osm_xasprintf("%.*s", (int)(eq - repos[i]), repos[i]);
        if (!osm_name_is_plain(id, 64)) {
            char *f = osm_xasprintf("%s.repos[%zu]", field, i);
            api_fail(rq, 400, "InvalidParameter.Options", f,
                     "%s: repository id '%s' is not a plain name (1 to 64 of A-Z a-z 0-9 . _ + : -, not starting "
                     "with '.' or '-')",
                     f, id);
            free(f);
            free(id);
            goto out;
        }
        free(id);
    }
    char *fm = apij_path(field, "matrix"), *fe = apij_path(field, "events");
    int bad = check_paths(rq, fm, matrix, n_matrix, 1) || check_paths(rq, fe, events, n_events, 1);
    free(fm);
    free(fe);
    if (bad)
        goto out;
    int nosig;
    const char *snaps, *cache;
    if (apij_bool(rq, o, field, "no_signature_check", &nosig) || apij_string(rq, o, field, "snapshot_store", 0, 4096, &snaps) ||
        apij_string(rq, o, field, "cache_dir", 0, 4096, &cache))
        goto out;
    const char *dirs[] = {snaps, cache};
    const char *names[] = {"snapshot_store", "cache_dir"};
    for (int i = 0; i < 2; i++)
        if (dirs[i] && dirs[i][0] != '/') {
            char *f = apij_path(field, names[i]);
            api_fail(rq, 400, "InvalidParameter.Options", f, "%s: '%s' is not an absolute path on the server", f,
                     dirs[i]);
            free(f);
            goto out;
        }
    *out = json_deep_copy(o);
    rc = 0;
out:
    free(repos);
    free(matrix);
    free(events);
    free(allow);
    free(field);
    return rc;
}

/* The task's options object, as `osmig migrate` writes it. */
static char *task_options(const struct osm_api_server *srv, json_t *opts, const char *target)
{
    struct osm_migration_options mo = {.target = target, .state_dir = srv->cfg.state_dir};
    const char **lists[4] = {NULL, NULL, NULL, NULL};
    size_t ns[4] = {0, 0, 0, 0};
    const char *keys[4] = {"matrix", "events", "repos", "allow_erase"};
    for (int k = 0; k < 4; k++) {
        json_t *a = json_object_get(opts, keys[k]);
        ns[k] = json_array_size(a);
        lists[k] = osm_xcalloc(ns[k] + 1, sizeof *lists[k]);
        for (size_t i = 0; i < ns[k]; i++)
            lists[k][i] = json_string_value(json_array_get(a, i));
    }
    mo.matrix_files = lists[0], mo.n_matrix_files = ns[0];
    mo.event_files = lists[1], mo.n_event_files = ns[1];
    mo.repo_overrides = lists[2], mo.n_repo_overrides = ns[2];
    mo.allow_erase = lists[3], mo.n_allow_erase = ns[3];
    mo.no_signature_check = json_is_true(json_object_get(opts, "no_signature_check"));
    mo.snapshot_store = json_string_value(json_object_get(opts, "snapshot_store"));
    mo.cache_dir = json_string_value(json_object_get(opts, "cache_dir"));
    json_t *j = osm_migration_options_json(&mo);
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    for (int k = 0; k < 4; k++)
        free(lists[k]);
    return text;
}

/* ---- schedules ---- */

int api_window_parse(struct api_req *rq, json_t *w, const char *field, char **text)
{
    *text = NULL;
    if (!json_is_object(w))
        return api_fail(rq, 400, "InvalidParameter.Window", field, "%s must be an object (engine/sched/schedule.h)", field);
    char *t = json_dumps(w, JSON_COMPACT | JSON_PRESERVE_ORDER);
    struct osm_window *win = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_window_parse(t, &win, &err) != 0) {
        /* The parser names the member as "window.start: ..."; put it under
         * this window's own path. */
        char *member = apij_member_of_message(err.msg);
        const char *dot = strrchr(field, '.');
        char *full;
        const char *rest = err.msg;
        if (member && strncmp(member, "window", 6) == 0) {
            full = dot ? osm_xasprintf("%.*s.%s", (int)(dot - field), field, member) : osm_xstrdup(member);
            rest = err.msg + strlen(member) + 1;
            while (*rest == ' ')
                rest++;
        } else {
            full = osm_xstrdup(field);
        }
        api_fail(rq, 400, "InvalidParameter.Window", full, "%s: %s", full, rest);
        free(full);
        free(member);
        free(t);
        return -1;
    }
    osm_window_free(win);
    *text = t;
    return 0;
}

int api_schedule_parse(struct api_req *rq, json_t *sched, const char *field, struct api_schedule *out)
{
    static const char *const allowed[] = {"not_before", "window", "latest_start", NULL};
    memset(out, 0, sizeof *out);
    if (!sched || json_is_null(sched))
        return 0;
    if (!json_is_object(sched))
        return api_fail(rq, 400, "InvalidParameter", field, "%s must be an object", field);
    int has_nb, has_ls;
    if (apij_only(rq, sched, field, allowed) || apij_time(rq, sched, field, "not_before", &out->not_before, &has_nb) ||
        apij_time(rq, sched, field, "latest_start", &out->latest_start, &has_ls))
        return -1;
    json_t *w = json_object_get(sched, "window");
    if (w && !json_is_null(w)) {
        char *wf = apij_path(field, "window");
        int rc = api_window_parse(rq, w, wf, &out->window);
        free(wf);
        if (rc)
            return -1;
    }
    if (has_ls && out->latest_start <= rq->now) {
        char *f = apij_path(field, "latest_start");
        api_fail(rq, 400, "InvalidParameter.LatestStart", f, "%s is in the past", f);
        free(f);
        api_schedule_free(out);
        return -1;
    }
    if (has_ls && has_nb && out->latest_start < out->not_before) {
        char *f = apij_path(field, "latest_start");
        api_fail(rq, 400, "InvalidParameter.LatestStart", f, "%s is before %s.not_before", f, field);
        free(f);
        api_schedule_free(out);
        return -1;
    }
    return 0;
}

void api_schedule_free(struct api_schedule *s)
{
    free(s->window);
    s->window = NULL;
}

/* ---- the job view ---- */

json_t *api_job_json(struct api_req *rq, const struct osm_job *j)
{
    struct osm_store *st = api_store(rq);
    if (!st)
        return NULL;
    struct osm_err err = OSM_ERR_INIT;
    json_t *o = osm_job_to_json(st, j, &err);
    if (!o)
        api_fail_err(rq, &err, "NotFound.Job", NULL);
    return o;
}

/* ---- POST /v1/jobs ---- */

struct job_item {
    const char *instance;       /* as given */
    char *canon;                /* its canonical URI (osm_instance_canonical_uri) */
    const char *target;
    struct api_schedule sched;
    char *field;                /* "instances[N]" */
};

static void items_free(struct job_item *it, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        api_schedule_free(&it[i].sched);
        free(it[i].field);
        free(it[i].canon);
    }
    free(it);
}

/* Open the instance as named, check that the key's scope covers every path
 * it is made of (its canonical root and each disk), and give its canonical
 * URI: what the task records and the one-task lock compares. An instance
 * that does not open is judged by its name first, so that a scoped key
 * learns nothing of paths outside its scope. */
static int check_instance(struct api_req *rq, enum osm_api_action act, const char *uri, const char *field,
                          char **canon, int may_be_absent)
{
    *canon = NULL;
    struct osm_api_error e = {0};
    struct osm_instance *inst = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_instance_open(uri, &inst, &err) != 0) {
        if (rq->authed && osm_api_authorize_named(&rq->who, act, uri, &e) != 0)
            return api_fail(rq, e.status ? e.status : 403, e.code[0] ? e.code : "Forbidden.Instance", field,
                            "%s: %s", field, e.message);
        if (may_be_absent)
            return 0; /* in scope by its name: its own result says what is wrong */
        return api_fail(rq, 400, "InvalidParameter.Instance", field, "%s: %s", field, err.msg);
    }
    if (rq->authed && osm_api_authorize_instance(&rq->who, act, inst, uri, &e) != 0) {
        osm_instance_close(inst);
        return api_fail(rq, e.status ? e.status : 403, e.code[0] ? e.code : "Forbidden.Instance", field, "%s: %s",
                        field, e.message);
    }
    *canon = osm_xstrdup(inst->uri);
    osm_instance_close(inst);
    return 0;
}

int api_check_instance(struct api_req *rq, enum osm_api_action act, const char *uri, const char *field,
                       char **canon)
{
    return check_instance(rq, act, uri, field, canon, 0);
}

/* Parse instances[] (+ the job's target and schedule as defaults). */
static int parse_instances(struct api_req *rq, json_t *body, const char *job_target, const struct api_schedule *job_sched,
                           int has_job_sched, struct job_item **out, size_t *n_out)
{
    static const char *const allowed[] = {"instance", "target", "schedule", NULL};
    *out = NULL;
    *n_out = 0;
    json_t *arr = json_object_get(body, "instances");
    if (!arr || json_is_null(arr))
        return api_fail(rq, 400, "MissingParameter", "instances", "instances is required");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return api_fail(rq, 400, "InvalidParameter", "instances", "instances must be a non-empty array");
    if (json_array_size(arr) > OSM_API_MAX_INSTANCES)
        return api_fail(rq, 400, "InvalidParameter", "instances", "instances has more than %d entries",
                        OSM_API_MAX_INSTANCES);
    size_t n = json_array_size(arr);
    struct job_item *it = osm_xcalloc(n, sizeof *it);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        it[i].field = apij_index("instances", i);
        const char *f = it[i].field;
        int own_sched = 0;
        if (json_is_string(e)) {
            it[i].instance = json_string_value(e);
            if (!*it[i].instance) {
                api_fail(rq, 400, "InvalidParameter.Instance", f, "%s must not be empty", f);
                goto fail;
            }
        } else if (json_is_object(e)) {
            if (apij_only(rq, e, f, allowed) || apij_string(rq, e, f, "instance", 1, 4096, &it[i].instance) ||
                apij_string(rq, e, f, "target", 0, 64, &it[i].target))
                goto fail;
            json_t *s = json_object_get(e, "schedule");
            if (s && !json_is_null(s)) {
                char *sf = apij_path(f, "schedule");
                int rc = api_schedule_parse(rq, s, sf, &it[i].sched);
                free(sf);
                if (rc)
                    goto fail;
                own_sched = 1;
            }
        } else {
            api_fail(rq, 400, "InvalidParameter.Instance", f, "%s must be an instance URI or an object", f);
            goto fail;
        }
        if (!it[i].target)
            it[i].target = job_target;
        if (!it[i].target) {
            char *tf = apij_path(f, "target");
            api_fail(rq, 400, "MissingParameter", tf, "%s: no target (give the job's target or the instance's)", tf);
            free(tf);
            goto fail;
        }
        if (!own_sched && has_job_sched) {
            it[i].sched = *job_sched;
            it[i].sched.window = job_sched->window ? osm_xstrdup(job_sched->window) : NULL;
        }
        if (api_check_instance(rq, OSM_ACT_SUBMIT, it[i].instance, f, &it[i].canon) != 0)
            goto fail;
        for (size_t k = 0; k < i; k++)
            if (strcmp(it[k].canon, it[i].canon) == 0) {
                api_fail(rq, 400, "InvalidParameter.Instance", f, "%s: %s is %s, already %s", f, it[i].instance,
                         it[i].canon, it[k].field);
                goto fail;
            }
    }
    *out = it;
    *n_out = n;
    return 0;
fail:
    items_free(it, n);
    return -1;
}

/* Every target must be known (defaults + options.matrix). */
static int check_targets(struct api_req *rq, json_t *opts, const char *job_target, const struct job_item *it, size_t n)
{
    json_t *mf = json_object_get(opts, "matrix");
    size_t nf = json_array_size(mf);
    const char **files = osm_xcalloc(nf + 1, sizeof *files);
    for (size_t i = 0; i < nf; i++)
        files[i] = json_string_value(json_array_get(mf, i));
    struct osm_err err = OSM_ERR_INIT;
    int rc = 0, k = job_target ? osm_known_target(job_target, files, nf, &err) : 1;
    if (k < 0)
        rc = api_fail(rq, 400, "InvalidParameter.Options", "options.matrix", "options.matrix: %s", err.msg);
    else if (k == 0)
        rc = api_fail(rq, 400, "InvalidParameter.Target", "target", "target: '%s' is not a known target (GET /v1/matrix)",
                      job_target);
    for (size_t i = 0; i < n && rc == 0; i++) {
        k = osm_known_target(it[i].target, files, nf, &err);
        if (k < 0) {
            rc = api_fail(rq, 400, "InvalidParameter.Options", "options.matrix", "options.matrix: %s", err.msg);
        } else if (k == 0) {
            char *f = apij_path(it[i].field, "target");
            rc = api_fail(rq, 400, "InvalidParameter.Target", f, "%s: '%s' is not a known target for %s (GET /v1/matrix)",
                          f, it[i].target, it[i].instance);
            free(f);
        }
    }
    free(files);
    return rc;
}

static int valid_token(const char *s)
{
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == strlen(s);
}

/* After a conflict: which instance is busy, and with which task. */
static void answer_busy(struct api_req *rq, const struct osm_err *err, const struct job_item *it, size_t n)
{
    struct osm_store *st = api_store(rq);
    static const int holding[] = {OSM_TASK_SUBMITTED, OSM_TASK_SCHEDULED, OSM_TASK_RUNNING, OSM_TASK_ROLLING_BACK,
                                  OSM_TASK_ROLLBACK_FAILED};
    for (size_t i = 0; st && i < n; i++) {
        struct osm_task_filter f = {.states = holding, .n_states = sizeof holding / sizeof holding[0],
                                    .instance = it[i].canon, .limit = 1};
        struct osm_task *t = NULL;
        size_t nt = 0;
        int64_t next = 0;
        struct osm_err qerr = OSM_ERR_INIT;
        if (osm_store_query_tasks(st, &f, &t, &nt, &next, &qerr) == 0 && nt > 0) {
            api_fail(rq, 409, "Conflict.InstanceBusy", it[i].field,
                     "%s: instance %s is held by task %s (%s); nothing was created", it[i].field, it[i].canon,
                     t[0].id, osm_task_state_name(t[0].state));
            osm_task_list_free(t, nt);
            return;
        }
        osm_task_list_free(t, nt);
    }
    api_fail(rq, 409, "Conflict.InstanceBusy", NULL, "%s; nothing was created", err->msg);
}

static json_t *ids_of_job(struct api_req *rq, const char *job_id)
{
    struct osm_task_filter f = {.job_id = job_id};
    struct osm_task *t = NULL;
    size_t n = 0;
    int64_t next = 0;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_query_tasks(api_store(rq), &f, &t, &n, &next, &err) != 0) {
        api_fail_err(rq, &err, "NotFound.Job", NULL);
        return NULL;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(t[i].id));
    osm_task_list_free(t, n);
    return a;
}

void api_jobs_create(struct api_req *rq)
{
    static const char *const allowed[] = {"client_token", "name", "target", "instances", "schedule",
                                          "max_concurrency", "max_errors", "options", NULL};
    json_t *body = apij_body(rq, 0);
    if (!body)
        return;
    const char *token, *name, *target, *maxc, *maxe;
    json_t *opts = NULL;
    struct api_schedule js = {0};
    struct job_item *it = NULL;
    size_t n = 0;
    struct osm_task *tasks = NULL;
    struct osm_job job;
    osm_job_init(&job);
    if (apij_only(rq, body, NULL, allowed) || apij_string(rq, body, NULL, "client_token", 0, 64, &token) ||
        apij_string(rq, body, NULL, "name", 0, 200, &name) || apij_string(rq, body, NULL, "target", 0, 64, &target) ||
        apij_string(rq, body, NULL, "max_concurrency", 0, 16, &maxc) ||
        apij_string(rq, body, NULL, "max_errors", 0, 16, &maxe))
        goto out;
    if (token && (!*token || !valid_token(token))) {
        api_fail(rq, 400, "InvalidParameter.ClientToken", "client_token",
                 "client_token: 1 to 64 of A-Z a-z 0-9 . _ : -");
        goto out;
    }
    struct osm_err err = OSM_ERR_INIT;
    int v, pct;
    if (maxc && osm_rate_limit_parse(maxc, "max_concurrency", &v, &pct, &err) != 0) {
        api_fail(rq, 400, "InvalidParameter.RateLimit", "max_concurrency", "%s", err.msg);
        goto out;
    }
    if (maxe && osm_rate_limit_parse(maxe, "max_errors", &v, &pct, &err) != 0) {
        api_fail(rq, 400, "InvalidParameter.RateLimit", "max_errors", "%s", err.msg);
        goto out;
    }
    json_t *sched = json_object_get(body, "schedule");
    int has_sched = sched && !json_is_null(sched);
    if (api_schedule_parse(rq, sched, "schedule", &js) != 0 || api_options(rq, body, NULL, &opts) != 0 ||
        parse_instances(rq, body, target, &js, has_sched, &it, &n) != 0 || check_targets(rq, opts, target, it, n) != 0)
        goto out;

    struct osm_store *st = api_store(rq);
    if (!st)
        goto out;
    /* A token is its key's: stored as KEY_ID/TOKEN ('/' is not a token
     * character), so another key's same token is another job. */
    job.client_token = !token ? NULL : rq->authed ? osm_xasprintf("%s/%s", rq->who.key_id, token) : osm_xstrdup(token);
    job.name = name ? osm_xstrdup(name) : NULL;
    job.max_concurrency = maxc ? osm_xstrdup(maxc) : NULL;
    job.max_errors = osm_xstrdup(maxe ? maxe : "0");
    /* max_concurrency "0": made paused, started by a resume. */
    if (osm_job_limit_is_zero(maxc))
        job.state = osm_xstrdup("paused");
    job.created_by = osm_xstrdup(api_actor(rq));
    json_t *spec = json_deep_copy(body);
    json_object_set(spec, "options", opts);
    job.spec = json_dumps(spec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(spec);
    tasks = osm_xcalloc(n, sizeof *tasks);
    for (size_t i = 0; i < n; i++) {
        osm_task_init(&tasks[i]);
        osm_job_task_init(&tasks[i], it[i].canon, it[i].target, task_options(rq->srv, opts, it[i].target),
                          it[i].sched.not_before, it[i].sched.latest_start, it[i].sched.window, rq->now);
    }
    int rc = osm_store_create_job(st, &job, tasks, n, &err);
    if (rc < 0) {
        if (err.code == OSM_ECONFLICT)
            answer_busy(rq, &err, it, n);
        else
            api_fail_err(rq, &err, NULL, NULL);
        goto out;
    }
    json_t *ids;
    if (rc == 0 && tasks[0].id[0]) {
        ids = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(ids, json_string(tasks[i].id));
    } else {
        ids = ids_of_job(rq, job.id);
        if (!ids)
            goto out;
    }
    json_t *o = json_object();
    json_object_set_new(o, "job_id", json_string(job.id));
    json_object_set_new(o, "task_ids", ids);
    api_reply(rq, rc == 0 ? 201 : 200, o);
    if (rc == 0)
        api_kick(rq);
out:
    if (tasks)
        osm_task_list_free(tasks, n);
    osm_job_free(&job);
    items_free(it, n);
    api_schedule_free(&js);
    json_decref(opts);
    json_decref(body);
}

/* ---- GET /v1/jobs, /v1/jobs/{id} ---- */

int api_paging(struct api_req *rq, size_t *limit, int64_t *after)
{
    const char *l = api_query(rq, "limit"), *a = api_query(rq, "after");
    *limit = OSM_API_DEFAULT_LIMIT;
    *after = 0;
    if (l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (!*l || *end || v < 1 || v > OSM_API_MAX_LIMIT)
            return api_fail(rq, 400, "InvalidParameter.Limit", "query.limit", "query.limit: '%s' is not 1..%d", l,
                            OSM_API_MAX_LIMIT);
        *limit = (size_t)v;
    }
    if (a) {
        char *end;
        long long v = strtoll(a, &end, 10);
        if (!*a || *end || v < 0)
            return api_fail(rq, 400, "InvalidParameter.Cursor", "query.after",
                            "query.after: '%s' is not a cursor from a previous page's next", a);
        *after = v;
    }
    return 0;
}

void api_jobs_list(struct api_req *rq)
{
    static const char *const allowed[] = {"after", "limit", NULL};
    size_t limit;
    int64_t after;
    if (api_query_check(rq, allowed) || api_paging(rq, &limit, &after))
        return;
    struct osm_store *st = api_store(rq);
    if (!st)
        return;
    struct osm_job *jobs = NULL;
    size_t n = 0;
    int64_t next = 0;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_list_jobs(st, after, limit, &jobs, &n, &next, &err) != 0) {
        api_fail_err(rq, &err, NULL, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *j = api_job_json(rq, &jobs[i]);
        if (!j) {
            json_decref(arr);
            osm_job_list_free(jobs, n);
            return;
        }
        json_array_append_new(arr, j);
    }
    osm_job_list_free(jobs, n);
    api_reply_page(rq, "jobs", arr, next);
}

void api_jobs_get(struct api_req *rq)
{
    static const char *const none[] = {NULL};
    if (api_query_check(rq, none))
        return;
    api_reply_job(rq, rq->param);
}

void api_reply_job(struct api_req *rq, const char *id)
{
    struct osm_store *st = api_store(rq);
    if (!st)
        return;
    struct osm_job job;
    osm_job_init(&job);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_get_job(st, id, &job, &err) != 0) {
        if (err.code == OSM_ENOTFOUND)
            api_fail(rq, 404, "NotFound.Job", NULL, "no job %s", id);
        else
            api_fail_err(rq, &err, "NotFound.Job", NULL);
        return;
    }
    json_t *j = api_job_json(rq, &job);
    osm_job_free(&job);
    if (j)
        api_reply(rq, 200, j);
}

/* ---- POST /v1/assessments ---- */

/* A finding of `osmig assess --json` in the API's shape. */
static json_t *finding(json_t *f)
{
    json_t *o = json_object();
    json_t *id = json_object_get(f, "id");
    json_t *msg = json_object_get(f, "summary");
    if (!msg)
        msg = json_object_get(f, "title");
    json_t *rem = json_object_get(f, "remediation");
    if (!rem)
        rem = json_object_get(f, "remedy");
    json_object_set(o, "id", id ? id : json_null());
    json_object_set(o, "message", msg ? msg : json_null());
    json_object_set(o, "remedy", rem ? rem : json_null());
    json_t *items = json_object_get(f, "items");
    if (items)
        json_object_set(o, "items", items);
    return o;
}

/* Assess one instance by running `osmig assess --json` (the same program):
 * the solver and librpm then never share this process's threads. The
 * child's state directory is the server's (`--state-dir`): the Windows
 * media catalogue is read there, not from the server's environment. */
static json_t *assess_one(const char *state_dir, const char *instance, const char *shown, const char *target,
                          json_t *opts)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[len > 0 ? len : 0] = '\0';
    const char **argv = osm_xcalloc(64, sizeof *argv);
    size_t a = 0;
    argv[a++] = exe;
    if (state_dir) {
        argv[a++] = "--state-dir";
        argv[a++] = state_dir;
    }
    argv[a++] = "assess";
    argv[a++] = instance;
    argv[a++] = "--to";
    argv[a++] = target;
    argv[a++] = "--json";
    const char *keys[] = {"matrix", "events", "repos"};
    const char *flags[] = {"--matrix", "--events", "--repo"};
    for (int k = 0; k < 3; k++) {
        json_t *arr = json_object_get(opts, keys[k]);
        for (size_t i = 0; i < json_array_size(arr) && a < 60; i++) {
            argv[a++] = flags[k];
            argv[a++] = json_string_value(json_array_get(arr, i));
        }
    }
    const char *cache = json_string_value(json_object_get(opts, "cache_dir"));
    if (cache && a < 62) {
        argv[a++] = "--cache-dir";
        argv[a++] = cache;
    }
    struct osm_buf out, errout;
    osm_buf_init(&out);
    osm_buf_init(&errout);
    struct osm_run_opts ro = {.out = &out, .errout = &errout};
    struct osm_err err = OSM_ERR_INIT;
    int st = osm_run(argv, &ro, &err);
    free(argv);
    json_t *r = json_object();
    json_object_set_new(r, "instance", json_string(shown));
    json_object_set_new(r, "target", json_string(target));
    json_t *doc = (st == 0 || st == 3) ? json_loads(out.s, 0, NULL) : NULL;
    if (doc) {
        json_t *inh = json_array(), *warn = json_array();
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(doc, "inhibitors"), i, f) json_array_append_new(inh, finding(f));
        json_array_foreach(json_object_get(doc, "warnings"), i, f) json_array_append_new(warn, finding(f));
        json_object_set_new(r, "migratable", json_boolean(st == 0 && json_array_size(inh) == 0));
        json_object_set_new(r, "inhibitors", inh);
        json_object_set_new(r, "warnings", warn);
        json_object_set_new(r, "error", json_null());
        json_decref(doc);
    } else {
        char *msg = st < 0 ? osm_xstrdup(err.msg) : osm_xstrdup(errout.s);
        msg[strcspn(msg, "\n")] = '\0';
        const char *m = strncmp(msg, "osmig: error: ", 14) == 0 ? msg + 14 : msg;
        json_object_set_new(r, "migratable", json_false());
        json_object_set_new(r, "inhibitors", json_array());
        json_object_set_new(r, "warnings", json_array());
        json_object_set_new(r, "error", json_pack("{s:s,s:s}", "code", "AssessmentFailed", "message",
                                                  *m ? m : "the assessment failed"));
        free(msg);
    }
    osm_buf_free(&out);
    osm_buf_free(&errout);
    return r;
}

void api_assessments(struct api_req *rq)
{
    static const char *const allowed[] = {"instances", "target", "options", NULL};
    static const char *const item_allowed[] = {"instance", "target", NULL};
    json_t *body = apij_body(rq, 0);
    if (!body)
        return;
    const char *target;
    json_t *opts = NULL;
    json_t *results = NULL;
    if (apij_only(rq, body, NULL, allowed) || apij_string(rq, body, NULL, "target", 0, 64, &target) ||
        api_options(rq, body, NULL, &opts))
        goto out;
    json_t *arr = json_object_get(body, "instances");
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > OSM_API_MAX_ASSESS) {
        api_fail(rq, 400, arr ? "InvalidParameter" : "MissingParameter", "instances",
                 "instances must be an array of 1 to %d instances", OSM_API_MAX_ASSESS);
        goto out;
    }
    size_t n = json_array_size(arr);
    const char **inst = osm_xcalloc(n, sizeof *inst), **tgt = osm_xcalloc(n, sizeof *tgt);
    char **canon = osm_xcalloc(n, sizeof *canon);
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        json_t *e = json_array_get(arr, i);
        char *f = apij_index("instances", i);
        if (json_is_string(e) && json_string_length(e) > 0) {
            inst[i] = json_string_value(e);
        } else if (json_is_object(e)) {
            bad = apij_only(rq, e, f, item_allowed) || apij_string(rq, e, f, "instance", 1, 4096, &inst[i]) ||
                  apij_string(rq, e, f, "target", 0, 64, &tgt[i]);
        } else {
            bad = api_fail(rq, 400, "InvalidParameter.Instance", f, "%s must be an instance URI or an object", f);
        }
        if (!bad && !tgt[i])
            tgt[i] = target;
        if (!bad && !tgt[i]) {
            char *tf = apij_path(f, "target");
            bad = api_fail(rq, 400, "MissingParameter", tf, "%s: no target", tf);
            free(tf);
        }
        if (!bad)
            /* An assessment of an instance that does not open is that
             * instance's failed result, not the whole request's. */
            bad = check_instance(rq, OSM_ACT_SUBMIT, inst[i], f, &canon[i], 1) != 0;
        free(f);
    }
    if (!bad) {
        results = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(results, assess_one(rq->srv->cfg.state_dir, canon[i] ? canon[i] : inst[i], inst[i], tgt[i], opts));
        json_t *o = json_object();
        json_object_set_new(o, "results", results);
        api_reply(rq, 200, o);
    }
    for (size_t i = 0; i < n; i++)
        free(canon[i]);
    free(canon);
    free(inst);
    free(tgt);
out:
    json_decref(opts);
    json_decref(body);
}
