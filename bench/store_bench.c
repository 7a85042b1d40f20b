/* store_bench.c: what one runner record costs in the SQLite task store.
 *
 *   store_bench DIR N
 *
 * Creates a store in DIR with one task and writes N records the way the
 * runner does (task row update + history event + journal entry, one
 * transaction each, synchronous=FULL), then lists the history. Prints
 * records/s. bench/store.sh compares it with the sqlite3 shell running the
 * same statements on a database with the same settings (the floor). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "osm_buf.h"
#include "store.h"
#include "benchlib.h"

int main(int argc, char **argv)
{
    if (argc != 3)
        bench_die("store_bench", 2, "usage: store_bench DIR N");
    long n = strtol(argv[2], NULL, 10);
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_open(argv[1], &st, &err) != 0)
        bench_die("store_bench", 1, "%s", err.msg);
    struct osm_task t;
    osm_task_init(&t);
    strcpy(t.kind, OSM_KIND_OS_MIGRATION);
    t.instance = osm_xstrdup("dir:/srv/bench");
    if (osm_store_create_task(st, &t, &err) != 0)
        bench_die("store_bench", 1, "%s", err.msg);
    t.state = OSM_TASK_RUNNING;
    double t0 = bench_s(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++) {
        struct osm_journal_entry j = {.step_index = (int)(i % 7), .step = "stage", .what = i % 2 ? "outcome" : "intent",
                                      .result = i % 2 ? "ok" : NULL};
        t.step = (int)(i / 2);
        t.attempted = !(i % 2);
        struct osm_task_change ch = {.task = &t, .expect_state = i ? OSM_TASK_RUNNING : OSM_TASK_SUBMITTED,
                                     .expect_rev = -1, .event_type = "step.start", .event_message = "stage",
                                     .journal = &j};
        if (osm_store_commit(st, &ch, &err) != 0)
            bench_die("store_bench", 1, "record %ld: %s", i, err.msg);
    }
    double t1 = bench_s(CLOCK_MONOTONIC);
    struct osm_task_event *ev;
    size_t nev;
    if (osm_store_list_events(st, t.id, &ev, &nev, &err) != 0)
        return 1;
    double t2 = bench_s(CLOCK_MONOTONIC);
    printf("osmig store: %ld records in %.3f s = %.0f records/s; history of %zu events read in %.1f ms\n", n, t1 - t0,
           (double)n / (t1 - t0), nev, (t2 - t1) * 1e3);
    osm_task_events_free(ev, nev);
    osm_task_free(&t);
    osm_store_close(st);
    return 0;
}
