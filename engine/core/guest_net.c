/* guest_net.c: see guest_net.h. */
#include "guest_net.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int osm_guest_cmd(struct osm_instance *inst, const char *const argv[], struct osm_buf *out, struct osm_err *err)
{
    if (!inst->provider->run)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance %s: its provider cannot run a command inside it",
                           inst->uri);
    struct osm_buf mine;
    osm_buf_init(&mine);
    struct osm_buf *b = out ? out : &mine;
    osm_buf_reset(b);
    int st = inst->provider->run(inst, argv, b, err);
    if (st > 0) {
        struct osm_buf cmd;
        osm_buf_init(&cmd);
        for (size_t i = 0; argv[i]; i++)
            osm_buf_addf(&cmd, "%s%s", i ? " " : "", argv[i]);
        osm_err_set(err, OSM_EFAIL, "instance %s: `%s` exited %d: %s", inst->uri, cmd.s, st, osm_trim(b->s));
        osm_buf_free(&cmd);
    }
    osm_buf_free(&mine);
    return st == 0 ? 0 : -1;
}

int osm_guest_net_read(struct osm_instance *inst, const char *ifname, struct osm_guest_net *out, struct osm_err *err)
{
    memset(out, 0, sizeof *out);
    struct osm_buf b;
    osm_buf_init(&b);
    char sys[96];
    snprintf(sys, sizeof sys, "/sys/class/net/%s/address", ifname);
    const char *mac[] = {"cat", sys, NULL};
    const char *addr[] = {"ip", "-o", "-4", "addr", "show", "dev", ifname, NULL};
    const char *route[] = {"ip", "-4", "route", "show", "default", NULL};
    int rc = -1;
    if (osm_guest_cmd(inst, mac, &b, err) != 0)
        goto out;
    snprintf(out->mac, sizeof out->mac, "%s", osm_trim(b.s));
    for (char *p = out->mac; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (osm_guest_cmd(inst, addr, &b, err) != 0)
        goto out;
    /* "2: eth0    inet 10.77.1.1/24 brd ... scope global eth0" */
    const char *in = strstr(b.s, " inet ");
    if (in && sscanf(in, " inet %19[0-9.]/%d", out->ip, &out->prefix) != 2)
        out->ip[0] = '\0';
    if (osm_guest_cmd(inst, route, &b, err) != 0)
        goto out;
    const char *via = strstr(b.s, " via ");
    if (via && sscanf(via, " via %19[0-9.]", out->gateway) != 1)
        out->gateway[0] = '\0';
    rc = 0;
out:
    osm_buf_free(&b);
    return rc;
}

int osm_guest_ping(struct osm_instance *inst, const char *ip, struct osm_err *err)
{
    const char *ping[] = {"ping", "-n", "-c", "3", "-W", "2", ip, NULL};
    struct osm_buf b;
    osm_buf_init(&b);
    int rc = osm_guest_cmd(inst, ping, &b, err);
    /* ping's own summary says enough: "3 packets transmitted, 0 received, ..." */
    const char *sum = rc != 0 && b.s ? strstr(b.s, "packets transmitted") : NULL;
    if (sum) {
        while (sum > b.s && sum[-1] != '\n')
            sum--;
        char line[160];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(sum, "\n"), sum);
        osm_err_set(err, OSM_EFAIL, "instance %s: ping %s from inside: %s", inst->uri, ip, line);
    }
    osm_buf_free(&b);
    return rc;
}
