/* netplan_verify.c: see netplan_verify.h. */
#include "netplan_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipv4.h"
#include "osm_buf.h"
#include "osm_time.h"
#include "vswitch_plan.h"

/* The seed's words (classic-network-to-vpc.txt), and issue 19's rules where
 * the seed has none. */
#define W_LOCAL_DISKS "The ECS instance is not attached with local disks."
#define W_BANDWIDTH "The public bandwidth is not 0 Mbit/s. Before you migrate an ECS instance, you must upgrade its public bandwidth."
#define W_ZONE "The ECS instance is not located in Hangzhou Zone C."
#define W_DISK_FREE "Reserve at least 500 MiB for the system disk."
#define W_SECURITY_SW "Disable or uninstall the server security software."
#define W_FREE_IPS "Make sure that the vSwitch of the destination VPC has sufficient private IP addresses. The number of private IP addresses must be greater than the number of instances to be migrated."
#define W_GROUP_AUTH "Security groups with group authorization rules cannot be cloned."
#define W_DEFAULT_GROUPS "If you set Destination VPC to (Default) Automatically create a VPC, CIDR block: 10.0.0.0/8, the original security groups are automatically cloned. You cannot modify the security groups."
#define W_DEFAULT_KEEP "If you set Destination VPC to (Default) Automatically create a VPC, CIDR block: 10.0.0.0/8, the system automatically retains the internal IP address of the ECS instance and creates a vSwitch policy. You cannot modify the Retain Internal IP Address parameter."
#define W_VPC_BLOCK "Select a VPC that has a CIDR block other than 10.0.0.0/8: This option is suitable for scenarios where you have planned a VPC and do not need to retain the internal IP address of the ECS instance."
#define W_MANUAL "If you set vSwitch Creation Policy to Manual, you must create a vSwitch in the destination zone based on the internal IP addresses of all the classic network-type instances in the migration plan."
#define W_AUTOMATIC "If you set vSwitch Creation Policy to Automatic, the system automatically creates a vSwitch."
#define W_SELECT_VSWITCH "If you select No, the original internal IP address of the ECS instance is not retained. You must select a vSwitch from the drop-down list."
#define W_VSWITCH_ZONE "If you have created a vSwitch but you cannot find it in the drop-down list, the migrated instance and the vSwitch are not in the same zone. You must create a vSwitch in the destination zone."
#define W_NOT_IN_PLAN "Classic network-type instances that are not included in the migration plan cannot communicate with the instances in VPCs."
#define W_FROZEN "After the instances are configured, you cannot add or remove ECS instances."
#define W_INTERCONNECT "Ensure interconnections between the migrated instances and the classic network-type instances specified in the plan over the internal network: if you select Yes, you must select all the classic network-type instances that require connectivity over the internal network, including the ECS instances to be migrated to a VPC and the ECS instances that remain in the classic network."
#define W_CLASSICLINK "If you choose not to retain the internal IP address, you must disable ClassicLink of classic network-type instances and enable classic network-type instances to communicate with those in VPCs."
#define W_TIME "Set a migration time for the instance: for a single instance, multiple instances, or all instances."
#define W_TIME_ORDER "Set a later migration time for a classic network-type instance that requires connectivity."
#define W_MAC "In the classic network, if an instance has a public IP address, the instance has both a public and a private MAC address. In a VPC, an instance has only a private MAC address."
#define R_SIZE "issue 19: a vSwitch is /16 to /29, inside the VPC's block."
#define R_RESERVED "issue 19: a vSwitch reserves its first address and its last three; a kept IP cannot be one of them."
#define R_OVERLAP "issue 19: the vSwitches of a VPC do not overlap."
#define R_DUP_IP "issue 19: a kept internal IP belongs to one instance."
#define R_UNKNOWN "The plan's instances are classic network-type instances the inventory describes (docs/network-plans.md)."

struct ctx {
    const struct osm_netplan *p;
    struct osm_net_report *r;
    size_t cap;
};

__attribute__((format(printf, 5, 6))) static void add(struct ctx *c, const char *id, int error, const char *subject,
                                                      const char *fmt, ...)
{
    struct osm_net_report *r = c->r;
    if (r->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        r->f = osm_xrealloc(r->f, c->cap * sizeof *r->f);
    }
    va_list ap;
    va_start(ap, fmt);
    struct osm_net_finding *f = &r->f[r->n++];
    f->id = id;
    f->error = error;
    f->subject = osm_xstrdup(subject);
    f->detail = osm_xvasprintf(fmt, ap);
    f->words = NULL;
    va_end(ap);
    if (error)
        r->n_errors++;
    else
        r->n_warnings++;
}

/* The words of the finding just added. */
static void words(struct ctx *c, const char *w)
{
    c->r->f[c->r->n - 1].words = w;
}

static const struct osm_net_group *group(const struct osm_netplan *p, const char *id)
{
    for (size_t i = 0; i < p->n_sgroups; i++)
        if (strcmp(p->sgroups[i].id, id) == 0)
            return &p->sgroups[i];
    return NULL;
}

static const struct osm_net_vswitch *vswitch(const struct osm_netplan *p, const char *id)
{
    for (size_t i = 0; i < p->n_vswitches; i++)
        if (strcmp(p->vswitches[i].id, id) == 0)
            return &p->vswitches[i];
    return NULL;
}

static void check_plan_options(struct ctx *c)
{
    const struct osm_netplan *p = c->p;
    if (p->vpc_create && !p->clone_groups)
        add(c, "vpc.default-clones-groups", 1, p->name, "the plan creates its VPC and names existing security groups"),
            words(c, W_DEFAULT_GROUPS);
    if (p->vpc_create && !p->keep_ip)
        add(c, "vpc.default-keeps-ip", 1, p->name, "the plan creates its VPC and does not keep internal IPs"),
            words(c, W_DEFAULT_KEEP);
    if (p->vpc_create && p->keep_ip && !p->vswitch_auto)
        add(c, "vpc.default-keeps-ip", 1, p->name, "the plan creates its VPC and asks for manual vSwitches"),
            words(c, W_DEFAULT_KEEP);
    if (!p->clone_groups && p->n_group_ids == 0)
        add(c, "security-group.none", 1, p->name, "security_groups is an empty list: name existing groups or \"clone\""),
            words(c, "Specify Security Groups: Select existing security groups from the drop-down list.");
    if (p->vpc_create && p->n_vswitches)
        add(c, "vpc.created-has-no-vswitches", 1, p->name,
            "vpc.vswitches lists %zu vSwitch(es) of a VPC the plan has yet to create", p->n_vswitches),
            words(c, W_AUTOMATIC);
    if (p->interconnect && !p->keep_ip)
        add(c, "interconnect.classiclink", 0, p->name, "interconnection without keeping internal IPs"),
            words(c, W_CLASSICLINK);
    size_t staying = 0;
    for (size_t i = 0; i < p->n_inst; i++)
        staying += p->inst[i].stays;
    if (staying && !p->interconnect)
        add(c, "interconnect.off", 1, p->name,
            "%zu instance(s) have the role \"stay\" but interconnect is false", staying),
            words(c, W_INTERCONNECT);
    if (staying == p->n_inst)
        add(c, "plan.nothing-to-migrate", 1, p->name, "every instance of the plan stays in the classic network"),
            words(c, "Instances to be migrated to a VPC");
}

static void check_instance(struct ctx *c, const struct osm_net_instance *in, int64_t now)
{
    const struct osm_netplan *p = c->p;
    if (!in->known) {
        add(c, "instance.unknown", 1, in->id, "not in the inventory, and the plan gives no facts for it"),
            words(c, R_UNKNOWN);
        return;
    }
    if (in->stays)
        return; /* the requirements are the migrated instances' */
    struct {
        const char *fact;
        int missing;
        const char *w;
    } facts[] = {{"local_disks", in->local_disks < 0, W_LOCAL_DISKS},
                 {"public_bandwidth_mbps", in->public_bandwidth_mbps < 0, W_BANDWIDTH},
                 {"zone", !in->zone, W_ZONE},
                 {"system_disk_free_mib", in->system_disk_free_mib < 0, W_DISK_FREE},
                 {"private_ip", p->keep_ip && !in->private_ip, W_MANUAL}};
    for (size_t k = 0; k < sizeof facts / sizeof *facts; k++)
        if (facts[k].missing)
            add(c, "instance.fact-missing", 1, in->id, "%s is not known: the requirement cannot be verified",
                facts[k].fact),
                words(c, facts[k].w);
    if (in->local_disks > 0)
        add(c, "instance.local-disks", 1, in->id, "%d local disk(s) attached", in->local_disks),
            words(c, W_LOCAL_DISKS);
    if (in->public_bandwidth_mbps == 0)
        add(c, "instance.public-bandwidth", 1, in->id, "public bandwidth is 0 Mbit/s"), words(c, W_BANDWIDTH);
    for (size_t k = 0; in->zone && k < p->n_excluded_zones; k++)
        if (strcmp(in->zone, p->excluded_zones[k]) == 0)
            add(c, "instance.zone-excluded", 1, in->id, "located in %s, a zone the migration excludes", in->zone),
                words(c, W_ZONE);
    if (in->system_disk_free_mib >= 0 && in->system_disk_free_mib < 500)
        add(c, "instance.system-disk-free", 1, in->id, "%lld MiB free on the system disk, 500 MiB needed",
            (long long)in->system_disk_free_mib),
            words(c, W_DISK_FREE);
    if (in->security_software == 1)
        add(c, "instance.security-software", 0, in->id, "server security software is installed"),
            words(c, W_SECURITY_SW);
    if (p->public_mac && !in->public_mac)
        add(c, "mac.no-public", 1, in->id, "the plan keeps the public MAC address and the instance has none"),
            words(c, W_MAC);
    if (!in->time)
        add(c, "time.missing", 1, in->id, "no migration time: its own, its batch's or the plan's"), words(c, W_TIME);
    else if (in->time < now) {
        char t[32];
        add(c, "time.past", 1, in->id, "migration time %s is in the past", osm_time_iso(in->time, t)),
            words(c, W_TIME);
    }
}

static void check_groups(struct ctx *c)
{
    const struct osm_netplan *p = c->p;
    if (!p->clone_groups)
        return;
    /* once per group, naming the first instance that uses it */
    size_t ng = 0, cap = 0;
    const char **seen = NULL;
    for (size_t i = 0; i < p->n_inst; i++) {
        const struct osm_net_instance *in = &p->inst[i];
        if (in->stays || !in->known)
            continue;
        for (size_t g = 0; g < in->n_groups; g++) {
            size_t k = 0;
            while (k < ng && strcmp(seen[k], in->groups[g]) != 0)
                k++;
            if (k < ng)
                continue;
            if (ng == cap)
                seen = osm_xrealloc(seen, (cap = cap ? 2 * cap : 16) * sizeof *seen);
            seen[ng++] = in->groups[g];
            const struct osm_net_group *sg = group(p, in->groups[g]);
            if (!sg)
                add(c, "security-group.unknown", 1, in->groups[g],
                    "group of %s is not in the inventory: whether it can be cloned is not known", in->id),
                    words(c, W_GROUP_AUTH);
            else if (sg->group_authorization)
                add(c, "security-group.group-authorization", 1, in->groups[g],
                    "group of %s has group authorization rules: it cannot be cloned; name existing groups instead",
                    in->id),
                    words(c, W_GROUP_AUTH);
        }
    }
    free(seen);
}

static void check_links(struct ctx *c, const struct osm_netplan *previous)
{
    const struct osm_netplan *p = c->p;
    for (size_t i = 0; i < p->n_inst; i++) {
        const struct osm_net_instance *in = &p->inst[i];
        for (size_t d = 0; d < in->n_depends_on; d++) {
            const struct osm_net_instance *dep = osm_netplan_find(p, in->depends_on[d]);
            if (p->interconnect && !dep)
                add(c, "interconnect.not-in-plan", 1, in->depends_on[d],
                    "%s needs it over the internal network and it is not in the plan", in->id),
                    words(c, W_NOT_IN_PLAN);
            else if (!p->interconnect && !in->stays && (!dep || dep->stays))
                add(c, "interconnect.lost", 0, in->depends_on[d],
                    "%s needs it over the internal network; it stays in the classic network and interconnect is "
                    "false",
                    in->id),
                    words(c, W_NOT_IN_PLAN);
            if (dep && !dep->stays && !in->stays && dep->time && in->time && dep->time <= in->time) {
                char a[32], b[32];
                add(c, "time.dependency-order", 1, dep->id,
                    "%s needs it and migrates at %s; it migrates at %s, which is not later", in->id,
                    osm_time_iso(in->time, a), osm_time_iso(dep->time, b)),
                    words(c, W_TIME_ORDER);
            }
        }
    }
    if (!previous || !previous->interconnect)
        return;
    for (size_t i = 0; i < p->n_inst; i++)
        if (!osm_netplan_find(previous, p->inst[i].id))
            add(c, "interconnect.frozen", 1, p->inst[i].id, "added to an interconnected plan after it was created"),
                words(c, W_FROZEN);
    for (size_t i = 0; i < previous->n_inst; i++)
        if (!osm_netplan_find(p, previous->inst[i].id))
            add(c, "interconnect.frozen", 1, previous->inst[i].id,
                "removed from an interconnected plan after it was created"),
                words(c, W_FROZEN);
}

static long use_vsw(struct osm_net_report *r, size_t *cap, const char *id, const char *zone, uint32_t net, int prefix,
                    int64_t used)
{
    for (size_t k = 0; id && k < r->n_vsw; k++)
        if (r->vsw[k].id && strcmp(r->vsw[k].id, id) == 0)
            return (long)k;
    if (r->n_vsw == *cap)
        r->vsw = osm_xrealloc(r->vsw, (*cap = *cap ? 2 * *cap : 16) * sizeof *r->vsw);
    int64_t size = (int64_t)osm_cidr_size(prefix);
    r->vsw[r->n_vsw] = (struct osm_net_vsw_use){id, zone, net, prefix, 0, size > 4 + used ? size - 4 - used : 0};
    return (long)r->n_vsw++;
}

/* The existing vSwitches of the VPC, each once: size, block, overlaps. */
static void check_vswitch_shapes(struct ctx *c)
{
    const struct osm_netplan *p = c->p;
    char b[20], v[20];
    for (size_t i = 0; i < p->n_vswitches; i++) {
        const struct osm_net_vswitch *s = &p->vswitches[i];
        if (s->prefix < 16 || s->prefix > 29)
            add(c, "vswitch.size", 1, s->id, "%s is /%d", osm_cidr_str(s->net, s->prefix, b), s->prefix),
                words(c, R_SIZE);
        else if (s->prefix < p->vpc_prefix || !osm_cidr_contains(p->vpc_net, p->vpc_prefix, s->net))
            add(c, "vswitch.outside-vpc", 1, s->id, "%s is not inside the VPC's %s", osm_cidr_str(s->net, s->prefix, b),
                osm_cidr_str(p->vpc_net, p->vpc_prefix, v)),
                words(c, R_SIZE);
        for (size_t k = 0; k < i; k++)
            if (osm_cidr_overlap(s->net, s->prefix, p->vswitches[k].net, p->vswitches[k].prefix))
                add(c, "vswitch.overlap", 1, s->id, "%s overlaps %s (%s)", osm_cidr_str(s->net, s->prefix, b),
                    p->vswitches[k].id, osm_cidr_str(p->vswitches[k].net, p->vswitches[k].prefix, v)),
                    words(c, R_OVERLAP);
    }
}

static int by_ip_tag(const void *a, const void *b)
{
    const struct osm_vsw_point *x = a, *y = b;
    if (x->ip != y->ip)
        return x->ip < y->ip ? -1 : 1;
    return x->tag < y->tag ? -1 : x->tag > y->tag;
}

static void check_kept_ips(struct ctx *c, size_t *vcap)
{
    const struct osm_netplan *p = c->p;
    struct osm_net_report *r = c->r;
    char b[20], v[20];
    struct osm_vsw_point *pts = osm_xmalloc((p->n_inst + 1) * sizeof *pts);
    size_t n = 0;
    for (size_t i = 0; i < p->n_inst; i++) {
        const struct osm_net_instance *in = &p->inst[i];
        if (!in->known || !in->private_ip)
            continue;
        if (in->stays) {
            if (p->interconnect) /* it keeps its address in the classic network */
                pts[n++] = (struct osm_vsw_point){in->ip, OSM_VSW_AVOID, (uint32_t)i};
            continue;
        }
        if (!osm_cidr_contains(p->vpc_net, p->vpc_prefix, in->ip)) {
            add(c, "vpc.ip-outside", 1, in->id, "internal IP %s is not inside the VPC's %s", in->private_ip,
                osm_cidr_str(p->vpc_net, p->vpc_prefix, v)),
                words(c, W_VPC_BLOCK);
            continue;
        }
        pts[n++] = (struct osm_vsw_point){in->ip, 0, (uint32_t)i};
    }
    qsort(pts, n, sizeof *pts, by_ip_tag);
    for (size_t i = 1; i < n; i++)
        if (pts[i].ip == pts[i - 1].ip && pts[i].zone != OSM_VSW_AVOID)
            add(c, "ip.duplicate", 1, p->inst[pts[i].tag].id, "internal IP %s is also %s's",
                p->inst[pts[i].tag].private_ip, p->inst[pts[i - 1].tag].id),
                words(c, R_DUP_IP);
    if (p->vswitch_auto) {
        struct osm_vsw_block *taken = osm_xcalloc(p->n_vswitches + 1, sizeof *taken);
        for (size_t i = 0; i < p->n_vswitches; i++)
            taken[i] = (struct osm_vsw_block){p->vswitches[i].net, p->vswitches[i].prefix, 0, 0};
        struct osm_vsw_limits lim = {p->vpc_net, p->vpc_prefix, 16, 29, taken, p->n_vswitches};
        struct osm_vsw_result res;
        osm_vsw_plan(&lim, pts, n, &res);
        size_t u = 0;
        for (size_t k = 0, j = 0; k < res.n_blocks; k++) {
            long idx = use_vsw(r, vcap, NULL, p->zone, res.blocks[k].net, res.blocks[k].prefix, 0);
            r->vsw[idx].instances = res.blocks[k].n_points;
            /* pts is in address order, as the blocks are */
            for (; j < n && pts[j].ip < res.blocks[k].net + osm_cidr_size(res.blocks[k].prefix); j++)
                if (pts[j].zone != OSM_VSW_AVOID && osm_cidr_contains(res.blocks[k].net, res.blocks[k].prefix, pts[j].ip))
                    r->inst_vsw[pts[j].tag] = idx;
        }
        for (; u < res.n_uncovered; u++) {
            const struct osm_vsw_point *q = &res.uncovered[u];
            uint32_t net29 = q->ip & osm_cidr_mask(29);
            const char *why = osm_vsw_block_fault(&lim, net29, 29, q, 1);
            add(c, "vswitch.no-cover", 1, p->inst[q->tag].id,
                "no vSwitch of /16 to /29 inside %s can hold internal IP %s (%s: %s; every larger block is taken, "
                "reserves it or holds another zone's or a staying instance's address)",
                osm_cidr_str(p->vpc_net, p->vpc_prefix, v), p->inst[q->tag].private_ip, osm_cidr_str(net29, 29, b),
                why ? why : "it cannot hold it alongside its neighbours"),
                words(c, W_AUTOMATIC);
        }
        osm_vsw_result_free(&res);
        free(taken);
        free(pts);
        return;
    }
    /* manual: each kept IP inside one of the VPC's vSwitches, in the zone */
    for (size_t k = 0; k < n; k++) {
        if (pts[k].zone == OSM_VSW_AVOID)
            continue;
        const struct osm_net_instance *in = &p->inst[pts[k].tag];
        const struct osm_net_vswitch *s = NULL;
        for (size_t i = 0; i < p->n_vswitches && !s; i++)
            if (osm_cidr_contains(p->vswitches[i].net, p->vswitches[i].prefix, in->ip))
                s = &p->vswitches[i];
        if (!s) {
            add(c, "ip.outside-vswitch", 1, in->id, "internal IP %s is in none of the VPC's vSwitches", in->private_ip),
                words(c, W_MANUAL);
            continue;
        }
        long idx = use_vsw(r, vcap, s->id, s->zone, s->net, s->prefix, s->used);
        r->vsw[idx].instances++;
        r->inst_vsw[pts[k].tag] = idx;
        uint64_t off = in->ip - s->net, size = osm_cidr_size(s->prefix);
        if (size >= 4 && (off == 0 || off >= size - 3))
            add(c, "ip.reserved", 1, in->id, "internal IP %s is %s of vSwitch %s (%s)", in->private_ip,
                off == 0 ? "the first address" : "one of the last three addresses", s->id,
                osm_cidr_str(s->net, s->prefix, b)),
                words(c, R_RESERVED);
        if (r->vsw[idx].instances == 1 && strcmp(s->zone, p->zone) != 0) /* once per vSwitch */
            add(c, "vswitch.zone", 1, s->id, "holds %s's internal IP and is in zone %s, not the destination %s",
                in->id, s->zone, p->zone),
                words(c, W_VSWITCH_ZONE);
    }
    free(pts);
}

static void check_chosen_vswitches(struct ctx *c, size_t *vcap)
{
    const struct osm_netplan *p = c->p;
    struct osm_net_report *r = c->r;
    for (size_t i = 0; i < p->n_inst; i++) {
        const struct osm_net_instance *in = &p->inst[i];
        if (in->stays)
            continue;
        const char *id = in->vswitch ? in->vswitch : p->vswitch;
        const struct osm_net_vswitch *s = id ? vswitch(p, id) : NULL;
        if (!id) {
            add(c, "vswitch.none", 1, in->id, "internal IPs are not kept and no vSwitch is chosen for it"),
                words(c, W_SELECT_VSWITCH);
            continue;
        }
        if (!s) {
            add(c, "vswitch.unknown", 1, in->id, "vSwitch %s is not one of the VPC's (vpc.vswitches)", id),
                words(c, W_SELECT_VSWITCH);
            continue;
        }
        long idx = use_vsw(r, vcap, s->id, s->zone, s->net, s->prefix, s->used);
        if (r->vsw[idx].instances++ == 0 && strcmp(s->zone, p->zone) != 0)
            add(c, "vswitch.zone", 1, s->id, "chosen for %s and in zone %s, not the destination %s", in->id, s->zone,
                p->zone),
                words(c, W_VSWITCH_ZONE);
        r->inst_vsw[i] = idx;
    }
}

void osm_netplan_verify(const struct osm_netplan *p, const struct osm_netplan *previous, int64_t now,
                        struct osm_net_report *out)
{
    memset(out, 0, sizeof *out);
    out->inst_vsw = osm_xmalloc((p->n_inst + 1) * sizeof *out->inst_vsw);
    for (size_t i = 0; i < p->n_inst; i++)
        out->inst_vsw[i] = -1;
    struct ctx c = {p, out, 0};
    size_t vcap = 0;
    check_plan_options(&c);
    for (size_t i = 0; i < p->n_inst; i++)
        check_instance(&c, &p->inst[i], now);
    check_groups(&c);
    check_links(&c, previous);
    check_vswitch_shapes(&c);
    if (p->keep_ip)
        check_kept_ips(&c, &vcap);
    else
        check_chosen_vswitches(&c, &vcap);
    /* the seed's count: more free private IPs than the instances it takes */
    char b[20];
    for (size_t k = 0; k < out->n_vsw; k++) {
        const struct osm_net_vsw_use *u = &out->vsw[k];
        if (u->instances >= u->free_ips)
            add(&c, "vswitch.free-ips", 1, u->id ? u->id : osm_cidr_str(u->net, u->prefix, b),
                "%lld free private IP(s) for %lld instance(s)", (long long)u->free_ips, (long long)u->instances),
                words(&c, W_FREE_IPS);
    }
}

json_t *osm_net_report_json(const struct osm_netplan *p, const struct osm_net_report *r)
{
    char b[32];
    json_t *o = json_object(), *fs = json_array(), *vs = json_array(), *is = json_array();
    json_object_set_new(o, "plan", json_string(p->name));
    json_object_set_new(o, "file", json_string(p->path));
    json_object_set_new(o, "ok", json_boolean(r->n_errors == 0));
    json_object_set_new(o, "errors", json_integer((json_int_t)r->n_errors));
    json_object_set_new(o, "warnings", json_integer((json_int_t)r->n_warnings));
    for (size_t i = 0; i < r->n; i++) {
        const struct osm_net_finding *f = &r->f[i];
        json_array_append_new(fs, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", f->id, "severity",
                                            f->error ? "error" : "warning", "subject", f->subject, "detail",
                                            f->detail, "words", f->words ? f->words : ""));
    }
    json_object_set_new(o, "findings", fs);
    json_object_set_new(o, "zone", json_string(p->zone));
    json_t *vpc = json_pack("{s:b, s:s}", "create", p->vpc_create, "cidr", osm_cidr_str(p->vpc_net, p->vpc_prefix, b));
    if (p->vpc_id)
        json_object_set_new(vpc, "id", json_string(p->vpc_id));
    json_object_set_new(o, "vpc", vpc);
    json_object_set_new(o, "keep_private_ip", json_boolean(p->keep_ip));
    json_object_set_new(o, "vswitch_policy", json_string(p->vswitch_auto ? "automatic" : "manual"));
    json_object_set_new(o, "security_groups", json_string(p->clone_groups ? "clone" : "existing"));
    json_object_set_new(o, "mac", json_string(p->public_mac ? "public" : "private"));
    json_object_set_new(o, "interconnect", json_boolean(p->interconnect));
    for (size_t k = 0; k < r->n_vsw; k++) {
        const struct osm_net_vsw_use *u = &r->vsw[k];
        json_t *v = json_pack("{s:s, s:s, s:I, s:I, s:b}", "zone", u->zone, "cidr", osm_cidr_str(u->net, u->prefix, b),
                              "instances", (json_int_t)u->instances, "free_ips", (json_int_t)u->free_ips, "planned",
                              u->id == NULL);
        if (u->id)
            json_object_set_new(v, "id", json_string(u->id));
        json_array_append_new(vs, v);
    }
    json_object_set_new(o, "vswitches", vs);
    for (size_t i = 0; i < p->n_inst; i++) {
        const struct osm_net_instance *in = &p->inst[i];
        json_t *e = json_pack("{s:s, s:s}", "id", in->id, "role", in->stays ? "stay" : "migrate");
        if (!in->stays && in->time)
            json_object_set_new(e, "time", json_string(osm_time_iso(in->time, b)));
        if (in->private_ip)
            json_object_set_new(e, "private_ip", json_string(in->private_ip));
        if (!in->stays && p->keep_ip && in->private_ip)
            json_object_set_new(e, "vpc_ip", json_string(in->private_ip));
        const char *mac = p->public_mac ? in->public_mac : in->private_mac;
        if (!in->stays && mac)
            json_object_set_new(e, "mac", json_string(mac));
        if (r->inst_vsw[i] >= 0) {
            const struct osm_net_vsw_use *u = &r->vsw[r->inst_vsw[i]];
            json_object_set_new(e, "vswitch", json_string(u->id ? u->id : osm_cidr_str(u->net, u->prefix, b)));
        }
        json_array_append_new(is, e);
    }
    json_object_set_new(o, "instances", is);
    return o;
}

void osm_net_report_free(struct osm_net_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i].subject), free(r->f[i].detail);
    free(r->f);
    free(r->vsw);
    free(r->inst_vsw);
    memset(r, 0, sizeof *r);
}
