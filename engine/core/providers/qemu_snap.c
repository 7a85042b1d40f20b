/* qemu_snap.c: snapshot sets of every disk of a `qemu:` instance.
 *
 * A set is one internal qcow2 snapshot per disk, all with the set's id as
 * name, made by one QMP `transaction` of blockdev-snapshot-internal-sync
 * (all disks or none) while the guest runs, its file systems frozen around
 * it (guest-fsfreeze-freeze/thaw) when its agent answers. The label and the
 * time are kept in a set file beside the descriptor (DESCRIPTOR.sets,
 * JSON); a set is "ready" when every disk has its snapshot (read with
 * query-named-block-nodes from a running QEMU, `qemu-img info -U`
 * otherwise), "corrupt" when some disk lacks it. A snapshot named like a set
 * on every disk but missing from the file (a create killed between the
 * transaction and the file) is listed too, labelled "(unrecorded)".
 *
 * Revert stops QEMU (loadvm refuses disk-only snapshots and leaves the VM
 * paused), applies the snapshot to every disk with `qemu-img snapshot -a`,
 * and starts QEMU again when the descriptor says how. */
#include "qemu_priv.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "osm_fs.h"
#include "osm_log.h"
#include "osm_run.h"

#define SET_PREFIX "osmig-"

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the set file ---- */

static json_t *sets_read(struct qemu_vm *vm, struct osm_err *err)
{
    if (access(vm->setfile, F_OK) != 0)
        return json_pack("{s:[]}", "sets");
    json_error_t jerr;
    json_t *doc = json_load_file(vm->setfile, 0, &jerr);
    if (!doc || !json_is_array(json_object_get(doc, "sets"))) {
        json_decref(doc);
        osm_err_set(err, OSM_EINPUT, "set file %s: line %d: %s", vm->setfile, doc ? 0 : jerr.line,
                    doc ? "expected {\"sets\": [...]}" : jerr.text);
        return NULL;
    }
    return doc;
}

static int sets_write(struct qemu_vm *vm, json_t *doc, struct osm_err *err)
{
    char *s = json_dumps(doc, JSON_INDENT(2));
    int r = osm_write_file_atomic(vm->setfile, s, strlen(s), 0644, err);
    free(s);
    return r;
}

/* Serialises writers of the set file (two commands on one VM). */
static int sets_lock(struct qemu_vm *vm, struct osm_err *err)
{
    char *p = osm_xasprintf("%s.lock", vm->setfile);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(p);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        if (fd >= 0)
            close(fd);
        return osm_err_errno(err, "locking %s.lock", vm->setfile);
    }
    return fd;
}

/* ---- what each disk has ---- */

/* names[i]: the snapshot names of disk i (a JSON array of strings);
 * sizes[i] (when sizes is not NULL): its virtual size in bytes. */
static json_t *disk_snapshots(struct osm_instance *inst, uint64_t *sizes, struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    json_t *out = json_array();
    if (qemu_is_running(inst)) {
        json_t *nodes = NULL;
        if (osm_qmp_call(vm->mon, "query-named-block-nodes", json_pack("{s:b}", "flat", 1), QEMU_CALL_MS, &nodes,
                         err) != 0) {
            json_decref(out);
            return NULL;
        }
        for (size_t i = 0; i < inst->n_disks; i++) {
            json_t *names = json_array(), *n;
            size_t k;
            json_array_foreach(nodes, k, n)
            {
                const char *nn = json_string_value(json_object_get(n, "node-name"));
                if (!nn || strcmp(nn, inst->disks[i].id) != 0)
                    continue;
                if (sizes)
                    sizes[i] = (uint64_t)json_integer_value(
                        json_object_get(json_object_get(n, "image"), "virtual-size"));
                json_t *snaps = json_object_get(json_object_get(n, "image"), "snapshots"), *s;
                size_t j;
                json_array_foreach(snaps, j, s) json_array_append(names, json_object_get(s, "name"));
            }
            json_array_append_new(out, names);
        }
        json_decref(nodes);
        return out;
    }
    for (size_t i = 0; i < inst->n_disks; i++) {
        const char *argv[] = {"qemu-img", "info", "-U", "--output=json", inst->disks[i].path, NULL};
        struct osm_buf o, e;
        osm_buf_init(&o);
        osm_buf_init(&e);
        struct osm_run_opts ro = {.out = &o, .errout = &e};
        int st = osm_run(argv, &ro, err);
        json_t *info = st == 0 ? json_loads(o.s, 0, NULL) : NULL;
        if (!info) {
            if (st >= 0)
                osm_err_set(err, OSM_EIO, "qemu-img info %s: %s", inst->disks[i].path, osm_trim(e.s));
            osm_buf_free(&o);
            osm_buf_free(&e);
            json_decref(out);
            return NULL;
        }
        if (sizes)
            sizes[i] = (uint64_t)json_integer_value(json_object_get(info, "virtual-size"));
        json_t *names = json_array(), *s;
        size_t j;
        json_array_foreach(json_object_get(info, "snapshots"), j, s)
            json_array_append(names, json_object_get(s, "name"));
        json_array_append_new(out, names);
        json_decref(info);
        osm_buf_free(&o);
        osm_buf_free(&e);
    }
    return out;
}

static int has_name(json_t *names, const char *id)
{
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) if (json_is_string(n) && strcmp(json_string_value(n), id) == 0) return 1;
    return 0;
}

/* The first disk that lacks snapshot `id`, or -1 when every disk has it. */
static int first_missing(struct osm_instance *inst, json_t *per_disk, const char *id)
{
    for (size_t i = 0; i < inst->n_disks; i++)
        if (!has_name(json_array_get(per_disk, i), id))
            return (int)i;
    return -1;
}

/* ---- create ---- */

static void thaw(struct osm_qmp *ga, const char *uri)
{
    struct osm_err e = OSM_ERR_INIT;
    if (osm_qmp_call(ga, "guest-fsfreeze-thaw", NULL, QEMU_CALL_MS * 3, NULL, &e) != 0)
        osm_warn("qemu.thaw", "instance=%s error=\"%s\"", uri, e.msg);
}

int qemu_snap_create(struct osm_instance *inst, const char *label, const struct osm_snap_opts *o, char id_out[64],
                     struct osm_err *err)
{
    (void)o;
    struct qemu_vm *vm = qemu_vm_of(inst);
    long long t_begin = now_us();
    struct osm_qmp *mon = qemu_monitor(inst, err);
    if (!mon)
        return -1;
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char created[32], stamp[32];
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    unsigned rnd = (unsigned)(now_us() ^ (getpid() << 8)) & 0xffffff;
    snprintf(id_out, 64, SET_PREFIX "%s-%06x", stamp, rnd);
    int lock = sets_lock(vm, err);
    if (lock < 0)
        return -1;
    json_t *doc = sets_read(vm, err);
    if (!doc) {
        close(lock);
        return -1;
    }
    json_t *actions = json_array();
    for (size_t i = 0; i < inst->n_disks; i++)
        json_array_append_new(actions, json_pack("{s:s,s:{s:s,s:s}}", "type", "blockdev-snapshot-internal-sync",
                                                 "data", "device", inst->disks[i].id, "name", id_out));
    /* Freeze only when the agent answers at once: a set must not wait on a
     * guest that is busy booting; without a freeze it is crash-consistent. */
    struct osm_err aerr = OSM_ERR_INIT;
    struct osm_qmp *ga = qemu_agent(inst, QEMU_AGENT_PING_MS, &aerr);
    long long t_freeze = now_us(), t_frozen = 0, t_txn0, t_txn1, t_thawed;
    int frozen = -1;
    if (ga) {
        json_t *r = NULL;
        struct osm_err ferr = OSM_ERR_INIT;
        if (osm_qmp_call(ga, "guest-fsfreeze-freeze", NULL, QEMU_CALL_MS * 3, &r, &ferr) == 0) {
            frozen = (int)json_integer_value(r);
            json_decref(r);
        } else {
            osm_warn("qemu.freeze", "instance=%s error=\"%s\" (snapshot without a freeze)", inst->uri, ferr.msg);
            thaw(ga, inst->uri); /* a freeze that half happened */
        }
    }
    t_frozen = now_us();
    t_txn0 = now_us();
    int rc = osm_qmp_call(mon, "transaction", json_pack("{s:o}", "actions", actions), QEMU_CALL_MS * 6, NULL, err);
    t_txn1 = now_us();
    if (frozen >= 0)
        thaw(ga, inst->uri);
    t_thawed = now_us();
    if (rc != 0) {
        osm_err_prefix(err, "instance %s: snapshot of every disk", inst->uri);
        json_decref(doc);
        close(lock);
        return -1;
    }
    json_t *disks = json_array();
    for (size_t i = 0; i < inst->n_disks; i++)
        json_array_append_new(disks, json_string(inst->disks[i].id));
    json_array_append_new(json_object_get(doc, "sets"),
                          json_pack("{s:s,s:s,s:s,s:o,s:b}", "id", id_out, "label", label ? label : "", "created",
                                    created, "disks", disks, "frozen", frozen > 0));
    rc = sets_write(vm, doc, err);
    json_decref(doc);
    close(lock);
    osm_info("qemu.snapshot",
             "instance=%s set=%s disks=%zu frozen_fs=%d freeze_us=%lld txn_us=%lld thaw_us=%lld frozen_window_us=%lld "
             "total_us=%lld",
             inst->uri, id_out, inst->n_disks, frozen, t_frozen - t_freeze, t_txn1 - t_txn0, t_thawed - t_txn1,
             frozen >= 0 ? t_thawed - t_freeze : 0, now_us() - t_begin);
    return rc;
}

/* ---- list, verify ---- */

static void fill_info(struct osm_instance *inst, const uint64_t *sizes, struct osm_snap_info *si, const char *id,
                      const char *label, const char *created, int ready)
{
    memset(si, 0, sizeof *si);
    snprintf(si->id, sizeof si->id, "%s", id);
    si->label = osm_xstrdup(label);
    si->instance = osm_xstrdup(inst->disks[0].path);
    snprintf(si->created, sizeof si->created, "%s", created);
    snprintf(si->state, sizeof si->state, "%s", ready ? "ready" : "corrupt");
    si->n_disks = inst->n_disks;
    si->disks = osm_xcalloc(inst->n_disks, sizeof *si->disks);
    for (size_t i = 0; i < inst->n_disks; i++) {
        snprintf(si->disks[i].id, sizeof si->disks[i].id, "%s", inst->disks[i].id);
        snprintf(si->disks[i].kind, sizeof si->disks[i].kind, "qcow2");
        si->disks[i].path = osm_xstrdup(inst->disks[i].path);
        si->disks[i].size = sizes[i];
    }
}

int qemu_snap_list(struct osm_instance *inst, const struct osm_snap_opts *o, struct osm_snap_info **out,
                   size_t *n_out, struct osm_err *err)
{
    (void)o;
    *out = NULL;
    *n_out = 0;
    json_t *doc = sets_read(qemu_vm_of(inst), err);
    if (!doc)
        return -1;
    uint64_t *sizes = osm_xcalloc(inst->n_disks, sizeof *sizes);
    json_t *per_disk = disk_snapshots(inst, sizes, err);
    if (!per_disk) {
        free(sizes);
        json_decref(doc);
        return -1;
    }
    json_t *sets = json_object_get(doc, "sets"), *s;
    size_t cap = json_array_size(sets) + json_array_size(json_array_get(per_disk, 0)), n = 0, i;
    struct osm_snap_info *v = osm_xcalloc(cap ? cap : 1, sizeof *v);
    json_array_foreach(sets, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "id"));
        if (!id)
            continue;
        fill_info(inst, sizes, &v[n++], id, json_string_value(json_object_get(s, "label")) ?: "",
                  json_string_value(json_object_get(s, "created")) ?: "", first_missing(inst, per_disk, id) < 0);
    }
    json_t *nm;
    json_array_foreach(json_array_get(per_disk, 0), i, nm)
    {
        const char *id = json_string_value(nm);
        int known = 0;
        for (size_t k = 0; k < n; k++)
            known |= strcmp(v[k].id, id) == 0;
        if (!known && strncmp(id, SET_PREFIX, strlen(SET_PREFIX)) == 0 && first_missing(inst, per_disk, id) < 0)
            fill_info(inst, sizes, &v[n++], id, "(unrecorded)", "", 1);
    }
    json_decref(per_disk);
    json_decref(doc);
    free(sizes);
    *out = v;
    *n_out = n;
    return 0;
}

void qemu_snap_list_free(struct osm_snap_info *infos, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(infos[i].label);
        free(infos[i].instance);
        for (size_t k = 0; k < infos[i].n_disks; k++)
            free(infos[i].disks[k].path);
        free(infos[i].disks);
    }
    free(infos);
}

int qemu_snap_verify(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o, struct osm_err *err)
{
    (void)o;
    json_t *per_disk = disk_snapshots(inst, NULL, err);
    if (!per_disk)
        return -1;
    int miss = first_missing(inst, per_disk, id);
    json_decref(per_disk);
    if (miss >= 0)
        return osm_err_set(err, OSM_ENOTFOUND, "instance %s: set %s: disk %s (%s) has no snapshot of that name",
                           inst->uri, id, inst->disks[miss].id, inst->disks[miss].path);
    return 0;
}

/* ---- revert, delete ---- */

static int qemu_img(const char *const argv[], const char *what, struct osm_err *err)
{
    struct osm_buf e;
    osm_buf_init(&e);
    struct osm_run_opts ro = {.errout = &e};
    int st = -1;
    /* A QEMU that has just quit may hold its image lock for a moment. */
    for (int attempt = 0; attempt < 50; attempt++) {
        osm_buf_reset(&e);
        st = osm_run(argv, &ro, err);
        if (st != 0 && st > 0 && strstr(e.s, "lock")) {
            struct timespec ts = {0, 100 * 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        break;
    }
    if (st > 0)
        osm_err_set(err, OSM_EIO, "%s: %s", what, osm_trim(e.s));
    osm_buf_free(&e);
    return st == 0 ? 0 : -1;
}

int qemu_snap_revert(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o, int *digest_ok,
                     struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    if (digest_ok)
        *digest_ok = 0;
    /* Every disk must have the set before any is touched. */
    if (qemu_snap_verify(inst, id, o, err) != 0)
        return -1;
    if (qemu_stop(inst, err) != 0)
        return -1;
    for (size_t i = 0; i < inst->n_disks; i++) {
        const char *argv[] = {"qemu-img", "snapshot", "-a", id, inst->disks[i].path, NULL};
        char what[512];
        snprintf(what, sizeof what, "instance %s: qemu-img snapshot -a %s %s", inst->uri, id, inst->disks[i].path);
        if (qemu_img(argv, what, err) != 0)
            return -1;
    }
    /* An internal snapshot is the recorded content itself: applied whole,
     * there is nothing a digest would add. */
    if (digest_ok)
        *digest_ok = 1;
    osm_info("qemu.revert", "instance=%s set=%s disks=%zu", inst->uri, id, inst->n_disks);
    if (!vm->can_start) {
        osm_warn("qemu.revert", "instance=%s set=%s: QEMU stopped; the descriptor has no \"start\", its owner "
                                "starts it", inst->uri, id);
        return 0;
    }
    return qemu_start(inst, err);
}

int qemu_snap_delete(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o, struct osm_err *err)
{
    (void)o;
    struct qemu_vm *vm = qemu_vm_of(inst);
    int lock = sets_lock(vm, err);
    if (lock < 0)
        return -1;
    json_t *doc = sets_read(vm, err);
    json_t *per_disk = doc ? disk_snapshots(inst, NULL, err) : NULL;
    int rc = per_disk ? 0 : -1, found = 0;
    for (size_t i = 0; rc == 0 && i < inst->n_disks; i++) {
        if (!has_name(json_array_get(per_disk, i), id))
            continue;
        found = 1;
        if (vm->mon) {
            rc = osm_qmp_call(vm->mon, "blockdev-snapshot-delete-internal-sync",
                              json_pack("{s:s,s:s}", "device", inst->disks[i].id, "name", id), QEMU_CALL_MS * 6,
                              NULL, err);
        } else {
            const char *argv[] = {"qemu-img", "snapshot", "-d", id, inst->disks[i].path, NULL};
            char what[512];
            snprintf(what, sizeof what, "instance %s: qemu-img snapshot -d %s %s", inst->uri, id,
                     inst->disks[i].path);
            rc = qemu_img(argv, what, err);
        }
    }
    size_t i;
    json_t *s;
    json_t *sets = doc ? json_object_get(doc, "sets") : NULL;
    json_array_foreach(sets, i, s)
    {
        const char *sid = json_string_value(json_object_get(s, "id"));
        if (rc == 0 && sid && strcmp(sid, id) == 0) {
            found = 1;
            json_array_remove(sets, i);
            rc = sets_write(vm, doc, err);
            break;
        }
    }
    if (rc == 0 && !found)
        rc = osm_err_set(err, OSM_ENOTFOUND, "instance %s: no set %s", inst->uri, id);
    json_decref(per_disk);
    json_decref(doc);
    close(lock);
    return rc;
}
