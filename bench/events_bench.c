/* events_bench: load a package-events file and replay it over an installed
 * package list, timing both; prints figures, asserts nothing.
 *
 *   events_bench EVENTS.json PKGLIST SRC DST ARCH [RUNS] [--dump]
 *
 * PKGLIST: one package a line, the name in the second tab-separated column
 * (the realdata pkglists/NAME.tsv layout) or alone on the line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "events.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "benchlib.h"

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s EVENTS.json PKGLIST SRC DST ARCH [RUNS] [--dump]\n", argv[0]);
        return 2;
    }
    int runs = argc > 6 && strcmp(argv[6], "--dump") != 0 ? atoi(argv[6]) : 5;
    int dump = strcmp(argv[argc - 1], "--dump") == 0;
    int sma, smi, dma, dmi;
    if (runs < 1 || sscanf(argv[3], "%d.%d", &sma, &smi) != 2 || sscanf(argv[4], "%d.%d", &dma, &dmi) != 2) {
        fprintf(stderr, "bad RUNS, SRC or DST\n");
        return 2;
    }
    struct osm_err err = OSM_ERR_INIT;
    struct osm_buf list;
    osm_buf_init(&list);
    if (osm_read_file(argv[2], &list, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const char **names = NULL;
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(list.s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        char *name = tab ? tab + 1 : line;
        char *end = strchr(name, '\t');
        if (end)
            *end = '\0';
        names = osm_xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = name;
    }

    double *load = osm_xcalloc((size_t)runs, sizeof *load), *replay = osm_xcalloc((size_t)runs, sizeof *replay);
    size_t n_events = 0, n_changes = 0;
    for (int r = 0; r < runs; r++) {
        struct osm_eventset set = {0};
        struct osm_event_result res = {0};
        /* CPU time: what the work costs on a shared machine */
        double t0 = bench_ms(CLOCK_PROCESS_CPUTIME_ID);
        if (osm_events_load_file(&set, argv[1], &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double t1 = bench_ms(CLOCK_PROCESS_CPUTIME_ID);
        if (osm_events_apply(&set, names, n, sma, smi, dma, dmi, argv[5], &res, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double t2 = bench_ms(CLOCK_PROCESS_CPUTIME_ID);
        load[r] = t1 - t0;
        replay[r] = t2 - t1;
        n_events = set.n;
        n_changes = res.n;
        if (dump && r == runs - 1)
            for (size_t i = 0; i < res.n; i++) {
                static const char *const kinds[] = {"REMOVE", "INSTALL", "DEPRECATED"};
                printf("%s %s [%s] %s %s\n", kinds[res.changes[i].kind], res.changes[i].name,
                       res.changes[i].related ? res.changes[i].related : "", res.changes[i].event->origin,
                       osm_event_action_name(res.changes[i].event->action));
            }
        osm_event_result_free(&res);
        osm_eventset_free(&set);
    }
    qsort(load, (size_t)runs, sizeof *load, bench_cmp_double);
    qsort(replay, (size_t)runs, sizeof *replay, bench_cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr,
            "events_bench: %zu events, %zu installed, %zu changes; median of %d runs (CPU time): load %.1f ms, "
            "apply %.2f ms, total %.1f ms; peak RSS %.1f MiB\n",
            n_events, n, n_changes, runs, load[runs / 2], replay[runs / 2], load[runs / 2] + replay[runs / 2],
            ru.ru_maxrss / 1024.0);
    free(load);
    free(replay);
    free(names);
    osm_buf_free(&list);
    return 0;
}
