/* netplan_load.c: the plan file and its inventory into struct osm_netplan
 * (netplan.h). Form only; the requirements are verify's. */
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipv4.h"
#include "netplan.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_json_file.h"
#include "osm_time.h"

struct rd {
    const char *file;
    struct osm_err *err;
};

static int bad(struct rd *r, const char *where, const char *name, const char *fmt, const char *detail)
{
    char what[256];
    snprintf(what, sizeof what, "%s%s%s", where, *where && name ? "." : "", name ? name : "");
    osm_err_set(r->err, OSM_EINPUT, "%s: %s: ", r->file, what);
    size_t len = strlen(r->err->msg);
    snprintf(r->err->msg + len, sizeof r->err->msg - len, fmt, detail);
    return -1;
}

static int members(struct rd *r, json_t *o, const char *where, const char *const *known)
{
    if (!json_is_object(o))
        return bad(r, where, NULL, "%s", "must be a JSON object");
    const char *k = osm_json_unknown_member(o, known);
    if (k)
        return bad(r, where, k, "%s", "unknown member (docs/network-plans.md lists them)");
    return 0;
}

static int get_str(struct rd *r, json_t *o, const char *where, const char *name, char **out)
{
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || !*json_string_value(v))
        return bad(r, where, name, "%s", "must be a non-empty string");
    free(*out);
    *out = osm_xstrdup(json_string_value(v));
    return 0;
}

static int get_bool(struct rd *r, json_t *o, const char *where, const char *name, int *out)
{
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return bad(r, where, name, "%s", "must be true or false");
    *out = json_is_true(v);
    return 0;
}

static int get_count(struct rd *r, json_t *o, const char *where, const char *name, int64_t *out)
{
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return bad(r, where, name, "%s", "must be a whole number, 0 or more");
    *out = json_integer_value(v);
    return 0;
}

static int get_time(struct rd *r, json_t *o, const char *where, const char *name, int64_t *out)
{
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || osm_time_parse(json_string_value(v), out) != 0)
        return bad(r, where, name, "'%s' is not an RFC 3339 time (e.g. 2026-12-10T02:00:00Z)",
                   json_is_string(v) ? json_string_value(v) : "(not a string)");
    return 0;
}

static int get_strv(struct rd *r, json_t *o, const char *where, const char *name, char ***out, size_t *n)
{
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return bad(r, where, name, "%s", "must be an array of strings");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || !*json_string_value(e))
            return bad(r, where, name, "%s", "must be an array of non-empty strings");
    }
    for (size_t k = 0; k < *n; k++)
        free((*out)[k]);
    free(*out);
    *n = json_array_size(v);
    *out = osm_xcalloc(*n ? *n : 1, sizeof **out);
    json_array_foreach(v, i, e) (*out)[i] = osm_xstrdup(json_string_value(e));
    return 0;
}

/* The facts of an instance: an inventory entry or a plan entry's "facts". */
static int read_facts(struct rd *r, json_t *f, const char *where, struct osm_net_instance *in)
{
    static const char *const known[] = {"id", "zone", "private_ip", "local_disks", "public_bandwidth_mbps",
                                        "system_disk_free_mib", "security_software", "private_mac", "public_mac",
                                        "security_groups", NULL};
    if (members(r, f, where, known) != 0)
        return -1;
    int64_t disks = in->local_disks, bw = in->public_bandwidth_mbps, sw_free = in->system_disk_free_mib;
    int sec = in->security_software;
    if (get_str(r, f, where, "zone", &in->zone) || get_str(r, f, where, "private_ip", &in->private_ip) ||
        get_count(r, f, where, "local_disks", &disks) || get_count(r, f, where, "public_bandwidth_mbps", &bw) ||
        get_count(r, f, where, "system_disk_free_mib", &sw_free) ||
        get_bool(r, f, where, "security_software", &sec) || get_str(r, f, where, "private_mac", &in->private_mac) ||
        get_str(r, f, where, "public_mac", &in->public_mac) ||
        get_strv(r, f, where, "security_groups", &in->groups, &in->n_groups))
        return -1;
    if (disks > 1000000 || bw > 1000000)
        return bad(r, where, disks > 1000000 ? "local_disks" : "public_bandwidth_mbps", "%s", "is out of range");
    in->local_disks = (int)disks;
    in->public_bandwidth_mbps = (int)bw;
    in->system_disk_free_mib = sw_free;
    in->security_software = sec;
    if (in->private_ip && osm_ipv4_parse(in->private_ip, &in->ip) != 0)
        return bad(r, where, "private_ip", "'%s' is not an IPv4 address", in->private_ip);
    in->known = 1;
    return 0;
}

static void instance_init(struct osm_net_instance *in)
{
    memset(in, 0, sizeof *in);
    in->local_disks = -1;
    in->public_bandwidth_mbps = -1;
    in->system_disk_free_mib = -1;
    in->security_software = -1;
}

/* The inventory document `j` (a file's, or given inline), named `label` in
 * messages. */
static int read_inventory(struct osm_netplan *p, json_t *j, const char *label, struct osm_err *err)
{
    struct rd r = {label, err};
    static const char *const known[] = {"instances", "security_groups", NULL};
    int rc = members(&r, j, "", known);
    json_t *arr = json_object_get(j, "instances");
    if (rc == 0 && arr && !json_is_array(arr))
        rc = bad(&r, "", "instances", "%s", "must be an array");
    size_t i;
    json_t *e;
    char where[64];
    json_array_foreach(arr, i, e)
    {
        if (rc != 0)
            break;
        snprintf(where, sizeof where, "instances[%zu]", i);
        json_t *id = json_object_get(e, "id");
        if (!json_is_string(id)) {
            rc = bad(&r, where, "id", "%s", "must be a string");
            break;
        }
        /* only the plan's instances take facts; the rest is checked for form */
        struct osm_net_instance scratch, *in = &scratch;
        instance_init(&scratch);
        struct osm_net_instance *found = (struct osm_net_instance *)osm_netplan_find(p, json_string_value(id));
        if (found)
            in = found;
        if (in != &scratch && in->known) {
            rc = bad(&r, where, "id", "%s is listed twice", in->id);
            break;
        }
        rc = read_facts(&r, e, where, in);
        if (in == &scratch) {
            free(scratch.zone), free(scratch.private_ip), free(scratch.private_mac), free(scratch.public_mac);
            for (size_t k = 0; k < scratch.n_groups; k++)
                free(scratch.groups[k]);
            free(scratch.groups);
        }
    }
    arr = json_object_get(j, "security_groups");
    if (rc == 0 && arr && !json_is_array(arr))
        rc = bad(&r, "", "security_groups", "%s", "must be an array");
    if (rc == 0 && arr) {
        p->sgroups = osm_xcalloc(json_array_size(arr) + 1, sizeof *p->sgroups);
        json_array_foreach(arr, i, e)
        {
            static const char *const gk[] = {"id", "group_authorization", NULL};
            snprintf(where, sizeof where, "security_groups[%zu]", i);
            struct osm_net_group *g = &p->sgroups[p->n_sgroups++];
            if ((rc = members(&r, e, where, gk)) != 0 || (rc = get_str(&r, e, where, "id", &g->id)) != 0 ||
                (rc = get_bool(&r, e, where, "group_authorization", &g->group_authorization)) != 0)
                break;
            if (!g->id) {
                rc = bad(&r, where, "id", "%s", "is required");
                break;
            }
        }
    }
    return rc;
}

/* Facts given in the plan's entries override the inventory's. */
static int read_inline_facts(struct osm_netplan *p, json_t *plan_entries, struct osm_err *err)
{
    size_t i;
    json_t *e;
    char where[64];
    json_array_foreach(plan_entries, i, e)
    {
        json_t *f = json_object_get(e, "facts");
        if (!f)
            continue;
        struct rd r = {p->path, err};
        snprintf(where, sizeof where, "instances[%zu].facts", i);
        if (json_object_get(f, "id"))
            return bad(&r, where, "id", "%s", "belongs to the instance entry, not its facts");
        if (read_facts(&r, f, where, &p->inst[i]) != 0)
            return -1;
    }
    return 0;
}

static int read_vswitches(struct rd *r, json_t *arr, struct osm_netplan *p)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return bad(r, "vpc", "vswitches", "%s", "must be an array");
    p->vswitches = osm_xcalloc(json_array_size(arr) + 1, sizeof *p->vswitches);
    size_t i;
    json_t *e;
    char where[64];
    json_array_foreach(arr, i, e)
    {
        static const char *const known[] = {"id", "zone", "cidr", "used_ips", "bridge", NULL};
        snprintf(where, sizeof where, "vpc.vswitches[%zu]", i);
        struct osm_net_vswitch *v = &p->vswitches[p->n_vswitches++];
        char *cidr = NULL;
        if (members(r, e, where, known) || get_str(r, e, where, "id", &v->id) || get_str(r, e, where, "zone", &v->zone) ||
            get_str(r, e, where, "cidr", &cidr) || get_count(r, e, where, "used_ips", &v->used) ||
            get_str(r, e, where, "bridge", &v->bridge)) {
            free(cidr);
            return -1;
        }
        int rc = 0;
        if (!v->id || !v->zone || !cidr)
            rc = bad(r, where, NULL, "%s", "needs id, zone and cidr");
        else if (osm_cidr_parse(cidr, &v->net, &v->prefix) != 0)
            rc = bad(r, where, "cidr", "'%s' is not a CIDR block with zero host bits", cidr);
        for (size_t k = 0; rc == 0 && k + 1 < p->n_vswitches; k++)
            if (strcmp(p->vswitches[k].id, v->id) == 0)
                rc = bad(r, where, "id", "%s is listed twice", v->id);
        free(cidr);
        if (rc)
            return -1;
    }
    return 0;
}

static int by_id(const void *a, const void *b, void *base)
{
    const struct osm_net_instance *in = base;
    return strcmp(in[*(const size_t *)a].id, in[*(const size_t *)b].id);
}

/* An index sorted by id, so that 10,000 instances are found in log time;
 * an id listed twice is an error naming both entries. */
static int index_ids(struct rd *r, struct osm_netplan *p)
{
    p->by_id = osm_xmalloc((p->n_inst + 1) * sizeof *p->by_id);
    for (size_t i = 0; i < p->n_inst; i++)
        p->by_id[i] = i;
    qsort_r(p->by_id, p->n_inst, sizeof *p->by_id, by_id, p->inst);
    for (size_t i = 1; i < p->n_inst; i++)
        if (strcmp(p->inst[p->by_id[i]].id, p->inst[p->by_id[i - 1]].id) == 0) {
            size_t a = p->by_id[i - 1], b = p->by_id[i];
            char where[64], also[160];
            snprintf(where, sizeof where, "instances[%zu]", a > b ? a : b);
            snprintf(also, sizeof also, "%s is listed twice (also instances[%zu])", p->inst[a].id, a < b ? a : b);
            return bad(r, where, "id", "%s", also);
        }
    return 0;
}

static int read_plan(struct osm_netplan *p, json_t *j, struct osm_err *err)
{
    struct rd r = {p->path, err};
    static const char *const known[] = {"name", "zone", "vpc", "security_groups", "mac", "keep_private_ip",
                                        "vswitch_policy", "vswitch", "interconnect", "excluded_zones", "inventory",
                                        "time", "batches", "instances", NULL};
    if (members(&r, j, "", known) || get_str(&r, j, "", "name", &p->name) || get_str(&r, j, "", "zone", &p->zone))
        return -1;
    if (!p->name || !p->zone)
        return bad(&r, "", p->name ? "zone" : "name", "%s", "is required");
    /* VPC: created (the default) or existing */
    json_t *vpc = json_object_get(j, "vpc");
    p->vpc_create = 1;
    p->vpc_net = 10u << 24;
    p->vpc_prefix = 8;
    if (vpc) {
        static const char *const vk[] = {"create", "id", "cidr", "vswitches", "bridge", NULL};
        char *cidr = NULL;
        int rc = members(&r, vpc, "vpc", vk) || get_bool(&r, vpc, "vpc", "create", &p->vpc_create) ||
                 get_str(&r, vpc, "vpc", "id", &p->vpc_id) || get_str(&r, vpc, "vpc", "cidr", &cidr) ||
                 get_str(&r, vpc, "vpc", "bridge", &p->vpc_bridge);
        if (!rc && json_object_get(vpc, "id") && !json_object_get(vpc, "create"))
            p->vpc_create = 0;
        if (!rc && !p->vpc_create && (!p->vpc_id || !cidr))
            rc = bad(&r, "vpc", NULL, "%s", "an existing VPC needs its id and cidr");
        if (!rc && p->vpc_create && p->vpc_id)
            rc = bad(&r, "vpc", "id", "%s", "is for an existing VPC; a created one has none yet");
        if (!rc && cidr && osm_cidr_parse(cidr, &p->vpc_net, &p->vpc_prefix) != 0)
            rc = bad(&r, "vpc", "cidr", "'%s' is not a CIDR block with zero host bits", cidr);
        if (!rc && p->vpc_create && cidr && (p->vpc_net != 10u << 24 || p->vpc_prefix != 8))
            rc = bad(&r, "vpc", "cidr", "'%s': a VPC the plan creates has the block 10.0.0.0/8", cidr);
        free(cidr);
        if (rc || read_vswitches(&r, json_object_get(vpc, "vswitches"), p))
            return -1;
    }
    /* security groups: "clone" (default) or a list of existing ones */
    p->clone_groups = 1;
    json_t *sg = json_object_get(j, "security_groups");
    if (sg && json_is_string(sg) && strcmp(json_string_value(sg), "clone") == 0) {
        p->clone_groups = 1;
    } else if (sg && json_is_array(sg)) {
        p->clone_groups = 0;
        if (get_strv(&r, j, "", "security_groups", &p->group_ids, &p->n_group_ids))
            return -1;
    } else if (sg) {
        return bad(&r, "", "security_groups", "%s", "must be \"clone\" or an array of existing security group ids");
    }
    char *mac = NULL, *policy = NULL;
    int rc = get_str(&r, j, "", "mac", &mac) || get_str(&r, j, "", "vswitch_policy", &policy);
    if (!rc && mac && strcmp(mac, "private") != 0 && strcmp(mac, "public") != 0)
        rc = bad(&r, "", "mac", "'%s': must be \"private\" or \"public\"", mac);
    if (!rc && policy && strcmp(policy, "automatic") != 0 && strcmp(policy, "manual") != 0)
        rc = bad(&r, "", "vswitch_policy", "'%s': must be \"automatic\" or \"manual\"", policy);
    p->public_mac = mac && strcmp(mac, "public") == 0;
    p->vswitch_auto = !policy || strcmp(policy, "automatic") == 0;
    free(mac);
    free(policy);
    p->keep_ip = 1;
    if (rc || get_bool(&r, j, "", "keep_private_ip", &p->keep_ip) || get_str(&r, j, "", "vswitch", &p->vswitch) ||
        get_bool(&r, j, "", "interconnect", &p->interconnect))
        return -1;
    if (json_object_get(j, "excluded_zones")) {
        if (get_strv(&r, j, "", "excluded_zones", &p->excluded_zones, &p->n_excluded_zones))
            return -1;
    } else {
        /* the seed: "The ECS instance is not located in Hangzhou Zone C." */
        p->excluded_zones = osm_xcalloc(1, sizeof *p->excluded_zones);
        p->excluded_zones[0] = osm_xstrdup("cn-hangzhou-c");
        p->n_excluded_zones = 1;
    }
    int64_t all = 0;
    if (get_time(&r, j, "", "time", &all))
        return -1;
    json_t *batches = json_object_get(j, "batches");
    if (batches && !json_is_object(batches))
        return bad(&r, "", "batches", "%s", "must be an object of batch name to RFC 3339 time");
    json_t *arr = json_object_get(j, "instances");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return bad(&r, "", "instances", "%s", "must be a non-empty array");
    p->inst = osm_xcalloc(json_array_size(arr), sizeof *p->inst);
    size_t i;
    json_t *e;
    char where[64];
    json_array_foreach(arr, i, e)
    {
        static const char *const ik[] = {"id",         "role",  "time",     "batch",
                                         "vswitch",    "depends_on", "facts", "instance", NULL};
        snprintf(where, sizeof where, "instances[%zu]", i);
        struct osm_net_instance *in = &p->inst[p->n_inst++];
        instance_init(in);
        char *role = NULL;
        if (json_is_string(e)) { /* "i-1": a plain instance to migrate */
            in->id = osm_xstrdup(json_string_value(e));
        } else if (members(&r, e, where, ik) || get_str(&r, e, where, "id", &in->id) ||
                   get_str(&r, e, where, "role", &role) || get_time(&r, e, where, "time", &in->time) ||
                   get_str(&r, e, where, "batch", &in->batch) || get_str(&r, e, where, "vswitch", &in->vswitch) ||
                   get_str(&r, e, where, "instance", &in->uri) ||
                   get_strv(&r, e, where, "depends_on", &in->depends_on, &in->n_depends_on)) {
            free(role);
            return -1;
        }
        rc = 0;
        if (!in->id || !*in->id)
            rc = bad(&r, where, "id", "%s", "is required");
        else if (role && strcmp(role, "migrate") != 0 && strcmp(role, "stay") != 0)
            rc = bad(&r, where, "role", "'%s': must be \"migrate\" or \"stay\"", role);
        in->stays = role && strcmp(role, "stay") == 0;
        free(role);
        if (rc)
            return -1;
        /* the time: the instance's own, else its batch's, else the plan's */
        if (!in->time && in->batch) {
            json_t *bt = batches ? json_object_get(batches, in->batch) : NULL;
            if (!bt)
                return bad(&r, where, "batch", "'%s' is not one of the plan's batches", in->batch);
            char bw[96];
            snprintf(bw, sizeof bw, "batches");
            if (get_time(&r, batches, bw, in->batch, &in->time))
                return -1;
        }
        if (!in->time && !in->stays)
            in->time = all;
    }
    return index_ids(&r, p);
}

/* The plan's "inventory": an object (inline), or a file's path relative to
 * the plan's folder (`base_dir`; NULL: paths are refused). */
static int load_inventory(struct osm_netplan *p, json_t *inv, const char *base_dir, struct osm_err *err)
{
    struct rd r = {p->path, err};
    if (json_is_object(inv)) {
        char *label = osm_xasprintf("%s: inventory", p->path);
        int rc = read_inventory(p, inv, label, err);
        free(label);
        return rc;
    }
    if (!json_is_string(inv) || !*json_string_value(inv))
        return bad(&r, "", "inventory", "%s", "must be the inventory (an object) or the path of its file");
    if (!base_dir)
        return bad(&r, "", "inventory", "%s", "give the inventory inline (an object): a path would be read on the server");
    const char *name = json_string_value(inv);
    char *ipath = name[0] == '/' ? osm_xstrdup(name) : osm_path_join(base_dir, name);
    json_t *j = osm_json_load_file(ipath, OSM_CONFIG_FILE_MAX, err);
    int rc = j ? read_inventory(p, j, ipath, err) : -1;
    /* a malformed inventory names itself; one that cannot be read is named
     * as the plan's member */
    if (rc != 0 && err->code != OSM_EINPUT)
        osm_err_prefix(err, "%s: inventory", p->path);
    json_decref(j);
    free(ipath);
    return rc;
}

int osm_netplan_load_doc(json_t *j, const char *name, const char *base_dir, struct osm_netplan **out,
                         struct osm_err *err)
{
    struct osm_netplan *p = osm_xcalloc(1, sizeof *p);
    p->path = osm_xstrdup(name);
    int rc = read_plan(p, j, err);
    json_t *inv = json_object_get(j, "inventory");
    if (rc == 0 && inv && !json_is_null(inv))
        rc = load_inventory(p, inv, base_dir, err);
    if (rc == 0)
        rc = read_inline_facts(p, json_object_get(j, "instances"), err);
    if (rc != 0) {
        osm_netplan_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int osm_netplan_load(const char *path, struct osm_netplan **out, struct osm_err *err)
{
    json_t *j = osm_json_load_file(path, OSM_CONFIG_FILE_MAX, err);
    if (!j)
        return -1;
    /* a relative inventory path is the plan's folder's, as a person writes it */
    char *dir = osm_xstrdup(path);
    int rc = osm_netplan_load_doc(j, path, dirname(dir), out, err);
    free(dir);
    json_decref(j);
    return rc;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void osm_netplan_free(struct osm_netplan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_inst; i++) {
        struct osm_net_instance *in = &p->inst[i];
        free(in->id), free(in->zone), free(in->private_ip), free(in->private_mac), free(in->public_mac);
        free(in->vswitch), free(in->batch), free(in->uri);
        strv_free(in->groups, in->n_groups);
        strv_free(in->depends_on, in->n_depends_on);
    }
    for (size_t i = 0; i < p->n_vswitches; i++)
        free(p->vswitches[i].id), free(p->vswitches[i].zone), free(p->vswitches[i].bridge);
    for (size_t i = 0; i < p->n_sgroups; i++)
        free(p->sgroups[i].id);
    strv_free(p->group_ids, p->n_group_ids);
    strv_free(p->excluded_zones, p->n_excluded_zones);
    free(p->inst), free(p->vswitches), free(p->sgroups), free(p->by_id);
    free(p->path), free(p->name), free(p->zone), free(p->vpc_id), free(p->vswitch), free(p->vpc_bridge);
    free(p);
}

const struct osm_net_instance *osm_netplan_find(const struct osm_netplan *p, const char *id)
{
    size_t lo = 0, hi = p->n_inst;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p->inst[p->by_id[mid]].id, id);
        if (c == 0)
            return &p->inst[p->by_id[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
