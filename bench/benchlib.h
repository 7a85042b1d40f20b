/* benchlib.h: what the benchmark tools of bench/ share (header only, so a
 * tool stays one file plus this): a clock in milliseconds or seconds, the
 * order of doubles for medians, and the one way a tool gives up. */
#ifndef OSM_BENCHLIB_H
#define OSM_BENCHLIB_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Milliseconds on `clock`: CLOCK_MONOTONIC for wall time,
 * CLOCK_PROCESS_CPUTIME_ID for what the work costs on a shared machine. */
static inline double bench_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Seconds on `clock`, as bench_ms. */
static inline double bench_s(clockid_t clock)
{
    return bench_ms(clock) / 1e3;
}

/* qsort order of doubles. */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* "TOOL: WHAT" on stderr and exit `status` (2: usage, 1: the work failed). */
__attribute__((format(printf, 3, 4), noreturn)) static inline void bench_die(const char *tool, int status,
                                                                            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", tool);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(status);
}

#endif
