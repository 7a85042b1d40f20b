/* vswitch_case.c CASE: run one vSwitch planning case (tests/network/vswitch/
 * NAME.case) against engine/netplan/vswitch_plan.c.
 *
 * Keys (tests/README.md):
 *
 *   vpc: CIDR                 the VPC's block (default 10.0.0.0/8)
 *   taken: CIDR               an existing vSwitch of the VPC
 *   ip: ZONE IP...            kept internal IPs of instances in ZONE
 *   avoid: IP...              addresses of instances that stay in the classic network
 *   range: ZONE FIRST COUNT [STEP]   COUNT IPs from FIRST, STEP apart (default 1)
 *   -- checks (the plan is made at the first one) --
 *   vswitches: N              the plan has N vSwitches
 *   vswitch: ZONE CIDR N      one of them is CIDR, in ZONE, holding N IPs
 *   uncovered: IP... | none   exactly these IPs have no vSwitch
 *   uncovered-count: N        N IPs have no vSwitch
 *   valid: yes                checked apart from the planner: every vSwitch is /16../29
 *                             inside the VPC, overlaps no other nor a taken block, holds one
 *                             zone, no avoided address, no kept IP on its first or last three
 *                             addresses, fewer IPs than its size - 4; every IP is in exactly
 *                             one vSwitch or uncovered
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casefile.h"
#include "ipv4.h"
#include "osm_buf.h"
#include "vswitch_plan.h"

static struct casefile cf;
static struct osm_vsw_point *pts;
static size_t n_pts, cap_pts;
static struct osm_vsw_block *taken;
static size_t n_taken;
static char *zones[16];
static size_t n_zones;
static struct osm_vsw_result res;
static int planned;

static void cleanup(void)
{
    free(pts);
    free(taken);
    for (size_t i = 0; i < n_zones; i++)
        free(zones[i]);
    osm_vsw_result_free(&res);
    case_close(&cf);
}

static uint32_t zone_of(const struct case_line *l, const char *name)
{
    for (size_t i = 0; i < n_zones; i++)
        if (strcmp(zones[i], name) == 0)
            return (uint32_t)i;
    if (n_zones == 16)
        case_bad(&cf, l->lineno, "more than 16 zones");
    zones[n_zones] = osm_xstrdup(name);
    return (uint32_t)n_zones++;
}

static uint32_t ip_of(const struct case_line *l, const char *text)
{
    uint32_t ip;
    if (osm_ipv4_parse(text, &ip) != 0)
        case_bad(&cf, l->lineno, "'%s' is not an IPv4 address", text);
    return ip;
}

static void push(uint32_t ip, uint32_t zone)
{
    if (n_pts == cap_pts)
        pts = osm_xrealloc(pts, (cap_pts = cap_pts ? 2 * cap_pts : 64) * sizeof *pts);
    pts[n_pts] = (struct osm_vsw_point){ip, zone, (uint32_t)n_pts};
    n_pts++;
}

static int by_net(const void *a, const void *b)
{
    const struct osm_vsw_block *x = a, *y = b;
    return x->net < y->net ? -1 : x->net > y->net;
}

static int by_ip(const void *a, const void *b)
{
    const struct osm_vsw_point *x = a, *y = b;
    return x->ip < y->ip ? -1 : x->ip > y->ip;
}

/* The planner's result, checked by rules written apart from it. */
static int check_valid(const struct case_line *l, uint32_t vpc, int vpc_prefix)
{
    char b[20], c[20];
    size_t nb = res.n_blocks + n_taken;
    struct osm_vsw_block *all = osm_xcalloc(nb + 1, sizeof *all);
    if (res.n_blocks)
        memcpy(all, res.blocks, res.n_blocks * sizeof *all);
    if (n_taken)
        memcpy(all + res.n_blocks, taken, n_taken * sizeof *taken);
    qsort(all, nb, sizeof *all, by_net);
    int ok = 1;
    for (size_t i = 1; i < nb && ok; i++) {
        uint64_t end = (uint64_t)all[i - 1].net + osm_cidr_size(all[i - 1].prefix);
        ok = case_check(&cf, l->lineno, end <= all[i].net, "%s overlaps %s", osm_cidr_str(all[i - 1].net, all[i - 1].prefix, b),
                        osm_cidr_str(all[i].net, all[i].prefix, c));
    }
    free(all);
    struct osm_vsw_point *s = osm_xmalloc((n_pts + 1) * sizeof *s);
    if (n_pts)
        memcpy(s, pts, n_pts * sizeof *s);
    qsort(s, n_pts, sizeof *s, by_ip);
    size_t covered = 0;
    for (size_t k = 0; k < res.n_blocks && ok; k++) {
        const struct osm_vsw_block *bl = &res.blocks[k];
        uint64_t size = osm_cidr_size(bl->prefix);
        osm_cidr_str(bl->net, bl->prefix, b);
        ok = case_check(&cf, l->lineno, bl->prefix >= 16 && bl->prefix <= 29, "%s: size", b) &&
             case_check(&cf, l->lineno, bl->prefix >= vpc_prefix && osm_cidr_contains(vpc, vpc_prefix, bl->net),
                        "%s: not inside the VPC", b);
        /* the points inside, by binary search for the first */
        size_t lo = 0, hi = n_pts;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (s[mid].ip < bl->net)
                lo = mid + 1;
            else
                hi = mid;
        }
        uint64_t inside = 0;
        for (size_t i = lo; ok && i < n_pts && s[i].ip - (uint64_t)bl->net < size && s[i].ip >= bl->net; i++) {
            uint64_t off = s[i].ip - (uint64_t)bl->net;
            ok = case_check(&cf, l->lineno, s[i].zone != OSM_VSW_AVOID, "%s holds an avoided address", b) &&
                 case_check(&cf, l->lineno, s[i].zone == bl->zone, "%s holds two zones", b) &&
                 case_check(&cf, l->lineno, off != 0 && off < size - 3, "%s: a kept IP on a reserved address", b);
            inside++;
        }
        ok = ok && case_check(&cf, l->lineno, inside == bl->n_points, "%s: says %u IPs, holds %llu", b, bl->n_points,
                              (unsigned long long)inside) &&
             case_check(&cf, l->lineno, inside < size - 4, "%s: %llu IPs, not fewer than its free addresses", b,
                        (unsigned long long)inside);
        covered += inside;
    }
    size_t ours = 0;
    for (size_t i = 0; i < n_pts; i++)
        ours += s[i].zone != OSM_VSW_AVOID;
    free(s);
    return ok && case_check(&cf, l->lineno, covered + res.n_uncovered == ours,
                            "%zu IPs in vSwitches + %zu uncovered, of %zu", covered, res.n_uncovered, ours);
}

int main(int argc, char **argv)
{
    case_start(&cf, argc, argv, cleanup);
    uint32_t vpc = 10u << 24;
    int vpc_prefix = 8;
    const struct case_line *l;
    char *w[4096];
    while ((l = case_next(&cf))) {
        char *v = osm_xstrdup(l->value);
        size_t n = case_words(&cf, l->lineno, v, w, 4096);
        if (!planned && (strcmp(l->key, "vswitches") == 0 || strcmp(l->key, "vswitch") == 0 ||
                         strcmp(l->key, "uncovered") == 0 || strcmp(l->key, "uncovered-count") == 0 ||
                         strcmp(l->key, "valid") == 0)) {
            struct osm_vsw_limits lim = {vpc, vpc_prefix, 16, 29, taken, n_taken};
            osm_vsw_plan(&lim, pts, n_pts, &res);
            planned = 1;
        }
        if (strcmp(l->key, "vpc") == 0 && n == 1) {
            if (osm_cidr_parse(w[0], &vpc, &vpc_prefix) != 0)
                case_bad(&cf, l->lineno, "'%s' is not a CIDR block", w[0]);
        } else if (strcmp(l->key, "taken") == 0 && n == 1) {
            taken = osm_xrealloc(taken, (n_taken + 1) * sizeof *taken);
            if (osm_cidr_parse(w[0], &taken[n_taken].net, &taken[n_taken].prefix) != 0)
                case_bad(&cf, l->lineno, "'%s' is not a CIDR block", w[0]);
            n_taken++;
        } else if (strcmp(l->key, "ip") == 0 && n >= 2) {
            uint32_t z = zone_of(l, w[0]);
            for (size_t i = 1; i < n; i++)
                push(ip_of(l, w[i]), z);
        } else if (strcmp(l->key, "avoid") == 0 && n >= 1) {
            for (size_t i = 0; i < n; i++)
                push(ip_of(l, w[i]), OSM_VSW_AVOID);
        } else if (strcmp(l->key, "range") == 0 && (n == 3 || n == 4)) {
            uint32_t z = zone_of(l, w[0]), ip = ip_of(l, w[1]);
            long long count = case_int(&cf, l->lineno, w[2]), step = n == 4 ? case_int(&cf, l->lineno, w[3]) : 1;
            for (long long i = 0; i < count; i++)
                push(ip + (uint32_t)(i * step), z);
        } else if (strcmp(l->key, "vswitches") == 0 && n == 1) {
            long long want = case_int(&cf, l->lineno, w[0]);
            case_check(&cf, l->lineno, (long long)res.n_blocks == want, "%zu vSwitches, %lld expected", res.n_blocks,
                       want);
        } else if (strcmp(l->key, "vswitch") == 0 && n == 3) {
            uint32_t z = zone_of(l, w[0]), net;
            int prefix;
            long long count = case_int(&cf, l->lineno, w[2]);
            if (osm_cidr_parse(w[1], &net, &prefix) != 0)
                case_bad(&cf, l->lineno, "'%s' is not a CIDR block", w[1]);
            int found = 0;
            for (size_t k = 0; k < res.n_blocks; k++)
                if (res.blocks[k].net == net && res.blocks[k].prefix == prefix)
                    found = case_check(&cf, l->lineno, res.blocks[k].zone == z && res.blocks[k].n_points == count,
                                       "%s holds %u IPs of zone %s", w[1], res.blocks[k].n_points,
                                       res.blocks[k].zone < n_zones ? zones[res.blocks[k].zone] : "?") + 1;
            if (!found) {
                struct osm_buf got;
                osm_buf_init(&got);
                char b[20];
                for (size_t k = 0; k < res.n_blocks && k < 20; k++)
                    osm_buf_addf(&got, " %s", osm_cidr_str(res.blocks[k].net, res.blocks[k].prefix, b));
                case_check(&cf, l->lineno, 0, "no vSwitch %s; planned:%s", w[1], got.s);
                osm_buf_free(&got);
            }
        } else if (strcmp(l->key, "uncovered") == 0 && n >= 1) {
            struct osm_buf got, want;
            osm_buf_init(&got);
            osm_buf_init(&want);
            char b[16];
            for (size_t k = 0; k < res.n_uncovered; k++)
                osm_buf_addf(&got, "%s%s", k ? " " : "", osm_ipv4_str(res.uncovered[k].ip, b));
            for (size_t i = 0; i < n && strcmp(w[0], "none") != 0; i++)
                osm_buf_addf(&want, "%s%s", i ? " " : "", w[i]);
            case_check_str(&cf, l->lineno, "uncovered", want.s, got.s);
            osm_buf_free(&got);
            osm_buf_free(&want);
        } else if (strcmp(l->key, "uncovered-count") == 0 && n == 1) {
            long long want = case_int(&cf, l->lineno, w[0]);
            case_check(&cf, l->lineno, (long long)res.n_uncovered == want, "%zu IPs uncovered, %lld expected",
                       res.n_uncovered, want);
        } else if (strcmp(l->key, "valid") == 0 && n == 1 && strcmp(w[0], "yes") == 0) {
            check_valid(l, vpc, vpc_prefix);
        } else {
            case_bad(&cf, l->lineno, "unknown key or wrong arguments: %s: %s", l->key, l->value);
        }
        free(v);
    }
    return case_finish(&cf);
}
