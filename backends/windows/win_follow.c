/* win_follow.c: the setup and conversion drivers and their watcher. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "win_follow.h"

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

/* Setup's reboots wait the provider's own limit; win_follow's limits
 * (limit_reboot_s) bound the whole. */
static int provider_reboot(struct osm_instance *inst, char boot_id[64], struct osm_err *err)
{
    return inst->provider->reboot(inst, 0, boot_id, err);
}

void win_agent_of_provider(struct win_agent *a, struct osm_instance *inst)
{
    memset(a, 0, sizeof *a);
    a->inst = inst;
    a->run = inst->provider->run;
    a->reboot = inst->provider->reboot ? provider_reboot : NULL;
    a->attach_disk = inst->provider->attach_disk;
    a->detach_disk = inst->provider->detach_disk;
}

static const struct win_clock *clock_of(const struct win_agent *a)
{
    return a->clock ? a->clock : &real_clock;
}

static const char *inst_name(const struct win_agent *a)
{
    return a->inst->name ? a->inst->name : a->inst->uri;
}

void win_upgrade_result_free(struct win_upgrade_result *r)
{
    json_decref(r->errors);
    r->errors = NULL;
}

static void result_init(struct win_upgrade_result *r)
{
    memset(r, 0, sizeof *r);
    r->final_build = -1;
    r->end = WIN_END_SUCCEEDED;
}

static void fail(struct win_upgrade_result *r, enum win_end end, const char *phase, const char *cause)
{
    r->end = end;
    snprintf(r->phase, sizeof r->phase, "%s", phase);
    snprintf(r->cause, sizeof r->cause, "%s", cause);
    r->rollback_disks = 1;
}

/* A cause from an exit code, else from the first Panther line that has one. */
static void explain(struct win_upgrade_result *r, const struct win_status *st, const char *exit_code, const char *fallback)
{
    if (exit_code && exit_code[0] && win_decode_result(exit_code, &r->code) == 0) {
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

/* Run SCRIPT; its exit status, or -1 (err set) when the agent did not answer. */
static int run_script(const struct win_agent *a, const char *script, struct osm_buf *out, struct osm_err *err)
{
    if (!a->run)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance '%s': its provider cannot run commands", a->inst->uri);
    const char *argv[8];
    win_setup_argv(script, argv);
    return a->run(a->inst, argv, out, err);
}

/* 0 with ST filled, -1 when the instance does not answer (rebooting). */
static int poll_status(const struct win_agent *a, const char *script, struct win_status *st)
{
    struct osm_buf out;
    osm_buf_init(&out);
    struct osm_err e = OSM_ERR_INIT;
    int rc = run_script(a, script, &out, &e);
    if (rc != 0) {
        osm_buf_free(&out);
        return -1;
    }
    win_setup_parse_status(out.s ? out.s : "", st);
    osm_buf_free(&out);
    return 0;
}

static int edition_is(const struct win_status *st, const char *edition)
{
    return !edition || !*edition || strcasecmp(st->edition, edition) == 0;
}

/* 1, with the result ended hung and the cause formatted, once `limit`
 * seconds have passed since `since`: every wait of a hop has its limit. */
__attribute__((format(printf, 6, 7))) static int hung(const struct win_clock *clk, time_t since, unsigned limit,
                                                      struct win_upgrade_result *r, const char *phase,
                                                      const char *fmt, ...)
{
    if (clk->now(clk->ctx) - since < (time_t)limit)
        return 0;
    char cause[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof cause, fmt, ap);
    va_end(ap);
    fail(r, WIN_END_HUNG, phase, cause);
    return 1;
}

static unsigned or_default(unsigned v, unsigned d)
{
    return v ? v : d;
}

/* Start a script that returns at once; 0 on exit 0 (OUT has its lines). */
static int run_starter(const struct win_agent *a, char *script, const char *phase, struct win_status *s,
                       struct win_upgrade_result *r, struct osm_err *err)
{
    if (!script)
        return -1;
    struct osm_buf out;
    osm_buf_init(&out);
    struct osm_err rerr = OSM_ERR_INIT;
    int st = run_script(a, script, &out, &rerr);
    free(script);
    win_setup_parse_status(out.s ? out.s : "", s);
    osm_buf_free(&out);
    if (st < 0) {
        json_decref(s->errors);
        s->errors = NULL;
        return osm_err_set(err, rerr.code ? rerr.code : OSM_EFAIL, "%s on '%s': %s", phase, a->inst->uri, rerr.msg);
    }
    if (st != 0) {
        char cause[160];
        snprintf(cause, sizeof cause, "the %s script failed (exit %d, %s)", phase, st, s->result[0] ? s->result : "no result");
        fail(r, WIN_END_FAILED, phase, cause);
    }
    return 0;
}

int win_hop_prepare(const struct win_agent *a, const struct win_setup_params *sp, const struct win_follow_opts *fo,
                    struct win_upgrade_result *r, struct osm_err *err)
{
    result_init(r);
    struct win_status s;
    if (run_starter(a, win_setup_prepare_script(sp, err), "prepare", &s, r, err) != 0)
        return -1;
    int skipped = strcmp(s.compat, "skipped") == 0;
    json_decref(s.errors);
    if (r->end != WIN_END_SUCCEEDED || skipped)
        return 0;
    /* The scan runs detached: wait for its code. */
    const struct win_clock *clk = clock_of(a);
    char *script = win_setup_status_script(sp, err);
    if (!script)
        return -1;
    time_t since = clk->now(clk->ctx);
    unsigned limit = or_default(fo->limit_scan_s, 3600), poll = or_default(fo->poll_s, 30);
    for (;;) {
        struct win_status st;
        if (poll_status(a, script, &st) == 0) {
            if (st.compat_exit[0]) {
                struct win_result c;
                if (win_decode_result(st.compat_exit, &c) != 0 || c.code != WIN_SETUP_COMPAT_OK) {
                    fail(r, WIN_END_FAILED, "scan", "");
                    explain(r, &st, st.compat_exit, "the compatibility scan failed without a result code");
                    static const char pre[] = "compatibility scan: ";
                    size_t n = strlen(r->cause), p = sizeof pre - 1;
                    if (n + p >= sizeof r->cause)
                        n = sizeof r->cause - p - 1;
                    memmove(r->cause + p, r->cause, n);
                    memcpy(r->cause, pre, p);
                    r->cause[n + p] = '\0';
                }
                json_decref(st.errors);
                break;
            }
            json_decref(st.errors);
        }
        if (hung(clk, since, limit, r, "scan", "the compatibility scan gave no result within %u s", limit))
            break;
        clk->sleep(clk->ctx, poll);
    }
    free(script);
    return 0;
}

int win_hop_start(const struct win_agent *a, const struct win_setup_params *sp, struct win_upgrade_result *r,
                  struct osm_err *err)
{
    struct win_status s;
    if (run_starter(a, win_setup_start_script(sp, err), "start", &s, r, err) != 0)
        return -1;
    json_decref(s.errors);
    return 0;
}

int win_follow(const struct win_agent *a, const struct win_setup_params *sp, const struct win_follow_opts *fo,
               struct win_upgrade_result *r, struct osm_err *err)
{
    const struct win_clock *clk = clock_of(a);
    unsigned poll = or_default(fo->poll_s, 30);
    unsigned lim_setup = or_default(fo->limit_setup_s, 4 * 3600);
    unsigned lim_reboot = or_default(fo->limit_reboot_s, 3600);
    unsigned lim_final = or_default(fo->limit_finalize_s, 2 * 3600);
    unsigned max_reboots = or_default(fo->max_reboots, 10);
    char *script = win_setup_status_script(sp, err);
    if (!script)
        return -1;
    const char *phase = "setup";
    time_t since = clk->now(clk->ctx);
    int rebooted = fo->resumed;
    for (;;) {
        struct win_status st;
        int up = poll_status(a, script, &st) == 0;
        const char *now_phase;
        int done = 0;
        if (!up) {
            now_phase = "reboot";
        } else {
            r->final_build = st.build;
            snprintf(r->final_edition, sizeof r->final_edition, "%s", st.edition);
            if (st.build == fo->target_build && !st.setup_running) {
                if (!edition_is(&st, fo->target_edition)) {
                    char fb[256];
                    snprintf(fb, sizeof fb, "setup finished on build %ld but the edition is %s, not %s", st.build,
                             st.edition[0] ? st.edition : "unknown", fo->target_edition);
                    fail(r, WIN_END_FAILED, "done", fb);
                } else {
                    r->end = WIN_END_SUCCEEDED;
                    r->rollback_disks = 0;
                    r->bt_left = st.bt_present;
                    snprintf(r->phase, sizeof r->phase, "done");
                    snprintf(r->cause, sizeof r->cause, "build %ld%s%s is running and setup has finished%s", st.build,
                             st.edition[0] ? " " : "", st.edition,
                             st.bt_present ? " (C:\\$WINDOWS.~BT is still there; Windows removes it later)" : "");
                }
                done = 1;
            } else if (st.build == fo->target_build) {
                now_phase = "finalize";
            } else if (st.setup_exit[0] && strcmp(st.setup_exit, "0") != 0) {
                fail(r, WIN_END_FAILED, phase, "");
                explain(r, &st, st.setup_exit, "setup failed");
                done = 1;
            } else if (rebooted && !st.setup_running) {
                char fb[160];
                snprintf(fb, sizeof fb, "setup rolled back: the instance came back on build %ld, not %ld", st.build,
                         fo->target_build);
                fail(r, WIN_END_FAILED, "rollback", "");
                explain(r, &st, NULL, fb);
                done = 1;
            } else {
                now_phase = "setup";
            }
            json_decref(st.errors);
        }
        if (done)
            break;
        if (strcmp(now_phase, phase) != 0) {
            osm_info("windows.upgrade.phase", "instance=%s from=%s to=%s", inst_name(a), phase, now_phase);
            if (!strcmp(now_phase, "reboot")) {
                rebooted = 1;
                if (++r->reboots > (int)max_reboots) {
                    char cause[200];
                    snprintf(cause, sizeof cause, "reboot loop: %d reboots without reaching build %ld (limit %u)",
                             r->reboots, fo->target_build, max_reboots);
                    fail(r, WIN_END_HUNG, "reboot", cause);
                    break;
                }
            }
            phase = now_phase;
            since = clk->now(clk->ctx);
        }
        unsigned limit = !strcmp(phase, "setup") ? lim_setup : !strcmp(phase, "reboot") ? lim_reboot : lim_final;
        if (hung(clk, since, limit, r, phase, "setup made no progress: still in phase '%s' after %u s (limit %u s)",
                 phase, (unsigned)(clk->now(clk->ctx) - since), limit))
            break;
        clk->sleep(clk->ctx, poll);
    }
    free(script);
    return 0;
}

/* DISM's exit codes of a good conversion: 0, or 3010 (restart required). */
static int dism_ok(const char *code)
{
    return !strcmp(code, "0") || !strcmp(code, "3010");
}

int win_convert(const struct win_agent *a, const struct win_setup_params *sp, const struct win_follow_opts *fo,
                struct win_upgrade_result *r, struct osm_err *err)
{
    result_init(r);
    if (!fo->target_edition || !*fo->target_edition)
        return osm_err_set(err, OSM_EUSAGE, "a conversion needs the target edition");
    const struct win_clock *clk = clock_of(a);
    unsigned poll = or_default(fo->poll_s, 30), lim = or_default(fo->limit_setup_s, 4 * 3600);
    unsigned lim_reboot = or_default(fo->limit_reboot_s, 3600);
    char *script = win_setup_status_script(sp, err);
    if (!script)
        return -1;
    int rc = 0, started = 0, reboots = 0;
    time_t since = clk->now(clk->ctx);
    for (;;) {
        struct win_status st;
        if (poll_status(a, script, &st) != 0) {
            /* silent: rebooting */
            if (hung(clk, since, lim_reboot, r, "reboot", "the instance did not come back after the conversion's restart"))
                break;
            clk->sleep(clk->ctx, poll);
            continue;
        }
        r->final_build = st.build;
        snprintf(r->final_edition, sizeof r->final_edition, "%s", st.edition);
        json_decref(st.errors);
        st.errors = NULL;
        if (edition_is(&st, fo->target_edition) && !st.convert_running) {
            if (st.build != fo->from_build) {
                char cause[200];
                snprintf(cause, sizeof cause, "the edition is %s but the build is %ld, not %ld", st.edition, st.build,
                         fo->from_build);
                fail(r, WIN_END_FAILED, "convert", cause);
            } else {
                snprintf(r->phase, sizeof r->phase, "done");
                snprintf(r->cause, sizeof r->cause, "edition %s on build %ld", st.edition, st.build);
            }
            break;
        }
        if (st.convert_exit[0] && !dism_ok(st.convert_exit)) {
            fail(r, WIN_END_FAILED, "convert", "");
            char fb[128];
            snprintf(fb, sizeof fb, "DISM /Set-Edition failed with exit code %s (see C:\\Windows\\Logs\\DISM\\dism.log)",
                     st.convert_exit);
            snprintf(r->cause, sizeof r->cause, "%s", fb);
            break;
        }
        if (st.convert_exit[0]) {
            /* DISM is done; the new edition takes effect at the next boot. */
            if (reboots >= 2) {
                char cause[200];
                snprintf(cause, sizeof cause, "DISM finished (%s) but after %d restarts the edition is still %s, not %s",
                         st.convert_exit, reboots, st.edition[0] ? st.edition : "unknown", fo->target_edition);
                fail(r, WIN_END_FAILED, "convert", cause);
                break;
            }
            if (!a->reboot) {
                rc = osm_err_set(err, OSM_EUNSUPPORTED, "instance '%s': its provider cannot reboot it", a->inst->uri);
                break;
            }
            char boot[64];
            if (a->reboot(a->inst, boot, err) != 0) {
                osm_err_prefix(err, "restarting %s after the conversion", a->inst->uri);
                rc = -1;
                break;
            }
            reboots++;
            r->reboots++;
            since = clk->now(clk->ctx);
            continue;
        }
        if (!st.convert_running && !started) {
            struct win_status s;
            if (run_starter(a, win_setup_convert_script(sp, err), "convert", &s, r, err) != 0) {
                rc = -1;
                break;
            }
            json_decref(s.errors);
            if (r->end != WIN_END_SUCCEEDED)
                break;
            started = 1;
            since = clk->now(clk->ctx);
        } else if (hung(clk, since, lim, r, "convert", "DISM /Set-Edition gave no result within %u s", lim)) {
            break;
        }
        clk->sleep(clk->ctx, poll);
    }
    free(script);
    return rc;
}

int win_upgrade(const struct win_agent *a, const char *transit_image, const struct win_setup_params *sp,
                const struct win_follow_opts *fo, struct win_upgrade_result *r, struct osm_err *err)
{
    result_init(r);
    if (!a->run || !a->attach_disk || !a->detach_disk)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance '%s': its provider cannot attach disks and run commands",
                           a->inst->uri);
    if (a->attach_disk(a->inst, transit_image, err) != 0) {
        osm_err_prefix(err, "attaching transit disk '%s'", transit_image);
        return -1;
    }
    int rc = win_hop_prepare(a, sp, fo, r, err);
    if (rc == 0 && r->end == WIN_END_SUCCEEDED)
        rc = win_hop_start(a, sp, r, err);
    if (rc == 0 && r->end == WIN_END_SUCCEEDED)
        rc = win_follow(a, sp, fo, r, err);
    /* The transit disk goes away whatever happened. */
    struct osm_err derr = OSM_ERR_INIT;
    if (a->detach_disk(a->inst, transit_image, &derr) != 0) {
        osm_warn("windows.transit.detach", "instance=%s error=\"%s\"", a->inst->uri, derr.msg);
        if (rc == 0 && r->end == WIN_END_SUCCEEDED) {
            osm_err_set(err, derr.code, "detaching transit disk '%s': %s", transit_image, derr.msg);
            rc = -1;
        }
    }
    return rc;
}

int win_poll_status(const struct win_agent *a, const struct win_setup_params *sp, struct win_status *st,
                    struct osm_err *err)
{
    const struct win_clock *clk = clock_of(a);
    char *script = win_setup_status_script(sp, err);
    if (!script)
        return -1;
    time_t since = clk->now(clk->ctx);
    int rc;
    while ((rc = poll_status(a, script, st)) != 0 && clk->now(clk->ctx) - since < 3600)
        clk->sleep(clk->ctx, 30);
    free(script);
    if (rc != 0)
        return osm_err_set(err, OSM_ENET, "instance '%s' did not answer for an hour", a->inst->uri);
    return 0;
}

struct log_sink {
    const char *dir;
    int failed;
    struct osm_err *err;
};

static void save_log(void *ctx, const char *name, const char *text)
{
    struct log_sink *s = ctx;
    /* names come from the script's fixed tags; refuse anything else */
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
            return;
    if (s->failed || !*name || name[0] == '.')
        return;
    char *p = osm_path_join(s->dir, name);
    if (osm_write_file_atomic(p, text, strlen(text), 0644, s->err) != 0)
        s->failed = 1;
    free(p);
}

int win_fetch_logs(const struct win_agent *a, const struct win_setup_params *sp, const char *dir, struct osm_err *err)
{
    char *script = win_setup_logs_script(sp, err);
    if (!script)
        return -1;
    struct osm_buf out;
    osm_buf_init(&out);
    int st = run_script(a, script, &out, err);
    free(script);
    if (st != 0) {
        osm_buf_free(&out);
        if (st > 0)
            osm_err_set(err, OSM_EFAIL, "the logs script failed (exit %d)", st);
        return -1;
    }
    if (osm_mkdir_p(dir, 0755, err) != 0) {
        osm_buf_free(&out);
        return -1;
    }
    struct log_sink s = {dir, 0, err};
    int n = win_setup_parse_logs(out.s ? out.s : "", save_log, &s);
    osm_buf_free(&out);
    return s.failed ? -1 : n;
}
