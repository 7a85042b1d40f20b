/* os_migration.c: the os-migration kind (see os_migration.h): its generic
 * steps, and the family's steps reached through the table of families. */
#include "os_migration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boots.h"
#include "osm_buf.h"
#include "osm_log.h"
#include "provider.h"
#include "runner.h"

#define MIB (1024LL * 1024LL)

/* ---- options ---------------------------------------------------------- */

static char *absolute(const char *p)
{
    if (!p)
        return NULL;
    char *r = realpath(p, NULL);
    return r ? r : osm_xstrdup(p);
}

static json_t *abs_list(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char *p = absolute(v[i]);
        json_array_append_new(a, json_string(p));
        free(p);
    }
    return a;
}

static json_t *str_list(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void set_abs(json_t *j, const char *key, const char *path)
{
    char *p = absolute(path);
    if (p)
        json_object_set_new(j, key, json_string(p));
    free(p);
}

json_t *osm_migration_options_json(const struct osm_migration_options *o)
{
    json_t *j = json_object();
    json_object_set_new(j, "target", json_string(o->target));
    json_object_set_new(j, "matrix", abs_list(o->matrix_files, o->n_matrix_files));
    json_object_set_new(j, "events", abs_list(o->event_files, o->n_event_files));
    json_object_set_new(j, "repos", str_list(o->repo_overrides, o->n_repo_overrides));
    json_object_set_new(j, "allow_erase", str_list(o->allow_erase, o->n_allow_erase));
    json_object_set_new(j, "no_signature_check", json_boolean(o->no_signature_check));
    set_abs(j, "snapshot_store", o->snapshot_store);
    set_abs(j, "cache_dir", o->cache_dir);
    set_abs(j, "state_dir", o->state_dir);
    return j;
}

char *osm_migration_task_dir(const char *state_dir, const char *id)
{
    return osm_xasprintf("%s/tasks/%s", state_dir, id);
}

/* The snapshot store of the task's options (NULL: the default). Owned by
 * *j, which the caller decrefs. */
static int snapshot_store(struct osm_step_ctx *ctx, json_t **j, const char **store, struct osm_err *err)
{
    *j = ctx->task->options ? json_loads(ctx->task->options, 0, NULL) : NULL;
    if (!json_is_object(*j)) {
        json_decref(*j);
        *j = NULL;
        return osm_err_set(err, OSM_EINPUT, "task %s: its options are not a JSON object", ctx->task->id);
    }
    *store = json_string_value(json_object_get(*j, "snapshot_store"));
    return 0;
}

/* ---- the family ------------------------------------------------------- */

static const struct osm_family *const *families;

int osm_os_migration_use(const struct osm_family *const *table, struct osm_err *err)
{
    for (size_t i = 0; table && table[i]; i++) {
        const struct osm_family_migration *m = table[i]->migration;
        if (m && (!m->precheck || !m->stage || !m->upgrade || !m->verify))
            return osm_err_set(err, OSM_EUSAGE, "family %s: its os-migration lacks a step", table[i]->name);
        if (m && !m->upgrade_check)
            return osm_err_set(err, OSM_EUSAGE, "family %s: its upgrade is not idempotent: it needs a check",
                               table[i]->name);
    }
    families = table;
    return 0;
}

/* The family's migration for this task: chosen at precheck from the root,
 * then the one noted on the task. */
static const struct osm_family_migration *migration_of(struct osm_step_ctx *ctx, struct osm_err *err)
{
    const char *noted = osm_step_note(ctx, "family");
    const struct osm_family *f = NULL;
    if (noted) {
        f = osm_family_find(families, noted);
        if (!f) {
            osm_err_set(err, OSM_EUNSUPPORTED, "task %s: this osmig knows no OS family '%s'", ctx->task->id, noted);
            return NULL;
        }
    } else {
        struct osm_instance *inst = osm_step_instance(ctx, err);
        if (!inst)
            return NULL;
        f = osm_family_detect(families, inst->root);
        if (!f) {
            osm_err_set(err, OSM_EUNSUPPORTED, "this build of osmig provides no OS family for %s tasks", ctx->kind->name);
            return NULL;
        }
        if (osm_step_note_set(ctx, "family", f->name, err) != 0)
            return NULL;
    }
    if (!f->migration)
        osm_err_set(err, OSM_EUNSUPPORTED, "%s systems cannot be migrated by osmig yet (osmig assess can assess them)",
                    f->name);
    return f->migration;
}

/* The family's own steps, by the step's name. */
static int family_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    const struct osm_family_migration *m = migration_of(ctx, err);
    if (!m)
        return -1;
    const char *name = ctx->step->name;
    osm_step_fn fn = strcmp(name, "precheck") == 0 ? m->precheck
                     : strcmp(name, "stage") == 0  ? m->stage
                     : strcmp(name, "upgrade") == 0 ? m->upgrade
                     : strcmp(name, "verify") == 0 ? m->verify
                                                   : NULL;
    if (!fn)
        return osm_err_set(err, OSM_EUNSUPPORTED, "an OS family has no '%s' step", name);
    return fn(ctx, err);
}

/* The precheck: the list of boots made from the instance (boots.h) and
 * noted on the task first, so that the family's plan carries it; then the
 * family's. */
static int precheck_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    json_t *boots = NULL;
    if (!inst || osm_boots_plan(inst->descriptor, inst->descriptor_path, &boots, err) != 0)
        return -1;
    char *text = json_dumps(boots, JSON_COMPACT);
    char *said = osm_boots_describe(boots);
    json_decref(boots);
    int rc = osm_step_note_set(ctx, "boots", text, err) == 0 && osm_step_event(ctx, "boots", said, err) == 0
                 ? family_run(ctx, err)
                 : -1;
    free(text);
    free(said);
    return rc;
}

static int family_upgrade_check(struct osm_step_ctx *ctx, struct osm_err *err)
{
    const struct osm_family_migration *m = migration_of(ctx, err);
    return m ? m->upgrade_check(ctx, err) : -1;
}

/* ---- snapshot --------------------------------------------------------- */

struct snap_prog {
    struct osm_step_ctx *ctx;
    struct timespec start;
    double base, span; /* the part of the step this work is: create, then verify */
};

static void on_snap_progress(void *user, const struct osm_snap_progress *sp)
{
    struct snap_prog *p = user;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double t = (double)(now.tv_sec - p->start.tv_sec) + (double)(now.tv_nsec - p->start.tv_nsec) / 1e9;
    double frac = sp->bytes_total ? (double)sp->bytes_done / (double)sp->bytes_total : 0;
    char msg[256];
    double rate = t > 0.05 ? (double)sp->bytes_done / t : 0;
    int n = snprintf(msg, sizeof msg, "%s%s%s: %.1f/%.1f MiB, %llu/%llu files", sp->phase,
                     sp->disk && sp->disk[0] ? " " : "", sp->disk ? sp->disk : "", (double)sp->bytes_done / MIB,
                     (double)sp->bytes_total / MIB, (unsigned long long)sp->files_done,
                     (unsigned long long)sp->files_total);
    if (rate > 0 && n > 0 && (size_t)n < sizeof msg)
        snprintf(msg + n, sizeof msg - (size_t)n, ", %.1f MiB/s", rate / MIB);
    osm_step_progress(p->ctx, p->base + p->span * frac, msg);
}

static void snap_prog_init(struct snap_prog *p, struct osm_step_ctx *ctx, double span)
{
    p->ctx = ctx;
    p->base = 0;
    p->span = span;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
}

static char *snap_label(const struct osm_task *t)
{
    return osm_xasprintf("osmig task %s", t->id);
}

/* The task's set in the store: 1 ready (id in out), 0 none; sets of this
 * task that never became ready are deleted. */
static int find_task_set(struct osm_step_ctx *ctx, struct osm_instance *inst, const struct osm_snap_opts *so,
                         char out[64], struct osm_err *err)
{
    struct osm_snap_info *infos;
    size_t n;
    if (osm_instance_snapshot_list(inst, so, &infos, &n, err) != 0)
        return -1;
    char *label = snap_label(ctx->task);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (!infos[i].label || strcmp(infos[i].label, label) != 0)
            continue;
        if (strcmp(infos[i].state, "ready") == 0 && !found) {
            snprintf(out, 64, "%s", infos[i].id);
            found = 1;
        } else if (strcmp(infos[i].state, "ready") != 0) {
            struct osm_err de = OSM_ERR_INIT;
            if (osm_instance_snapshot_delete(inst, infos[i].id, so, &de) != 0)
                osm_warn("migrate.snapshot_delete", "set=%s error=\"%s\"", infos[i].id, de.msg);
        }
    }
    free(label);
    osm_instance_snapshot_list_free(inst, infos, n);
    return found;
}

static int snapshot_verify_and_record(struct osm_step_ctx *ctx, struct osm_instance *inst,
                                      const struct osm_snap_opts *so, const char *id, struct osm_err *err)
{
    struct snap_prog *p = so->progress_ctx;
    if (p) {
        p->base = 0.75;
        p->span = 0.25;
        clock_gettime(CLOCK_MONOTONIC, &p->start);
    }
    osm_step_progress(ctx, 0.75, "verifying the snapshot set");
    if (osm_instance_snapshot_verify(inst, id, so, err) != 0) {
        osm_err_prefix(err, "verifying snapshot set %s", id);
        return -1;
    }
    if (osm_step_set_snapshot_set(ctx, id, err) != 0)
        return -1;
    char msg[160];
    snprintf(msg, sizeof msg, "set %s of %zu disk%s created and verified", id, inst->n_disks,
             inst->n_disks == 1 ? "" : "s");
    return osm_step_event(ctx, "snapshot", msg, err);
}

/* What a step on snapshot sets works with: the task's instance and the
 * store its options name, progress reported over `span` of the step. */
struct snap_env {
    struct osm_step_ctx *ctx;
    struct osm_instance *inst;
    struct osm_snap_opts so;
};

static int with_snaps(struct osm_step_ctx *ctx, double span, int (*body)(struct snap_env *, struct osm_err *),
                      struct osm_err *err)
{
    struct snap_prog p;
    snap_prog_init(&p, ctx, span);
    struct snap_env e = {.ctx = ctx};
    if (span > 0)
        e.so = (struct osm_snap_opts){.progress = on_snap_progress, .progress_ctx = &p};
    json_t *j;
    if (snapshot_store(ctx, &j, &e.so.store, err) != 0)
        return -1;
    int rc = -1;
    if ((e.inst = osm_step_instance(ctx, err)))
        rc = body(&e, err);
    json_decref(j);
    return rc;
}

static int snapshot_check_body(struct snap_env *e, struct osm_err *err)
{
    char id[64];
    int rc = find_task_set(e->ctx, e->inst, &e->so, id, err);
    if (rc == 1)
        rc = snapshot_verify_and_record(e->ctx, e->inst, &e->so, id, err) == 0 ? 1 : -1;
    return rc;
}

static int snapshot_check(struct osm_step_ctx *ctx, struct osm_err *err)
{
    return with_snaps(ctx, 0, snapshot_check_body, err);
}

static int snapshot_body(struct snap_env *e, struct osm_err *err)
{
    char id[64];
    char *label = snap_label(e->ctx->task);
    int rc = osm_instance_snapshot_create(e->inst, label, &e->so, id, err);
    free(label);
    if (rc != 0)
        return -1;
    osm_step_crash_point("snapshot.created");
    return snapshot_verify_and_record(e->ctx, e->inst, &e->so, id, err);
}

static int snapshot_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    return with_snaps(ctx, 0.75, snapshot_body, err);
}

int osm_migration_snapshot_delete(struct osm_instance *inst, const char *set, const char *store, struct osm_err *err)
{
    struct osm_snap_opts so = {.store = store};
    return osm_instance_snapshot_delete(inst, set, &so, err);
}

/* ---- boots ------------------------------------------------------------ */

/* The task's boots (boots.h), as noted at precheck. A task begun by an
 * osmig before the list has none noted: its list is made now, from the
 * same instance, with the names of its two old steps (reboot-1, reboot-2),
 * so the notes those wrote ("reboot-N.before") still tell what happened. */
static json_t *task_boots(struct osm_step_ctx *ctx, struct osm_instance *inst, struct osm_err *err)
{
    json_t *boots = NULL;
    const char *noted = osm_step_note(ctx, "boots");
    if (noted) {
        if (osm_boots_parse(noted, &boots, err) != 0)
            osm_err_prefix(err, "task %s", ctx->task->id);
        return boots;
    }
    if (osm_boots_plan(inst->descriptor, inst->descriptor_path, &boots, err) != 0)
        return NULL;
    char *text = json_dumps(boots, JSON_COMPACT);
    int rc = osm_step_note_set(ctx, "boots", text, err);
    free(text);
    if (rc != 0) {
        json_decref(boots);
        return NULL;
    }
    return boots;
}

/* The phase of the boots a step runs: the step's name past "boot-". */
static const char *step_boot_phase(const struct osm_step *s)
{
    return strncmp(s->name, "boot-", 5) == 0 ? s->name + 5 : s->name;
}

/* A boot happened when the boot recorded last is not the one noted before
 * it was asked ("NAME.before"): boots run in order, each noting the boot
 * before it, so a later boot never hides an earlier one's note. */
static int boot_done(struct osm_step_ctx *ctx, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "%s.before", name);
    const char *b = osm_step_note(ctx, key);
    char *before = b ? osm_xstrdup(b) : NULL;
    const char *cur = osm_step_note(ctx, "boot");
    int happened = before && cur && strcmp(before, cur) != 0;
    free(before);
    return happened;
}

static double since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One boot of the list: note the boot before it, reboot within its limit,
 * check the kernel that came up, record the boot and its outcome. */
static int boot_one(struct osm_step_ctx *ctx, struct osm_instance *inst, const json_t *b, struct osm_err *err)
{
    const char *name = json_string_value(json_object_get(b, "name"));
    const char *phase = json_string_value(json_object_get(b, "phase"));
    int target = strcmp(json_string_value(json_object_get(b, "kernel")), OSM_BOOT_KERNEL_TARGET) == 0;
    int limit = (int)json_integer_value(json_object_get(b, "limit_s"));
    /* The boot into the target: the family readies it first (kernel,
     * initramfs, boot entry), again on a resume (it is idempotent). */
    if (strcmp(phase, OSM_BOOT_INTO_TARGET) == 0) {
        const struct osm_family_migration *m = migration_of(ctx, err);
        if (!m || (m->boot && m->boot(ctx, err) != 0))
            return -1;
    }
    char key[64];
    snprintf(key, sizeof key, "%s.before", name);
    const char *cur = osm_step_note(ctx, "boot");
    char *before = osm_xstrdup(cur ? cur : "first");
    int rc = osm_step_note_set(ctx, key, before, err);
    free(before);
    if (rc != 0)
        return -1;
    osm_step_crash_point("reboot.noted");
    /* The kernel that ran before the migration, known only where the
     * provider tells the running kernel (a guest's agent; a root tree has
     * none): noted once, before the first boot. */
    struct osm_facts f;
    struct osm_err fe = OSM_ERR_INIT;
    if (!osm_step_note(ctx, "kernel.before") && osm_instance_facts(inst, &f, &fe) == 0 && f.kernel[0] &&
        osm_step_note_set(ctx, "kernel.before", f.kernel, err) != 0)
        return -1;
    char boot[64];
    osm_step_progress(ctx, 0.1, "rebooting the instance and waiting for it");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (inst->provider->reboot(inst, limit, boot, err) != 0) {
        osm_err_prefix(err, "%s (%s, limit %d s)", name, phase, limit); /* the provider names the instance */
        return -1;
    }
    double secs = since(&t0);
    /* The target's kernel when the family noted one; a plan that installs
     * no kernel keeps the one that ran before. */
    const char *want = target ? osm_step_note(ctx, "target_kernel") : NULL;
    want = want ? want : osm_step_note(ctx, "kernel.before");
    char *expected = want ? osm_xstrdup(want) : NULL;
    osm_err_clear(&fe);
    f.kernel[0] = '\0';
    int known = osm_instance_facts(inst, &f, &fe) == 0 && f.kernel[0];
    if (expected && known && strcmp(f.kernel, expected) != 0) {
        osm_err_set(err, OSM_EFAIL, "%s (%s): the instance came up on kernel %s, expected %s", name, phase,
                    f.kernel, expected);
        free(expected);
        return -1;
    }
    free(expected);
    json_t *out = json_pack("{s:s, s:s, s:s, s:f, s:i}", "boot_id", boot, "kernel", known ? f.kernel : "",
                            "phase", phase, "seconds", secs, "limit_s", limit);
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    /* The boot first: killed before its outcome is noted, the boot is not
     * asked again (its outcome is then missing from the notes). */
    snprintf(key, sizeof key, "%s.outcome", name);
    rc = osm_step_note_set(ctx, "boot", boot, err) == 0 ? osm_step_note_set(ctx, key, text, err) : -1;
    free(text);
    if (rc != 0)
        return -1;
    char msg[320];
    snprintf(msg, sizeof msg, "%s (%s): instance up in %.1f s of %d s, boot id %s%s%s", name, phase, secs, limit,
             boot, known ? ", kernel " : "", known ? f.kernel : "");
    return osm_step_event(ctx, "boot", msg, err);
}

/* Calls `each` for the boots of the list whose phase is this step's, in
 * order, until one returns non-zero; `done` says whether the boot happened
 * (boot_done). */
static int for_phase_boots(struct osm_step_ctx *ctx, struct osm_instance *inst,
                           int (*each)(struct osm_step_ctx *, struct osm_instance *, const json_t *, int done,
                                       struct osm_err *),
                           struct osm_err *err)
{
    json_t *boots = task_boots(ctx, inst, err);
    if (!boots)
        return -1;
    const char *phase = step_boot_phase(ctx->step);
    int rc = 0;
    size_t i;
    json_t *b;
    json_array_foreach(boots, i, b)
    {
        if (strcmp(json_string_value(json_object_get(b, "phase")), phase) != 0)
            continue;
        int done = boot_done(ctx, json_string_value(json_object_get(b, "name")));
        if ((rc = each(ctx, inst, b, done, err)) != 0)
            break;
    }
    json_decref(boots);
    return rc;
}

static int boot_unless_done(struct osm_step_ctx *ctx, struct osm_instance *inst, const json_t *b, int done,
                            struct osm_err *err)
{
    return done ? 0 : boot_one(ctx, inst, b, err);
}

/* The boots of this step's phase; those that happened already (a resume)
 * are passed. */
static int boots_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst)
        return -1;
    if (!inst->provider->reboot)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance %s: its provider cannot reboot it", inst->uri);
    return for_phase_boots(ctx, inst, boot_unless_done, err);
}

static int stop_at_not_done(struct osm_step_ctx *ctx, struct osm_instance *inst, const json_t *b, int done,
                            struct osm_err *err)
{
    (void)ctx, (void)inst, (void)b, (void)err;
    return done ? 0 : 1;
}

/* Every boot of this step's phase happened: 1; else 0, and the run
 * reboots only those that did not. */
static int boots_check(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    int rc = inst ? for_phase_boots(ctx, inst, stop_at_not_done, err) : -1;
    return rc < 0 ? -1 : rc == 0;
}

/* ---- rollback --------------------------------------------------------- */

static int rollback_body(struct snap_env *e, struct osm_err *err)
{
    char found[64];
    const char *set = e->ctx->task->snapshot_set;
    if (!set) {
        /* Killed between the set's creation and its record on the task. */
        int f = find_task_set(e->ctx, e->inst, &e->so, found, err);
        if (f < 0)
            return -1;
        if (f == 0)
            return osm_err_set(err, OSM_ENOTFOUND, "the task has no snapshot set to restore");
        set = found;
    }
    int digest_ok = 0;
    if (osm_instance_snapshot_revert(e->inst, set, &e->so, &digest_ok, err) != 0) {
        osm_err_prefix(err, "restoring snapshot set %s", set);
        return -1;
    }
    if (!digest_ok)
        return osm_err_set(err, OSM_ECHECKSUM, "after restoring snapshot set %s the system disk's digest differs",
                           set);
    char msg[160];
    snprintf(msg, sizeof msg, "every disk restored from snapshot set %s; digest matches", set);
    return osm_step_event(e->ctx, "restored", msg, err);
}

static int rollback_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    return with_snaps(ctx, 1, rollback_body, err);
}

/* The os-migration's rollback: every disk restored, then the family's
 * copies for the task on this host removed (a failure there is logged:
 * the instance is back, which is what the rollback is for). */
static int migration_rollback_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    if (rollback_run(ctx, err) != 0)
        return -1;
    struct osm_err fe = OSM_ERR_INIT;
    const struct osm_family_migration *m = osm_step_note(ctx, "family") ? migration_of(ctx, &fe) : NULL;
    if (m && m->rolled_back && m->rolled_back(ctx, &fe) != 0)
        osm_warn("migrate.rollback_cleanup", "task=%s error=\"%s\"", ctx->task->id, fe.msg);
    return 0;
}

/* ---- the kind --------------------------------------------------------- */

static const struct osm_step steps[] = {
    /* Prechecks only read facts. */
    {"precheck", "prechecking", precheck_run, NULL, 1, 0},
    /* A snapshot set is created once; its check finds the set and verifies it. */
    OSM_STEP_SNAPSHOT,
    /* Staging resumes downloads and checks digests: safe to repeat. */
    {"stage", "staging", family_run, NULL, 1, 1},
    /* The boots of the task's list (boots.h), by phase. A boot must not be
     * repeated blindly: the check compares boot ids. A task of an osmig
     * before the list recorded these places as reboot-1 and reboot-2: the
     * runner keeps the position, the list keeps those names. */
    {"boot-" OSM_BOOT_BEFORE_UPGRADE, "rebooting", boots_run, boots_check, 0, 1},
    /* The transaction: the family's check compares the system with the plan. */
    {"upgrade", "upgrading", family_run, family_upgrade_check, 0, 1},
    {"boot-" OSM_BOOT_INTO_TARGET, "rebooting", boots_run, boots_check, 0, 1},
    {"verify", "verifying", family_run, NULL, 1, 0},
};

const struct osm_task_kind osm_os_migration_kind = OSM_TASK_KIND(OSM_KIND_OS_MIGRATION, steps, migration_rollback_run);

/* ---- for other kinds ---------------------------------------------------- */

int osm_step_snapshot(struct osm_step_ctx *ctx, struct osm_err *err)
{
    return snapshot_run(ctx, err);
}

int osm_step_snapshot_check(struct osm_step_ctx *ctx, struct osm_err *err)
{
    return snapshot_check(ctx, err);
}

int osm_step_restore(struct osm_step_ctx *ctx, struct osm_err *err)
{
    return rollback_run(ctx, err);
}
