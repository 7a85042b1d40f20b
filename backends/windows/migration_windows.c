/* migration_windows.c: the Windows steps of an os-migration (see the header). */
#include "migration_windows.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os_migration.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "osm_windows.h"
#include "runner.h"
#include "win_double.h"
#include "win_follow.h"
#include "win_fs.h"
#include "win_media.h"
#include "win_transit.h"

/* What the steps read from the task: the target, TASK_DIR, the state
 * directory (whose media.json is the catalogue `osmig media` keeps). */
struct wtask {
    json_t *opts;
    const char *target;
    const char *state_dir;
    char *task_dir;
    json_t *plan; /* TASK_DIR/windows-plan.json, after precheck */
};

static void wtask_free(struct wtask *w)
{
    json_decref(w->opts);
    json_decref(w->plan);
    free(w->task_dir);
}

static int wtask_load(struct osm_step_ctx *ctx, struct wtask *w, int with_plan, struct osm_err *err)
{
    memset(w, 0, sizeof *w);
    w->opts = ctx->task->options ? json_loads(ctx->task->options, 0, NULL) : NULL;
    if (!json_is_object(w->opts))
        return osm_err_set(err, OSM_EINPUT, "task %s: its options are not a JSON object", ctx->task->id);
    w->target = json_string_value(json_object_get(w->opts, "target"));
    if (!w->target)
        w->target = ctx->task->target;
    w->state_dir = json_string_value(json_object_get(w->opts, "state_dir"));
    if (!w->target || !w->state_dir) {
        wtask_free(w);
        return osm_err_set(err, OSM_EINPUT, "task %s: its options lack %s", ctx->task->id,
                           !w->target ? "the target" : "the state directory");
    }
    w->task_dir = osm_migration_task_dir(w->state_dir, ctx->task->id);
    if (!with_plan)
        return 0;
    char *p = osm_path_join(w->task_dir, "windows-plan.json");
    json_error_t je;
    w->plan = json_load_file(p, 0, &je);
    if (!json_is_array(json_object_get(w->plan, "hops"))) {
        osm_err_set(err, OSM_EINPUT, "task %s: its Windows plan '%s' is unreadable (%s)", ctx->task->id, p, je.text);
        free(p);
        wtask_free(w);
        return -1;
    }
    free(p);
    return 0;
}

static char *task_path(const struct wtask *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *task_path(const struct wtask *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    char *p = osm_path_join(w->task_dir, b.s);
    osm_buf_free(&b);
    return p;
}

static void agent_for(struct osm_instance *inst, struct win_agent *a)
{
    if (win_double_on())
        win_double_agent(a, inst);
    else
        win_agent_of_provider(a, inst);
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* "datacenter" -> "ServerDatacenter" (the EditionID after the hop). */
static const char *edition_id(const char *edition)
{
    if (!edition)
        return NULL;
    if (!strcmp(edition, "datacenter"))
        return "ServerDatacenter";
    if (!strcmp(edition, "standard"))
        return "ServerStandard";
    if (!strcmp(edition, "enterprise"))
        return "ServerEnterprise";
    return NULL;
}

static int write_json(const char *path, json_t *j, struct osm_err *err)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    int rc = osm_write_file_atomic(path, text, strlen(text), 0644, err);
    free(text);
    return rc;
}

/* ---- precheck --------------------------------------------------------- */

static int precheck_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct wtask w;
    if (wtask_load(ctx, &w, 0, err) != 0)
        return -1;
    int rc = -1;
    json_t *wf = NULL, *report = NULL, *hops = NULL;
    struct osm_buf why;
    osm_buf_init(&why);
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst)
        goto out;
    if (!inst->root) {
        osm_err_set(err, OSM_EUNSUPPORTED, "instance %s has no system volume this host can read", inst->uri);
        goto out;
    }
    struct osm_facts facts;
    if (osm_instance_facts(inst, &facts, err) != 0)
        goto out;
    osm_step_progress(ctx, 0.1, "reading the registry hives");
    if (osm_windows_inspect(inst->root, &wf, err) != 0) {
        osm_err_prefix(err, "inspecting %s", inst->uri);
        goto out;
    }
    int inhibited = osm_windows_assess_facts(wf, &facts, w.target, &report, err);
    if (inhibited < 0)
        goto out;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(report, "inhibitors"), i, v) {
        char *line = osm_xasprintf("inhibitor %s: %s: %s (limit: %s; remedy: %s)", str(v, "id"), str(v, "title"),
                                   str(v, "fact"), str(v, "limit"), str(v, "remedy"));
        struct osm_err e = OSM_ERR_INIT;
        osm_step_event(ctx, "precheck.inhibitor", line, &e);
        osm_buf_addf(&why, "%s%s", why.len ? "; " : "", line);
        free(line);
    }
    if (!inhibited) {
        osm_step_progress(ctx, 0.5, "choosing the installation media of every hop");
        struct osm_err merr = OSM_ERR_INIT;
        if (win_media_plan(w.state_dir, report, &hops, &merr) != 0) {
            char *line = osm_xasprintf("installation media: %s (remedy: register it with 'osmig media add DIR')", merr.msg);
            struct osm_err e = OSM_ERR_INIT;
            osm_step_event(ctx, "precheck.media", line, &e);
            osm_buf_addf(&why, "%s%s", why.len ? "; " : "", line);
            free(line);
        }
    }
    /* The instance must let the steps act: run scripts, attach disks, reboot. */
    struct win_agent a;
    agent_for(inst, &a);
    int setups = 0, conversions = 0;
    json_array_foreach(hops, i, v) {
        setups += !strcmp(str(v, "method"), "setup");
        conversions += !strcmp(str(v, "method"), "conversion");
    }
    if (!why.len && (!a.run || (setups && (!a.attach_disk || !a.detach_disk)) || (conversions && !a.reboot)))
        osm_buf_addf(&why, "instance %s: its provider (%s) cannot %s, which a Windows migration needs", inst->uri,
                     inst->provider->scheme, !a.run ? "run commands in it" : setups ? "attach and detach a disk" : "reboot it");
    if (why.len) {
        osm_err_set(err, OSM_ECONFLICT, "the instance cannot migrate to %s: %s", w.target, why.s);
        goto out;
    }
    json_t *plan = json_pack("{s:s,s:O,s:O,s:O,s:O}", "target", w.target, "from_build", json_object_get(wf, "build"),
                             "from_edition_id", json_object_get(wf, "edition_id"), "hops", hops, "report", report);
    char *pp = task_path(&w, "windows-plan.json");
    rc = osm_mkdir_p(w.task_dir, 0755, err) == 0 ? write_json(pp, plan, err) : -1;
    free(pp);
    json_decref(plan);
    if (rc != 0)
        goto out;
    struct osm_buf msg;
    osm_buf_init(&msg);
    osm_buf_addf(&msg, "%zu hop%s:", json_array_size(hops), json_array_size(hops) == 1 ? "" : "s");
    json_array_foreach(hops, i, v) {
        if (!strcmp(str(v, "method"), "conversion"))
            osm_buf_addf(&msg, " %zu) %s licence conversion to %s;", i + 1, str(v, "release"), str(v, "edition"));
        else
            osm_buf_addf(&msg, " %zu) Windows Setup to %s %s build %lld from media %s image %lld (%s, %s, %s);", i + 1,
                         str(v, "release"), str(v, "edition"), (long long)json_integer_value(json_object_get(v, "build")),
                         str(v, "media"), (long long)json_integer_value(json_object_get(v, "image_index")),
                         str(v, "edition_id"), str(v, "installation_type"), str(v, "language"));
    }
    osm_buf_addf(&msg, " plan in %s/windows-plan.json", w.task_dir);
    rc = osm_step_event(ctx, "plan", msg.s, err);
    osm_buf_free(&msg);
out:
    osm_buf_free(&why);
    json_decref(wf);
    json_decref(report);
    json_decref(hops);
    wtask_free(&w);
    return rc;
}

/* ---- stage ------------------------------------------------------------ */

static int stage_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct wtask w;
    if (wtask_load(ctx, &w, 1, err) != 0)
        return -1;
    int rc = 0;
    size_t i, n = 0;
    json_t *h;
    json_array_foreach(json_object_get(w.plan, "hops"), i, h) {
        if (strcmp(str(h, "method"), "setup") != 0)
            continue;
        const char *dir = str(h, "media_path");
        char *wim = dir ? win_fs_find(dir, "sources/install.wim") : NULL;
        char *setup = dir ? win_fs_find(dir, "setup.exe") : NULL;
        if (!wim || !setup)
            rc = osm_err_set(err, OSM_ENOTFOUND, "hop %zu: media %s at '%s' lacks %s", i + 1, str(h, "media"),
                             dir ? dir : "?", !setup ? "setup.exe" : "sources/install.wim");
        free(wim);
        free(setup);
        if (rc)
            break;
        n++;
    }
    if (rc == 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "the media of %zu setup hop%s are in place", n, n == 1 ? "" : "s");
        rc = osm_step_event(ctx, "staged", msg, err);
    }
    wtask_free(&w);
    return rc;
}

/* ---- upgrade ---------------------------------------------------------- */

static int note_hop(struct osm_step_ctx *ctx, long hop, const char *state, struct osm_err *err)
{
    char n[24];
    snprintf(n, sizeof n, "%ld", hop);
    if (osm_step_note_set(ctx, "hop", n, err) != 0)
        return -1;
    return osm_step_note_set(ctx, "hop.state", state, err);
}

static int state_is(struct osm_step_ctx *ctx, const char *s)
{
    const char *v = osm_step_note(ctx, "hop.state");
    return v && !strcmp(v, s);
}

static void release_image(const char *img)
{
    char *side = osm_xasprintf("%s.osmig.json", img);
    unlink(img);
    unlink(side);
    free(side);
}

static void fetch_logs(const struct win_agent *a, const struct win_setup_params *sp, const struct wtask *w, const char *sub)
{
    char *dir = task_path(w, "logs/%s", sub);
    struct osm_err e = OSM_ERR_INIT;
    if (win_fetch_logs(a, sp, dir, &e) < 0)
        osm_warn("windows.logs", "dir=%s error=\"%s\"", dir, e.msg);
    free(dir);
}

/* The hop failed: keep its result and logs, release the transit disk, and
 * say why (the runner then restores every disk). */
static int hop_failed(struct osm_step_ctx *ctx, const struct wtask *w, const struct win_agent *a,
                      const struct win_setup_params *sp, long hop, const json_t *h, const char *img,
                      const struct win_upgrade_result *r, struct osm_err *err)
{
    char sub[32];
    snprintf(sub, sizeof sub, "hop%ld", hop);
    fetch_logs(a, sp, w, sub);
    if (img) {
        struct osm_err de = OSM_ERR_INIT;
        if (a->detach_disk && a->detach_disk(a->inst, img, &de) != 0)
            osm_warn("windows.transit.detach", "image=%s error=\"%s\"", img, de.msg);
        release_image(img);
        char *tdir = task_path(w, "transit");
        rmdir(tdir); /* when empty */
        free(tdir);
    }
    char code[40] = "";
    if (r->code.code && r->code.extended)
        snprintf(code, sizeof code, "0x%08X - 0x%05X", r->code.code, r->code.extended);
    else if (r->code.code)
        snprintf(code, sizeof code, "0x%08X", r->code.code);
    json_t *res = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:i}", "end",
                            r->end == WIN_END_HUNG ? "hung" : "failed", "hop", (json_int_t)hop, "release", str(h, "release"),
                            "phase", r->phase, "cause", r->cause, "code", code, "code_name", r->code.name ? r->code.name : "",
                            "final_build", (json_int_t)r->final_build, "reboots", r->reboots);
    json_object_set(res, "errors", r->errors ? r->errors : json_array());
    char *rp = task_path(w, "windows-result.json");
    struct osm_err we = OSM_ERR_INIT;
    write_json(rp, res, &we);
    free(rp);
    json_decref(res);
    struct osm_err ne = OSM_ERR_INIT;
    note_hop(ctx, hop, "failed", &ne);
    osm_step_crash_point("windows.hop.failed");
    return osm_err_set(err, OSM_EFAIL, "hop %ld (to %s %s) %s in phase %s: %s", hop, str(h, "release"), str(h, "edition"),
                       r->end == WIN_END_HUNG ? "hung" : "failed", r->phase, r->cause);
}

/* One setup hop, from the sub-step its notes say (see the header). 0 when
 * the hop succeeded (R says how), -1 (err) when it failed: its result
 * recorded and its transit disk released. */
/* How one part of a hop ended: -1 when `called` failed (err says why), 1
 * when Windows refused (r has the cause), else 0 once `done` is noted and
 * its crash point passed. */
static int hop_part(struct osm_step_ctx *ctx, long hop, int called, const struct win_upgrade_result *r,
                    const char *done, const char *crash_point, struct osm_err *err)
{
    if (called != 0)
        return -1;
    if (r->end != WIN_END_SUCCEEDED)
        return 1;
    if (note_hop(ctx, hop, done, err) != 0)
        return -1;
    osm_step_crash_point(crash_point);
    return 0;
}

static int setup_hop(struct osm_step_ctx *ctx, const struct wtask *w, const struct win_agent *a, long hop, const json_t *h,
                     long n, struct win_setup_params *sp, struct win_follow_opts *fo, struct win_upgrade_result *r,
                     struct osm_err *err)
{
    if (win_setup_kind_of(str(h, "setup"), &sp->kind) != 0)
        return osm_err_set(err, OSM_EINPUT, "hop %ld: unknown setup '%s'", hop, str(h, "setup"));
    char *img = task_path(w, "transit/hop%ld.img", hop);
    int rc = 0;
    const char *st0 = osm_step_note(ctx, "hop.state");
    int fresh = !st0 || !*st0 || !strcmp(st0, "building");
    fo->resumed = st0 && !strcmp(st0, "started"); /* an earlier run started setup */
    if (fresh) {
        char *tdir = task_path(w, "transit");
        struct win_transit_opts to = {.media_dir = str(h, "media_path"), .out = img};
        osm_step_progress(ctx, (double)(hop - 1) / (double)n, "building the transit disk");
        rc = note_hop(ctx, hop, "building", err) != 0 || osm_mkdir_p(tdir, 0700, err) != 0 ||
                     win_transit_build(&to, err) < 0 || note_hop(ctx, hop, "built", err) != 0
                 ? -1
                 : 0;
        free(tdir);
        if (rc == 0)
            osm_step_crash_point("windows.transit.built");
    }
    if (rc == 0 && (state_is(ctx, "built") || state_is(ctx, "attaching"))) {
        if (state_is(ctx, "attaching")) {
            /* killed while attaching: start from a detached disk */
            struct osm_err de = OSM_ERR_INIT;
            a->detach_disk(a->inst, img, &de);
        }
        rc = note_hop(ctx, hop, "attaching", err) != 0 || a->attach_disk(a->inst, img, err) != 0 ||
                     note_hop(ctx, hop, "attached", err) != 0
                 ? -1
                 : 0;
        if (rc == 0)
            osm_step_crash_point("windows.transit.attached");
    }
    if (rc == 0 && state_is(ctx, "attached")) {
        osm_step_progress(ctx, (double)(hop - 1) / (double)n, "transit disk online; compatibility scan");
        rc = hop_part(ctx, hop, win_hop_prepare(a, sp, fo, r, err), r, "prepared", "windows.scan.passed", err);
    }
    if (rc == 0 && (state_is(ctx, "prepared") || state_is(ctx, "starting"))) {
        /* a second start while setup runs answers already-running */
        int called = note_hop(ctx, hop, "starting", err) != 0 ? -1 : win_hop_start(a, sp, r, err);
        rc = hop_part(ctx, hop, called, r, "started", "windows.setup.started", err);
    }
    if (rc == 0 && state_is(ctx, "started")) {
        osm_step_progress(ctx, (double)(hop - 1) / (double)n, "following Windows Setup across its reboots");
        rc = hop_part(ctx, hop, win_follow(a, sp, fo, r, err), r, "followed", "windows.setup.finished", err);
    }
    if (rc == 0 && state_is(ctx, "followed")) {
        char sub[32];
        snprintf(sub, sizeof sub, "hop%ld", hop);
        fetch_logs(a, sp, w, sub);
        if (a->detach_disk(a->inst, img, err) != 0) {
            osm_err_prefix(err, "detaching the transit disk of hop %ld", hop);
            rc = -1;
        } else {
            release_image(img);
        }
    }
    if (rc == 1)
        rc = hop_failed(ctx, w, a, sp, hop, h, img, r, err);
    else if (rc < 0 && !state_is(ctx, "followed")) {
        /* the agent could not be asked: still release the disk */
        struct win_upgrade_result rr;
        memset(&rr, 0, sizeof rr);
        rr.end = WIN_END_FAILED;
        snprintf(rr.phase, sizeof rr.phase, "%s", osm_step_note(ctx, "hop.state"));
        snprintf(rr.cause, sizeof rr.cause, "%.1000s", err->msg);
        struct osm_err fe = OSM_ERR_INIT;
        hop_failed(ctx, w, a, sp, hop, h, img, &rr, &fe);
    }
    free(img);
    return rc != 0 ? -1 : 0;
}

static int upgrade_body(struct osm_step_ctx *ctx, struct wtask *w, struct osm_instance *inst, struct osm_err *err)
{
    struct win_agent a;
    agent_for(inst, &a);
    const json_t *hops = json_object_get(w->plan, "hops");
    size_t n = json_array_size(hops);
    const char *noted = osm_step_note(ctx, "hop");
    long hop = noted ? strtol(noted, NULL, 10) : 1;
    if (hop < 1)
        hop = 1;
    if (state_is(ctx, "failed")) {
        /* killed after the failure was recorded: report it again */
        char *rp = task_path(w, "windows-result.json");
        json_t *res = json_load_file(rp, 0, NULL);
        free(rp);
        osm_err_set(err, OSM_EFAIL, "hop %ld failed: %s", hop, res ? str(res, "cause") : "see windows-result.json");
        json_decref(res);
        return -1;
    }
    long build = (long)json_integer_value(json_object_get(w->plan, "from_build"));
    if (hop > 1)
        build = (long)json_integer_value(json_object_get(json_array_get(hops, (size_t)hop - 2), "build"));
    for (; hop <= (long)n; hop++) {
        const json_t *h = json_array_get(hops, (size_t)hop - 1);
        long target = (long)json_integer_value(json_object_get(h, "build"));
        struct win_setup_params sp = {.image_index = (int)json_integer_value(json_object_get(h, "image_index")),
                                      .volume_licence = json_is_true(json_object_get(h, "volume_licence")),
                                      .product_key = str(h, "product_key"),
                                      .edition_id = edition_id(str(h, "edition"))};
        struct win_follow_opts fo = {.from_build = build, .target_build = target, .target_edition = sp.edition_id};
        struct win_upgrade_result r;
        memset(&r, 0, sizeof r);
        char prog[160];
        snprintf(prog, sizeof prog, "hop %ld of %zu: %s to %s %s", hop, n, str(h, "method"), str(h, "release"),
                 str(h, "edition"));
        osm_step_progress(ctx, (double)(hop - 1) / (double)n, prog);
        if (!strcmp(str(h, "method"), "conversion")) {
            if (note_hop(ctx, hop, "converting", err) != 0)
                return -1;
            osm_step_crash_point("windows.convert.noted");
            if (win_convert(&a, &sp, &fo, &r, err) != 0)
                return -1;
            if (r.end != WIN_END_SUCCEEDED) {
                int rc = hop_failed(ctx, w, &a, &sp, hop, h, NULL, &r, err);
                win_upgrade_result_free(&r);
                return rc;
            }
        } else if (setup_hop(ctx, w, &a, hop, h, (long)n, &sp, &fo, &r, err) != 0) {
            win_upgrade_result_free(&r);
            return -1;
        }
        char msg[1200];
        snprintf(msg, sizeof msg, "hop %ld of %zu: %s", hop, n, r.cause);
        win_upgrade_result_free(&r);
        if (osm_step_event(ctx, "hop", msg, err) != 0 || note_hop(ctx, hop + 1, "", err) != 0)
            return -1;
        osm_step_crash_point("windows.hop.done");
        build = target;
    }
    return osm_step_note_set(ctx, "upgrade", "done", err);
}

static int upgrade_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct wtask w;
    if (wtask_load(ctx, &w, 1, err) != 0)
        return -1;
    struct osm_instance *inst = osm_step_instance(ctx, err);
    int rc = inst ? upgrade_body(ctx, &w, inst, err) : -1;
    wtask_free(&w);
    return rc;
}

/* The upgrade notes every sub-step ("hop", "hop.state"), and each part is
 * safe to ask again (the transit build is idempotent, a second start finds
 * setup already running, following only polls): after a crash the run
 * continues from its notes (0), or it is done (1). */
static int upgrade_check(struct osm_step_ctx *ctx, struct osm_err *err)
{
    (void)err;
    const char *done = osm_step_note(ctx, "upgrade");
    return done && !strcmp(done, "done") ? 1 : 0;
}

/* ---- verify ----------------------------------------------------------- */

static int verify_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct wtask w;
    if (wtask_load(ctx, &w, 1, err) != 0)
        return -1;
    int rc = -1;
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst)
        goto out;
    struct win_agent a;
    agent_for(inst, &a);
    const json_t *hops = json_object_get(w.plan, "hops");
    const json_t *last = json_array_get(hops, json_array_size(hops) - 1);
    long want = (long)json_integer_value(json_object_get(last, "build"));
    const char *want_ed = edition_id(str(last, "edition"));
    struct win_setup_params sp = {0};
    struct win_status st;
    if (win_poll_status(&a, &sp, &st, err) != 0)
        goto out;
    json_decref(st.errors);
    if (st.build != want || (want_ed && strcasecmp(st.edition, want_ed) != 0)) {
        osm_err_set(err, OSM_ECHECKSUM, "the instance runs build %ld %s, not build %ld %s", st.build,
                    st.edition[0] ? st.edition : "(edition unknown)", want, want_ed ? want_ed : "");
        goto out;
    }
    fetch_logs(&a, &sp, &w, "verify");
    char *tdir = task_path(&w, "transit");
    struct osm_err re = OSM_ERR_INIT;
    if (osm_is_dir(tdir) && osm_remove_tree(tdir, &re) != 0)
        osm_warn("windows.transit.cleanup", "dir=%s error=\"%s\"", tdir, re.msg);
    free(tdir);
    json_t *res = json_pack("{s:s,s:I,s:s,s:b}", "end", "succeeded", "build", (json_int_t)st.build, "edition", st.edition,
                            "bt_left", st.bt_present);
    char *rp = task_path(&w, "windows-result.json");
    rc = write_json(rp, res, err);
    free(rp);
    json_decref(res);
    if (rc != 0)
        goto out;
    char msg[512];
    snprintf(msg, sizeof msg, "build %ld %s is running, setup has finished; its logs are in %s/logs", st.build, st.edition,
             w.task_dir);
    rc = osm_step_event(ctx, "verified", msg, err);
out:
    wtask_free(&w);
    return rc;
}

const struct osm_family_migration osm_windows_migration = {
    .precheck = precheck_run,
    .stage = stage_run,
    .upgrade = upgrade_run,
    .upgrade_check = upgrade_check,
    .verify = verify_run,
};
