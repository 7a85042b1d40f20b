/* fleet_metrics.c: the server's metrics (fleet_metrics.h). */
#include "fleet_metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "snapset.h"

/* Bounds of a store write: 100 us .. 10 s (a group commit waits for the
 * disk; a write that takes seconds is what an operator pages on). */
static const double write_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                      0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 10};
#define N_WRITE_BOUNDS (sizeof write_bounds / sizeof write_bounds[0])

static void on_write(void *user, double seconds)
{
    osm_metrics_observe(user, OSM_M_STORE_WRITE, write_bounds, N_WRITE_BOUNDS, NULL, seconds);
}

void osm_fleet_metrics_start(struct osm_metrics *m)
{
    osm_metrics_declare_gauge(m, OSM_M_TASKS);
    osm_metrics_declare_gauge(m, OSM_M_JOB_TASKS);
    osm_metrics_declare_gauge(m, OSM_M_OLDEST_RUNNING);
    osm_metrics_declare_gauge(m, OSM_M_FREE);
    osm_metrics_declare_gauge(m, OSM_M_SIZE);
    osm_metrics_declare_histogram(m, OSM_M_STORE_WRITE, write_bounds, N_WRITE_BOUNDS);
    osm_metrics_declare_counter(m, OSM_M_API_REQUESTS);
    osm_metrics_declare_histogram(m, OSM_M_API_DURATION, osm_metrics_seconds_bounds, osm_metrics_n_seconds_bounds);
    osm_metrics_counter_add(m, OSM_M_API_OVER_LIMIT, NULL, 0);
    osm_metrics_counter_add(m, OSM_M_ORPHANS, NULL, 0);
    osm_metrics_declare_histogram(m, OSM_M_SCHED_PASS, osm_metrics_seconds_bounds, osm_metrics_n_seconds_bounds);
    osm_metrics_counter_add(m, OSM_M_SCHED_CLAIMED, NULL, 0);
    osm_metrics_declare_histogram(m, OSM_M_PHASE, osm_metrics_seconds_bounds, osm_metrics_n_seconds_bounds);
    osm_metrics_declare_counter(m, OSM_M_WORKER_TASKS);
    osm_store_set_write_observer(on_write, m);
}

void osm_fleet_metrics_stop(void)
{
    osm_store_set_write_observer(NULL, NULL);
}

/* The file system of `path`, or of its nearest existing parent (a snapshot
 * store not made yet lives where it will be made). */
static void free_space(struct osm_metrics *m, const char *store, const char *path)
{
    char *p = osm_xstrdup(path);
    struct statvfs sv;
    int rc;
    while ((rc = statvfs(p, &sv)) != 0 && errno == ENOENT) {
        char *slash = strrchr(p, '/');
        if (!slash || slash == p) {
            rc = statvfs("/", &sv);
            break;
        }
        *slash = '\0';
    }
    free(p);
    if (rc != 0)
        return;
    const char *labels[] = {"store", store, NULL};
    osm_metrics_gauge_set(m, OSM_M_FREE, labels, (double)sv.f_bavail * (double)sv.f_frsize);
    osm_metrics_gauge_set(m, OSM_M_SIZE, labels, (double)sv.f_blocks * (double)sv.f_frsize);
}

/* When a task's current run started: its last "started" event; its
 * creation when it has none. */
static int64_t run_started(struct osm_store *st, const struct osm_task *t)
{
    struct osm_task_event *ev = NULL;
    size_t n = 0;
    struct osm_err err = OSM_ERR_INIT;
    int64_t at = t->created;
    if (osm_store_list_events(st, t->id, &ev, &n, &err) != 0)
        return at;
    for (size_t i = n; i-- > 0;)
        if (strcmp(ev[i].type, "started") == 0) {
            at = ev[i].at;
            break;
        }
    osm_task_events_free(ev, n);
    return at;
}

static int scrape(struct osm_metrics *m, struct osm_store *st, const char *state_dir, int64_t now,
                  struct osm_err *err)
{
    struct osm_task_counts c;
    if (osm_store_count_tasks(st, NULL, &c, err) != 0)
        return -1;
    for (int s = 0; s < OSM_TASK_N_STATES; s++) {
        const char *labels[] = {"state", osm_task_state_name((enum osm_task_state)s), NULL};
        osm_metrics_gauge_set(m, OSM_M_TASKS, labels, (double)c.by_state[s]);
    }

    /* Per job: what went wrong, read afresh (a retried task leaves). */
    static const int bad[] = {OSM_TASK_FAILED, OSM_TASK_ROLLED_BACK, OSM_TASK_ROLLBACK_FAILED};
    struct job_count {
        char *job;
        int state;
        double n;
    } *jc = NULL;
    size_t njc = 0;
    struct osm_task_filter f = {.states = bad, .n_states = 3, .limit = 1000};
    int rc = 0;
    for (;;) {
        struct osm_task *tasks = NULL;
        size_t n = 0;
        int64_t next = 0;
        if ((rc = osm_store_query_tasks(st, &f, &tasks, &n, &next, err)) != 0)
            break;
        for (size_t i = 0; i < n; i++) {
            if (!tasks[i].job_id)
                continue;
            size_t k = 0;
            while (k < njc && !(jc[k].state == (int)tasks[i].state && strcmp(jc[k].job, tasks[i].job_id) == 0))
                k++;
            if (k == njc) {
                jc = osm_xrealloc(jc, (njc + 1) * sizeof *jc);
                jc[njc++] = (struct job_count){osm_xstrdup(tasks[i].job_id), (int)tasks[i].state, 0};
            }
            jc[k].n++;
        }
        osm_task_list_free(tasks, n);
        if (!next)
            break;
        f.after_seq = next;
    }
    if (rc == 0) {
        osm_metrics_clear(m, "osmig_job_tasks");
        for (size_t k = 0; k < njc; k++) {
            const char *labels[] = {"job", jc[k].job, "state", osm_task_state_name((enum osm_task_state)jc[k].state),
                                    NULL};
            osm_metrics_gauge_set(m, OSM_M_JOB_TASKS, labels, jc[k].n);
        }
    }
    for (size_t k = 0; k < njc; k++)
        free(jc[k].job);
    free(jc);
    if (rc != 0)
        return -1;

    /* The oldest run in progress. */
    static const int running[] = {OSM_TASK_RUNNING, OSM_TASK_ROLLING_BACK};
    struct osm_task_filter rf = {.states = running, .n_states = 2, .limit = 1000};
    struct osm_task *tasks = NULL;
    size_t n = 0;
    int64_t next = 0, oldest = 0;
    if (osm_store_query_tasks(st, &rf, &tasks, &n, &next, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int64_t at = run_started(st, &tasks[i]);
        if (!oldest || at < oldest)
            oldest = at;
    }
    osm_task_list_free(tasks, n);
    osm_metrics_gauge_set(m, OSM_M_OLDEST_RUNNING, NULL, oldest && now > oldest ? (double)(now - oldest) : 0);

    if (state_dir)
        free_space(m, "state", state_dir);
    const char *snap = getenv("OSMIG_SNAPSHOT_STORE");
    free_space(m, "snapshot", snap && *snap ? snap : OSM_SNAPSHOT_STORE_DEFAULT);
    return 0;
}

char *osm_fleet_metrics_scrape(struct osm_metrics *m, struct osm_store *st, const char *state_dir, int64_t now,
                               struct osm_err *err)
{
    /* One scrape at a time: a family cleared and refilled is never rendered
     * half full. */
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    char *text = scrape(m, st, state_dir, now, err) == 0 ? osm_metrics_render(m) : NULL;
    pthread_mutex_unlock(&lock);
    return text;
}
