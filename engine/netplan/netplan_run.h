/* netplan_run: what the Run of a verified plan does to each instance it
 * migrates, as data (the network-migration task's options are made of it;
 * docs/network-plans.md, "Run").
 *
 * For each migrating instance: the osmig instance it is ("instance"), the
 * local network of its vSwitch (the vSwitch's "bridge", else the VPC's), the
 * MAC the plan keeps (private or public, from the inventory), its VPC
 * address (the kept internal IP; or, when IPs are not kept, the vSwitch's
 * next free address: the first after the reserved first address and the
 * `used_ips` already taken, in the plan's order), the vSwitch's prefix and
 * gateway (its last address but two, one of the three a vSwitch reserves),
 * the peers to reach from inside (the gateway; with interconnection every
 * instance that stays in the classic network), and the whitelists to update
 * (the old internal IP, when it changes). Anything missing is an error
 * naming the instance and what it lacks. */
#ifndef OSM_NETPLAN_RUN_H
#define OSM_NETPLAN_RUN_H

#include <jansson.h>

#include "netplan.h"
#include "netplan_verify.h"

/* The task options of instance `i` (it must migrate) as a JSON object
 * (caller decrefs), or NULL with err set. */
json_t *osm_netplan_run_options(const struct osm_netplan *p, const struct osm_net_report *r, size_t i,
                                struct osm_err *err);

#endif
