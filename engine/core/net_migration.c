/* net_migration.c: the network-migration kind (see net_migration.h). */
#include "net_migration.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "guest_net.h"
#include "os_migration.h"
#include "power_steps.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "provider.h"
#include "runner.h"

#define MIN_FREE_MIB 500
#define IFCFG_DIR "/etc/sysconfig/network-scripts"

/* What the task does, from its options. */
struct move {
    json_t *o;
    const char *network, *mac, *ip, *gateway, *old_ip, *ifname;
    int prefix;
};

static int move_read(struct osm_step_ctx *ctx, struct move *m, struct osm_err *err)
{
    memset(m, 0, sizeof *m);
    m->o = ctx->task->options ? json_loads(ctx->task->options, 0, NULL) : NULL;
    m->network = json_string_value(json_object_get(m->o, "network"));
    m->mac = json_string_value(json_object_get(m->o, "mac"));
    m->ip = json_string_value(json_object_get(m->o, "ip"));
    m->gateway = json_string_value(json_object_get(m->o, "gateway"));
    m->old_ip = json_string_value(json_object_get(m->o, "old_ip"));
    m->ifname = json_string_value(json_object_get(m->o, "ifname"));
    m->prefix = (int)json_integer_value(json_object_get(m->o, "prefix"));
    if (!m->ifname)
        m->ifname = "eth0";
    if (!m->network || !m->mac || !m->ip || !m->gateway || m->prefix < 1 || m->prefix > 32) {
        json_decref(m->o);
        m->o = NULL;
        return osm_err_set(err, OSM_EINPUT,
                           "task %s: its options lack the move (network, mac, ip, prefix, gateway): made by "
                           "`osmig network run`?",
                           ctx->task->id);
    }
    return 0;
}

static struct osm_instance *instance_for_move(struct osm_step_ctx *ctx, struct move *m, struct osm_err *err)
{
    if (move_read(ctx, m, err) != 0)
        return NULL;
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst) {
        json_decref(m->o);
        m->o = NULL;
    }
    return inst;
}

static int event(struct osm_step_ctx *ctx, const char *type, struct osm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int event(struct osm_step_ctx *ctx, const char *type, struct osm_err *err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return osm_step_event(ctx, type, msg, err);
}

/* ---- precheck ------------------------------------------------------------ */

static int precheck_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct move m;
    struct osm_instance *inst = instance_for_move(ctx, &m, err);
    if (!inst)
        return -1;
    int rc = -1;
    const struct osm_provider *pv = inst->provider;
    if (!pv->stop || !pv->start || !pv->nic_set || !pv->run || !pv->copy_in || !pv->copy_out) {
        osm_err_set(err, OSM_EUNSUPPORTED,
                    "instance %s: provider '%s' cannot move a NIC to another network (it needs stop, start, a NIC "
                    "move, run and copy)",
                    inst->uri, pv->scheme);
        goto out;
    }
    struct osm_facts f;
    if (osm_instance_facts(inst, &f, err) != 0)
        goto out;
    if (f.system_disk_free_bytes >= 0 && f.system_disk_free_bytes < (int64_t)MIN_FREE_MIB * 1048576) {
        osm_err_set(err, OSM_EINPUT, "instance %s: %lld MiB free on the system disk: Reserve at least 500 MiB for the "
                    "system disk.", inst->uri, (long long)(f.system_disk_free_bytes / 1048576));
        goto out;
    }
    struct osm_guest_net g;
    if (osm_guest_net_read(inst, m.ifname, &g, err) != 0) {
        osm_err_prefix(err, "reading %s before the move", m.ifname);
        goto out;
    }
    if (osm_step_note_set(ctx, "before_ip", g.ip, err) != 0 || osm_step_note_set(ctx, "before_mac", g.mac, err) != 0)
        goto out;
    rc = event(ctx, "precheck", err, "%s: %s/%d, MAC %s, gateway %s; moves to network %s as %s/%d, MAC %s", m.ifname,
               g.ip[0] ? g.ip : "no address", g.prefix, g.mac, g.gateway[0] ? g.gateway : "none", m.network, m.ip,
               m.prefix, m.mac);
out:
    json_decref(m.o);
    return rc;
}

/* ---- the move (stop and start: power_steps.h) --------------------------------- */

static int move_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct move m;
    struct osm_instance *inst = instance_for_move(ctx, &m, err);
    if (!inst)
        return -1;
    char old_net[64], old_mac[32], n2[64], m2[32];
    int rc = 0;
    /* What a rollback restores is noted before the NIC moves: an engine
     * killed after the move and before a note would otherwise, run again,
     * find the new values and note them as the old. Both notes, or they are
     * read again (the NIC has not moved while one is missing). */
    if (!osm_step_note(ctx, "old_network") || !osm_step_note(ctx, "old_mac")) {
        rc = inst->provider->nic_set(inst, NULL, NULL, NULL, old_net, old_mac, err);
        if (rc == 0)
            rc = osm_step_note_set(ctx, "old_network", old_net, err) || osm_step_note_set(ctx, "old_mac", old_mac, err)
                     ? -1
                     : 0;
    }
    osm_step_crash_point("move: old NIC noted, not moved");
    /* moving a moved NIC again changes nothing */
    if (rc == 0)
        rc = inst->provider->nic_set(inst, NULL, m.network, m.mac, n2, m2, err);
    osm_step_crash_point("move: NIC moved, not recorded");
    if (rc == 0)
        rc = event(ctx, "moved", err, "NIC from network %s (MAC %s) to %s (MAC %s)", osm_step_note(ctx, "old_network"),
                   osm_step_note(ctx, "old_mac"), m.network, m.mac);
    json_decref(m.o);
    return rc;
}


/* ---- fix-ups inside the guest ---------------------------------------------- */

/* A private host directory for the files going in and out. */
static char *scratch(struct osm_err *err)
{
    const char *t = getenv("TMPDIR");
    char *d = osm_xasprintf("%s/osmig-net-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(d)) {
        osm_err_errno(err, "mkdtemp %s", d);
        free(d);
        return NULL;
    }
    return d;
}

static int put_file(struct osm_instance *inst, const char *dir, const char *guest_path, const char *text,
                    struct osm_err *err)
{
    char *host = osm_path_join(dir, "in");
    int rc = osm_write_file_atomic(host, text, strlen(text), 0644, err);
    if (rc == 0)
        rc = inst->provider->copy_in(inst, host, guest_path, err);
    unlink(host);
    free(host);
    return rc;
}

/* The guest's file, or "" when it has none (0), -1 on another failure. */
static int get_file(struct osm_instance *inst, const char *dir, const char *guest_path, struct osm_buf *out,
                    struct osm_err *err)
{
    const char *test[] = {"test", "-f", guest_path, NULL};
    struct osm_err e = OSM_ERR_INIT;
    osm_buf_reset(out);
    if (osm_guest_cmd(inst, test, NULL, &e) != 0)
        return 0;
    char *host = osm_path_join(dir, "out");
    int rc = inst->provider->copy_out(inst, guest_path, host, err);
    if (rc == 0)
        rc = osm_read_file(host, out, err);
    unlink(host);
    free(host);
    return rc;
}

/* `old` as a whole field (an address) replaced by `new` in every line; the
 * count of lines changed. */
static int replace_ip(const char *text, const char *old, const char *new, struct osm_buf *out)
{
    int n = 0;
    size_t lo = strlen(old);
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p + 1) : strlen(p);
        int changed = 0;
        for (size_t i = 0; i < len;) {
            int start = i == 0 || p[i - 1] == ' ' || p[i - 1] == '\t';
            if (start && len - i >= lo && memcmp(p + i, old, lo) == 0 &&
                (i + lo == len || p[i + lo] == ' ' || p[i + lo] == '\t' || p[i + lo] == '\n')) {
                osm_buf_adds(out, new);
                i += lo;
                changed = 1;
            } else {
                osm_buf_addc(out, p[i++]);
            }
        }
        n += changed;
        p += len;
    }
    return n;
}

/* "/dev/xvdb1" -> "/dev/vdb1" in the first field of each line (the seed: disk
 * names xvd* become vd*). */
static int fstab_fix(const char *text, struct osm_buf *out)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p + 1) : strlen(p);
        size_t ws = strspn(p, " \t");
        if (len > ws + 8 && strncmp(p + ws, "/dev/xvd", 8) == 0) {
            osm_buf_add(out, p, ws);
            osm_buf_adds(out, "/dev/vd");
            osm_buf_add(out, p + ws + 8, len - ws - 8);
            n++;
        } else {
            osm_buf_add(out, p, len);
        }
        p += len;
    }
    return n;
}

static int fixup_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct move m;
    struct osm_instance *inst = instance_for_move(ctx, &m, err);
    if (!inst)
        return -1;
    char *dir = scratch(err);
    if (!dir) {
        json_decref(m.o);
        return -1;
    }
    struct osm_buf text, fixed;
    osm_buf_init(&text);
    osm_buf_init(&fixed);
    int rc = -1;
    /* the interface file the next boot reads, then the same live */
    char *ifcfg_path = osm_xasprintf(IFCFG_DIR "/ifcfg-%s", m.ifname);
    char pfx[8];
    snprintf(pfx, sizeof pfx, "%d", m.prefix);
    osm_buf_addf(&text,
                 "# written by osmig: network migration to a VPC (plan %s)\nDEVICE=%s\nBOOTPROTO=none\nONBOOT=yes\n"
                 "HWADDR=%s\nIPADDR=%s\nPREFIX=%d\nGATEWAY=%s\n",
                 json_string_value(json_object_get(m.o, "plan")) ?: "", m.ifname, m.mac, m.ip, m.prefix, m.gateway);
    const char *mkdir[] = {"mkdir", "-p", IFCFG_DIR, NULL};
    char cidr[40];
    snprintf(cidr, sizeof cidr, "%s/%d", m.ip, m.prefix);
    const char *flush[] = {"ip", "-4", "addr", "flush", "dev", m.ifname, NULL};
    const char *add[] = {"ip", "addr", "add", cidr, "dev", m.ifname, NULL};
    const char *up[] = {"ip", "link", "set", "dev", m.ifname, "up", NULL};
    const char *route[] = {"ip", "route", "replace", "default", "via", m.gateway, "dev", m.ifname, NULL};
    if (osm_guest_cmd(inst, mkdir, NULL, err) != 0 || put_file(inst, dir, ifcfg_path, text.s, err) != 0 ||
        osm_guest_cmd(inst, flush, NULL, err) != 0 || osm_guest_cmd(inst, add, NULL, err) != 0 ||
        osm_guest_cmd(inst, up, NULL, err) != 0 || osm_guest_cmd(inst, route, NULL, err) != 0)
        goto out;
    if (event(ctx, "fixup", err, "%s: %s, default route via %s (written to %s)", m.ifname, cidr, m.gateway,
              ifcfg_path) != 0)
        goto out;
    /* /etc/hosts when the private IP changed */
    if (m.old_ip && strcmp(m.old_ip, m.ip) != 0) {
        if (get_file(inst, dir, "/etc/hosts", &text, err) != 0)
            goto out;
        osm_buf_reset(&fixed);
        int n = replace_ip(text.s, m.old_ip, m.ip, &fixed);
        if (n && put_file(inst, dir, "/etc/hosts", fixed.s, err) != 0)
            goto out;
        if (event(ctx, "fixup", err, "/etc/hosts: %d line(s) of %s now name %s", n, m.old_ip, m.ip) != 0)
            goto out;
    }
    /* /etc/fstab: xvd* disks are vd* on the new platform */
    if (get_file(inst, dir, "/etc/fstab", &text, err) != 0)
        goto out;
    osm_buf_reset(&fixed);
    int n = fstab_fix(text.s, &fixed);
    if (n && (put_file(inst, dir, "/etc/fstab", fixed.s, err) != 0 ||
              event(ctx, "fixup", err, "/etc/fstab: %d line(s) of /dev/xvd* now /dev/vd*", n) != 0))
        goto out;
    osm_step_crash_point("fixup: guest files written, not recorded");
    rc = 0;
out:
    free(ifcfg_path);
    osm_buf_free(&text);
    osm_buf_free(&fixed);
    struct osm_err e = OSM_ERR_INIT;
    osm_remove_tree(dir, &e);
    free(dir);
    json_decref(m.o);
    return rc;
}

/* ---- verify from inside ---------------------------------------------------- */

static int ping_all(struct osm_step_ctx *ctx, struct osm_instance *inst, json_t *list, const char *what,
                    struct osm_err *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *ip = json_string_value(v);
        if (!ip)
            continue;
        if (osm_guest_ping(inst, ip, err) != 0) {
            osm_err_prefix(err, "verify: %s %s does not answer from inside the instance", what, ip);
            return -1;
        }
        if (event(ctx, "verify", err, "%s %s answers", what, ip) != 0)
            return -1;
    }
    return 0;
}

static int verify_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct move m;
    struct osm_instance *inst = instance_for_move(ctx, &m, err);
    if (!inst)
        return -1;
    int rc = -1;
    struct osm_guest_net g;
    if (osm_guest_net_read(inst, m.ifname, &g, err) != 0)
        goto out;
    if (strcmp(g.ip, m.ip) != 0 || g.prefix != m.prefix) {
        osm_err_set(err, OSM_EFAIL, "verify: %s has %s/%d inside the instance, not %s/%d", m.ifname,
                    g.ip[0] ? g.ip : "no address", g.prefix, m.ip, m.prefix);
        goto out;
    }
    if (strcasecmp(g.mac, m.mac) != 0) {
        osm_err_set(err, OSM_EFAIL, "verify: %s has MAC %s inside the instance, not the plan's %s", m.ifname, g.mac,
                    m.mac);
        goto out;
    }
    if (strcmp(g.gateway, m.gateway) != 0) {
        osm_err_set(err, OSM_EFAIL, "verify: the default route goes via %s, not the vSwitch's gateway %s",
                    g.gateway[0] ? g.gateway : "nothing", m.gateway);
        goto out;
    }
    if (event(ctx, "verify", err, "%s: %s/%d, MAC %s, default route via %s", m.ifname, g.ip, g.prefix, g.mac,
              g.gateway) != 0 ||
        ping_all(ctx, inst, json_object_get(m.o, "peers"), "VPC peer", err) != 0 ||
        ping_all(ctx, inst, json_object_get(m.o, "classic_peers"), "classic instance", err) != 0)
        goto out;
    /* the seed's "What to do next": the old internal IP leaves whitelists */
    char msg[768];
    if (m.old_ip && strcmp(m.old_ip, m.ip) != 0)
        snprintf(msg, sizeof msg,
                 "update whitelists: remove the old internal IP %s and add %s (or the vSwitch's block %s) in RDS, "
                 "SLB, OSS, Container Service and every other product that lists this instance",
                 m.old_ip, m.ip, json_string_value(json_object_get(m.o, "vswitch_cidr")) ?: "");
    else
        snprintf(msg, sizeof msg,
                 "whitelists: the internal IP %s is kept; add the vSwitch's block %s where a product allows the "
                 "classic network only",
                 m.ip, json_string_value(json_object_get(m.o, "vswitch_cidr")) ?: "");
    if (osm_step_note_set(ctx, "whitelists", msg, err) != 0 || osm_step_event(ctx, "whitelists", msg, err) != 0)
        goto out;
    osm_step_crash_point("verify: checked, not recorded");
    rc = 0;
out:
    json_decref(m.o);
    return rc;
}

/* ---- rollback -------------------------------------------------------------- */

static int nic_back(struct osm_step_ctx *ctx, struct osm_instance *inst, const char *net, const char *mac,
                    struct osm_err *err)
{
    char n2[64], m2[32];
    if (inst->provider->nic_set(inst, NULL, net, mac, n2, m2, err) != 0)
        return -1;
    return event(ctx, "rollback", err, "NIC back on network %s with MAC %s", net, mac);
}

static int rollback_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst)
        return -1;
    const char *n = osm_step_note(ctx, "old_network"), *mc = osm_step_note(ctx, "old_mac");
    char *net = n ? osm_xstrdup(n) : NULL, *mac = mc ? osm_xstrdup(mc) : NULL;
    int rc = -1;
    if (!net || !inst->provider->nic_set) {
        /* the NIC never moved: the disks only */
        rc = osm_step_restore(ctx, err);
        goto out;
    }
    struct osm_err e = OSM_ERR_INIT;
    if (inst->provider->stop(inst, &e) == 0) {
        /* off: the NIC goes back first, and the restore starts it there */
        rc = nic_back(ctx, inst, net, mac, err) == 0 ? 0 : -1;
        osm_step_crash_point("rollback: NIC back, disks not restored");
        if (rc == 0)
            rc = osm_step_restore(ctx, err);
        osm_step_crash_point("rollback: restored, not recorded");
    } else {
        /* a guest that does not shut down: the restore stops it hard */
        osm_warn("netmigrate.rollback", "instance=%s clean stop failed: %s", inst->uri, e.msg);
        rc = osm_step_restore(ctx, err) == 0 && inst->provider->stop(inst, err) == 0 &&
                     nic_back(ctx, inst, net, mac, err) == 0 && inst->provider->start(inst, err) == 0
                 ? 0
                 : -1;
    }
out:
    free(net);
    free(mac);
    return rc;
}

static const struct osm_step steps[] = {
    {"precheck", "prechecking", precheck_run, NULL, 1, 0},
    OSM_STEP_SNAPSHOT,
    /* Stopping a stopped instance, moving a moved NIC, starting a started
     * one, writing the same files: each is safe to run again. */
    OSM_STEP_STOP,
    {"move", "moving", move_run, NULL, 1, 1},
    OSM_STEP_START,
    {"fixup", "fixing_up", fixup_run, NULL, 1, 1},
    {"verify", "verifying", verify_run, NULL, 1, 0},
};

const struct osm_task_kind osm_net_migration_kind = OSM_TASK_KIND(OSM_KIND_NETWORK_MIGRATION, steps, rollback_run);
