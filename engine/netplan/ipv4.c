/* ipv4.c: see ipv4.h. */
#include "ipv4.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int osm_ipv4_parse(const char *s, uint32_t *out)
{
    struct in_addr a;
    /* inet_pton takes exactly four decimal parts, unlike inet_aton */
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

int osm_cidr_parse(const char *s, uint32_t *net, int *prefix)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash - s > 15 || !slash[1] || strlen(slash + 1) > 2 || strspn(slash + 1, "0123456789") != strlen(slash + 1))
        return -1;
    char addr[16];
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    int p = atoi(slash + 1);
    uint32_t ip;
    if (p > 32 || osm_ipv4_parse(addr, &ip) != 0 || (ip & ~osm_cidr_mask(p)) != 0)
        return -1;
    *net = ip;
    *prefix = p;
    return 0;
}

const char *osm_ipv4_str(uint32_t ip, char *buf)
{
    snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    return buf;
}

const char *osm_cidr_str(uint32_t net, int prefix, char *buf)
{
    char a[16];
    snprintf(buf, 19, "%s/%d", osm_ipv4_str(net, a), prefix);
    return buf;
}
