/* api_routes_job_ops.c: a job as an object an admin controls, over HTTP:
 * POST /v1/jobs/{id}/pause {"reason"}, /resume {"max_concurrency"},
 * /cancel {"running": "finish"|"rollback", "reason"} and PATCH /v1/jobs/{id}
 * {"max_concurrency", "max_errors"}; the rules are job_control.h's.
 *
 * A scoped key controls a job only when every task of it is in its scope;
 * other jobs do not exist for it (404). A job that moved while the request
 * was served answers 409 and is left alone. */
#include <stdlib.h>
#include <string.h>

#include "api_priv.h"
#include "job_control.h"

/* The job of the path's {id}, every task of it in the caller's scope; -1
 * after answering. */
static int load_job(struct api_req *rq, struct osm_job *job)
{
    osm_job_init(job);
    struct osm_store *st = api_store(rq);
    if (!st)
        return -1;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_get_job(st, rq->param, job, &err) != 0)
        return err.code == OSM_ENOTFOUND ? api_fail(rq, 404, "NotFound.Job", NULL, "no job %s", rq->param)
                                         : api_fail_err(rq, &err, "NotFound.Job", NULL);
    if (!rq->authed || !rq->who.scope || rq->who.role == OSM_ROLE_ADMIN)
        return 0;
    struct osm_task_filter f = {.job_id = job->id};
    struct osm_task *tasks = NULL;
    size_t n = 0;
    int64_t next = 0;
    int rc = osm_store_query_tasks(st, &f, &tasks, &n, &next, &err);
    int visible = rc == 0;
    for (size_t i = 0; visible && i < n; i++)
        visible = api_in_scope(rq, tasks[i].instance);
    osm_task_list_free(tasks, n);
    if (rc != 0 || !visible) {
        osm_job_free(job);
        return rc != 0 ? api_fail_err(rq, &err, "NotFound.Job", NULL)
                       : api_fail(rq, 404, "NotFound.Job", NULL, "no job %s", rq->param);
    }
    return 0;
}

/* A job_control.h outcome as the answer: the job (200), or the error. */
static void answer(struct api_req *rq, int rc, const struct osm_err *err, const char *id, const char *field)
{
    if (rc < 0) {
        if (err->code == OSM_EINPUT || err->code == OSM_EUSAGE)
            api_fail(rq, 400, "InvalidParameter.RateLimit", field, "%s", err->msg);
        else
            api_fail_err(rq, err, "NotFound.Job", "Conflict.JobState");
        return;
    }
    if (rc == 1) {
        api_fail(rq, 409, "Conflict.JobState", NULL, "job %s changed while this request was served; try again", id);
        return;
    }
    api_kick(rq);
    api_reply_job(rq, id);
}

/* The body (only `allowed` members, their strings read into `v`, NULL when
 * absent) and the job; -1 after answering. */
static int begin(struct api_req *rq, const char *const *allowed, const char **v, json_t **body, struct osm_job *job)
{
    osm_job_init(job);
    *body = NULL;
    if (!(*body = apij_body_no_query(rq, 1)) || apij_only(rq, *body, NULL, allowed))
        return -1;
    for (size_t i = 0; allowed[i]; i++)
        if (apij_string(rq, *body, NULL, allowed[i], 0, 500, &v[i]) != 0)
            return -1;
    return load_job(rq, job);
}

/* A job operation: `op` gets the job and the strings of the body's
 * `allowed` members (NULL when absent) and answers. */
static void job_op(struct api_req *rq, const char *const *allowed,
                   void (*op)(struct api_req *, struct osm_job *, const char *const *v))
{
    const char *v[2] = {NULL, NULL};
    json_t *b;
    struct osm_job job;
    if (begin(rq, allowed, v, &b, &job) == 0)
        op(rq, &job, v);
    osm_job_free(&job);
    json_decref(b);
}

static void pause_op(struct api_req *rq, struct osm_job *job, const char *const *v)
{
    struct osm_err err = OSM_ERR_INIT;
    answer(rq, osm_job_pause(api_store(rq), job, api_actor(rq), v[0], &err), &err, job->id, NULL);
}

static void resume_op(struct api_req *rq, struct osm_job *job, const char *const *v)
{
    struct osm_err err = OSM_ERR_INIT;
    answer(rq, osm_job_resume(api_store(rq), job, api_actor(rq), v[0], &err), &err, job->id, "max_concurrency");
}

static void update_op(struct api_req *rq, struct osm_job *job, const char *const *v)
{
    if (!v[0] && !v[1]) {
        api_fail(rq, 400, "MissingParameter", NULL, "give max_concurrency, max_errors or both");
        return;
    }
    struct osm_err err = OSM_ERR_INIT;
    int rc = osm_job_set_limits(api_store(rq), job, api_actor(rq), v[0], v[1], &err);
    answer(rq, rc, &err, job->id, strstr(err.msg, "max_errors") ? "max_errors" : "max_concurrency");
}

static void cancel_op(struct api_req *rq, struct osm_job *job, const char *const *v)
{
    int rollback = v[0] && strcmp(v[0], "rollback") == 0;
    if (v[0] && !rollback && strcmp(v[0], "finish") != 0) {
        api_fail(rq, 400, "InvalidParameter", "running", "running: '%s' is not 'finish' or 'rollback'", v[0]);
        return;
    }
    struct osm_job_cancel_result res;
    struct osm_err err = OSM_ERR_INIT;
    int rc = osm_job_cancel(api_store(rq), job, api_actor(rq), rollback, v[1], &res, &err);
    if (rc == 0 && res.failed) {
        api_kick(rq);
        api_fail(rq, 500, "InternalError", NULL,
                 "job %s is cancelled, but %zu of its tasks could not be stopped (the server's log names them); "
                 "cancel them one by one", job->id, res.failed);
        return;
    }
    answer(rq, rc, &err, job->id, NULL);
    if (rq->status == 200) {
        json_object_set_new(rq->reply, "tasks_cancelled", json_integer((json_int_t)res.cancelled));
        json_object_set_new(rq->reply, "tasks_rolled_back", json_integer((json_int_t)res.rolled_back));
    }
}

void api_jobs_pause(struct api_req *rq)
{
    static const char *const allowed[] = {"reason", NULL};
    job_op(rq, allowed, pause_op);
}

void api_jobs_resume(struct api_req *rq)
{
    static const char *const allowed[] = {"max_concurrency", NULL};
    job_op(rq, allowed, resume_op);
}

void api_jobs_update(struct api_req *rq)
{
    static const char *const allowed[] = {"max_concurrency", "max_errors", NULL};
    job_op(rq, allowed, update_op);
}

void api_jobs_cancel(struct api_req *rq)
{
    static const char *const allowed[] = {"running", "reason", NULL};
    job_op(rq, allowed, cancel_op);
}
