/* vswitch_plan.c: see vswitch_plan.h. */
#include "vswitch_plan.h"

#include <stdlib.h>
#include <string.h>

#include "ipv4.h"
#include "osm_buf.h"

static int by_ip(const void *a, const void *b)
{
    const struct osm_vsw_point *x = a, *y = b;
    if (x->ip != y->ip)
        return x->ip < y->ip ? -1 : 1;
    return x->tag < y->tag ? -1 : x->tag > y->tag;
}

const char *osm_vsw_block_fault(const struct osm_vsw_limits *lim, uint32_t net, int prefix,
                                const struct osm_vsw_point *pts, size_t n)
{
    if (prefix < lim->min_prefix || prefix > lim->max_prefix)
        return "its size is outside the allowed range";
    if (prefix < lim->vpc_prefix || !osm_cidr_contains(lim->vpc_net, lim->vpc_prefix, net))
        return "it is not inside the VPC's block";
    for (size_t i = 0; i < lim->n_taken; i++)
        if (osm_cidr_overlap(net, prefix, lim->taken[i].net, lim->taken[i].prefix))
            return "it overlaps an existing vSwitch";
    uint64_t size = osm_cidr_size(prefix), kept = 0;
    uint32_t zone = OSM_VSW_AVOID;
    for (size_t i = 0; i < n; i++) {
        if (pts[i].zone == OSM_VSW_AVOID)
            return "it holds the address of an instance that stays in the classic network";
        uint64_t off = pts[i].ip - net;
        if (off == 0 || off >= size - 3)
            return "a kept IP is its first address or one of its last three, which a vSwitch reserves";
        if (zone != OSM_VSW_AVOID && pts[i].zone != zone)
            return "it holds instances of two zones";
        zone = pts[i].zone;
        kept++;
    }
    if (kept >= size - 4)
        return "it would not have more free private IPs than instances";
    return NULL;
}

struct planner {
    const struct osm_vsw_limits *lim;
    const struct osm_vsw_point *p;
    struct osm_vsw_result *out;
    size_t cap_blocks, cap_unc;
};

static void add_block(struct planner *pl, uint32_t net, int prefix, size_t lo, size_t hi)
{
    struct osm_vsw_result *r = pl->out;
    if (r->n_blocks == pl->cap_blocks) {
        pl->cap_blocks = pl->cap_blocks ? 2 * pl->cap_blocks : 16;
        r->blocks = osm_xrealloc(r->blocks, pl->cap_blocks * sizeof *r->blocks);
    }
    r->blocks[r->n_blocks++] = (struct osm_vsw_block){net, prefix, pl->p[lo].zone, (uint32_t)(hi - lo)};
}

static void add_uncovered(struct planner *pl, size_t lo, size_t hi)
{
    struct osm_vsw_result *r = pl->out;
    for (size_t i = lo; i < hi; i++) {
        if (pl->p[i].zone == OSM_VSW_AVOID)
            continue; /* not ours to place */
        if (r->n_uncovered == pl->cap_unc) {
            pl->cap_unc = pl->cap_unc ? 2 * pl->cap_unc : 16;
            r->uncovered = osm_xrealloc(r->uncovered, pl->cap_unc * sizeof *r->uncovered);
        }
        r->uncovered[r->n_uncovered++] = pl->p[i];
    }
}

/* Points [lo, hi) lie in net/prefix. */
static void solve(struct planner *pl, uint32_t net, int prefix, size_t lo, size_t hi)
{
    if (lo == hi)
        return;
    int only_avoid = 1;
    for (size_t i = lo; i < hi && only_avoid; i++)
        only_avoid = pl->p[i].zone == OSM_VSW_AVOID;
    if (only_avoid)
        return;
    if (prefix >= pl->lim->min_prefix && !osm_vsw_block_fault(pl->lim, net, prefix, pl->p + lo, hi - lo)) {
        add_block(pl, net, prefix, lo, hi);
        return;
    }
    if (prefix >= pl->lim->max_prefix) {
        add_uncovered(pl, lo, hi);
        return;
    }
    uint32_t upper = net | ((uint32_t)1 << (31 - prefix));
    size_t mid = lo;
    while (mid < hi && pl->p[mid].ip < upper)
        mid++;
    solve(pl, net, prefix + 1, lo, mid);
    solve(pl, upper, prefix + 1, mid, hi);
}

void osm_vsw_plan(const struct osm_vsw_limits *lim, const struct osm_vsw_point *pts, size_t n,
                  struct osm_vsw_result *out)
{
    memset(out, 0, sizeof *out);
    struct osm_vsw_point *p = osm_xmalloc((n ? n : 1) * sizeof *p);
    size_t k = 0, j = 0;
    struct planner pl = {.lim = lim, .out = out};
    /* points outside the VPC go straight to uncovered, after the sort */
    if (n)
        memcpy(p, pts, n * sizeof *p);
    qsort(p, n, sizeof *p, by_ip);
    for (size_t i = 0; i < n; i++)
        if (osm_cidr_contains(lim->vpc_net, lim->vpc_prefix, p[i].ip))
            p[k++] = p[i];
    struct osm_vsw_point *outside = osm_xmalloc((n - k + 1) * sizeof *outside);
    for (size_t i = 0; i < n; i++)
        if (!osm_cidr_contains(lim->vpc_net, lim->vpc_prefix, pts[i].ip))
            outside[j++] = pts[i];
    pl.p = p;
    solve(&pl, lim->vpc_net, lim->vpc_prefix, 0, k);
    pl.p = outside;
    qsort(outside, j, sizeof *outside, by_ip);
    add_uncovered(&pl, 0, j);
    if (j && out->n_uncovered)
        qsort(out->uncovered, out->n_uncovered, sizeof *out->uncovered, by_ip);
    free(outside);
    free(p);
}

void osm_vsw_result_free(struct osm_vsw_result *r)
{
    free(r->blocks);
    free(r->uncovered);
    memset(r, 0, sizeof *r);
}
