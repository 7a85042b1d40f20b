/* qemu.c: the `qemu` provider, a VM run by QEMU, named by its descriptor.
 *
 *   qemu:/srv/vms/web01.json
 *
 * The descriptor (docs/qemu.md has the whole form):
 *
 *   { "name": "web01", "memory_mib": 512, "vcpus": 1,
 *     "disks": [ {"id": "system", "path": "/srv/vms/web01/system.qcow2"},
 *                {"id": "data",   "path": "/srv/vms/web01/data.qcow2"} ],
 *     "qmp": "/run/osmig/web01/qmp.sock", "agent": "/run/osmig/web01/qga.sock",
 *     "boot_timeout_s": 300, "boot_limits": {"into-target": 900},   (boots.h)
 *     "start": { "qemu": "qemu-system-x86_64", "machine": "pc", "accel": "kvm:tcg",
 *                "console_log": "/srv/vms/web01/console.log", "extra_args": [] },
 *     "facts": { ... as dir: overrides } }
 *
 * Paths are absolute (a relative one is refused, naming the field); disks
 * are qcow2 (internal snapshots make the sets) and exist; the first is the
 * system disk. Without "start", QEMU is someone else's: osmig talks to the
 * sockets and never starts it (revert then needs it started by its owner).
 * The instance's identity is qemu:DESCRIPTOR, resolved as dir: resolves. */
#include "qemu_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "osm_fs.h"
#include "osm_log.h"

static int bad(struct osm_err *err, const char *path, const char *field, const char *what)
{
    return osm_err_set(err, OSM_EINPUT, "VM descriptor %s: \"%s\" %s", path, field, what);
}

/* An absolute path string at `field`; NULL with err set otherwise. */
static char *abs_path(json_t *v, const char *path, const char *field, struct osm_err *err)
{
    if (!json_is_string(v) || !json_string_value(v)[0]) {
        bad(err, path, field, "must be an absolute path (a string)");
        return NULL;
    }
    const char *s = json_string_value(v);
    if (s[0] != '/') {
        osm_err_set(err, OSM_EINPUT, "VM descriptor %s: \"%s\" must be an absolute path, not '%s'", path, field, s);
        return NULL;
    }
    return osm_xstrdup(s);
}

static int int_field(json_t *doc, const char *path, const char *field, int lo, int hi, int dflt, int *out,
                     struct osm_err *err)
{
    json_t *v = json_object_get(doc, field);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return osm_err_set(err, OSM_EINPUT, "VM descriptor %s: \"%s\" must be an integer from %d to %d", path, field,
                           lo, hi);
    *out = (int)json_integer_value(v);
    return 0;
}

/* A disk id is a QEMU node name too: a letter, then letters, digits, - or _. */
static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 24 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

static int load_disks(struct osm_instance *inst, json_t *doc, const char *path, struct osm_err *err)
{
    json_t *disks = json_object_get(doc, "disks");
    if (!json_is_array(disks) || json_array_size(disks) == 0)
        return bad(err, path, "disks", "must be a non-empty array of {\"id\", \"path\"}");
    size_t i;
    json_t *d;
    json_array_foreach(disks, i, d)
    {
        char field[64];
        snprintf(field, sizeof field, "disks[%zu].id", i);
        json_t *id = json_object_get(d, "id");
        if (!json_is_string(id) || !id_ok(json_string_value(id)))
            return bad(err, path, field, "must be a name: a letter, then letters, digits, '-' or '_' (24 at most)");
        for (size_t k = 0; k < inst->n_disks; k++)
            if (strcmp(inst->disks[k].id, json_string_value(id)) == 0)
                return bad(err, path, field, "repeats an id");
        snprintf(field, sizeof field, "disks[%zu].path", i);
        char *p = abs_path(json_object_get(d, "path"), path, field, err);
        if (!p)
            return -1;
        char *real = realpath(p, NULL);
        if (!real) {
            osm_err_errno(err, "VM descriptor %s: \"%s\": %s", path, field, p);
            free(p);
            return -1;
        }
        free(p);
        inst->disks = osm_xrealloc(inst->disks, (inst->n_disks + 1) * sizeof *inst->disks);
        struct osm_disk *od = &inst->disks[inst->n_disks++];
        memset(od, 0, sizeof *od);
        od->id = osm_xstrdup(json_string_value(id));
        od->path = real;
        od->system = i == 0;
        od->kind = OSM_DISK_QCOW2;
        unsigned char magic[4] = {0};
        int fd = open(real, O_RDONLY | O_CLOEXEC);
        int got = fd >= 0 ? (int)read(fd, magic, 4) : -1;
        if (fd >= 0)
            close(fd);
        if (got != 4 || memcmp(magic, "QFI\xfb", 4) != 0)
            return osm_err_set(err, OSM_EINPUT, "VM descriptor %s: \"%s\": %s is not a qcow2 image", path, field,
                               real);
    }
    return 0;
}

static int load_start(struct qemu_vm *vm, json_t *doc, const char *path, struct osm_err *err)
{
    json_t *st = json_object_get(doc, "start");
    if (!st)
        return 0;
    if (!json_is_object(st))
        return bad(err, path, "start", "must be an object");
    vm->can_start = 1;
    const char *key;
    json_t *v;
    json_object_foreach(st, key, v)
    {
        char field[64];
        snprintf(field, sizeof field, "start.%s", key);
        if (strcmp(key, "qemu") == 0 || strcmp(key, "machine") == 0 || strcmp(key, "accel") == 0) {
            if (!json_is_string(v) || !json_string_value(v)[0])
                return bad(err, path, field, "must be a non-empty string");
        } else if (strcmp(key, "console_log") == 0) {
            if (!(vm->console_log = abs_path(v, path, field, err)))
                return -1;
        } else if (strcmp(key, "netns") == 0) {
            /* qemu_net.c reads it */
        } else if (strcmp(key, "extra_args") == 0) {
            if (!json_is_array(v))
                return bad(err, path, field, "must be an array of strings (QEMU arguments, one each)");
            size_t i;
            json_t *a;
            vm->extra_args = osm_xcalloc(json_array_size(v) + 1, sizeof *vm->extra_args);
            json_array_foreach(v, i, a)
            {
                if (!json_is_string(a))
                    return bad(err, path, field, "must be an array of strings (QEMU arguments, one each)");
                vm->extra_args[vm->n_extra++] = osm_xstrdup(json_string_value(a));
            }
        } else {
            return bad(err, path, field, "is not a known key (qemu, machine, accel, console_log, extra_args, netns)");
        }
    }
    json_t *q = json_object_get(st, "qemu"), *m = json_object_get(st, "machine"), *a = json_object_get(st, "accel");
    vm->qemu_bin = osm_xstrdup(q ? json_string_value(q) : "qemu-system-x86_64");
    vm->machine = osm_xstrdup(m ? json_string_value(m) : "pc");
    vm->accel = osm_xstrdup(a ? json_string_value(a) : "kvm:tcg");
    vm->pidfile = osm_xasprintf("%s.pid", vm->qmp_path);
    return 0;
}

static const char *const known_keys[] = {"name", "memory_mib", "vcpus", "disks", "qmp", "agent", "boot_timeout_s",
                                         "boot_limits", "start", "facts", "nics", NULL};

static int load(struct osm_instance *inst, const char *path, struct osm_err *err)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return osm_err_set(err, OSM_EINPUT, "VM descriptor %s: line %d: %s", path, jerr.line, jerr.text);
    inst->descriptor = doc;
    if (!json_is_object(doc))
        return osm_err_set(err, OSM_EINPUT, "VM descriptor %s: expected a JSON object", path);
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        size_t k = 0;
        while (known_keys[k] && strcmp(known_keys[k], key) != 0)
            k++;
        if (!known_keys[k])
            return bad(err, path, key, "is not a known key (name, memory_mib, vcpus, disks, qmp, agent, "
                                       "boot_timeout_s, boot_limits, start, facts, nics)");
    }
    struct qemu_vm *vm = osm_xcalloc(1, sizeof *vm);
    inst->priv = vm;
    json_t *name = json_object_get(doc, "name");
    if (name && (!json_is_string(name) || !osm_name_is_plain(json_string_value(name), 64)))
        return bad(err, path, "name", "must be a plain name (letters, digits, . _ + : -)");
    if (int_field(doc, path, "memory_mib", 16, 1 << 22, 1024, &vm->memory_mib, err) != 0 ||
        int_field(doc, path, "vcpus", 1, 1024, 1, &vm->vcpus, err) != 0 ||
        int_field(doc, path, "boot_timeout_s", 1, 86400, 300, &vm->boot_timeout_s, err) != 0)
        return -1;
    if (!(vm->qmp_path = abs_path(json_object_get(doc, "qmp"), path, "qmp", err)) ||
        !(vm->qga_path = abs_path(json_object_get(doc, "agent"), path, "agent", err)))
        return -1;
    if (load_disks(inst, doc, path, err) != 0 || load_start(vm, doc, path, err) != 0 ||
        qemu_net_load(inst, doc, path, err) != 0)
        return -1;
    json_t *facts = json_object_get(doc, "facts");
    if (facts && !json_is_object(facts))
        return bad(err, path, "facts", "must be an object");
    inst->name = osm_xstrdup(name ? json_string_value(name) : inst->disks[0].id);
    vm->setfile = osm_xasprintf("%s.sets", path);
    return 0;
}

static int qemu_open(struct osm_instance *inst, const char *rest, struct osm_err *err)
{
    if (!rest[0])
        return osm_err_set(err, OSM_EUSAGE, "instance %s: missing the descriptor path after 'qemu:'", inst->uri);
    if (strchr(rest, '?'))
        return osm_err_set(err, OSM_EUSAGE, "instance %s: qemu: takes no parameters (the descriptor says all)",
                           inst->uri);
    char *real = realpath(rest, NULL);
    if (!real)
        return osm_err_errno(err, "instance %s: VM descriptor %s", inst->uri, rest);
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        osm_err_set(err, OSM_EINPUT, "instance %s: %s is not a VM descriptor file", inst->uri, real);
        free(real);
        return -1;
    }
    inst->descriptor_path = real;
    if (load(inst, real, err) != 0)
        return -1;
    free(inst->uri);
    inst->uri = osm_xasprintf("qemu:%s", real);
    return 0;
}

static void qemu_close(struct osm_instance *inst)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    if (!vm)
        return;
    qemu_disconnect(vm);
    free(vm->qmp_path);
    free(vm->qga_path);
    free(vm->qemu_bin);
    free(vm->machine);
    free(vm->accel);
    free(vm->console_log);
    for (size_t i = 0; i < vm->n_extra; i++)
        free(vm->extra_args[i]);
    free(vm->extra_args);
    free(vm->pidfile);
    free(vm->setfile);
    qemu_net_free(vm);
    free(vm);
    inst->priv = NULL;
}

/* Facts from QEMU (vCPUs, memory) and from the guest's agent (the root file
 * system's size and free space, the OS); the heartbeat is "the agent
 * answers now", so an agent that does not answer leaves it 0. */
static int qemu_facts(struct osm_instance *inst, struct osm_facts *out, struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    out->vcpus = vm->vcpus;
    out->memory_bytes = (int64_t)vm->memory_mib << 20;
    out->authorized = 1;
    struct osm_qmp *mon = qemu_monitor(inst, err);
    if (!mon)
        return -1;
    json_t *r = NULL;
    if (osm_qmp_call(mon, "query-cpus-fast", NULL, QEMU_CALL_MS, &r, err) != 0)
        return -1;
    out->vcpus = (int)json_array_size(r);
    json_decref(r);
    if (osm_qmp_call(mon, "query-memory-size-summary", NULL, QEMU_CALL_MS, &r, err) != 0)
        return -1;
    out->memory_bytes = (int64_t)json_integer_value(json_object_get(r, "base-memory"));
    json_decref(r);
    struct osm_err aerr = OSM_ERR_INIT;
    struct osm_qmp *ga = qemu_agent(inst, QEMU_AGENT_PING_MS, &aerr);
    if (!ga) {
        osm_warn("qemu.facts", "instance=%s agent=silent error=\"%s\"", inst->uri, aerr.msg);
        out->heartbeat = 0;
        return 0;
    }
    out->heartbeat = (int64_t)time(NULL);
    if (osm_qmp_call(ga, "guest-get-fsinfo", NULL, QEMU_CALL_MS, &r, err) != 0)
        return -1;
    size_t i;
    json_t *fs;
    json_array_foreach(r, i, fs)
    {
        const char *mp = json_string_value(json_object_get(fs, "mountpoint"));
        json_t *total = json_object_get(fs, "total-bytes"), *used = json_object_get(fs, "used-bytes");
        if (mp && strcmp(mp, "/") == 0 && json_is_integer(total) && json_is_integer(used)) {
            out->system_disk_size_bytes = json_integer_value(total);
            out->system_disk_free_bytes = json_integer_value(total) - json_integer_value(used);
        }
    }
    json_decref(r);
    if (osm_qmp_call(ga, "guest-get-osinfo", NULL, QEMU_CALL_MS, &r, err) != 0)
        return -1;
    const char *pretty = json_string_value(json_object_get(r, "pretty-name"));
    const char *kr = json_string_value(json_object_get(r, "kernel-release"));
    snprintf(out->os, sizeof out->os, "%s", pretty ? pretty : "");
    snprintf(out->kernel, sizeof out->kernel, "%s", kr ? kr : "");
    json_decref(r);
    return 0;
}

static int qemu_run(struct osm_instance *inst, const char *const argv[], struct osm_buf *out, struct osm_err *err)
{
    return qemu_guest_run(inst, argv, out, err);
}

const struct osm_provider osm_provider_qemu = {
    .scheme = "qemu",
    .open = qemu_open,
    .close = qemu_close,
    .facts = qemu_facts,
    .reboot = qemu_reboot,
    .run = qemu_run,
    .attach_disk = qemu_attach_disk,
    .detach_disk = qemu_detach_disk,
    .snapshot_create = qemu_snap_create,
    .snapshot_list = qemu_snap_list,
    .snapshot_verify = qemu_snap_verify,
    .snapshot_revert = qemu_snap_revert,
    .snapshot_delete = qemu_snap_delete,
    .snapshot_list_free = qemu_snap_list_free,
    .copy_in = qemu_guest_copy_in,
    .copy_out = qemu_guest_copy_out,
    .stop = qemu_power_off,
    .start = qemu_power_on,
    .nic_set = qemu_nic_set,
};
