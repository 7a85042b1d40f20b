/* host_maintenance.c: see host_maintenance.h. */
#include "host_maintenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_net.h"
#include "os_migration.h"
#include "power_steps.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "provider.h"
#include "runner.h"

#define MIN_FREE_MIB 500

/* The first NIC's address and MAC as the instance sees them, noted as
 * WHEN.ip / WHEN.mac ("" when it has none or cannot say). */
static int note_network(struct osm_step_ctx *ctx, struct osm_instance *inst, const char *when, struct osm_err *err)
{
    struct osm_guest_net g;
    struct osm_err e = OSM_ERR_INIT;
    if (osm_guest_net_read(inst, "eth0", &g, &e) != 0)
        memset(&g, 0, sizeof g);
    char k1[32], k2[32];
    snprintf(k1, sizeof k1, "%s.ip", when);
    snprintf(k2, sizeof k2, "%s.mac", when);
    return osm_step_note_set(ctx, k1, g.ip, err) || osm_step_note_set(ctx, k2, g.mac, err) ? -1 : 0;
}

/* Agents the seed asks to disable (its "ECS instance security software"),
 * by where they install: Alibaba Cloud Security Center, and two common
 * others. Found only on providers whose root is a host path. */
static const char *const security_software[] = {"/usr/local/aegis", "/opt/CrowdStrike", "/opt/microsoft/mdatp", NULL};

static int precheck_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst)
        return -1;
    struct osm_facts f;
    if (osm_instance_facts(inst, &f, err) != 0)
        return -1;
    struct osm_buf why;
    osm_buf_init(&why);
    if (f.system_disk_free_bytes >= 0 && f.system_disk_free_bytes < (int64_t)MIN_FREE_MIB * 1048576)
        osm_buf_addf(&why, "%s%lld MiB free on the system disk: Reserve at least 500 MiB system disk space",
                     why.len ? "; " : "", (long long)(f.system_disk_free_bytes / 1048576));
    for (size_t i = 0; inst->root && security_software[i]; i++) {
        char *p = osm_root_path_follow(inst->root, security_software[i]);
        if (p && osm_is_dir(p)) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "%s is on the instance: disable or uninstall ECS instance security software (the migration "
                     "updates the instance's drivers)",
                     security_software[i]);
            struct osm_err e = OSM_ERR_INIT;
            osm_step_event(ctx, "precheck.security-software", msg, &e);
        }
        free(p);
    }
    /* moving off the physical server is the provider's: a clean stop and a
     * start elsewhere, and the agent to look inside after */
    const struct osm_provider *pv = inst->provider;
    if (!pv->stop || !pv->start || !pv->run)
        osm_buf_addf(&why, "%sprovider '%s' cannot move instance %s off its physical server", why.len ? "; " : "",
                     pv->scheme, inst->uri);
    if (why.len) {
        osm_err_set(err, OSM_EUNSUPPORTED, "%s", why.s);
        osm_buf_free(&why);
        return -1;
    }
    osm_buf_free(&why);
    return note_network(ctx, inst, "before", err);
}

/* The seed's "What to do next": the file system checked, what changed. */
static int aftermath_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst)
        return -1;
    /* the root file system, through the agent: mounted read-write, and
     * clean as its own tools say */
    const char *mounts[] = {"cat", "/proc/mounts", NULL};
    struct osm_buf out;
    osm_buf_init(&out);
    int rc = -1;
    if (osm_guest_cmd(inst, mounts, &out, err) != 0)
        goto out;
    char dev[256] = "", type[32] = "", opts[256] = "";
    for (char *line = out.s; line && *line;) {
        char *nl = strchr(line, '\n');
        char d[256], mp[256], t[32], o[256];
        if (sscanf(line, "%255s %255s %31s %255s", d, mp, t, o) == 4 && strcmp(mp, "/") == 0 && strcmp(d, "rootfs")) {
            snprintf(dev, sizeof dev, "%s", d);
            snprintf(type, sizeof type, "%s", t);
            snprintf(opts, sizeof opts, "%s", o);
        }
        line = nl ? nl + 1 : NULL;
    }
    if (!dev[0] || strncmp(opts, "rw", 2) != 0) {
        osm_err_set(err, OSM_EFAIL, "instance %s: after the restart its root file system is %s%s%s", inst->uri,
                    dev[0] ? dev : "not mounted", dev[0] ? " mounted " : "", opts);
        goto out;
    }
    char msg[512];
    if (strncmp(type, "ext", 3) == 0) {
        const char *tune[] = {"tune2fs", "-l", dev, NULL};
        if (osm_guest_cmd(inst, tune, &out, err) != 0)
            goto out;
        const char *st = strstr(out.s, "Filesystem state:");
        char state[64] = "?";
        if (st)
            sscanf(st, "Filesystem state: %63[^\n]", state);
        if (!strstr(state, "clean")) {
            osm_err_set(err, OSM_EFAIL, "instance %s: after the restart %s's state is '%s'", inst->uri, dev, state);
            goto out;
        }
        snprintf(msg, sizeof msg, "root file system %s (%s) mounted read-write, state %s", dev, type, state);
    } else {
        snprintf(msg, sizeof msg, "root file system %s (%s) mounted read-write", dev, type);
    }
    if (osm_step_event(ctx, "filesystem", msg, err) != 0 || note_network(ctx, inst, "after", err) != 0)
        goto out;
    /* what changed: IP and MAC (licence codes bound to the MAC with it) */
    const char *bi = osm_step_note(ctx, "before.ip");
    char *b_ip = osm_xstrdup(bi ? bi : ""), *b_mac = osm_xstrdup(osm_step_note(ctx, "before.mac") ?: "");
    const char *a_ip = osm_step_note(ctx, "after.ip") ?: "", *a_mac = osm_step_note(ctx, "after.mac") ?: "";
    int ip_same = strcmp(b_ip, a_ip) == 0, mac_same = strcmp(b_mac, a_mac) == 0;
    snprintf(msg, sizeof msg, "IP %s%s%s; MAC %s%s%s%s", b_ip[0] ? b_ip : "none", ip_same ? " unchanged" : " -> ",
             ip_same ? "" : (a_ip[0] ? a_ip : "none"), b_mac[0] ? b_mac : "none", mac_same ? " unchanged" : " -> ",
             mac_same ? "" : a_mac,
             mac_same ? "" : ": software licence codes bound to the MAC need to be authorized again");
    free(b_ip);
    free(b_mac);
    rc = osm_step_event(ctx, "changed", msg, err);
    osm_step_crash_point("aftermath: checked, not recorded");
out:
    osm_buf_free(&out);
    return rc;
}

static const struct osm_step steps[] = {
    {"precheck", "prechecking", precheck_run, NULL, 1, 0},
    /* the seed's preparation: "Create a snapshot for your disk" */
    OSM_STEP_SNAPSHOT,
    /* The move: the seed's "physical server" is the process that runs the
     * instance (for qemu:, its QEMU). A clean stop, then a start of a new
     * one: the seed's restart on another host. */
    OSM_STEP_STOP,
    OSM_STEP_START,
    {"aftermath", "checking", aftermath_run, NULL, 1, 0},
};

const struct osm_task_kind osm_host_maintenance_kind = OSM_TASK_KIND(OSM_KIND_HOST_MAINTENANCE, steps,
                                                                     osm_step_restore);
