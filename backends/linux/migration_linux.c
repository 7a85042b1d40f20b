/* migration_linux.c: the Linux steps of an os-migration (see migration_linux.h). */
#include "migration_linux.h"

#include <fcntl.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "boot_setup.h"
#include "boots.h"
#include "guest_migration.h"
#include "guest_view.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "osm_paths.h"
#include "os_migration.h"
#include "plan.h"
#include "planfile.h"
#include "provider.h"
#include "rpmutil.h"
#include "runner.h"
#include "stage.h"
#include "system.h"
#include "target_txn.h"
#include "userspace.h"
#include "verify.h"

#define MIB (1024LL * 1024LL)
#define DEFAULT_MIN_VCPUS 2
#define DEFAULT_MIN_MEMORY_MIB 2048
#define STAGE_RESERVE_MIB 500
#define HEARTBEAT_MAX_AGE (24 * 3600)

/* The task's options, parsed. */
struct mopts {
    json_t *j;
    const char *target;
    const char **matrix, **events, **repos, **allow_erase;
    size_t n_matrix, n_events, n_repos, n_allow_erase;
    int no_sigcheck;
    const char *cache_dir;
    char *task_dir;
};

static const char **str_array(json_t *a, size_t *n)
{
    *n = json_is_array(a) ? json_array_size(a) : 0;
    const char **v = osm_xcalloc(*n + 1, sizeof *v);
    for (size_t i = 0; i < *n; i++)
        v[i] = json_string_value(json_array_get(a, i));
    return v;
}

static void mopts_free(struct mopts *m)
{
    free(m->matrix);
    free(m->events);
    free(m->repos);
    free(m->allow_erase);
    free(m->task_dir);
    json_decref(m->j);
}

static int mopts_load(struct osm_step_ctx *ctx, struct mopts *m, struct osm_err *err)
{
    memset(m, 0, sizeof *m);
    json_error_t je;
    m->j = ctx->task->options ? json_loads(ctx->task->options, 0, &je) : NULL;
    if (!json_is_object(m->j))
        return osm_err_set(err, OSM_EINPUT, "task %s: its options are not a JSON object", ctx->task->id);
    m->target = json_string_value(json_object_get(m->j, "target"));
    if (!m->target)
        m->target = ctx->task->target;
    m->matrix = str_array(json_object_get(m->j, "matrix"), &m->n_matrix);
    m->events = str_array(json_object_get(m->j, "events"), &m->n_events);
    m->repos = str_array(json_object_get(m->j, "repos"), &m->n_repos);
    m->allow_erase = str_array(json_object_get(m->j, "allow_erase"), &m->n_allow_erase);
    m->no_sigcheck = json_is_true(json_object_get(m->j, "no_signature_check"));
    m->cache_dir = json_string_value(json_object_get(m->j, "cache_dir"));
    const char *sd = json_string_value(json_object_get(m->j, "state_dir"));
    if (!m->target || !sd) {
        mopts_free(m);
        return osm_err_set(err, OSM_EINPUT, "task %s: its options lack %s", ctx->task->id,
                           !m->target ? "the target" : "the state directory");
    }
    m->task_dir = osm_migration_task_dir(sd, ctx->task->id);
    if (m->cache_dir)
        osm_set_cache_dir(m->cache_dir);
    return 0;
}

static char *plan_path(const struct mopts *m)
{
    return osm_path_join(m->task_dir, "plan.json");
}

/* The plan precheck wrote. */
static int load_plan(struct osm_step_ctx *ctx, struct mopts *m, struct osm_planfile *pf, struct osm_err *err)
{
    if (mopts_load(ctx, m, err) != 0)
        return -1;
    char *p = plan_path(m);
    int rc = osm_planfile_load(p, pf, err);
    free(p);
    if (rc != 0)
        mopts_free(m);
    return rc;
}

/* The task's instance: a root on this host, or a guest that its provider
 * can run commands in and copy files into and out of. */
static struct osm_instance *instance_root(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    const struct osm_provider *p = inst ? inst->provider : NULL;
    if (inst && !inst->root && (!p->run || !p->copy_in || !p->copy_out)) {
        osm_err_set(err, OSM_EUNSUPPORTED,
                    "instance %s has no root this host can reach, and its provider cannot run commands and copy "
                    "files in it",
                    inst->uri);
        return NULL;
    }
    return inst;
}

/* Where the steps stage and build: the instance's root, or for a guest the
 * task's guest-root, what is shipped into the guest (guest_migration.h). */
static char *work_root(const struct mopts *m, const struct osm_instance *inst)
{
    return inst->root ? osm_xstrdup(inst->root) : osm_path_join(m->task_dir, "guest-root");
}

/* ---- progress --------------------------------------------------------- */

struct prog {
    struct osm_step_ctx *ctx;
    struct timespec start;
    const char *phase;
};

static double elapsed(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void prog_init(struct prog *p, struct osm_step_ctx *ctx)
{
    p->ctx = ctx;
    p->phase = NULL;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
}

/* "download 3/10 packages, 1.2/4.0 MiB, 2.1 MiB/s, 2s left": the line both
 * the progress bar and the plain progress lines show. */
static void on_rpm_progress(const struct osm_progress *pr, void *user)
{
    struct prog *p = user;
    if (!p->phase || strcmp(p->phase, pr->phase) != 0) {
        p->phase = pr->phase;
        clock_gettime(CLOCK_MONOTONIC, &p->start);
    }
    double t = elapsed(&p->start);
    double frac = 0;
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_addf(&b, "%s %zu/%zu packages", pr->phase, pr->pkgs_done, pr->pkgs_total);
    /* Downloads count bytes of the whole stage; the transaction counts
     * packages (its byte counts are the current package's). */
    int by_bytes = pr->bytes_total > 0 && strcmp(pr->phase, "download") == 0;
    if (by_bytes) {
        frac = (double)pr->bytes_done / (double)pr->bytes_total;
        double rate = t > 0.05 ? (double)pr->bytes_done / t : 0;
        osm_buf_addf(&b, ", %.1f/%.1f MiB", (double)pr->bytes_done / MIB, (double)pr->bytes_total / MIB);
        if (rate > 0) {
            osm_buf_addf(&b, ", %.1f MiB/s, %.0fs left", rate / MIB,
                         (double)(pr->bytes_total - pr->bytes_done) / rate);
        }
    } else if (pr->pkgs_total > 0) {
        frac = (double)pr->pkgs_done / (double)pr->pkgs_total;
        if (pr->pkgs_done > 0 && t > 0.05)
            osm_buf_addf(&b, ", %.0fs left", t / (double)pr->pkgs_done * (double)(pr->pkgs_total - pr->pkgs_done));
    }
    osm_step_progress(p->ctx, frac, b.s);
    osm_buf_free(&b);
}


/* What every step after precheck works with: the options, the plan
 * precheck wrote, the instance's root and a progress reporter. */
struct step_env {
    struct mopts m;
    struct osm_planfile pf;
    struct osm_instance *inst;
    char *root;              /* work_root */
    struct osm_txn_place pl; /* where the transaction runs */
    struct prog p;
};

/* 0 with everything loaded (the instance may be NULL with err set: the
 * step then fails after step_env_close); -1 when the plan cannot be read. */
static int step_env_open(struct osm_step_ctx *ctx, struct step_env *e, struct osm_err *err)
{
    if (load_plan(ctx, &e->m, &e->pf, err) != 0)
        return -1;
    e->inst = instance_root(ctx, err);
    e->root = e->inst ? work_root(&e->m, e->inst) : NULL;
    e->pl = (struct osm_txn_place){.root = e->root, .guest = e->inst && !e->inst->root ? e->inst : NULL};
    if (e->pl.guest && osm_mkdir_p(e->root, 0700, err) != 0)
        e->inst = NULL;
    prog_init(&e->p, ctx);
    return 0;
}

static void step_env_close(struct step_env *e)
{
    free(e->root);
    osm_planfile_free(&e->pf);
    mopts_free(&e->m);
}

/* Runs `body` with the step's environment; an instance that cannot be
 * opened fails the step (err says why). */
static int with_env(struct osm_step_ctx *ctx, struct osm_err *err,
                    int (*body)(struct osm_step_ctx *ctx, struct step_env *e, struct osm_err *err))
{
    struct step_env e;
    if (step_env_open(ctx, &e, err) != 0)
        return -1;
    int rc = e.inst ? body(ctx, &e, err) : -1;
    step_env_close(&e);
    return rc;
}

/* ---- precheck --------------------------------------------------------- */

static void precheck_fail(struct osm_step_ctx *ctx, struct osm_buf *why, const char *fact, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void precheck_fail(struct osm_step_ctx *ctx, struct osm_buf *why, const char *fact, const char *fmt, ...)
{
    struct osm_buf line;
    osm_buf_init(&line);
    va_list ap;
    va_start(ap, fmt);
    osm_buf_vaddf(&line, fmt, ap);
    va_end(ap);
    char type[64];
    snprintf(type, sizeof type, "precheck.%s", fact);
    struct osm_err e = OSM_ERR_INIT;
    osm_step_event(ctx, type, line.s, &e);
    osm_buf_addf(why, "%s%s", why->len ? "; " : "", line.s);
    osm_buf_free(&line);
}

static void check_facts(struct osm_step_ctx *ctx, const struct osm_facts *f, const struct osm_plan *plan,
                        struct osm_buf *why)
{
    const struct osm_target *t = plan->target;
    int minv = t->min_vcpus > 0 ? t->min_vcpus : DEFAULT_MIN_VCPUS;
    long minm = t->min_memory_mib > 0 ? t->min_memory_mib : DEFAULT_MIN_MEMORY_MIB;
    if (f->vcpus >= 0 && f->vcpus < minv)
        precheck_fail(ctx, why, "vcpus",
                      "vCPUs: the instance has %d, %s needs at least %d (remedy: resize the instance to %d or more "
                      "vCPUs)",
                      f->vcpus, t->id, minv, minv);
    if (f->memory_bytes >= 0 && f->memory_bytes < (int64_t)minm * MIB)
        precheck_fail(ctx, why, "memory",
                      "memory: the instance has %lld MiB, %s needs at least %ld MiB (remedy: resize the instance to "
                      "%ld MiB or more)",
                      (long long)(f->memory_bytes / MIB), t->id, minm, minm);
    int64_t need = plan->download_size + (int64_t)STAGE_RESERVE_MIB * MIB;
    if (t->min_free_mib > 0 && (int64_t)t->min_free_mib * MIB > need)
        need = (int64_t)t->min_free_mib * MIB;
    if (f->system_disk_free_bytes >= 0 && f->system_disk_free_bytes < need)
        precheck_fail(ctx, why, "free_space",
                      "free space on the system disk: %lld MiB, the staged packages (%lld MiB) plus %d MiB need "
                      "%lld MiB (remedy: free or add %lld MiB on the system disk)",
                      (long long)(f->system_disk_free_bytes / MIB), (long long)(plan->download_size / MIB),
                      STAGE_RESERVE_MIB, (long long)(need / MIB),
                      (long long)((need - f->system_disk_free_bytes + MIB - 1) / MIB));
    int64_t now = (int64_t)time(NULL);
    if (f->heartbeat <= 0)
        precheck_fail(ctx, why, "heartbeat",
                      "agent heartbeat: unknown, it must be within the last 24 hours (remedy: start the osmig agent "
                      "on the instance)");
    else if (now - f->heartbeat > HEARTBEAT_MAX_AGE)
        precheck_fail(ctx, why, "heartbeat",
                      "agent heartbeat: last seen %lld hours ago, it must be within the last 24 hours (remedy: "
                      "restart the osmig agent on the instance and check its network)",
                      (long long)((now - f->heartbeat) / 3600));
    if (!f->authorized)
        precheck_fail(ctx, why, "authorized",
                      "authorisation: osmig is not authorised to act on the instance (remedy: grant osmig access "
                      "to the instance)");
}

static int precheck_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct mopts m;
    if (mopts_load(ctx, &m, err) != 0)
        return -1;
    int rc = -1;
    struct osm_linux_system sys;
    int sys_open = 0, plan_done = 0;
    struct osm_plan plan;
    struct osm_buf why;
    osm_buf_init(&why);
    char *view = NULL;
    struct osm_instance *inst = instance_root(ctx, err);
    if (!inst)
        goto out;
    struct osm_facts facts;
    if (osm_instance_facts(inst, &facts, err) != 0)
        goto out;
    osm_step_progress(ctx, 0.1, "inspecting the root");
    /* A guest is read through a view of it (guest_view.h). */
    const char *root = inst->root ? inst->root : (view = osm_guest_view_open(inst, err));
    if (!root)
        goto out;
    if (osm_linux_system_open(root, osm_cache_dir(), &sys, err) != 0) {
        osm_err_prefix(err, "inspecting %s", inst->uri);
        goto out;
    }
    sys_open = 1;
    osm_step_progress(ctx, 0.3, "computing the plan");
    struct osm_plan_opts po = {
        .target = m.target,
        .matrix_files = m.matrix, .n_matrix_files = m.n_matrix,
        .event_files = m.events, .n_event_files = m.n_events,
        .repo_overrides = m.repos, .n_repo_overrides = m.n_repos,
        .cache_dir = osm_cache_dir(),
        .region = facts.region[0] ? facts.region : NULL,
        .allow_erase = m.allow_erase, .n_allow_erase = m.n_allow_erase,
    };
    if (osm_plan_compute(&sys, &po, &plan, err) != 0)
        goto out;
    plan_done = 1;
    struct osm_txn_place bpl = {.root = inst->root, .guest = inst->root ? NULL : inst};
    osm_boot_assess(&plan, &bpl);
    check_facts(ctx, &facts, &plan, &why);
    /* A root without /etc/fstab (a container's) is fine; a broken one is not. */
    struct osm_err fe = OSM_ERR_INIT;
    char *fstab = osm_root_path(root, "/etc/fstab");
    int has_fstab = osm_is_file(fstab);
    free(fstab);
    if (has_fstab && osm_verify_fstab(root, &fe) != 0)
        precheck_fail(ctx, &why, "fstab", "/etc/fstab: %s (remedy: fix /etc/fstab before migrating)", fe.msg);
    if (osm_step_note_set(ctx, "fstab", has_fstab ? "present" : "absent", err) != 0)
        goto out;
    for (size_t i = 0; i < plan.n_findings; i++) {
        const struct osm_finding *f = &plan.findings[i];
        if (!f->inhibitor)
            continue;
        struct osm_buf items;
        osm_buf_init(&items);
        for (size_t k = 0; k < f->n_items && k < 5; k++)
            osm_buf_addf(&items, "%s%s", k ? ", " : " (", f->items[k]);
        if (f->n_items)
            osm_buf_addf(&items, "%s)", f->n_items > 5 ? ", ..." : "");
        precheck_fail(ctx, &why, "inhibitor", "inhibitor %s: %s%s (remedy: %s)", f->id, f->summary, items.s,
                      f->remediation ? f->remediation : "see `osmig assess`");
        osm_buf_free(&items);
    }
    /* The plan is written even when inhibited: it says what would happen. */
    json_t *pj = osm_plan_json(&plan, inst->uri);
    json_t *boots = NULL;
    struct osm_err be = OSM_ERR_INIT;
    if (osm_step_note(ctx, "boots") && osm_boots_parse(osm_step_note(ctx, "boots"), &boots, &be) == 0)
        json_object_set_new(pj, "boots", boots); /* noted by the kind before this step (boots.h) */
    char *text = json_dumps(pj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(pj);
    char *pp = plan_path(&m);
    rc = osm_mkdir_p(m.task_dir, 0755, err) == 0 && osm_write_file_atomic(pp, text, strlen(text), 0644, err) == 0
             ? 0
             : -1;
    free(pp);
    free(text);
    if (rc != 0)
        goto out;
    if (why.len) {
        osm_err_set(err, OSM_ECONFLICT, "the instance cannot migrate to %s: %s", m.target, why.s);
        rc = -1;
        goto out;
    }
    size_t changes = 0;
    for (size_t i = 0; i < plan.n_actions; i++)
        changes += plan.actions[i].kind != OSM_ACT_KEEP;
    char msg[256];
    snprintf(msg, sizeof msg, "%s -> %s: %zu package changes, %.1f MiB to download; plan in %s/plan.json", sys.os.id,
             plan.target->id, changes, (double)plan.download_size / MIB, m.task_dir);
    osm_step_event(ctx, "plan", msg, err);
    rc = 0;
out:
    if (plan_done)
        osm_plan_free(&plan);
    if (sys_open)
        osm_linux_system_close(&sys);
    osm_guest_view_close(view);
    osm_buf_free(&why);
    mopts_free(&m);
    return rc;
}

/* ---- stage ------------------------------------------------------------ */

/* A guest gets the stage and the userspace in one shipment. */
static int ship_to_guest(struct osm_step_ctx *ctx, struct step_env *e, struct osm_err *err)
{
    if (!e->pl.guest)
        return 0;
    osm_step_progress(ctx, 0.97, "copying the staged packages and the target's rpm into the guest");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long long bytes = 0;
    if (osm_guest_ship(&e->pl, e->m.task_dir, &bytes, err) != 0)
        return -1;
    char msg[256];
    snprintf(msg, sizeof msg, "%.1f MiB copied into the guest and unpacked in %.1f s", (double)bytes / MIB,
             elapsed(&t0));
    return osm_step_event(ctx, "shipped", msg, err);
}

static int stage_run_body(struct osm_step_ctx *ctx, struct step_env *e, struct osm_err *err)
{
    int rc = -1;
    const char *root = e->root;
    struct osm_stage_opts so = {.no_signature_check = e->m.no_sigcheck, .progress = on_rpm_progress, .userdata = &e->p};
    struct osm_stage_result res;
    struct osm_userspace_result ur = {0};
    if (osm_stage(&e->pf, root, &so, &res, err) == 0) {
        osm_step_progress(ctx, 0.95, "building the target userspace (the target's rpm)");
        int with_us = osm_userspace_runnable(&e->pf, root);
        if (!with_us && e->pl.guest)
            return osm_err_set(err, OSM_EUNSUPPORTED,
                               "instance %s: the target provides no runnable rpm, and in a guest only the target's "
                               "own rpm can run the transaction",
                               e->inst->uri);
        /* Which rpm runs the transaction is decided once, here, and kept
         * on the task: upgrade, its check and verify follow it. */
        if ((!with_us || osm_userspace_build(&e->pf, root, &ur, err) == 0) && ship_to_guest(ctx, e, err) == 0 &&
            osm_step_note_set(ctx, "transaction_by", with_us ? "target-rpm" : "librpm", err) == 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%zu packages (%.1f MiB, %zu already there) in %s; %s; %s%s",
                     res.packages, (double)res.bytes / MIB, res.reused, OSM_STAGE_SUBDIR,
                     res.signatures_checked ? "payloads and signatures verified against the target's keys"
                                            : "signatures NOT checked (--no-signature-check)",
                     with_us ? "the target's rpm ready in " OSM_USERSPACE_SUBDIR
                             : "the target provides no rpm: osmig's librpm runs the transaction",
                     e->pl.guest ? " (in the guest)" : "");
            rc = osm_step_event(ctx, "staged", msg, err);
        }
    }
    return rc;
}

static int stage_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    return with_env(ctx, err, stage_run_body);
}

/* ---- upgrade ---------------------------------------------------------- */

/* Staging decided who runs the transaction (note "transaction_by"). */
static int by_target_rpm(struct osm_step_ctx *ctx)
{
    const char *by = osm_step_note(ctx, "transaction_by");
    return by && strcmp(by, "target-rpm") == 0;
}

static int upgrade_run_body(struct osm_step_ctx *ctx, struct step_env *e, struct osm_err *err)
{
    int rc = -1;
    struct osm_instance *inst = e->inst;
    char msg[512];
    if (by_target_rpm(ctx)) {
        struct osm_ttx_opts to = {.no_signature_check = e->m.no_sigcheck,
                                  .progress = on_rpm_progress,
                                  .userdata = &e->p,
                                  .crash_point = osm_step_crash_point};
        struct osm_ttx_result tr;
        /* The stage step built it (and shipped it into a guest); a resumed
         * task whose userspace was lost builds it again from the verified
         * stage. */
        int ready = osm_userspace_build(&e->pf, e->root, NULL, err) == 0 &&
                    (osm_place_userspace_ready(&e->pl) || ship_to_guest(ctx, e, err) == 0);
        if (ready) {
            osm_step_progress(ctx, 0.05, e->pl.guest ? "the target's rpm runs the transaction in the guest"
                                                     : "the target's rpm runs the transaction");
        }
        if (ready && osm_target_transaction_at(&e->pf, &e->pl, &to, &tr, err) == 0) {
            snprintf(msg, sizeof msg,
                     "by the target's rpm: %zu erased, %zu installed, %zu already done; %zu target key(s) imported, "
                     "%zu source key(s) removed%s%s",
                     tr.erased, tr.installed, tr.skipped, tr.keys_imported, tr.keys_removed,
                     tr.rpmdb_rebuilt ? "; rpmdb rebuilt in the target's format" : "",
                     tr.dirs_replaced ? "; symlinked directories made real" : "");
            rc = osm_step_event(ctx, "upgraded", msg, err);
        }
    } else if (e->pl.guest) {
        osm_err_set(err, OSM_EUNSUPPORTED, "instance %s: osmig's librpm cannot run a transaction in a guest",
                    inst->uri);
    } else {
        struct osm_apply_opts ao = {.progress = on_rpm_progress, .userdata = &e->p};
        struct osm_apply_result res;
        if (osm_apply(&e->pf, inst->root, &ao, &res, err) == 0) {
            snprintf(msg, sizeof msg, "%zu transaction elements run by osmig's librpm, %zu already done%s",
                     res.elements, res.skipped, res.scriptlet_warnings ? "; non-fatal scriptlet failures logged" : "");
            rc = osm_step_event(ctx, "upgraded", msg, err);
        }
    }
    return rc;
}

static int upgrade_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    return with_env(ctx, err, upgrade_run_body);
}

/* Did the transaction happen? Every planned package in place: yes; none:
 * no (safe to run); some: it stopped half way (roll back). */
static int upgrade_check_body(struct osm_step_ctx *ctx, struct step_env *e, struct osm_err *err)
{
    int rc = -1;
    struct osm_instance *inst = e->inst;
    size_t done = 0, pending = 0;
    if (by_target_rpm(ctx)) {
        if (!osm_place_userspace_ready(&e->pl)) {
            rc = 0; /* the transaction needs the userspace: it never began */
            goto out;
        }
        if (osm_target_progress_at(&e->pf, &e->pl, &done, &pending, err) < 0)
            goto out;
        goto decide;
    }
    if (e->pl.guest) {
        rc = 0; /* only the target's rpm runs in a guest: staging refused the rest */
        goto out;
    }
    if (osm_rpmdb_format(inst->root) != OSM_RPMDB_SQLITE) {
        rc = 0; /* osmig's librpm refuses it before any change */
        goto out;
    }
    if (osm_rpm_init(err) < 0)
        goto out;
    rpmts ts = rpmtsCreate();
    rpmtsSetRootDir(ts, inst->root);
    rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES);
    osm_rpm_el_dbpath_begin(inst->root);
    if (rpmtsOpenDB(ts, O_RDONLY) != 0) {
        osm_rpm_el_dbpath_end();
        rpmtsFree(ts);
        osm_err_set(err, OSM_EIO, "cannot open the rpmdb of %s after an interrupted upgrade", inst->root);
        goto out;
    }
    for (size_t i = 0; i < e->pf.n_actions; i++) {
        const struct osm_planfile_action *a = &e->pf.actions[i];
        if (a->kind == OSM_PF_KEEP)
            continue;
        int new_in = a->to ? osm_rpm_is_installed(ts, a->to) : 1;
        int old_gone = a->from && a->kind != OSM_PF_INSTALL ? !osm_rpm_is_installed(ts, a->from) : 1;
        if (new_in && old_gone)
            done++;
        else
            pending++;
    }
    osm_rpm_el_dbpath_end();
    rpmtsFree(ts);
decide:
    if (pending == 0)
        rc = 1;
    else if (done == 0)
        rc = 0;
    else
        rc = osm_err_set(err, OSM_EFAIL,
                         "the upgrade was interrupted half way: %zu of %zu package changes were made", done,
                         done + pending);
out:
    return rc;
}

static int upgrade_check(struct osm_step_ctx *ctx, struct osm_err *err)
{
    return with_env(ctx, err, upgrade_check_body);
}

/* ---- verify ----------------------------------------------------------- */

/* After success nothing of osmig's stays in the instance: the staged
 * packages, the target userspace and the key copies go (what a rollback
 * needs is in the snapshot set). Only a directory that resolves inside the
 * root is removed. */
static int cleanup_instance(const char *root, struct osm_err *err)
{
    static const char *const parts[] = {OSM_STAGE_SUBDIR, OSM_USERSPACE_SUBDIR, "/var/lib/osmig/keys"};
    char *rroot = realpath(root, NULL);
    int rc = rroot ? 0 : osm_err_errno(err, "resolving %s", root);
    for (size_t i = 0; rc == 0 && i < sizeof parts / sizeof parts[0]; i++) {
        char *p = osm_root_path(root, parts[i]);
        char *rp = realpath(p, NULL);
        size_t rl = strlen(rroot);
        if (rp && (strncmp(rp, rroot, rl) != 0 || rp[rl] != '/'))
            rc = osm_err_set(err, OSM_EINPUT, "%s resolves outside the instance root (%s): not removed", parts[i], rp);
        else if (rp)
            rc = osm_remove_tree(p, err);
        free(rp);
        free(p);
    }
    if (rc == 0) {
        char *top = osm_root_path(root, "/var/lib/osmig");
        rmdir(top); /* only when empty: anything else there is not ours to remove */
        free(top);
        osm_info("migrate.cleanup", "root=%s removed=stage,userspace,keys", root);
    }
    free(rroot);
    return rc;
}

/* Verify from inside a guest, by run and copy only (guest_migration.h). */
static int verify_guest(struct osm_step_ctx *ctx, struct step_env *e, struct osm_buf *report, struct osm_err *err)
{
    int rc = by_target_rpm(ctx) && osm_place_userspace_ready(&e->pl) ? osm_target_finish_at(&e->pl, NULL, err) : 0;
    if (rc == 0 && !osm_place_userspace_ready(&e->pl))
        /* A resumed verify after the clean-up: the target's rpm is the
         * guest's own now, but verify runs the userspace's: ship it again. */
        rc = osm_userspace_build(&e->pf, e->root, NULL, err) == 0 ? ship_to_guest(ctx, e, err) : -1;
    if (rc == 0)
        rc = osm_guest_verify(&e->pf, &e->pl, osm_step_note(ctx, "target_kernel"), report, err);
    return rc;
}

static int verify_run_body(struct osm_step_ctx *ctx, struct step_env *e, struct osm_err *err)
{
    const char *root = e->root;
    const struct osm_planfile *pf = &e->pf;
    osm_step_progress(ctx, 0.1, "verifying the new release");
    const char *fstab = osm_step_note(ctx, "fstab");
    struct osm_verify_opts vo = {.fstab_may_be_absent = fstab && strcmp(fstab, "absent") == 0,
                                 .by_root_rpm = by_target_rpm(ctx)};
    struct osm_buf report;
    osm_buf_init(&report);
    int rc;
    if (e->pl.guest) {
        rc = verify_guest(ctx, e, &report, err);
    } else {
        rc = vo.by_root_rpm && osm_userspace_ready(root) ? osm_target_finish(root, NULL, err) : 0;
        if (rc == 0)
            rc = osm_verify(pf, root, &vo, &report, err);
    }
    char *rp = osm_path_join(e->m.task_dir, "verify.txt");
    struct osm_err we = OSM_ERR_INIT;
    if (osm_write_file_atomic(rp, report.s, report.len, 0644, &we) != 0)
        osm_warn("migrate.verify_report", "error=\"%s\"", we.msg);
    if (rc == 0 && e->pl.guest) {
        rc = osm_guest_cleanup(&e->pl, err);
        if (rc == 0)
            rc = osm_remove_tree(root, err); /* the controller's copy of what was shipped */
    } else if (rc == 0) {
        rc = cleanup_instance(root, err);
    }
    if (rc == 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s %s%s%s verified%s (report in %s)", pf->target_name ? pf->target_name : "",
                 pf->target_id, pf->target_version ? " " : "", pf->target_version ? pf->target_version : "",
                 e->pl.guest ? " from inside the guest" : "", rp);
        rc = osm_step_event(ctx, "verified", msg, err);
    } else {
        osm_err_prefix(err, "the migrated system does not verify (report in %s)", rp);
    }
    free(rp);
    osm_buf_free(&report);
    return rc;
}

static int verify_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    return with_env(ctx, err, verify_run_body);
}

/* ---- boot ------------------------------------------------------------- */

/* Before the boot into the target, in a guest: its kernel's initramfs and
 * boot entry (boot_setup.h); noted "target_kernel" for that boot and
 * verify. A root tree is not booted by osmig: nothing to do. */
static int boot_run_body(struct osm_step_ctx *ctx, struct step_env *e, struct osm_err *err)
{
    /* Done once: a resume finds it noted, and must not ask a guest that is
     * held between boots (an osmig killed during this reboot) for it. */
    if (!e->pl.guest || osm_step_note(ctx, "target_kernel"))
        return 0;
    osm_step_progress(ctx, 0.05, "the target's kernel: its initramfs and boot entry");
    char *krel = NULL;
    struct osm_buf said;
    osm_buf_init(&said);
    int rc = osm_boot_setup(&e->pf, &e->pl, &krel, &said, err);
    if (rc == 0 && krel)
        rc = osm_step_note_set(ctx, "target_kernel", krel, err) == 0 ? osm_step_event(ctx, "boot-entry", said.s, err)
                                                                     : -1;
    if (rc == 0)
        osm_step_crash_point("boot.ready");
    free(krel);
    osm_buf_free(&said);
    return rc;
}

static int boot_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    return with_env(ctx, err, boot_run_body);
}

/* After a rollback: the controller's guest-root (the staged packages and
 * the userspace shipped into the guest) goes; a root's own copies went
 * back with its disks. */
static int rolled_back(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct mopts m;
    if (mopts_load(ctx, &m, err) != 0)
        return -1;
    char *gr = osm_path_join(m.task_dir, "guest-root");
    int rc = osm_is_dir(gr) ? osm_remove_tree(gr, err) : 0;
    if (rc == 0)
        osm_info("migrate.rollback_cleanup", "task=%s removed=%s", ctx->task->id, gr);
    free(gr);
    mopts_free(&m);
    return rc;
}

const struct osm_family_migration osm_linux_migration = {
    .precheck = precheck_run,
    .stage = stage_run,
    .upgrade = upgrade_run,
    .upgrade_check = upgrade_check,
    .verify = verify_run,
    .boot = boot_run,
    .rolled_back = rolled_back,
};
