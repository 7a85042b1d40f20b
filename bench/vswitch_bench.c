/* vswitch_bench [N] [RUNS]: the vSwitch planner (engine/netplan/
 * vswitch_plan.c) on N kept internal IPs (default 10,000) in three layouts,
 * against a simple baseline: one /24 per distinct /24 of the IPs (greedy),
 * which ignores reserved addresses, zones and capacity. Prints for each
 * layout the vSwitch counts, what each leaves broken, and the median time of
 * RUNS runs (default 9), the two taking turns. Run by bench/vswitch-plan.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipv4.h"
#include "vswitch_plan.h"
#include "benchlib.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static int cmp_u(const void *a, const void *b)
{
    const struct osm_vsw_point *x = a, *y = b;
    return x->ip < y->ip ? -1 : x->ip > y->ip;
}

struct baseline {
    size_t n24, reserved, mixed;
};

/* One /24 per distinct /24: count them, the kept IPs they would reserve, and
 * the /24s that hold two zones. */
static void baseline(const struct osm_vsw_point *pts, size_t n, struct baseline *b)
{
    struct osm_vsw_point *s = malloc((n + 1) * sizeof *s);
    memcpy(s, pts, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_u);
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        int two_zones = 0;
        for (; j < n && (s[j].ip >> 8) == (s[i].ip >> 8); j++) {
            uint32_t host = s[j].ip & 255;
            b->reserved += host == 0 || host >= 253;
            two_zones |= s[j].zone != s[i].zone;
        }
        b->n24++;
        b->mixed += two_zones;
        i = j;
    }
    free(s);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    int runs = argc > 2 ? atoi(argv[2]) : 9;
    if (n == 0 || runs < 1)
        return 2;
    struct osm_vsw_point *pts = malloc(n * sizeof *pts);
    const char *layouts[] = {"dense", "racks", "scattered"};
    printf("%-10s %8s | %-34s | %-48s\n", "layout", "IPs", "osmig: vSwitches, uncovered, median",
           "baseline /24 each: vSwitches, reserved IPs, mixed");
    for (int L = 0; L < 3; L++) {
        for (size_t i = 0; i < n; i++) {
            uint32_t ip, zone;
            if (L == 0) { /* consecutive from 10.3.0.1, one zone */
                ip = (10u << 24 | 3u << 16) + 1 + (uint32_t)i;
                zone = 0;
            } else if (L == 1) { /* 50 racks: a /22 each, 2 zones by rack */
                uint32_t rack = (uint32_t)(i % 50);
                ip = (10u << 24) | ((rack * 977u) % 4096u) << 10 | (1 + next() % 1000);
                zone = rack & 1;
            } else { /* anywhere in 10.0.0.0/8, 3 zones */
                ip = (10u << 24) | (next() & 0xffffff);
                zone = next() % 3;
            }
            pts[i] = (struct osm_vsw_point){ip, zone, (uint32_t)i};
        }
        double *ours = malloc(runs * sizeof *ours), *theirs = malloc(runs * sizeof *theirs);
        struct osm_vsw_limits lim = {10u << 24, 8, 16, 29, NULL, 0};
        struct osm_vsw_result res = {0};
        struct baseline b;
        for (int r = 0; r < runs; r++) {
            double t0 = bench_ms(CLOCK_MONOTONIC);
            baseline(pts, n, &b);
            theirs[r] = bench_ms(CLOCK_MONOTONIC) - t0;
            osm_vsw_result_free(&res);
            t0 = bench_ms(CLOCK_MONOTONIC);
            osm_vsw_plan(&lim, pts, n, &res);
            ours[r] = bench_ms(CLOCK_MONOTONIC) - t0;
        }
        qsort(ours, runs, sizeof *ours, bench_cmp_double);
        qsort(theirs, runs, sizeof *theirs, bench_cmp_double);
        char a[64], c[64];
        snprintf(a, sizeof a, "%zu, %zu, %.2f ms", res.n_blocks, res.n_uncovered, ours[runs / 2]);
        snprintf(c, sizeof c, "%zu, %zu, %zu, %.2f ms", b.n24, b.reserved, b.mixed, theirs[runs / 2]);
        printf("%-10s %8zu | %-34s | %-48s\n", layouts[L], n, a, c);
        osm_vsw_result_free(&res);
        free(ours);
        free(theirs);
    }
    free(pts);
    return 0;
}
