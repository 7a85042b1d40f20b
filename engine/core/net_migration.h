/* net_migration: the network-migration task kind, one task per instance of
 * a network migration plan (classic network to a VPC, after
 * ../shared/seeds/classic-network-to-vpc.txt; docs/network-plans.md, "Run").
 * `osmig network run PLAN` makes the tasks; the plan itself is read there
 * (engine/netplan is not below this layer): a task's options carry what it
 * does to its instance (netplan_run.h): {"network", "mac", "ip", "prefix",
 * "gateway", "old_ip", "peers", "classic_peers", "ifname"?, ...}.
 *
 *   precheck  the provider can stop, start, move a NIC, run and copy; 500 MiB
 *             free on the system disk; the guest's address before (a note)
 *   snapshot  the generic set of every disk
 *   stop      a clean power-off
 *   move      the NIC to the VPC's network with the plan's MAC (the old
 *             network and MAC noted for the rollback)
 *   start     the instance again, on the VPC's network
 *   fixup     inside the guest (run/copy only): its interface file and live
 *             address (the IP kept or newly assigned, the vSwitch's gateway),
 *             /etc/hosts when the private IP changed, /etc/fstab xvd* -> vd*
 *   verify    from inside: the address, MAC and default route, every peer
 *             answers; then the whitelists to update (old IPs) on the task
 *   rollback  the set restored on every disk, the NIC back on its old
 *             network with its old MAC, started. */
#ifndef OSM_NET_MIGRATION_H
#define OSM_NET_MIGRATION_H

#include "kind.h"

#define OSM_KIND_NETWORK_MIGRATION "network-migration"

extern const struct osm_task_kind osm_net_migration_kind;

#endif
