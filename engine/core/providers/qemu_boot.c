/* qemu_boot.c: reboot a `qemu:` guest and see the next boot; hot-plug a disk.
 *
 * Reboot: the guest is asked through its agent (guest-shutdown mode=reboot:
 * no answer is what success looks like, the guest goes down first). QEMU
 * was told to pause instead of resetting (set-action reboot=shutdown
 * shutdown=pause), so its SHUTDOWN event is the moment between boots where
 * the provider acts: system_reset and cont, with reboot=reset until the new
 * boot answers. The next boot is the agent answering with another
 * /proc/sys/kernel/random/boot_id, within the limit the caller gives (0: the
 * descriptor's boot_timeout_s);
 * the agent connection of the old boot is dropped at the SHUTDOWN. A
 * guest found paused between boots (query-status `shutdown`: an osmig killed
 * during a reboot left it so) is not asked again: reset and cont continue
 * that reboot, and any boot that answers is the next one.
 *
 * Hot-plug: blockdev-add and a virtio-blk device_add whose serial the
 * guest sees (/sys/block/vdX/serial); unplug is device_del confirmed by
 * DEVICE_DELETED, then blockdev-del. */
#include "qemu_priv.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "osm_hash.h"
#include "osm_log.h"

#define QEMU_DOWN_MS 60000    /* from guest-shutdown to QEMU's SHUTDOWN event */
#define QEMU_UNPLUG_MS 60000  /* from device_del to DEVICE_DELETED (the guest must agree) */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_reboot_action(struct osm_qmp *mon, const char *action, struct osm_err *err)
{
    return osm_qmp_call(mon, "set-action", json_pack("{s:s}", "reboot", action), QEMU_CALL_MS, NULL, err);
}

/* Out of the pause between boots into the next boot. While reboot=shutdown
 * holds, QEMU turns system_reset into one more shutdown too, so reboot=reset
 * first; and it stays so until the new boot answers: SeaBIOS, reset by the
 * host after it has run once, resets the machine itself once more ("hard
 * reboot"), and the guest may too. The reset happens in QEMU's main loop
 * after the answer, and cont before its RESET event is refused
 * ("Resetting the Virtual Machine is required"). */
static int reset_and_cont(struct osm_qmp *mon, struct osm_err *err)
{
    json_t *ev = NULL;
    if (set_reboot_action(mon, "reset", err) != 0 ||
        osm_qmp_call(mon, "system_reset", NULL, QEMU_CALL_MS, NULL, err) != 0 ||
        osm_qmp_wait_event(mon, "RESET", QEMU_CALL_MS, &ev, err) != 0)
        return -1;
    json_decref(ev);
    return osm_qmp_call(mon, "cont", NULL, QEMU_CALL_MS, NULL, err);
}

/* 1 when QEMU holds the guest paused between boots (its guest went down
 * under reboot=shutdown shutdown=pause, and nobody reset it: an osmig
 * killed during a reboot); 0 otherwise. */
static int paused_between_boots(struct osm_qmp *mon, struct osm_err *err)
{
    json_t *st = NULL;
    if (osm_qmp_call(mon, "query-status", NULL, QEMU_CALL_MS, &st, err) != 0)
        return -1;
    const char *s = json_string_value(json_object_get(st, "status"));
    int yes = s && strcmp(s, "shutdown") == 0;
    json_decref(st);
    return yes;
}

static int reboot_once(struct osm_instance *inst, int limit_s, char boot_id[64], struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    struct osm_qmp *mon = qemu_monitor(inst, err);
    if (!mon)
        return -1;
    char before[64] = "";
    long long t0 = now_ms();
    int paused = paused_between_boots(mon, err);
    if (paused < 0)
        return -1;
    if (paused) {
        /* The guest went down already: continue from the pause (any boot
         * that answers now is the next one). */
        osm_info("qemu.resume_between_boots", "instance=%s", inst->uri);
        osm_qmp_close(vm->ga);
        vm->ga = NULL;
    } else {
        /* A guest still booting (its reboot was asked by an osmig that
         * died) is given this boot's limit to answer. */
        struct osm_qmp *ga = qemu_agent(inst, limit_s * 1000, err);
        if (!ga || qemu_guest_boot_id(ga, before, err) != 0) {
            osm_err_prefix(err, "instance %s: before the reboot", inst->uri);
            return -1;
        }
        if (qemu_set_reboot_pause(mon, err) != 0)
            return -1;
        t0 = now_ms();
        osm_qmp_clear_events(mon);
        if (osm_qmp_call_noreply(ga, "guest-shutdown", json_pack("{s:s}", "mode", "reboot"), 1000, err) < 0) {
            osm_err_prefix(err, "instance %s", inst->uri);
            return -1;
        }
        json_t *ev = NULL;
        if (osm_qmp_wait_event(mon, "SHUTDOWN", QEMU_DOWN_MS, &ev, err) != 0) {
            osm_err_prefix(err, "instance %s: the guest did not go down after guest-shutdown", inst->uri);
            return -1;
        }
        json_decref(ev);
        /* The agent that answered is gone with its boot. */
        osm_qmp_close(vm->ga);
        vm->ga = NULL;
    }
    long long t_down = now_ms();
    long long deadline = now_ms() + (long long)limit_s * 1000;
    if (reset_and_cont(mon, err) != 0)
        return -1;
    struct osm_err e = OSM_ERR_INIT;
    struct osm_qmp *ga = NULL;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return osm_err_set(err, OSM_EIO, "instance %s: no boot within %d s of the reset%s%s", inst->uri,
                               limit_s, e.msg[0] ? ": " : "", e.msg);
        osm_err_clear(&e);
        ga = qemu_agent(inst, left > QEMU_AGENT_PING_MS ? QEMU_AGENT_PING_MS : (int)left, &e);
        if (ga && qemu_guest_boot_id(ga, boot_id, &e) == 0) {
            if (strcmp(boot_id, before) != 0)
                break;
            snprintf(e.msg, sizeof e.msg, "the agent answers, but from the old boot %s", before);
            struct timespec ts = {0, 200 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    /* The next reboot is the provider's to catch again in a QEMU of its own. */
    if (vm->can_start && set_reboot_action(mon, "shutdown", err) != 0)
        return -1;
    int resets = 0;
    json_t *rev = NULL;
    struct osm_err we = OSM_ERR_INIT;
    while (osm_qmp_wait_event(mon, "RESET", 5, &rev, &we) == 0) {
        resets += json_is_true(json_object_get(json_object_get(rev, "data"), "guest"));
        json_decref(rev);
    }
    json_t *os = NULL;
    const char *kr = "";
    if (osm_qmp_call(ga, "guest-get-osinfo", NULL, QEMU_CALL_MS, &os, &e) == 0)
        kr = json_string_value(json_object_get(os, "kernel-release")) ?: "";
    osm_info("qemu.boot", "instance=%s boot_id=%s kernel=%s down_ms=%lld up_ms=%lld guest_resets=%d", inst->uri,
             boot_id, kr, t_down - t0, now_ms() - t_down, resets);
    json_decref(os);
    return 0;
}

int qemu_reboot(struct osm_instance *inst, int limit_s, char boot_id[64], struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    int rc = reboot_once(inst, limit_s > 0 ? limit_s : vm->boot_timeout_s, boot_id, err);
    /* Someone else's QEMU gets QEMU's defaults back, whatever happened: it
     * must not be left pausing when its guest reboots. */
    if (!vm->can_start && vm->mon) {
        struct osm_err e = OSM_ERR_INIT;
        if (osm_qmp_call(vm->mon, "set-action", json_pack("{s:s,s:s}", "reboot", "reset", "shutdown", "poweroff"),
                         QEMU_CALL_MS, NULL, &e) != 0) {
            osm_warn("qemu.reboot", "instance=%s error=\"%s\" (reboot and shutdown may still pause the VM)",
                     inst->uri, e.msg);
            if (rc == 0) {
                *err = e;
                rc = -1;
            }
        }
    }
    return rc;
}

void qemu_disk_serial(const char *image, char out[21])
{
    const char *b = strrchr(image, '/');
    b = b ? b + 1 : image;
    size_t k = 0;
    for (; *b && *b != '.' && k < 20; b++)
        out[k++] = ((*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z') || (*b >= '0' && *b <= '9') || *b == '-')
                       ? *b
                       : '_';
    out[k] = '\0';
    if (k == 0)
        snprintf(out, 21, "osmig-disk");
}

/* The node and device names of a hot-plugged image: from its path, so
 * detach finds what attach made (in this process or another). */
static void hp_names(const char *image, char node[32], char dev[32])
{
    char hex[65];
    osm_sha256_hex(image, strlen(image), hex);
    snprintf(node, 32, "hp%.12s", hex);
    snprintf(dev, 32, "hp%.12s-dev", hex);
}

int qemu_attach_disk(struct osm_instance *inst, const char *image, struct osm_err *err)
{
    if (image[0] != '/')
        return osm_err_set(err, OSM_EUSAGE, "instance %s: disk image '%s' must be an absolute path", inst->uri, image);
    unsigned char magic[4] = {0};
    int fd = open(image, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "instance %s: disk image %s", inst->uri, image);
    int got = (int)read(fd, magic, 4);
    close(fd);
    const char *fmt = got == 4 && memcmp(magic, "QFI\xfb", 4) == 0 ? "qcow2" : "raw";
    struct osm_qmp *mon = qemu_monitor(inst, err);
    if (!mon)
        return -1;
    char node[32], dev[32], serial[21];
    hp_names(image, node, dev);
    qemu_disk_serial(image, serial);
    if (osm_qmp_call(mon, "blockdev-add",
                     json_pack("{s:s,s:s,s:{s:s,s:s}}", "driver", fmt, "node-name", node, "file", "driver", "file",
                               "filename", image),
                     QEMU_CALL_MS, NULL, err) != 0)
        return -1;
    if (osm_qmp_call(mon, "device_add",
                     json_pack("{s:s,s:s,s:s,s:s}", "driver", "virtio-blk-pci", "drive", node, "id", dev, "serial",
                               serial),
                     QEMU_CALL_MS, NULL, err) != 0) {
        struct osm_err e = OSM_ERR_INIT;
        osm_qmp_call(mon, "blockdev-del", json_pack("{s:s}", "node-name", node), QEMU_CALL_MS, NULL, &e);
        return -1;
    }
    osm_info("qemu.attach", "instance=%s image=%s serial=%s device=%s", inst->uri, image, serial, dev);
    return 0;
}

int qemu_detach_disk(struct osm_instance *inst, const char *image, struct osm_err *err)
{
    struct osm_qmp *mon = qemu_monitor(inst, err);
    if (!mon)
        return -1;
    char node[32], dev[32];
    hp_names(image, node, dev);
    osm_qmp_clear_events(mon);
    if (osm_qmp_call(mon, "device_del", json_pack("{s:s}", "id", dev), QEMU_CALL_MS, NULL, err) != 0)
        return -1;
    long long deadline = now_ms() + QEMU_UNPLUG_MS;
    for (;;) {
        json_t *ev = NULL;
        long long left = deadline - now_ms();
        if (osm_qmp_wait_event(mon, "DEVICE_DELETED", left > 0 ? (int)left : 1, &ev, err) != 0) {
            osm_err_prefix(err, "instance %s: detaching %s", inst->uri, image);
            return -1;
        }
        const char *d = json_string_value(json_object_get(json_object_get(ev, "data"), "device"));
        int ours = d && strcmp(d, dev) == 0;
        json_decref(ev);
        if (ours)
            break;
    }
    if (osm_qmp_call(mon, "blockdev-del", json_pack("{s:s}", "node-name", node), QEMU_CALL_MS, NULL, err) != 0)
        return -1;
    osm_info("qemu.detach", "instance=%s image=%s device=%s", inst->uri, image, dev);
    return 0;
}
