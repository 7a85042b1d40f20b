/* qemu_net.c: the network interfaces of a `qemu:` VM (docs/qemu.md, "nics").
 *
 *   "nics": [{"id": "net0", "bridge": "br-classic", "mac": "52:54:00:0a:00:01"}]
 *   "start": {..., "netns": "osmig-net"}     QEMU and its taps live in that namespace
 *
 * Each NIC is a virtio-net device on a tap that osmig makes before QEMU
 * starts and puts on the named bridge (`ip tuntap add`, `ip link set master`,
 * run by argv, never a shell), and removes after QEMU ended: a tap of ours
 * is persistent, so QEMU only opens it, and the bridge is attached before
 * the guest sends its first frame. With "netns", ip(8) works in that network
 * namespace (`ip -n NS`) and QEMU runs in it (`ip netns exec NS qemu ...`),
 * so a test's bridges and addresses exist only there. The tap's name comes
 * from the descriptor's path (at most 15 bytes, IFNAMSIZ), so every process
 * finds the taps of a VM another one started.
 *
 * Moving a NIC to another network (qemu_nic_set) rewrites the descriptor
 * (the VM's configuration) atomically: the next start attaches it there,
 * with its new MAC. */
#include "qemu_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "osm_fs.h"
#include "osm_hash.h"
#include "osm_log.h"
#include "osm_run.h"

static int bad(struct osm_err *err, const char *path, const char *field, const char *what)
{
    return osm_err_set(err, OSM_EINPUT, "VM descriptor %s: \"%s\" %s", path, field, what);
}

/* An interface or namespace name ip(8) and QEMU's option syntax both take
 * as is: 1..15 of [A-Za-z0-9_.-], not starting with '-'. */
static int ifname_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 15 && s[0] != '-' && s[0] != '.' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int qemu_mac_ok(const char *s)
{
    if (strlen(s) != 17)
        return 0;
    for (int i = 0; i < 17; i++) {
        char c = s[i];
        if (i % 3 == 2 ? c != ':' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    /* unicast: the first octet's lowest bit is the multicast bit */
    int first = (int)strtol(s, NULL, 16);
    return (first & 1) == 0 && strcmp(s, "00:00:00:00:00:00") != 0;
}

static char *tap_name(const char *descriptor, size_t i)
{
    char hex[65];
    osm_sha256_hex(descriptor, strlen(descriptor), hex);
    return osm_xasprintf("o%.9s-%zu", hex, i);
}

int qemu_net_load(struct osm_instance *inst, json_t *doc, const char *path, struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    json_t *ns = json_object_get(json_object_get(doc, "start"), "netns");
    if (ns) {
        if (!json_is_string(ns) || !ifname_ok(json_string_value(ns)))
            return bad(err, path, "start.netns", "must be a network namespace name (1 to 15 of A-Z a-z 0-9 _ . -)");
        vm->netns = osm_xstrdup(json_string_value(ns));
    }
    json_t *nics = json_object_get(doc, "nics");
    if (!nics)
        return 0;
    if (!json_is_array(nics))
        return bad(err, path, "nics", "must be an array of {\"id\", \"bridge\", \"mac\"}");
    if (json_array_size(nics) && !vm->can_start)
        return bad(err, path, "nics", "needs \"start\": osmig makes the taps of the VMs it starts only");
    size_t i;
    json_t *d;
    json_array_foreach(nics, i, d)
    {
        char field[64];
        snprintf(field, sizeof field, "nics[%zu]", i);
        if (!json_is_object(d))
            return bad(err, path, field, "must be an object {\"id\", \"bridge\", \"mac\"}");
        const char *key;
        json_t *v;
        json_object_foreach(d, key, v)
        {
            if (strcmp(key, "id") && strcmp(key, "bridge") && strcmp(key, "mac")) {
                snprintf(field, sizeof field, "nics[%zu].%s", i, key);
                return bad(err, path, field, "is not a known key (id, bridge, mac)");
            }
        }
        const char *id = json_string_value(json_object_get(d, "id"));
        const char *br = json_string_value(json_object_get(d, "bridge"));
        const char *mac = json_string_value(json_object_get(d, "mac"));
        snprintf(field, sizeof field, "nics[%zu].id", i);
        if (!id || !ifname_ok(id) || strchr(id, '.'))
            return bad(err, path, field, "must be a name: 1 to 15 of A-Z a-z 0-9 _ -");
        for (size_t k = 0; k < vm->n_nics; k++)
            if (strcmp(vm->nics[k].id, id) == 0)
                return bad(err, path, field, "repeats an id");
        snprintf(field, sizeof field, "nics[%zu].bridge", i);
        if (!br || !ifname_ok(br))
            return bad(err, path, field, "must be a bridge's interface name (1 to 15 of A-Z a-z 0-9 _ . -)");
        snprintf(field, sizeof field, "nics[%zu].mac", i);
        if (!mac || !qemu_mac_ok(mac))
            return bad(err, path, field, "must be a unicast MAC address like 52:54:00:12:34:56");
        vm->nics = osm_xrealloc(vm->nics, (vm->n_nics + 1) * sizeof *vm->nics);
        struct qemu_nic *n = &vm->nics[vm->n_nics];
        n->id = osm_xstrdup(id);
        n->bridge = osm_xstrdup(br);
        n->mac = osm_xstrdup(mac);
        n->tap = tap_name(path, vm->n_nics);
        vm->n_nics++;
    }
    return 0;
}

void qemu_net_free(struct qemu_vm *vm)
{
    for (size_t i = 0; i < vm->n_nics; i++) {
        free(vm->nics[i].id);
        free(vm->nics[i].bridge);
        free(vm->nics[i].mac);
        free(vm->nics[i].tap);
    }
    free(vm->nics);
    free(vm->netns);
    vm->nics = NULL;
    vm->n_nics = 0;
    vm->netns = NULL;
}

char **qemu_net_args(const struct osm_instance *inst)
{
    const struct qemu_vm *vm = inst->priv;
    char **v = osm_xcalloc(4 * vm->n_nics + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < vm->n_nics; i++) {
        const struct qemu_nic *n = &vm->nics[i];
        v[k++] = osm_xstrdup("-netdev");
        v[k++] = osm_xasprintf("tap,id=%s,ifname=%s,script=no,downscript=no", n->id, n->tap);
        v[k++] = osm_xstrdup("-device");
        json_t *dev = json_pack("{s:s,s:s,s:s,s:s}", "driver", "virtio-net-pci", "netdev", n->id, "mac", n->mac,
                                "id", n->id);
        char *s = json_dumps(dev, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(dev);
        v[k++] = osm_xstrdup(s);
        free(s);
    }
    return v;
}

/* ip(8) with `-n NETNS` when the VM has one; its output in `out`. */
static int ip_cmd(const struct qemu_vm *vm, const char *const *args, struct osm_buf *out, struct osm_err *err)
{
    const char *argv[16];
    size_t k = 0;
    argv[k++] = "ip";
    if (vm->netns) {
        argv[k++] = "-n";
        argv[k++] = vm->netns;
    }
    for (size_t i = 0; args[i] && k < 15; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    struct osm_run_opts o = {.out = out, .errout = out};
    return osm_run(argv, &o, err);
}

int qemu_net_up(struct osm_instance *inst, struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    struct osm_buf out;
    osm_buf_init(&out);
    int rc = 0;
    for (size_t i = 0; i < vm->n_nics && rc == 0; i++) {
        const struct qemu_nic *n = &vm->nics[i];
        osm_buf_reset(&out);
        const char *show[] = {"link", "show", "dev", n->bridge, "type", "bridge", NULL};
        int st = ip_cmd(vm, show, &out, err);
        if (st != 0 || !strstr(out.s ? out.s : "", n->bridge)) {
            rc = st < 0 ? -1
                        : osm_err_set(err, OSM_ENOTFOUND, "instance %s: NIC %s: no bridge '%s'%s%s", inst->uri, n->id,
                                      n->bridge, vm->netns ? " in network namespace " : " on this host",
                                      vm->netns ? vm->netns : "");
            break;
        }
        /* A tap left by a QEMU that died: ours (its name is this VM's). */
        const char *del[] = {"link", "del", "dev", n->tap, NULL};
        struct osm_err e = OSM_ERR_INIT;
        ip_cmd(vm, del, &out, &e);
        const char *add[] = {"tuntap", "add", "dev", n->tap, "mode", "tap", NULL};
        const char *master[] = {"link", "set", "dev", n->tap, "master", n->bridge, "up", NULL};
        osm_buf_reset(&out);
        if ((st = ip_cmd(vm, add, &out, err)) == 0)
            st = ip_cmd(vm, master, &out, err);
        if (st != 0) {
            rc = st < 0 ? -1
                        : osm_err_set(err, OSM_EFAIL, "instance %s: NIC %s: making tap %s on bridge %s: %s", inst->uri,
                                      n->id, n->tap, n->bridge, osm_trim(out.s));
        }
    }
    osm_buf_free(&out);
    if (rc != 0)
        qemu_net_down(inst);
    else if (vm->n_nics)
        osm_info("qemu.net", "instance=%s nics=%zu netns=%s", inst->uri, vm->n_nics, vm->netns ? vm->netns : "-");
    return rc;
}

void qemu_net_down(struct osm_instance *inst)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    struct osm_buf out;
    osm_buf_init(&out);
    for (size_t i = 0; i < vm->n_nics; i++) {
        const char *del[] = {"link", "del", "dev", vm->nics[i].tap, NULL};
        struct osm_err e = OSM_ERR_INIT;
        ip_cmd(vm, del, &out, &e);
    }
    osm_buf_free(&out);
}

int qemu_nic_set(struct osm_instance *inst, const char *nic, const char *network, const char *mac,
                 char old_network[64], char old_mac[32], struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    size_t i = 0;
    while (i < vm->n_nics && nic && strcmp(vm->nics[i].id, nic) != 0)
        i++;
    if (i >= vm->n_nics)
        return osm_err_set(err, OSM_ENOTFOUND, "instance %s: no NIC %s in its descriptor", inst->uri,
                           nic ? nic : "at all");
    if (!network) { /* a question only */
        snprintf(old_network, 64, "%s", vm->nics[i].bridge);
        snprintf(old_mac, 32, "%s", vm->nics[i].mac);
        return 0;
    }
    if (!ifname_ok(network))
        return osm_err_set(err, OSM_EINPUT, "instance %s: '%s' is not a bridge's interface name", inst->uri, network);
    if (!qemu_mac_ok(mac))
        return osm_err_set(err, OSM_EINPUT, "instance %s: '%s' is not a unicast MAC address", inst->uri, mac);
    if (qemu_is_running(inst))
        return osm_err_set(err, OSM_ECONFLICT, "instance %s: its NIC moves while the VM is stopped; it runs",
                           inst->uri);
    struct qemu_nic *n = &vm->nics[i];
    snprintf(old_network, 64, "%s", n->bridge);
    snprintf(old_mac, 32, "%s", n->mac);
    json_t *doc = inst->descriptor;
    json_t *d = json_array_get(json_object_get(doc, "nics"), i);
    json_object_set_new(d, "bridge", json_string(network));
    json_object_set_new(d, "mac", json_string(mac));
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    struct stat st;
    mode_t mode = stat(inst->descriptor_path, &st) == 0 ? (st.st_mode & 07777) : 0644;
    size_t len = strlen(text);
    text = osm_xrealloc(text, len + 2);
    text[len++] = '\n';
    int rc = osm_write_file_atomic(inst->descriptor_path, text, len, mode, err);
    free(text);
    if (rc != 0) {
        json_object_set_new(d, "bridge", json_string(old_network));
        json_object_set_new(d, "mac", json_string(old_mac));
        return -1;
    }
    free(n->bridge);
    free(n->mac);
    n->bridge = osm_xstrdup(network);
    n->mac = osm_xstrdup(mac);
    osm_info("qemu.nic_set", "instance=%s nic=%s bridge=%s mac=%s was_bridge=%s was_mac=%s", inst->uri, n->id,
             network, mac, old_network, old_mac);
    return 0;
}
