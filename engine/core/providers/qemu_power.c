/* qemu_power.c: a clean power-off and a start of a `qemu:` VM (the
 * provider's stop and start), for the steps that move an instance: its NIC
 * to another network, or the whole VM off its "physical server".
 *
 * Off: the guest is asked through its agent (guest-shutdown
 * mode=powerdown: it syncs and puts its file systems away), and QEMU, told
 * to pause on the guest's power-off (set-action shutdown=pause), shows it
 * with its SHUTDOWN event; then QEMU quits. A guest whose agent does not
 * answer gets ACPI's power button (system_powerdown) instead. A guest that
 * does not go down within QEMU_OFF_MS is an error: a clean stop is not
 * turned into pulling the plug behind the caller's back.
 * On: QEMU started from the descriptor (its taps first), until the agent
 * answers. */
#include "qemu_priv.h"

#include "osm_log.h"

#define QEMU_OFF_MS 120000 /* from the request to QEMU's SHUTDOWN event */

int qemu_power_off(struct osm_instance *inst, struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    if (!qemu_is_running(inst)) {
        qemu_net_down(inst);
        return 0;
    }
    if (!vm->can_start)
        return osm_err_set(err, OSM_ECONFLICT,
                           "instance %s: its QEMU is someone else's (no \"start\" in the descriptor): osmig would "
                           "not start it again",
                           inst->uri);
    struct osm_qmp *mon = vm->mon;
    if (qemu_set_reboot_pause(mon, err) != 0)
        return -1;
    osm_qmp_clear_events(mon);
    struct osm_err e = OSM_ERR_INIT;
    struct osm_qmp *ga = qemu_agent(inst, QEMU_AGENT_PING_MS, &e);
    const char *how = "guest-shutdown";
    if (ga) {
        if (osm_qmp_call_noreply(ga, "guest-shutdown", json_pack("{s:s}", "mode", "powerdown"), 1000, err) < 0)
            return -1;
    } else {
        how = "system_powerdown";
        if (osm_qmp_call(mon, "system_powerdown", NULL, QEMU_CALL_MS, NULL, err) != 0)
            return -1;
    }
    json_t *ev = NULL;
    if (osm_qmp_wait_event(mon, "SHUTDOWN", QEMU_OFF_MS, &ev, err) != 0) {
        osm_err_prefix(err, "instance %s: the guest did not power off after %s", inst->uri, how);
        return -1;
    }
    json_decref(ev);
    if (qemu_stop(inst, err) != 0)
        return -1;
    osm_info("qemu.powered_off", "instance=%s by=%s", inst->uri, how);
    return 0;
}

int qemu_power_on(struct osm_instance *inst, struct osm_err *err)
{
    struct qemu_vm *vm = qemu_vm_of(inst);
    if (qemu_is_running(inst))
        return qemu_agent(inst, vm->boot_timeout_s * 1000, err) ? 0 : -1;
    return qemu_start(inst, err);
}
