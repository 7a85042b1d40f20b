/* api_fill: fills a fleet store with N waiting tasks for bench/api.sh, in
 * jobs of 1,000 created with the store's create_job (one transaction each),
 * and writes their ids, one a line, to IDS_OUT.
 *
 *   api_fill LOCATION N IDS_OUT     LOCATION: a state directory or postgresql:// URL
 *
 * Every task is an os-migration of dir:/nonexistent/bench/iNNNNNNN to
 * alinux3 that may not start before a day from now, so a server only
 * describes them and its scheduler passes over them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "osm_buf.h"
#include "store.h"
#include "benchlib.h"

#define BATCH 1000

int main(int argc, char **argv)
{
    if (argc != 4)
        bench_die("api_fill", 2, "usage: api_fill LOCATION N IDS_OUT");
    long n = strtol(argv[2], NULL, 10);
    if (n <= 0)
        bench_die("api_fill", 2, "N must be a positive number");
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    if (osm_store_open_location(argv[1], &st, &err) != 0)
        bench_die("api_fill", 1, "%s", err.msg);
    FILE *ids = fopen(argv[3], "w");
    if (!ids)
        bench_die("api_fill", 1, "%s: %m", argv[3]);
    int64_t later = osm_store_now() + 86400;
    double t0 = bench_s(CLOCK_MONOTONIC);
    struct osm_task *tasks = osm_xcalloc(BATCH, sizeof *tasks);
    for (long done = 0; done < n;) {
        size_t b = (size_t)(n - done < BATCH ? n - done : BATCH);
        for (size_t i = 0; i < b; i++) {
            osm_task_init(&tasks[i]);
            snprintf(tasks[i].kind, sizeof tasks[i].kind, "%s", OSM_KIND_OS_MIGRATION);
            tasks[i].instance = osm_xasprintf("dir:/nonexistent/bench/i%07ld", done + (long)i);
            tasks[i].target = osm_xstrdup("alinux3");
            tasks[i].not_before = later;
        }
        struct osm_job job;
        osm_job_init(&job);
        job.name = osm_xasprintf("bench fill %ld", done / BATCH);
        if (osm_store_create_job(st, &job, tasks, b, &err) != 0)
            bench_die("api_fill", 1, "creating job %ld: %s", done / BATCH, err.msg);
        for (size_t i = 0; i < b; i++) {
            fprintf(ids, "%s\n", tasks[i].id);
            osm_task_free(&tasks[i]);
        }
        osm_job_free(&job);
        done += (long)b;
    }
    double dt = bench_s(CLOCK_MONOTONIC) - t0;
    free(tasks);
    fclose(ids);
    osm_store_close(st);
    printf("filled %ld tasks in %.2f s (%.0f tasks/s)\n", n, dt, (double)n / dt);
    return 0;
}
