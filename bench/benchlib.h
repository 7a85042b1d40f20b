/* benchlib.h: what the benchmark tools of bench/ share (header only, so a
 * tool stays one file plus this): a clock in milliseconds and the order of
 * doubles for medians. */
#ifndef OSM_BENCHLIB_H
#define OSM_BENCHLIB_H

#include <time.h>

/* Milliseconds on `clock`: CLOCK_MONOTONIC for wall time,
 * CLOCK_PROCESS_CPUTIME_ID for what the work costs on a shared machine. */
static inline double bench_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* qsort order of doubles. */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
