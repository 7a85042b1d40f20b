/* ipv4: IPv4 addresses and CIDR blocks as host-order integers, for the
 * network plans. Parsing is strict: a dotted quad ("10.1.2.3") and a block
 * whose host bits are zero ("10.1.0.0/16"); anything else is refused. */
#ifndef OSM_IPV4_H
#define OSM_IPV4_H

#include <stdint.h>

/* 0, or -1 when `s` is not a dotted-quad address. */
int osm_ipv4_parse(const char *s, uint32_t *out);
/* 0, or -1 when `s` is not ADDRESS/PREFIX (0..32) with zero host bits. */
int osm_cidr_parse(const char *s, uint32_t *net, int *prefix);
/* "10.1.2.3" into buf (>= 16); returns buf. */
const char *osm_ipv4_str(uint32_t ip, char *buf);
/* "10.1.0.0/16" into buf (>= 19); returns buf. */
const char *osm_cidr_str(uint32_t net, int prefix, char *buf);

static inline uint64_t osm_cidr_size(int prefix)
{
    return (uint64_t)1 << (32 - prefix);
}
static inline uint32_t osm_cidr_mask(int prefix)
{
    return prefix == 0 ? 0 : (uint32_t)(0xffffffffu << (32 - prefix));
}
static inline int osm_cidr_contains(uint32_t net, int prefix, uint32_t ip)
{
    return (ip & osm_cidr_mask(prefix)) == net;
}
/* Two blocks share an address. */
static inline int osm_cidr_overlap(uint32_t a, int pa, uint32_t b, int pb)
{
    int p = pa < pb ? pa : pb;
    return (a & osm_cidr_mask(p)) == (b & osm_cidr_mask(p));
}

#endif
