/* vswitch_plan: the fewest vSwitches that hold the internal IPs a network
 * migration keeps (classic-network-to-vpc.txt: "Retain Internal IP Address"
 * with the "Automatic" vSwitch creation policy).
 *
 * A vSwitch is a CIDR block of one zone, /16 to /29 (the limits are
 * parameters), inside the VPC's block, overlapping no other vSwitch (nor
 * any block in `taken`, the VPC's existing vSwitches). It reserves its first
 * address and its last three; it must have more free addresses than the
 * instances placed in it (the seed's "The number of private IP addresses
 * must be greater than the number of instances to be migrated"), so a block
 * of S addresses holds at most S - 5 kept IPs. A block may not hold an
 * `avoid` address (an instance that stays in the classic network keeps it).
 *
 * Aligned blocks form a binary tree over the address space, so the fewest
 * blocks that cover the points are found top down: a subtree whose whole
 * block is a valid vSwitch costs one (nothing is cheaper), otherwise its two
 * halves are solved apart. Each level reads each point once: O(32 n) after
 * the sort. A point no valid block can hold is returned as uncovered. */
#ifndef OSM_VSWITCH_PLAN_H
#define OSM_VSWITCH_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define OSM_VSW_AVOID UINT32_MAX /* zone of a point no vSwitch may hold */

struct osm_vsw_point {
    uint32_t ip;
    uint32_t zone;      /* the caller's zone index, or OSM_VSW_AVOID */
    uint32_t tag;       /* the caller's (an instance index); kept with the point */
};

struct osm_vsw_block {
    uint32_t net;
    int prefix;
    uint32_t zone;
    uint32_t n_points;  /* kept IPs inside */
};

struct osm_vsw_limits {
    uint32_t vpc_net;
    int vpc_prefix;
    int min_prefix, max_prefix;          /* 16, 29 */
    const struct osm_vsw_block *taken;   /* existing blocks (net, prefix used) */
    size_t n_taken;
};

struct osm_vsw_result {
    struct osm_vsw_block *blocks;        /* in address order */
    size_t n_blocks;
    struct osm_vsw_point *uncovered;     /* in address order */
    size_t n_uncovered;
};

/* Plan vSwitches for `pts` (not modified; duplicates count as two
 * instances). Always succeeds; free the result with osm_vsw_result_free. */
void osm_vsw_plan(const struct osm_vsw_limits *lim, const struct osm_vsw_point *pts, size_t n,
                  struct osm_vsw_result *out);
void osm_vsw_result_free(struct osm_vsw_result *r);

/* Why a block cannot be a vSwitch holding these points (NULL: it can):
 * size, VPC, reserved address, zones, capacity, taken, avoided. Points must
 * be inside the block. For the planner and for checking manual vSwitches. */
const char *osm_vsw_block_fault(const struct osm_vsw_limits *lim, uint32_t net, int prefix,
                                const struct osm_vsw_point *pts, size_t n);

#endif
