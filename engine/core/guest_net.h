/* guest_net: an instance's network as its own system sees it, read and
 * changed only through the provider's run (and copy) doors, so that it
 * works on any provider with an agent: the IPv4 address, prefix and MAC of
 * one interface, the default route's gateway, reaching an address (ping).
 * Guest programs are named, not pathed (ip, ping, cat: the agent searches
 * the guest's PATH); their arguments are argv, never a shell string. */
#ifndef OSM_GUEST_NET_H
#define OSM_GUEST_NET_H

#include "osm_buf.h"
#include "osm_error.h"
#include "provider.h"

struct osm_guest_net {
    char ip[20];      /* "" none */
    int prefix;
    char mac[20];     /* lower case; "" unknown */
    char gateway[20]; /* the default route's; "" none */
};

/* Run argv in the instance; 0 when it exited 0 (its output in `out`, may be
 * NULL), else -1 with err naming the command, its status and output. */
int osm_guest_cmd(struct osm_instance *inst, const char *const argv[], struct osm_buf *out, struct osm_err *err);
int osm_guest_net_read(struct osm_instance *inst, const char *ifname, struct osm_guest_net *out, struct osm_err *err);
/* 0 when `ip` answers ping from inside the instance (3 tries). */
int osm_guest_ping(struct osm_instance *inst, const char *ip, struct osm_err *err);

#endif
