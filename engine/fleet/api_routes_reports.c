/* api_routes_reports.c: GET /v1/tasks/{id}/report and GET /v1/tasks/{id}/log:
 * what a task's runs left for an admin to read (report_task.h).
 *
 * Scoped as GET /v1/tasks/{id} is: a task out of the caller's scope does
 * not exist for it. No path is taken from the request: the report's is
 * REPORT_DIR/INSTANCE/RUN with REPORT_DIR the server's, INSTANCE made from
 * the task's canonical URI and RUN a plain name that the task's history
 * names (and that must resolve to the directory the history names); the
 * log's is STATE_DIR/tasks/ID with the server's state directory and the id
 * of a stored task. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_priv.h"
#include "os_migration.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "report.h"

/* A log larger than this is served from its end: the end says how it went. */
#define LOG_TAIL_MAX ((off_t)8 << 20)
#define REPORT_MAX ((size_t)64 << 20)

/* The task of the path, visible to the caller, with an id fit for a path
 * component; -1 after answering. */
static int visible_task(struct api_req *rq, struct osm_task *t)
{
    if (api_load_task(rq, t) != 0)
        return -1;
    if (!osm_name_is_plain(t->id, 64)) {
        osm_task_free(t);
        return api_fail(rq, 404, "NotFound.Task", NULL, "no task %s", rq->param);
    }
    return 0;
}

/* The run directory of the task's report `run` (NULL: the newest), checked
 * as the header says; NULL after answering. */
static char *report_dir(struct api_req *rq, const struct osm_task *t, const char *run)
{
    struct osm_task_event *ev = NULL;
    size_t n = 0;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_list_events(api_store(rq), t->id, &ev, &n, &err) != 0) {
        api_fail_err(rq, &err, "NotFound.Task", NULL);
        return NULL;
    }
    const char *named = NULL, *name = NULL;
    for (size_t i = n; i-- > 0 && !named;) {
        if (strcmp(ev[i].type, "report") != 0 || !ev[i].message)
            continue;
        const char *slash = strrchr(ev[i].message, '/');
        const char *base = slash ? slash + 1 : ev[i].message;
        if (!run || strcmp(run, base) == 0)
            named = ev[i].message, name = base;
    }
    char *dir = NULL;
    if (!named) {
        if (run)
            api_fail(rq, 404, "NotFound.Report", "query.run", "task %s has no report of run '%s'", t->id, run);
        else
            api_fail(rq, 404, "NotFound.Report", NULL, "task %s has no report yet (one is written when a run ends)",
                     t->id);
    } else if (!osm_name_is_plain(name, 128)) {
        api_fail(rq, 404, "NotFound.Report", NULL, "task %s: its report's run name is not a plain name", t->id);
    } else {
        char *base = osm_report_base_dir(), *iname = osm_report_instance_name(t->instance ? t->instance : "unknown");
        char *built = osm_xasprintf("%s/%s/%s", base, iname, name);
        char a[PATH_MAX], b[PATH_MAX];
        if (realpath(built, a) && realpath(named, b) && strcmp(a, b) == 0) {
            dir = built;
            built = NULL;
        } else if (access(built, F_OK) != 0 && strcmp(named, built) == 0) {
            api_fail(rq, 404, "NotFound.Report", NULL,
                     "task %s: the report of run %s was pruned (report_keep, report_keep_days)", t->id, name);
        } else {
            api_fail(rq, 404, "NotFound.Report", NULL,
                     "task %s: the report of run %s is not in this server's report directory %s", t->id, name, base);
        }
        free(built);
        free(base);
        free(iname);
    }
    osm_task_events_free(ev, n);
    return dir;
}

void api_tasks_report(struct api_req *rq)
{
    static const char *const allowed[] = {"format", "run", NULL};
    if (api_query_check(rq, allowed))
        return;
    const char *format = api_query(rq, "format");
    static const struct {
        const char *format, *file, *type;
    } kinds[] = {{"json", "osmig-report.json", "application/json"},
                 {"txt", "osmig-report.txt", "text/plain; charset=utf-8"},
                 {"html", "osmig-report.html", "text/html; charset=utf-8"}};
    size_t k = 0;
    while (format && k < 3 && strcmp(format, kinds[k].format) != 0)
        k++;
    if (k == 3) {
        api_fail(rq, 400, "InvalidParameter.Format", "query.format", "query.format: '%s' is not json, txt or html",
                 format);
        return;
    }
    const char *run = api_query(rq, "run");
    if (run && !osm_name_is_plain(run, 128)) {
        api_fail(rq, 400, "InvalidParameter.Run", "query.run", "query.run: '%s' is not a run name", run);
        return;
    }
    struct osm_task t;
    if (visible_task(rq, &t) != 0)
        return;
    char *dir = report_dir(rq, &t, run);
    osm_task_free(&t);
    if (!dir)
        return;
    char *path = osm_path_join(dir, kinds[k].file);
    struct osm_buf b;
    osm_buf_init(&b);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_read_regular_file(path, REPORT_MAX, &b, &err) != 0) {
        api_fail(rq, 404, "NotFound.Report", NULL, "%s", err.msg);
    } else {
        rq->reply_text = osm_buf_detach(&b);
        rq->reply_type = kinds[k].type;
        /* The page's own inline style and filter script, nothing else. */
        if (k == 2)
            rq->reply_csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
        rq->status = 200;
    }
    osm_buf_free(&b);
    free(path);
    free(dir);
}

void api_tasks_log(struct api_req *rq)
{
    static const char *const none[] = {NULL};
    if (api_query_check(rq, none))
        return;
    struct osm_task t;
    if (visible_task(rq, &t) != 0)
        return;
    const char *sd = rq->srv->cfg.state_dir;
    char *dir = sd ? osm_migration_task_dir(sd, t.id) : NULL;
    char *path = dir ? osm_path_join(dir, "osmig.log") : NULL;
    osm_task_free(&t);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) : -1;
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        api_fail(rq, 404, "NotFound.Log", NULL, "task %s has no log on this server (it is written when the task runs)",
                 rq->param);
    } else {
        off_t from = sb.st_size > LOG_TAIL_MAX ? sb.st_size - LOG_TAIL_MAX : 0;
        size_t want = (size_t)(sb.st_size - from), got = 0;
        char *text = osm_xmalloc(want + 1);
        ssize_t r;
        while (got < want && (r = pread(fd, text + got, want - got, from + (off_t)got)) > 0)
            got += (size_t)r;
        text[got] = '\0';
        rq->reply_text = text;
        rq->reply_type = "text/plain; charset=utf-8";
        rq->status = 200;
    }
    if (fd >= 0)
        close(fd);
    free(path);
    free(dir);
}
