/* netplan_run.c: see netplan_run.h. */
#include "netplan_run.h"

#include <string.h>

#include "ipv4.h"

/* The vSwitch instance `i` uses: existing (its id) or planned. */
static const struct osm_net_vswitch *existing(const struct osm_netplan *p, const char *id)
{
    for (size_t k = 0; id && k < p->n_vswitches; k++)
        if (strcmp(p->vswitches[k].id, id) == 0)
            return &p->vswitches[k];
    return NULL;
}

json_t *osm_netplan_run_options(const struct osm_netplan *p, const struct osm_net_report *r, size_t i,
                                struct osm_err *err)
{
    const struct osm_net_instance *in = &p->inst[i];
    char b[20], gw[20], cidr[24];
    if (in->stays) {
        osm_err_set(err, OSM_EUSAGE, "%s: instance %s stays in the classic network", p->path, in->id);
        return NULL;
    }
    if (!in->uri) {
        osm_err_set(err, OSM_EINPUT, "%s: instance %s has no \"instance\" (the osmig instance to move, e.g. qemu:PATH)",
                    p->path, in->id);
        return NULL;
    }
    if (r->inst_vsw[i] < 0) {
        osm_err_set(err, OSM_EINPUT, "%s: instance %s has no vSwitch (osmig network verify says why)", p->path, in->id);
        return NULL;
    }
    const struct osm_net_vsw_use *u = &r->vsw[r->inst_vsw[i]];
    const struct osm_net_vswitch *v = existing(p, u->id);
    const char *bridge = v && v->bridge ? v->bridge : p->vpc_bridge;
    if (!bridge) {
        osm_err_set(err, OSM_EINPUT, "%s: vSwitch %s of instance %s has no \"bridge\" and the VPC none either (the local "
                    "network its instances attach to)", p->path, osm_cidr_str(u->net, u->prefix, cidr), in->id);
        return NULL;
    }
    const char *mac = p->public_mac ? in->public_mac : in->private_mac;
    if (!mac) {
        osm_err_set(err, OSM_EINPUT, "%s: instance %s: the inventory gives no %s MAC, which the plan keeps", p->path,
                    in->id, p->public_mac ? "public" : "private");
        return NULL;
    }
    uint32_t ip;
    uint64_t size = osm_cidr_size(u->prefix);
    if (p->keep_ip) {
        if (!in->private_ip) {
            osm_err_set(err, OSM_EINPUT, "%s: instance %s: the internal IP to keep is unknown", p->path, in->id);
            return NULL;
        }
        ip = in->ip;
    } else {
        /* the next free address of the vSwitch, in the plan's order */
        uint64_t k = 1 + (uint64_t)(v ? v->used : 0);
        for (size_t j = 0; j < i; j++)
            if (!p->inst[j].stays && r->inst_vsw[j] == r->inst_vsw[i])
                k++;
        if (k + 3 >= size) {
            osm_err_set(err, OSM_EINPUT, "%s: instance %s: vSwitch %s has no free private IP left", p->path, in->id,
                        osm_cidr_str(u->net, u->prefix, cidr));
            return NULL;
        }
        ip = u->net + (uint32_t)k;
    }
    osm_ipv4_str(u->net + (uint32_t)(size - 3), gw);
    json_t *peers = json_array(), *classic = json_array();
    json_array_append_new(peers, json_string(gw));
    for (size_t j = 0; p->interconnect && j < p->n_inst; j++)
        if (p->inst[j].stays && p->inst[j].private_ip)
            json_array_append_new(classic, json_string(p->inst[j].private_ip));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:b, s:o, s:o, s:s}", "plan", p->name,
                          "plan_file", p->path, "cloud_id", in->id, "network", bridge, "mac", mac, "ip",
                          osm_ipv4_str(ip, b), "prefix", u->prefix, "gateway", gw, "keep_ip", p->keep_ip, "peers",
                          peers, "classic_peers", classic, "vswitch", u->id ? u->id : osm_cidr_str(u->net, u->prefix, cidr));
    json_object_set_new(o, "vswitch_cidr", json_string(osm_cidr_str(u->net, u->prefix, cidr)));
    if (in->private_ip)
        json_object_set_new(o, "old_ip", json_string(in->private_ip));
    return o;
}
