/* fleet_store_bench.c: what the fleet operations cost on a big store.
 *
 *   fleet_store_bench LOCATION N
 *
 * LOCATION is a state directory (SQLite) or a postgresql:// URL. Creates a
 * job of 1,000 tasks, then one of N tasks (one transaction each), finishes
 * nine in ten of the big job's tasks, and times: a page of 50 tasks of the
 * job from the middle, a page of 50 waiting tasks (two states) from there, a
 * page of 50 running tasks, the per-state counts of
 * the job, the scheduler's list of waiting tasks over the whole store, and a
 * claim of 50 due tasks. Prints milliseconds. bench/store.sh runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "store.h"
#include "benchlib.h"

static int die(const char *what, const struct osm_err *err)
{
    fprintf(stderr, "fleet_store_bench: %s: %s\n", what, err->msg);
    return 1;
}

static int make_job(struct osm_store *st, const char *prefix, long n, struct osm_job *job, char (*ids)[40],
                    double *ms, struct osm_err *err)
{
    struct osm_task *tasks = osm_xcalloc((size_t)n, sizeof *tasks);
    for (long i = 0; i < n; i++) {
        osm_task_init(&tasks[i]);
        strcpy(tasks[i].kind, OSM_KIND_OS_MIGRATION);
        tasks[i].instance = osm_xasprintf("ecs:i-%s%08ld?region=cn-hangzhou", prefix, i);
        tasks[i].target = osm_xstrdup(i % 2 ? "alinux3" : "rocky9");
        if (i % 4 == 0)
            tasks[i].window = osm_xstrdup("sat,sun 02:00-06:00");
    }
    osm_job_init(job);
    job->name = osm_xstrdup(prefix);
    job->max_concurrency = osm_xstrdup("5%");
    double t0 = bench_ms(CLOCK_MONOTONIC);
    int rc = osm_store_create_job(st, job, tasks, (size_t)n, err);
    *ms = bench_ms(CLOCK_MONOTONIC) - t0;
    for (long i = 0; i < n; i++) {
        if (ids)
            memcpy(ids[i], tasks[i].id, 40);
        osm_task_free(&tasks[i]);
    }
    free(tasks);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fleet_store_bench LOCATION N\n");
        return 2;
    }
    long n = strtol(argv[2], NULL, 10);
    if (n < 100) {
        fprintf(stderr, "fleet_store_bench: N must be at least 100\n");
        return 2;
    }
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_open_location(argv[1], &st, &err) != 0)
        return die("open", &err);
    printf("%s store, %ld tasks\n", osm_store_kind(st), n);

    struct osm_job small, big;
    double ms;
    /* Instances of this run only: a store used before still holds its own. */
    char small_prefix[32], big_prefix[32];
    snprintf(small_prefix, sizeof small_prefix, "s%lx-", (long)getpid());
    snprintf(big_prefix, sizeof big_prefix, "b%lx-", (long)getpid());
    if (make_job(st, small_prefix, 1000, &small, NULL, &ms, &err) != 0)
        return die("create_job 1000", &err);
    printf("  create_job of 1,000 tasks: %.1f ms\n", ms);
    char (*ids)[40] = osm_xcalloc((size_t)n, sizeof *ids);
    if (make_job(st, big_prefix, n, &big, ids, &ms, &err) != 0)
        return die("create_job N", &err);
    printf("  create_job of %ld tasks: %.1f ms\n", n, ms);

    /* Most of a fleet's tasks are finished; a few run. */
    double t0 = bench_ms(CLOCK_MONOTONIC);
    long n_running = 0;
    for (long i = 0; i < n; i += 10) {
        struct osm_task t;
        if (osm_store_get_task(st, ids[i], &t, &err) != 0)
            return die("get", &err);
        t.state = i % 1000 == 0 ? OSM_TASK_RUNNING : OSM_TASK_SUCCEEDED;
        n_running += t.state == OSM_TASK_RUNNING;
        struct osm_task_change ch = {.task = &t, .expect_state = -1, .expect_rev = -1};
        if (osm_store_commit(st, &ch, &err) != 0)
            return die("commit", &err);
        osm_task_free(&t);
    }
    printf("  (%ld commits to set states: %.1f ms each)\n", n / 10, (bench_ms(CLOCK_MONOTONIC) - t0) / (double)(n / 10));

    struct osm_task_filter f = {.job_id = big.id, .limit = 50};
    struct osm_task *list;
    size_t got;
    int64_t next;
    if (osm_store_query_tasks(st, &f, &list, &got, &next, &err) != 0)
        return die("query", &err);
    osm_task_list_free(list, got);
    /* A cursor from the middle: page on to it, then time one page. */
    f.limit = (size_t)n / 2;
    if (osm_store_query_tasks(st, &f, &list, &got, &next, &err) != 0)
        return die("query", &err);
    osm_task_list_free(list, got);
    f.after_seq = next;
    f.limit = 50;
    t0 = bench_ms(CLOCK_MONOTONIC);
    if (osm_store_query_tasks(st, &f, &list, &got, &next, &err) != 0)
        return die("query", &err);
    printf("  query_tasks, a page of %zu of the job from the middle: %.2f ms\n", got, bench_ms(CLOCK_MONOTONIC) - t0);
    osm_task_list_free(list, got);

    int waiting[] = {OSM_TASK_SUBMITTED, OSM_TASK_SCHEDULED};
    struct osm_task_filter fw = {.states = waiting, .n_states = 2, .after_seq = f.after_seq, .limit = 50};
    t0 = bench_ms(CLOCK_MONOTONIC);
    if (osm_store_query_tasks(st, &fw, &list, &got, &next, &err) != 0)
        return die("query", &err);
    printf("  query_tasks, a page of %zu waiting (2 states) from the middle: %.2f ms\n", got, bench_ms(CLOCK_MONOTONIC) - t0);
    osm_task_list_free(list, got);

    int running[] = {OSM_TASK_RUNNING};
    struct osm_task_filter fr = {.states = running, .n_states = 1, .limit = 50};
    t0 = bench_ms(CLOCK_MONOTONIC);
    if (osm_store_query_tasks(st, &fr, &list, &got, &next, &err) != 0)
        return die("query", &err);
    printf("  query_tasks, a page of the %zu running tasks: %.2f ms\n", got, bench_ms(CLOCK_MONOTONIC) - t0);
    osm_task_list_free(list, got);

    struct osm_task_counts c;
    t0 = bench_ms(CLOCK_MONOTONIC);
    if (osm_store_count_tasks(st, big.id, &c, &err) != 0)
        return die("count", &err);
    printf("  count_tasks of the job: %.2f ms (%lld waiting, %lld running, %lld succeeded)\n", bench_ms(CLOCK_MONOTONIC) - t0,
           (long long)c.by_state[OSM_TASK_SUBMITTED], (long long)c.by_state[OSM_TASK_RUNNING],
           (long long)c.by_state[OSM_TASK_SUCCEEDED]);

    struct osm_waiting_task *w;
    size_t nw;
    t0 = bench_ms(CLOCK_MONOTONIC);
    if (osm_store_list_waiting(st, &w, &nw, &err) != 0)
        return die("list_waiting", &err);
    printf("  list_waiting: %zu waiting tasks in %.1f ms\n", nw, bench_ms(CLOCK_MONOTONIC) - t0);

    const char **due = osm_xcalloc(200, sizeof *due);
    size_t n_due = 0;
    for (size_t i = 0; i < nw && n_due < 200; i++)
        if (w[i].job_id && strcmp(w[i].job_id, big.id) == 0)
            due[n_due++] = w[i].id;
    char claimed[200][40];
    size_t n_claimed;
    t0 = bench_ms(CLOCK_MONOTONIC);
    if (osm_store_claim_waiting(st, big.id, due, n_due, (int)(n_running + 50), "bench/boot:1", osm_store_now() + 300,
                                claimed, &n_claimed, &err) != 0)
        return die("claim_waiting", &err);
    printf("  claim_waiting: %zu of %zu candidates (limit %ld running) in %.2f ms\n", n_claimed, n_due,
           n_running + 50, bench_ms(CLOCK_MONOTONIC) - t0);
    free(due);
    osm_waiting_free(w, nw);
    free(ids);
    osm_job_free(&small);
    osm_job_free(&big);
    osm_store_close(st);
    return 0;
}
