/* netplan: a network migration plan (classic network to a VPC, after
 * ../shared/seeds/classic-network-to-vpc.txt), read from a JSON plan file
 * and the inventory file it names (docs/network-plans.md has the format).
 *
 * Loading checks form only: types, unknown members, addresses, blocks and
 * times that parse, instance ids listed once; an error names the file and
 * the member ("plan.json: instances[2].time: ..."). Whether the plan meets
 * the seed's requirements is verify's question (netplan_verify.h), so that
 * every unmet requirement is reported at once. Unknown facts are -1. */
#ifndef OSM_NETPLAN_H
#define OSM_NETPLAN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "osm_error.h"

struct osm_net_instance {
    char *id;
    int stays;                   /* role "stay": remains in the classic network (interconnection) */
    int known;                   /* found in the inventory or given facts inline */
    /* facts */
    char *zone;                  /* where it runs now */
    char *private_ip;
    uint32_t ip;                 /* valid when private_ip */
    int local_disks;
    int public_bandwidth_mbps;
    int64_t system_disk_free_mib;
    int security_software;       /* 1 installed, 0 none, -1 unknown */
    char *private_mac, *public_mac;
    char **groups;               /* its security groups */
    size_t n_groups;
    /* plan */
    char *vswitch;               /* the vSwitch chosen for it (internal IP not kept) */
    char *batch;
    int64_t time;                /* its migration time, resolved: own, batch's, or the plan's; 0 none */
    char **depends_on;           /* instances it needs to reach over the internal network */
    size_t n_depends_on;
    char *uri;                   /* "instance": the osmig instance it is (qemu:...), for a run */
};

struct osm_net_vswitch {
    char *id;
    char *zone;
    uint32_t net;
    int prefix;
    int64_t used;                /* private IPs in use already */
    char *bridge;                /* the local network that is this vSwitch (a run's qemu: instances) */
};

struct osm_net_group {
    char *id;
    int group_authorization;     /* has rules that authorise another group: cannot be cloned */
};

struct osm_netplan {
    char *path;                  /* the plan file, for messages */
    char *name;
    char *zone;                  /* destination zone */
    int vpc_create;              /* the default: a new VPC 10.0.0.0/8 */
    char *vpc_id;
    uint32_t vpc_net;
    int vpc_prefix;
    char *vpc_bridge;            /* "vpc.bridge": the local network of vSwitches without their own */
    int clone_groups;            /* default; else `groups` are the existing ones to use */
    char **group_ids;
    size_t n_group_ids;
    int public_mac;              /* MAC retention: 0 private (default), 1 public */
    int keep_ip;                 /* default 1 */
    int vswitch_auto;            /* default 1 (automatic), 0 manual */
    char *vswitch;               /* plan-wide vSwitch when the internal IP is not kept */
    int interconnect;            /* default 0 */
    char **excluded_zones;       /* default: the seed's Hangzhou Zone C */
    size_t n_excluded_zones;
    struct osm_net_vswitch *vswitches; /* the VPC's existing vSwitches (manual, or IP not kept) */
    size_t n_vswitches;
    struct osm_net_group *sgroups;     /* what the inventory says of security groups */
    size_t n_sgroups;
    struct osm_net_instance *inst;
    size_t n_inst;
    size_t *by_id;               /* inst indexes sorted by id (osm_netplan_find) */
};

int osm_netplan_load(const char *path, struct osm_netplan **out, struct osm_err *err);
/* The same from a parsed document (a request's), named `name` in messages.
 * Its "inventory" may be inline (an object) or a path relative to
 * `base_dir`; base_dir NULL refuses paths (a request names no server file). */
int osm_netplan_load_doc(json_t *doc, const char *name, const char *base_dir, struct osm_netplan **out,
                         struct osm_err *err);
void osm_netplan_free(struct osm_netplan *p);
const struct osm_net_instance *osm_netplan_find(const struct osm_netplan *p, const char *id);

#endif
