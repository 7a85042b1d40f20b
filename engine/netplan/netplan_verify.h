/* netplan_verify: the seed's "Verify" dialog (classic-network-to-vpc.txt,
 * Step 1.7): every requirement of a network migration plan checked at once,
 * each unmet one a finding with a stable id naming the instance, vSwitch or
 * security group and quoting the seed's words (or, where the seed has none,
 * the rule of issue 19). With the automatic vSwitch policy the vSwitches
 * are planned here (vswitch_plan.h); otherwise the plan's are checked.
 *
 * Findings come in the plan's order: plan-wide ones, then per instance,
 * then vSwitches. Errors make the plan unfit to create; warnings do not. */
#ifndef OSM_NETPLAN_VERIFY_H
#define OSM_NETPLAN_VERIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "netplan.h"

struct osm_net_finding {
    const char *id;          /* stable: "instance.local-disks", "vswitch.free-ips", ... */
    int error;               /* 1 error, 0 warning */
    char *subject;           /* the instance, vSwitch, block or group it names */
    char *detail;            /* what was found */
    const char *words;       /* the seed's words (or the rule's) */
};

/* A vSwitch the plan uses: planned (automatic) or one of the VPC's. */
struct osm_net_vsw_use {
    const char *id;          /* NULL when planned */
    const char *zone;
    uint32_t net;
    int prefix;
    int64_t instances;       /* the plan's instances placed in it */
    int64_t free_ips;        /* before the migration: size - 4 reserved - used */
};

struct osm_net_report {
    struct osm_net_finding *f;
    size_t n, n_errors, n_warnings;
    struct osm_net_vsw_use *vsw;
    size_t n_vsw;
    long *inst_vsw;          /* per instance: index into vsw, -1 none */
};

/* `previous`: the plan as created before (NULL: none); with interconnection
 * its instances may not change. `now`: the clock (migration times in the
 * past are findings). */
void osm_netplan_verify(const struct osm_netplan *p, const struct osm_netplan *previous, int64_t now,
                        struct osm_net_report *out);
/* {"plan","file","ok","errors","warnings","findings":[...],"vpc":{...},
 *  "vswitches":[...],"instances":[...]}; docs/network-plans.md. */
json_t *osm_net_report_json(const struct osm_netplan *p, const struct osm_net_report *r);
void osm_net_report_free(struct osm_net_report *r);

#endif
