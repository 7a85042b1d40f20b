/* qemu_priv.h: what the files of the `qemu:` provider share (not a public
 * contract; the provider's only interface is osm_provider_qemu).
 *
 *   qemu.c        the descriptor, open/close, facts, the provider table
 *   qemu_vm.c     the QEMU process: its argv, start, stop, the two sockets
 *   qemu_guest.c  inside the guest through its agent: run, copy, boot id
 *   qemu_boot.c   reboot and wait for the next boot; disk hot-plug
 *   qemu_snap.c   snapshot sets of every disk (internal qcow2 snapshots)
 *   qemu_net.c    NICs: taps on named bridges (in a network namespace), moves
 *   qemu_power.c  a clean power-off and a start (stop/start of the provider) */
#ifndef OSM_QEMU_PRIV_H
#define OSM_QEMU_PRIV_H

#include <jansson.h>

#include "provider.h"
#include "qmp.h"

#define QEMU_CALL_MS 10000      /* an ordinary QMP or agent call */
#define QEMU_AGENT_PING_MS 3000 /* "does the agent answer now" */

struct qemu_nic {
    char *id, *bridge, *mac;
    char *tap;            /* osmig's tap for it: from the descriptor's path */
};

struct qemu_vm {
    char *qmp_path, *qga_path;
    int memory_mib, vcpus;
    int boot_timeout_s;   /* per boot: start or reboot to the agent answering */
    int can_start;        /* the descriptor says how to start QEMU */
    char *qemu_bin, *machine, *accel, *console_log;
    char **extra_args;
    size_t n_extra;
    char *pidfile;        /* QMP socket path + ".pid" when osmig starts QEMU */
    char *setfile;        /* descriptor + ".sets": the sets' labels and times */
    struct osm_qmp *mon, *ga;
    struct qemu_nic *nics; /* qemu_net.c */
    size_t n_nics;
    char *netns;          /* "start.netns": QEMU and its taps run in this network namespace */
};

static inline struct qemu_vm *qemu_vm_of(struct osm_instance *inst)
{
    return (struct qemu_vm *)inst->priv;
}

/* qemu_vm.c */
/* The argv osmig runs to start this VM (NULL-terminated; free with
 * qemu_argv_free). */
char **qemu_start_argv(const struct osm_instance *inst);
void qemu_argv_free(char **argv);
/* The monitor, connected; when QEMU does not answer and the descriptor says
 * how, QEMU is started first (and the call waits for the agent too). */
struct osm_qmp *qemu_monitor(struct osm_instance *inst, struct osm_err *err);
/* The guest agent, answering, waited for up to timeout_ms. */
struct osm_qmp *qemu_agent(struct osm_instance *inst, int timeout_ms, struct osm_err *err);
/* Start QEMU (paused=0: running) and wait for the agent within the boot time limit. */
int qemu_start(struct osm_instance *inst, struct osm_err *err);
/* Stop QEMU at once (quit) and wait until its disks are free. */
int qemu_stop(struct osm_instance *inst, struct osm_err *err);
/* The guest's reboot and power-off become a pause (SHUTDOWN event) that the
 * provider acts on; undone by set-action reboot=reset shutdown=poweroff. */
int qemu_set_reboot_pause(struct osm_qmp *mon, struct osm_err *err);
/* 1 when a QEMU answers on the QMP socket. */
int qemu_is_running(struct osm_instance *inst);
void qemu_disconnect(struct qemu_vm *vm);

/* qemu_guest.c */
int qemu_guest_run(struct osm_instance *inst, const char *const argv[], struct osm_buf *out, struct osm_err *err);
int qemu_guest_copy_in(struct osm_instance *inst, const char *host_path, const char *guest_path,
                       struct osm_err *err);
int qemu_guest_copy_out(struct osm_instance *inst, const char *guest_path, const char *host_path,
                        struct osm_err *err);
/* The guest's /proc/sys/kernel/random/boot_id (trimmed) through `ga`. */
int qemu_guest_boot_id(struct osm_qmp *ga, char out[64], struct osm_err *err);

/* qemu_boot.c */
int qemu_reboot(struct osm_instance *inst, int limit_s, char boot_id[64], struct osm_err *err);
int qemu_attach_disk(struct osm_instance *inst, const char *image, struct osm_err *err);
int qemu_detach_disk(struct osm_instance *inst, const char *image, struct osm_err *err);
/* The serial number a hot-plugged image gets: its file name without the
 * extension, [A-Za-z0-9_-] only, at most 20 bytes (virtio-blk's limit). */
void qemu_disk_serial(const char *image, char out[21]);

/* qemu_net.c */
int qemu_net_load(struct osm_instance *inst, json_t *doc, const char *path, struct osm_err *err);
void qemu_net_free(struct qemu_vm *vm);
/* The -netdev/-device arguments of the NICs (NULL-terminated, owned strings). */
char **qemu_net_args(const struct osm_instance *inst);
/* Make each NIC's tap on its bridge before QEMU starts; remove them after it ended. */
int qemu_net_up(struct osm_instance *inst, struct osm_err *err);
void qemu_net_down(struct osm_instance *inst);
int qemu_mac_ok(const char *s);
int qemu_nic_set(struct osm_instance *inst, const char *nic, const char *network, const char *mac,
                 char old_network[64], char old_mac[32], struct osm_err *err);

/* qemu_power.c */
int qemu_power_off(struct osm_instance *inst, struct osm_err *err);
int qemu_power_on(struct osm_instance *inst, struct osm_err *err);

/* qemu_snap.c */
int qemu_snap_create(struct osm_instance *inst, const char *label, const struct osm_snap_opts *o, char id_out[64],
                     struct osm_err *err);
int qemu_snap_list(struct osm_instance *inst, const struct osm_snap_opts *o, struct osm_snap_info **out,
                   size_t *n_out, struct osm_err *err);
int qemu_snap_verify(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o, struct osm_err *err);
int qemu_snap_revert(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o, int *digest_ok,
                     struct osm_err *err);
int qemu_snap_delete(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o, struct osm_err *err);
void qemu_snap_list_free(struct osm_snap_info *infos, size_t n);

#endif
