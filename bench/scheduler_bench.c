/* scheduler_bench.c: what one scheduler pass costs over many waiting tasks.
 *
 *   scheduler_bench LOCATION N_TASKS N_JOBS PASSES [all-due]
 *
 * LOCATION is a state directory (SQLite) or a postgresql:// URL. Fills the
 * store with N_TASKS tasks in N_JOBS jobs (one transaction per job), spread
 * over a few window specs: one job's window is open now (its tasks are due
 * and the pass runs rate control and claims for it), the others open later
 * and their tasks are stored as a previous pass left them (scheduled, with
 * not_before at their next window opening). Then it times PASSES passes
 * (median, min, max), the store's read of the tasks due alone (and of every
 * waiting task, for comparison), and a first pass over freshly submitted
 * tasks (every row written once, at most 500 a pass). With `all-due` every
 * task is due now (no window, no start time). Each pass is that of a server
 * that can run CAPACITY tasks now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "schedule.h"
#include "scheduler.h"
#include "store.h"
#include "benchlib.h"

#define CAPACITY 8

static void die(const char *what, const struct osm_err *err)
{
    fprintf(stderr, "scheduler_bench: %s: %s\n", what, err->msg);
    exit(1);
}

/* Create a job of n tasks with `window`; state scheduled at their next
 * opening unless `submitted`. */
static void fill_job(struct osm_store *st, const char *prefix, size_t j, size_t n, const char *window, int64_t now,
                     int submitted)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_window *w = NULL;
    if (window && osm_window_parse(window, &w, &err) != 0)
        die("window", &err);
    int64_t next = 0, close = 0;
    if (w && osm_window_next_start(w, now, &next, &close) != 0)
        next = 0;
    struct osm_job job;
    osm_job_init(&job);
    job.name = osm_xasprintf("%s-job-%zu", prefix, j);
    job.max_concurrency = osm_xstrdup(j % 2 ? "10" : "5%");
    job.max_errors = osm_xstrdup("1");
    job.spec = osm_xstrdup("{}");
    struct osm_task *tasks = osm_xcalloc(n, sizeof *tasks);
    for (size_t i = 0; i < n; i++) {
        osm_task_init(&tasks[i]);
        strcpy(tasks[i].kind, OSM_KIND_OS_MIGRATION);
        tasks[i].instance = osm_xasprintf("dir:/srv/%s/%zu/%zu", prefix, j, i);
        tasks[i].target = osm_xstrdup("alinux3");
        tasks[i].window = window ? osm_xstrdup(window) : NULL;
        if (!submitted && next > now) {
            tasks[i].state = OSM_TASK_SCHEDULED;
            strcpy(tasks[i].phase, "scheduled");
            tasks[i].not_before = next;
        }
    }
    if (osm_store_create_job(st, &job, tasks, n, &err) != 0)
        die("create job", &err);
    osm_task_list_free(tasks, n);
    osm_job_free(&job);
    osm_window_free(w);
}

int main(int argc, char **argv)
{
    if (argc != 5 && !(argc == 6 && strcmp(argv[5], "all-due") == 0)) {
        fprintf(stderr, "usage: scheduler_bench LOCATION N_TASKS N_JOBS PASSES [all-due]\n");
        return 2;
    }
    int all_due = argc == 6;
    const char *location = argv[1];
    size_t n_tasks = strtoul(argv[2], NULL, 10), n_jobs = strtoul(argv[3], NULL, 10);
    int passes = atoi(argv[4]);
    if (n_jobs == 0 || n_tasks < n_jobs || passes < 1 || passes > 100) {
        fprintf(stderr, "scheduler_bench: need N_TASKS >= N_JOBS >= 1 and 1..100 passes\n");
        return 2;
    }
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_open_location(location, &st, &err) != 0)
        die("open", &err);
    int64_t now = osm_store_now();
    char prefix[64];
    snprintf(prefix, sizeof prefix, "bench-%lld-%d", (long long)now, (int)getpid());

    /* A window open now in UTC (this hour, for 2 hours), and three that open later. */
    time_t tt = (time_t)now;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char open_now[160];
    snprintf(open_now, sizeof open_now, "{\"timezone\":\"Etc/UTC\",\"start\":\"%02d:00\",\"duration\":\"2h\"}",
             tm.tm_hour);
    const char *later[] = {
        "{\"timezone\":\"Asia/Shanghai\",\"days_of_week\":[\"sat\",\"sun\"],\"start\":\"02:00\",\"duration\":\"4h\","
        "\"cutoff\":\"30m\"}",
        "{\"timezone\":\"America/New_York\",\"days_of_month\":[1,15,-1],\"start\":\"01:30\",\"duration\":\"3h\"}",
        "{\"timezone\":\"Europe/Berlin\",\"days_of_week\":[\"sun\"],\"start\":\"22:00\",\"duration\":\"5h\"}",
    };
    size_t per_job = n_tasks / n_jobs;
    double t0 = bench_s(CLOCK_MONOTONIC);
    for (size_t j = 0; j < n_jobs; j++) {
        const char *w = all_due ? NULL : j == 0 ? open_now : later[j % 3];
        int64_t s, c;
        struct osm_window *pw;
        /* A "later" window that happens to be open now would make its tasks
         * due; the figures are for a store where most tasks wait. */
        if (j && w && osm_window_parse(w, &pw, &err) == 0) {
            if (osm_window_next_start(pw, now, &s, &c) == 0 && s == now)
                w = later[(j + 1) % 3];
            osm_window_free(pw);
        }
        fill_job(st, prefix, j, per_job, w, now, 0);
    }
    double fill = bench_s(CLOCK_MONOTONIC) - t0;
    printf("filled %zu tasks in %zu jobs in %.1f s (%s)%s; passes of capacity %d\n", per_job * n_jobs, n_jobs, fill,
           location, all_due ? ", every task due" : "", CAPACITY);

    /* Wall time and CPU time: on a shared machine the CPU time of the pass
     * is the steadier figure (the wall time includes waiting for a core). */
    double *times = calloc((size_t)passes, sizeof *times), *cpus = calloc((size_t)passes, sizeof *cpus);
    struct osm_sched_result r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < passes; i++) {
        double a = bench_s(CLOCK_MONOTONIC), c = bench_s(CLOCK_PROCESS_CPUTIME_ID);
        if (osm_scheduler_pass(st, now + i, osm_store_self_owner(), 300, CAPACITY, &r, &err) != 0)
            die("pass", &err);
        times[i] = bench_s(CLOCK_MONOTONIC) - a;
        cpus[i] = bench_s(CLOCK_PROCESS_CPUTIME_ID) - c;
        if (i == passes - 1)
            printf("last pass: %zu waiting, %zu due, %zu scheduled, %zu expired, %zu claimed, %zu jobs stopped\n",
                   r.n_waiting, r.n_due, r.n_scheduled, r.n_expired, r.n_claimed, r.n_jobs_stopped);
        osm_sched_result_free(&r);
    }
    qsort(times, (size_t)passes, sizeof *times, bench_cmp_double);
    qsort(cpus, (size_t)passes, sizeof *cpus, bench_cmp_double);
    double med = times[passes / 2] * 1000, med_cpu = cpus[passes / 2] * 1000;
    printf("scheduler pass over %zu waiting tasks: median %.1f ms wall (min %.1f, max %.1f), %.1f ms CPU; %d passes; "
           "goal 100 ms: %s\n",
           per_job * n_jobs, med, times[0] * 1000, times[passes - 1] * 1000, med_cpu, passes,
           med < 100 ? "met" : med_cpu < 100 ? "met in CPU time, not in wall time (a loaded machine)" : "MISSED");

    /* The store's part: the read a pass makes (the tasks due by now), and for
     * comparison the read of every waiting task. */
    for (int k = 0; k < 2; k++) {
        size_t nw = 0;
        for (int i = 0; i < passes; i++) {
            struct osm_waiting_task *wt;
            double a = bench_s(CLOCK_MONOTONIC), c = bench_s(CLOCK_PROCESS_CPUTIME_ID);
            if ((k == 0 ? osm_store_list_waiting_due(st, now, &wt, &nw, &err) : osm_store_list_waiting(st, &wt, &nw, &err)) != 0)
                die("list waiting", &err);
            osm_waiting_free(wt, nw);
            times[i] = bench_s(CLOCK_MONOTONIC) - a;
            cpus[i] = bench_s(CLOCK_PROCESS_CPUTIME_ID) - c;
        }
        qsort(times, (size_t)passes, sizeof *times, bench_cmp_double);
        qsort(cpus, (size_t)passes, sizeof *cpus, bench_cmp_double);
        printf("  %s: %zu tasks, median %.1f ms wall, %.1f ms CPU\n",
               k == 0 ? "of which the store's list_waiting_due (read + free)"
                      : "for comparison, list_waiting of every waiting task",
               nw, times[passes / 2] * 1000, cpus[passes / 2] * 1000);
    }
    double a;

    /* A first pass writes each submitted task once (submitted -> scheduled). */
    size_t n_new = per_job < 1000 ? per_job : 1000;
    fill_job(st, prefix, n_jobs, n_new, later[0], now, 1);
    struct osm_task_counts before, after;
    if (osm_store_count_tasks(st, NULL, &before, &err) != 0)
        die("count", &err);
    a = bench_s(CLOCK_MONOTONIC);
    if (osm_scheduler_pass(st, now + passes, osm_store_self_owner(), 300, CAPACITY, &r, &err) != 0)
        die("pass", &err);
    double first = bench_s(CLOCK_MONOTONIC) - a;
    if (osm_store_count_tasks(st, NULL, &after, &err) != 0)
        die("count", &err);
    /* Rows of waiting tasks: at least 8 a pass, more while it is young. */
    int64_t written = after.by_state[OSM_TASK_SCHEDULED] - before.by_state[OSM_TASK_SCHEDULED];
    printf("first pass after %zu new submitted tasks: %.1f ms, %lld rows written (8 and more while the pass has run "
           "under 20 ms): %.2f ms per row written, the pass's read included\n",
           n_new, first * 1000, (long long)written, written > 0 ? first * 1000 / (double)written : 0.0);
    osm_sched_result_free(&r);
    free(times);
    free(cpus);
    osm_store_close(st);
    return 0;
}
