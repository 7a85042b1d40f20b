/* win_follow.c: the setup driver and its watcher. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_log.h"
#include "osm_fs.h"
#include "win_follow.h"
#include "win_transit.h"

static time_t real_now(void *ctx)
{
    (void)ctx;
    return time(NULL);
}

static void real_sleep(void *ctx, unsigned s)
{
    (void)ctx;
    sleep(s);
}

static const struct win_clock real_clock = {real_now, real_sleep, NULL};

void win_upgrade_result_free(struct win_upgrade_result *r)
{
    json_decref(r->errors);
    r->errors = NULL;
}

static void fail(struct win_upgrade_result *r, enum win_end end, const char *phase, const char *cause)
{
    r->end = end;
    snprintf(r->phase, sizeof r->phase, "%s", phase);
    snprintf(r->cause, sizeof r->cause, "%s", cause);
    r->rollback_disks = 1;
}

/* A cause from setup's exit code, else from the first Panther line that has one. */
static void explain(struct win_upgrade_result *r, const struct win_status *st, const char *fallback)
{
    if (st->setup_exit[0] && win_decode_result(st->setup_exit, &r->code) == 0) {
        snprintf(r->cause, sizeof r->cause, "%s", r->code.cause);
    } else {
        size_t i;
        json_t *e;
        const char *hint = NULL;
        json_array_foreach(st->errors, i, e) {
            const char *c = json_string_value(json_object_get(e, "code"));
            if (c && !r->code.code && win_decode_result(c, &r->code) == 0)
                snprintf(r->cause, sizeof r->cause, "%s", r->code.cause);
            if (!hint)
                hint = json_string_value(json_object_get(e, "hint"));
        }
        if (!r->code.code)
            snprintf(r->cause, sizeof r->cause, "%s%s%s", fallback, hint ? ": " : "", hint ? hint : "");
    }
    const char *first = json_string_value(json_object_get(json_array_get(st->errors, 0), "message"));
    if (first) {
        size_t n = strlen(r->cause);
        snprintf(r->cause + n, sizeof r->cause - n, " (setuperr.log: %s)", first);
    }
    json_decref(r->errors);
    r->errors = json_incref(st->errors);
}

static int poll_status(struct osm_instance *inst, const char *script, struct win_status *st)
{
    const char *argv[8];
    win_setup_argv(script, argv);
    struct osm_buf out;
    osm_buf_init(&out);
    struct osm_err e = OSM_ERR_INIT;
    int rc = inst->provider->run(inst, argv, &out, &e);
    if (rc != 0) {
        osm_buf_free(&out);
        return -1; /* no answer: the instance is rebooting (or the agent is down) */
    }
    win_setup_parse_status(out.s, st);
    osm_buf_free(&out);
    return 0;
}

int win_follow(struct osm_instance *inst, const struct win_setup_params *sp, const struct win_follow_opts *fo,
               struct win_upgrade_result *r, struct osm_err *err)
{
    const struct win_clock *clk = fo->clock ? fo->clock : &real_clock;
    unsigned poll = fo->poll_s ? fo->poll_s : 30;
    unsigned lim_setup = fo->limit_setup_s ? fo->limit_setup_s : 4 * 3600;
    unsigned lim_reboot = fo->limit_reboot_s ? fo->limit_reboot_s : 3600;
    unsigned lim_final = fo->limit_finalize_s ? fo->limit_finalize_s : 2 * 3600;
    if (!inst->provider->run)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance '%s': its provider cannot run commands", inst->uri);
    char *script = win_setup_status_script(sp, err);
    if (!script)
        return -1;
    const char *phase = "setup";
    time_t since = clk->now(clk->ctx);
    int rebooted = 0;
    for (;;) {
        struct win_status st;
        int up = poll_status(inst, script, &st) == 0;
        const char *now_phase;
        if (!up) {
            now_phase = "reboot";
        } else {
            r->final_build = st.build;
            if (st.build == fo->target_build && !st.bt_present) {
                r->end = WIN_END_SUCCEEDED;
                snprintf(r->phase, sizeof r->phase, "done");
                snprintf(r->cause, sizeof r->cause, "build %ld is running and setup has cleaned up", st.build);
                r->rollback_disks = 0;
                json_decref(st.errors);
                break;
            }
            if (st.build == fo->target_build) {
                now_phase = "finalize";
            } else if (st.setup_exit[0] && strcmp(st.setup_exit, "0") != 0) {
                fail(r, WIN_END_FAILED, phase, "");
                explain(r, &st, "setup failed");
                json_decref(st.errors);
                break;
            } else if (rebooted && !st.setup_running) {
                char fb[128];
                snprintf(fb, sizeof fb, "setup rolled back: the instance came back on build %ld, not %ld", st.build,
                         fo->target_build);
                fail(r, WIN_END_FAILED, "rollback", "");
                explain(r, &st, fb);
                json_decref(st.errors);
                break;
            } else {
                now_phase = "setup";
            }
        }
        if (up)
            json_decref(st.errors);
        if (strcmp(now_phase, phase) != 0) {
            osm_info("windows.upgrade.phase", "instance=%s from=%s to=%s", inst->name ? inst->name : inst->uri, phase, now_phase);
            if (!strcmp(now_phase, "reboot")) {
                rebooted = 1;
                r->reboots++;
            }
            phase = now_phase;
            since = clk->now(clk->ctx);
        }
        unsigned limit = !strcmp(phase, "setup") ? lim_setup : !strcmp(phase, "reboot") ? lim_reboot : lim_final;
        if (clk->now(clk->ctx) - since >= (time_t)limit) {
            char cause[256];
            snprintf(cause, sizeof cause, "setup made no progress: still in phase '%s' after %u s (limit %u s)", phase,
                     (unsigned)(clk->now(clk->ctx) - since), limit);
            fail(r, WIN_END_HUNG, phase, cause);
            break;
        }
        clk->sleep(clk->ctx, poll);
    }
    free(script);
    return 0;
}

int win_upgrade(struct osm_instance *inst, const char *transit_image, const struct win_setup_params *sp,
                const struct win_follow_opts *fo, struct win_upgrade_result *r, struct osm_err *err)
{
    memset(r, 0, sizeof *r);
    r->final_build = -1;
    const struct osm_provider *p = inst->provider;
    if (!p->run || !p->attach_disk || !p->detach_disk)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance '%s': its provider cannot attach disks and run commands", inst->uri);
    char *script = win_setup_start_script(sp, err);
    if (!script)
        return -1;
    if (p->attach_disk(inst, transit_image, err) != 0) {
        osm_err_prefix(err, "attaching transit disk '%s'", transit_image);
        free(script);
        return -1;
    }
    const char *argv[8];
    win_setup_argv(script, argv);
    struct osm_buf out;
    osm_buf_init(&out);
    struct osm_err rerr = OSM_ERR_INIT;
    int st = p->run(inst, argv, &out, &rerr);
    free(script);
    int rc = 0;
    struct win_status s;
    win_setup_parse_status(out.s, &s);
    if (st < 0) {
        osm_err_set(err, rerr.code ? rerr.code : OSM_EFAIL, "starting setup on '%s': %s", inst->uri, rerr.msg);
        rc = -1;
    } else if (st == 3) {
        fail(r, WIN_END_FAILED, "scan", "");
        if (win_decode_result(s.compat, &r->code) == 0)
            snprintf(r->cause, sizeof r->cause, "compatibility scan: %s", r->code.cause);
        else
            snprintf(r->cause, sizeof r->cause, "compatibility scan failed without a result code");
        r->rollback_disks = 1;
    } else if (st != 0) {
        char cause[128];
        snprintf(cause, sizeof cause, "the start script failed (exit %d, %s)", st, s.result[0] ? s.result : "no result");
        fail(r, WIN_END_FAILED, "start", cause);
    } else {
        rc = win_follow(inst, sp, fo, r, err);
    }
    json_decref(s.errors);
    osm_buf_free(&out);
    /* The transit disk goes away whatever happened. */
    struct osm_err derr = OSM_ERR_INIT;
    if (p->detach_disk(inst, transit_image, &derr) != 0) {
        osm_warn("windows.transit.detach", "instance=%s error=\"%s\"", inst->uri, derr.msg);
        if (rc == 0 && r->end == WIN_END_SUCCEEDED) {
            osm_err_set(err, derr.code, "detaching transit disk '%s': %s", transit_image, derr.msg);
            rc = -1;
        }
    }
    return rc;
}

int win_upgrade_hops(struct osm_instance *inst, const json_t *plan, long from_build, const char *transit_dir,
                     const struct win_setup_params *sp, const struct win_follow_opts *fo, struct win_upgrade_result *r,
                     int *failed_hop, struct osm_err *err)
{
    *failed_hop = 0;
    memset(r, 0, sizeof *r);
    if (osm_mkdir_p(transit_dir, 0700, err) != 0)
        return -1;
    long build = from_build;
    size_t i;
    json_t *hop;
    json_array_foreach(plan, i, hop) {
        const char *media = json_string_value(json_object_get(hop, "media"));
        const char *dir = json_string_value(json_object_get(hop, "media_path"));
        long target = (long)json_integer_value(json_object_get(hop, "build"));
        int index = (int)json_integer_value(json_object_get(hop, "image_index"));
        if (!media || !dir || target <= 0 || index <= 0) {
            *failed_hop = (int)i + 1;
            return osm_err_set(err, OSM_EINPUT, "hop %zu of the plan lacks media, media_path, build or image_index", i + 1);
        }
        char *name = osm_xasprintf("%s.img", media);
        char *img = osm_path_join(transit_dir, name);
        free(name);
        struct win_transit_opts to = {.media_dir = dir, .out = img};
        struct win_setup_params hsp = *sp;
        hsp.image_index = index;
        struct win_follow_opts hfo = *fo;
        hfo.from_build = build;
        hfo.target_build = target;
        win_upgrade_result_free(r);
        int rc = win_transit_build(&to, err) < 0 ? -1 : win_upgrade(inst, img, &hsp, &hfo, r, err);
        /* released whatever happened: a resumed task rebuilds it (the build is idempotent) */
        char *side = osm_xasprintf("%s.osmig.json", img);
        unlink(img);
        unlink(side);
        free(side);
        free(img);
        if (rc != 0) {
            *failed_hop = (int)i + 1;
            osm_err_prefix(err, "hop %zu", i + 1);
            return -1;
        }
        osm_info("windows.upgrade.hop", "hop=%zu from=%ld to=%ld end=%d", i + 1, build, target, (int)r->end);
        if (r->end != WIN_END_SUCCEEDED) {
            *failed_hop = (int)i + 1;
            return 0;
        }
        build = target;
    }
    return 0;
}
