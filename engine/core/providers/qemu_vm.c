/* qemu_vm.c: the QEMU process of a `qemu:` instance and its two sockets.
 *
 * osmig starts QEMU only when the descriptor has "start": from an argv it
 * builds (qemu_start_argv; never a shell string), daemonized, with a pid
 * file beside the QMP socket. Disks are -blockdev nodes named by their ids
 * and virtio-blk devices whose serial is the id, so the guest sees
 * /sys/block/vdX/serial = id. A QEMU osmig starts has the guest's reboot
 * made a pause (set-action reboot=shutdown shutdown=pause), so the provider
 * acts between boots (qemu_boot.c); a QEMU of someone else gets it only
 * for the length of a reboot osmig makes. */
#include "qemu_priv.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "osm_fs.h"
#include "osm_log.h"
#include "osm_run.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void push(char ***v, size_t *n, char *s)
{
    *v = osm_xrealloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
}

static char *json_arg(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    char *r = osm_xstrdup(s);
    free(s);
    return r;
}

/* -chardev takes QEMU's option syntax (its JSON form is newer than
 * Debian 12's QEMU): a comma inside a value is written twice. */
static char *chardev_socket(const char *id, const char *path)
{
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_addf(&b, "socket,id=%s,server=on,wait=off,path=", id);
    for (const char *p = path; *p; p++) {
        if (*p == ',')
            osm_buf_addc(&b, ',');
        osm_buf_addc(&b, *p);
    }
    return osm_buf_detach(&b);
}

char **qemu_start_argv(const struct osm_instance *inst)
{
    const struct qemu_vm *vm = inst->priv;
    char **v = NULL;
    size_t n = 0;
    if (vm->netns) { /* QEMU opens its taps in the namespace of its bridges */
        push(&v, &n, osm_xstrdup("ip"));
        push(&v, &n, osm_xstrdup("netns"));
        push(&v, &n, osm_xstrdup("exec"));
        push(&v, &n, osm_xstrdup(vm->netns));
    }
    push(&v, &n, osm_xstrdup(vm->qemu_bin));
    /* Each option and its value (NULL: none), in the order QEMU is given them. */
    const struct {
        const char *name;
        char *value;
    } opts[] = {
        {"-name", osm_xstrdup(inst->name)},
        {"-machine", osm_xasprintf("%s,accel=%s", vm->machine, vm->accel)},
        {"-m", osm_xasprintf("%d", vm->memory_mib)},
        {"-smp", osm_xasprintf("%d", vm->vcpus)},
        {"-nodefaults", NULL},
        {"-display", osm_xstrdup("none")},
        {"-serial", vm->console_log ? osm_xasprintf("file:%s", vm->console_log) : osm_xstrdup("null")},
        {"-chardev", chardev_socket("qmp", vm->qmp_path)},
        {"-mon", osm_xstrdup("chardev=qmp,mode=control")},
        {"-chardev", chardev_socket("qga", vm->qga_path)},
        {"-device", osm_xstrdup("virtio-serial-pci,id=vser0")},
        {"-device", osm_xstrdup("virtserialport,chardev=qga,name=org.qemu.guest_agent.0")},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        push(&v, &n, osm_xstrdup(opts[i].name));
        if (opts[i].value)
            push(&v, &n, opts[i].value);
    }
    for (size_t i = 0; i < inst->n_disks; i++) {
        const struct osm_disk *d = &inst->disks[i];
        push(&v, &n, osm_xstrdup("-blockdev"));
        push(&v, &n, json_arg(json_pack("{s:s,s:s,s:{s:s,s:s}}", "driver", "qcow2", "node-name", d->id, "file",
                                        "driver", "file", "filename", d->path)));
        push(&v, &n, osm_xstrdup("-device"));
        push(&v, &n, json_arg(json_pack("{s:s,s:s,s:s,s:s}", "driver", "virtio-blk-pci", "drive", d->id, "id",
                                        d->id, "serial", d->id)));
    }
    char **net = qemu_net_args(inst);
    for (size_t i = 0; net[i]; i++)
        push(&v, &n, net[i]);
    free(net);
    for (size_t i = 0; i < vm->n_extra; i++)
        push(&v, &n, osm_xstrdup(vm->extra_args[i]));
    push(&v, &n, osm_xstrdup("-pidfile"));
    push(&v, &n, osm_xstrdup(vm->pidfile));
    push(&v, &n, osm_xstrdup("-daemonize"));
    return v;
}

void qemu_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

void qemu_disconnect(struct qemu_vm *vm)
{
    osm_qmp_close(vm->mon);
    osm_qmp_close(vm->ga);
    vm->mon = vm->ga = NULL;
}

int qemu_is_running(struct osm_instance *inst)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    if (vm->mon)
        return 1;
    struct osm_err e = OSM_ERR_INIT;
    return osm_qmp_connect(vm->qmp_path, OSM_QMP_MONITOR, 0, &vm->mon, &e) == 0;
}

int qemu_set_reboot_pause(struct osm_qmp *mon, struct osm_err *err)
{
    return osm_qmp_call(mon, "set-action", json_pack("{s:s,s:s}", "reboot", "shutdown", "shutdown", "pause"),
                        QEMU_CALL_MS, NULL, err);
}

int qemu_start(struct osm_instance *inst, struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    if (!vm->can_start)
        return osm_err_set(err, OSM_ECONFLICT,
                           "instance %s: QEMU does not answer on %s and the descriptor has no \"start\" (osmig "
                           "starts only the VMs it is told how to)",
                           inst->uri, vm->qmp_path);
    qemu_disconnect(vm);
    unlink(vm->qmp_path);
    unlink(vm->qga_path);
    if (qemu_net_up(inst, err) != 0)
        return -1;
    char **argv = qemu_start_argv(inst);
    struct osm_buf out;
    osm_buf_init(&out);
    struct osm_run_opts o = {.out = &out, .errout = &out};
    long long t0 = now_ms();
    int st = osm_run((const char *const *)argv, &o, err);
    qemu_argv_free(argv);
    if (st != 0) {
        if (st > 0)
            osm_err_set(err, OSM_EFAIL, "instance %s: starting QEMU failed (exit %d): %s", inst->uri, st,
                        osm_trim(out.s));
        osm_buf_free(&out);
        qemu_net_down(inst);
        return -1;
    }
    osm_buf_free(&out);
    if (osm_qmp_connect(vm->qmp_path, OSM_QMP_MONITOR, QEMU_CALL_MS, &vm->mon, err) != 0 ||
        qemu_set_reboot_pause(vm->mon, err) != 0)
        return -1;
    if (!qemu_agent(inst, vm->boot_timeout_s * 1000, err)) {
        osm_err_prefix(err, "instance %s: started QEMU, but no boot within %d s", inst->uri, vm->boot_timeout_s);
        return -1;
    }
    osm_info("qemu.started", "instance=%s boot_ms=%lld", inst->uri, now_ms() - t0);
    return 0;
}

static int pid_alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* The pid in the pid file of a QEMU osmig started; 0 when none. */
static pid_t pidfile_pid(const struct qemu_vm *vm)
{
    pid_t pid = 0;
    if (vm->pidfile) {
        struct osm_buf b;
        osm_buf_init(&b);
        struct osm_err e = OSM_ERR_INIT;
        if (osm_read_file(vm->pidfile, &b, &e) == 0)
            pid = (pid_t)atol(b.s);
        osm_buf_free(&b);
    }
    return pid;
}

struct osm_qmp *qemu_monitor(struct osm_instance *inst, struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    if (vm->mon)
        return vm->mon;
    struct osm_err e = OSM_ERR_INIT;
    /* Wait for the socket only when a QEMU of ours is alive (it may be
     * starting); a VM that is down is started at once. */
    int wait_ms = !vm->can_start || pid_alive(pidfile_pid(vm)) ? QEMU_CALL_MS : 0;
    if (osm_qmp_connect(vm->qmp_path, OSM_QMP_MONITOR, wait_ms, &vm->mon, &e) == 0)
        return vm->mon;
    if (!vm->can_start) {
        *err = e;
        osm_err_prefix(err, "instance %s", inst->uri);
        return NULL;
    }
    return qemu_start(inst, err) == 0 ? vm->mon : NULL;
}

struct osm_qmp *qemu_agent(struct osm_instance *inst, int timeout_ms, struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    /* QEMU first: started here when the descriptor says how. */
    if (!vm->mon && !qemu_monitor(inst, err))
        return NULL;
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        int step = left > QEMU_AGENT_PING_MS ? QEMU_AGENT_PING_MS : (int)(left > 0 ? left : 1);
        if (vm->ga) {
            if (osm_qmp_call(vm->ga, "guest-ping", NULL, step, NULL, err) == 0)
                return vm->ga;
            /* A new connection: what this one wrote to a guest that does
             * not read goes away with it (QEMU drops it on hang-up). */
            osm_qmp_close(vm->ga);
            vm->ga = NULL;
        } else if (osm_qmp_connect(vm->qga_path, OSM_QMP_AGENT, step, &vm->ga, err) == 0) {
            return vm->ga;
        }
        if (now_ms() >= deadline) {
            osm_err_prefix(err, "instance %s: the guest agent does not answer", inst->uri);
            return NULL;
        }
        if (!vm->ga)
            sleep_ms(200); /* the socket itself is missing: QEMU is starting */
    }
}


int qemu_stop(struct osm_instance *inst, struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    pid_t pid = pidfile_pid(vm);
    if (qemu_is_running(inst)) {
        /* quit ends QEMU at once: what the guest had in memory is thrown
         * away, as a revert wants. */
        struct osm_err e = OSM_ERR_INIT;
        osm_qmp_call_noreply(vm->mon, "quit", NULL, QEMU_CALL_MS, &e);
        /* The monitor closes as QEMU goes. */
        json_t *ev = NULL;
        osm_qmp_wait_event(vm->mon, "NO_SUCH_EVENT", QEMU_CALL_MS, &ev, &e);
    }
    qemu_disconnect(vm);
    long long deadline = now_ms() + 30000;
    while (pid_alive(pid)) {
        if (now_ms() > deadline)
            return osm_err_set(err, OSM_EIO, "instance %s: QEMU (pid %d) did not exit within 30 s of quit",
                               inst->uri, (int)pid);
        sleep_ms(20);
    }
    if (vm->pidfile)
        unlink(vm->pidfile);
    qemu_net_down(inst);
    return 0;
}
