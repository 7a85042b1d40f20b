/* apply.c: see apply.h. */
#include "apply.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmps.h>
#include <rpm/rpmts.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_hash.h"
#include "osm_log.h"
#include "osm_run.h"
#include "rpmutil.h"
#include "stage.h"

enum osm_rpmdb_format osm_rpmdb_format_seen(int (*is_file)(const char *path, void *ud), void *ud)
{
    static const struct {
        const char *file;
        enum osm_rpmdb_format fmt;
    } probes[] = {
        {"/var/lib/rpm/rpmdb.sqlite", OSM_RPMDB_SQLITE},
        {"/var/lib/rpm/Packages.db", OSM_RPMDB_NDB},
        {"/var/lib/rpm/Packages", OSM_RPMDB_BDB},
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        if (is_file(probes[i].file, ud))
            return probes[i].fmt;
    return OSM_RPMDB_NONE;
}

static int in_root(const char *path, void *root)
{
    char *p = osm_root_path(root, path);
    int found = osm_is_file(p);
    free(p);
    return found;
}

enum osm_rpmdb_format osm_rpmdb_format(const char *root)
{
    return osm_rpmdb_format_seen(in_root, (void *)root);
}

int osm_rpmdb_prepare(const char *root, int *rebuilt, struct osm_err *err)
{
    *rebuilt = 0;
    switch (osm_rpmdb_format(root)) {
    case OSM_RPMDB_SQLITE:
        return 0;
    case OSM_RPMDB_NONE:
        return osm_err_set(err, OSM_ENOTFOUND, "%s: no rpmdb in /var/lib/rpm", root);
    default:
        /* Converting it would leave a database the target's rpm cannot
         * write (RHEL 8's rpm reads sqlite read-only): only the target's
         * own rpm may write a Berkeley DB or ndb rpmdb. */
        return osm_err_set(err, OSM_EUNSUPPORTED,
                           "%s: the rpmdb is in %s format, which only the target's own rpm may write, and the target "
                           "repositories provide no rpm package to run the transaction with",
                           root, osm_rpmdb_format(root) == OSM_RPMDB_BDB ? "Berkeley DB" : "ndb");
    }
}

/* ---- the transaction ---- */

struct apply_ctx {
    const struct osm_apply_opts *o;
    FD_t fd;
    size_t done, total;
    struct osm_buf failures;  /* fatal: unpack errors, critical scriptlets */
    size_t warnings;
    char current[512];
};

static const char *script_name(rpm_loff_t tag)
{
    switch ((rpmTagVal)tag) {
    case RPMTAG_PREIN: return "%pre";
    case RPMTAG_POSTIN: return "%post";
    case RPMTAG_PREUN: return "%preun";
    case RPMTAG_POSTUN: return "%postun";
    case RPMTAG_PRETRANS: return "%pretrans";
    case RPMTAG_POSTTRANS: return "%posttrans";
    case RPMTAG_TRIGGERPREIN: return "%triggerprein";
    case RPMTAG_TRIGGERIN: return "%triggerin";
    case RPMTAG_TRIGGERUN: return "%triggerun";
    case RPMTAG_TRIGGERPOSTUN: return "%triggerpostun";
    case RPMTAG_VERIFYSCRIPT: return "%verifyscript";
    default: return "scriptlet";
    }
}

static void hdr_nevra(const void *h, char *out, size_t len)
{
    char *s = h ? headerGetAsString((Header)h, RPMTAG_NEVRA) : NULL;
    snprintf(out, len, "%s", s ? s : "?");
    free(s);
}

static void notify_progress(struct apply_ctx *c, const char *phase, rpm_loff_t amount, rpm_loff_t total)
{
    if (!c->o->progress)
        return;
    struct osm_progress p = {.phase = phase, .bytes_done = amount, .bytes_total = total, .pkgs_done = c->done,
                             .pkgs_total = c->total, .current = c->current};
    c->o->progress(&p, c->o->userdata);
}

static void *notify(const void *h, const rpmCallbackType what, const rpm_loff_t amount, const rpm_loff_t total,
                    fnpyKey key, rpmCallbackData data)
{
    struct apply_ctx *c = data;
    char nevra[512];
    switch (what) {
    case RPMCALLBACK_INST_OPEN_FILE:
        c->fd = Fopen((const char *)key, "r.ufdio");
        if (c->fd && Ferror(c->fd)) {
            Fclose(c->fd);
            c->fd = NULL;
        }
        return c->fd;
    case RPMCALLBACK_INST_CLOSE_FILE:
        if (c->fd)
            Fclose(c->fd);
        c->fd = NULL;
        break;
    case RPMCALLBACK_INST_START:
        hdr_nevra(h, c->current, sizeof c->current);
        notify_progress(c, "install", 0, total);
        break;
    case RPMCALLBACK_INST_PROGRESS:
        notify_progress(c, "install", amount, total);
        break;
    case RPMCALLBACK_INST_STOP:
        c->done++;
        notify_progress(c, "install", total, total);
        break;
    case RPMCALLBACK_UNINST_START:
        hdr_nevra(h, c->current, sizeof c->current);
        notify_progress(c, "erase", 0, 0);
        break;
    case RPMCALLBACK_UNINST_STOP:
        c->done++;
        notify_progress(c, "erase", 0, 0);
        break;
    case RPMCALLBACK_SCRIPT_ERROR:
        hdr_nevra(h, nevra, sizeof nevra);
        if ((rpmRC)total == RPMRC_OK) {
            /* rpm treats %post and later failures as warnings. */
            c->warnings++;
            osm_warn("apply.scriptlet_failed", "package=%s scriptlet=%s fatal=no", nevra, script_name(amount));
        } else {
            osm_buf_addf(&c->failures, "%s%s: %s scriptlet failed", c->failures.len ? "; " : "", nevra,
                         script_name(amount));
        }
        break;
    case RPMCALLBACK_UNPACK_ERROR:
    case RPMCALLBACK_CPIO_ERROR:
        hdr_nevra(h, nevra, sizeof nevra);
        osm_buf_addf(&c->failures, "%s%s: unpacking its files failed", c->failures.len ? "; " : "", nevra);
        break;
    default:
        break;
    }
    return NULL;
}

/* "name-[E:]V-R.A" of a header, in the plan's spelling (epoch always shown
 * when the header has one; the plan may write "0:" or leave it out). */
static int header_matches(Header h, const char *to)
{
    const char *n = headerGetString(h, RPMTAG_NAME), *v = headerGetString(h, RPMTAG_VERSION),
               *r = headerGetString(h, RPMTAG_RELEASE), *a = headerGetString(h, RPMTAG_ARCH);
    uint64_t e = headerGetNumber(h, RPMTAG_EPOCH);
    char with[1024], without[1024];
    snprintf(with, sizeof with, "%s-%llu:%s-%s.%s", n, (unsigned long long)e, v, r, a ? a : "noarch");
    snprintf(without, sizeof without, "%s-%s-%s.%s", n, v, r, a ? a : "noarch");
    return strcmp(to, with) == 0 || (e == 0 && strcmp(to, without) == 0);
}

static int add_erase(rpmts ts, const char *from, size_t *added)
{
    rpmdbMatchIterator mi = osm_rpm_find_installed(ts, from);
    Header h;
    while (mi && (h = rpmdbNextIterator(mi))) {
        rpmtsAddEraseElement(ts, h, -1);
        (*added)++;
    }
    rpmdbFreeIterator(mi);
    return 0;
}

/* The stage must have been completed (manifest present) for this target and
 * hold this package with the plan's checksum. */
static json_t *load_manifest(const char *stage, const struct osm_planfile *plan, struct osm_err *err)
{
    char *path = osm_path_join(stage, OSM_STAGE_MANIFEST);
    json_error_t jerr;
    json_t *m = json_load_file(path, 0, &jerr);
    if (!m)
        osm_err_set(err, OSM_ENOTFOUND, "no completed stage for this plan (%s: %s); run the staging step first", path,
                    jerr.text);
    else if (!json_is_string(json_object_get(m, "target")) ||
             strcmp(json_string_value(json_object_get(m, "target")), plan->target_id) != 0) {
        osm_err_set(err, OSM_EINPUT, "%s: staged for another target", path);
        json_decref(m);
        m = NULL;
    }
    free(path);
    return m;
}

static int manifest_has(json_t *m, const struct osm_planfile_action *a)
{
    json_t *pkgs = json_object_get(m, "packages"), *p;
    size_t i;
    json_array_foreach(pkgs, i, p)
    {
        const char *f = json_string_value(json_object_get(p, "file"));
        const char *v = json_string_value(json_object_get(json_object_get(p, "checksum"), "value"));
        if (f && v && strcmp(f, a->filename) == 0 && strcasecmp(v, a->checksum) == 0)
            return 1;
    }
    return 0;
}

static int add_package(rpmts ts, const struct osm_planfile_action *a, const char *stage, json_t *manifest,
                       char **keys, size_t *nkeys, struct osm_err *err)
{
    if (!manifest_has(manifest, a))
        return osm_err_set(err, OSM_EINPUT, "%s: not in the stage manifest; stage again", a->to);
    char *path = osm_path_join(stage, a->filename);
    char got[129];
    if (osm_hash_file(a->checksum_type, path, got, err) < 0) {
        free(path);
        return osm_err_prefix(err, "%s", a->to), -1;
    }
    if (strcasecmp(got, a->checksum) != 0) {
        osm_err_set(err, OSM_ECHECKSUM, "%s: staged file %s changed since staging: expected %s:%s, got %s:%s", a->to,
                    path, a->checksum_type, a->checksum, a->checksum_type, got);
        free(path);
        return -1;
    }
    FD_t fd = Fopen(path, "r.ufdio");
    Header h = NULL;
    rpmRC rrc = fd && !Ferror(fd) ? rpmReadPackageFile(ts, fd, path, &h) : RPMRC_FAIL;
    if (fd)
        Fclose(fd);
    if (rrc != RPMRC_OK || !h) {
        headerFree(h);
        osm_err_set(err, OSM_EINPUT, "%s: cannot read the package header of %s", a->to, path);
        free(path);
        return -1;
    }
    if (!header_matches(h, a->to)) {
        char nevra[512];
        hdr_nevra(h, nevra, sizeof nevra);
        headerFree(h);
        osm_err_set(err, OSM_EINPUT, "%s: the staged file %s holds %s", a->to, path, nevra);
        free(path);
        return -1;
    }
    keys[(*nkeys)++] = path; /* the key stays valid until the transaction is freed */
    int upgrade = a->kind != OSM_PF_INSTALL;
    int rc = rpmtsAddInstallElement(ts, h, (fnpyKey)path, upgrade, NULL);
    headerFree(h);
    if (rc != 0)
        return osm_err_set(err, OSM_EFAIL, "%s: rpm refused to add it to the transaction", a->to);
    if (a->kind == OSM_PF_REPLACE && a->from)
        add_erase(ts, a->from, &(size_t){0});
    return 0;
}

static void problems_to(rpmts ts, struct osm_buf *out)
{
    rpmps ps = rpmtsProblems(ts);
    rpmpsi psi = rpmpsInitIterator(ps);
    rpmProblem p;
    int shown = 0, total = rpmpsNumProblems(ps);
    while ((p = rpmpsiNext(psi))) {
        if (shown++ < 20) {
            char *s = rpmProblemString(p);
            osm_buf_addf(out, "%s%s", out->len ? "; " : "", s);
            free(s);
        }
    }
    if (total > 20)
        osm_buf_addf(out, "; ... and %d more", total - 20);
    rpmpsFreeIterator(psi);
    rpmpsFree(ps);
}

int osm_apply(const struct osm_planfile *plan, const char *root, const struct osm_apply_opts *opts,
              struct osm_apply_result *res, struct osm_err *err)
{
    struct osm_apply_opts o = opts ? *opts : (struct osm_apply_opts){0};
    struct osm_apply_result r = {0};
    struct apply_ctx c = {.o = &o};
    osm_buf_init(&c.failures);
    char *stage = osm_stage_dir(root);
    char **keys = osm_xcalloc(plan->n_actions + 1, sizeof *keys);
    size_t nkeys = 0, erases = 0;
    int dbpath_pushed = 0;
    json_t *manifest = NULL;
    rpmts ts = NULL;
    struct osm_buf msgs;
    osm_buf_init(&msgs);
    int rc = -1;

    if (osm_rpm_init(err) < 0 || osm_rpmdb_prepare(root, &r.rpmdb_rebuilt, err) < 0)
        goto out;
    int needs_stage = 0;
    for (size_t i = 0; i < plan->n_actions; i++)
        needs_stage |= osm_planfile_has_package(&plan->actions[i]);
    if (needs_stage && !(manifest = load_manifest(stage, plan, err)))
        goto out;

    ts = rpmtsCreate();
    rpmtsSetRootDir(ts, root);
    /* Signatures were checked at staging against the target's keys. */
    rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES);
    rpmtsSetVfyLevel(ts, RPMSIG_DIGEST_TYPE);
    rpmtsSetNotifyCallback(ts, notify, &c);
    osm_rpm_el_dbpath_begin(root);
    dbpath_pushed = 1;
    osm_rpmlog_capture_begin(&msgs);
    int dbrc = rpmtsOpenDB(ts, O_RDWR);
    osm_rpmlog_capture_end();
    if (dbrc != 0) {
        osm_err_set(err, OSM_EIO, "%s: cannot open the rpmdb in /var/lib/rpm: %s", root, msgs.s);
        goto out;
    }
    rpmprobFilterFlags filter = RPMPROB_FILTER_NONE;
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_planfile_action *a = &plan->actions[i];
        if (osm_planfile_has_package(a)) {
            if (osm_rpm_is_installed(ts, a->to)) {
                r.skipped++;
                continue;
            }
            if (a->kind == OSM_PF_DOWNGRADE)
                filter |= RPMPROB_FILTER_OLDPACKAGE;
            if (add_package(ts, a, stage, manifest, keys, &nkeys, err) < 0) {
                osm_err_prefix(err, "preparing the transaction");
                goto out;
            }
        } else if (a->kind == OSM_PF_ERASE) {
            size_t before = erases;
            add_erase(ts, a->from, &erases);
            r.skipped += erases == before;
        }
    }
    c.total = (size_t)rpmtsNElements(ts);
    r.elements = c.total;
    if (c.total == 0) {
        rc = 0;
        goto out;
    }
    osm_buf_reset(&msgs);
    osm_rpmlog_capture_begin(&msgs);
    int chk = rpmtsCheck(ts);
    osm_rpmlog_capture_end();
    rpmps ps = rpmtsProblems(ts);
    int nprob = rpmpsNumProblems(ps);
    rpmpsFree(ps);
    if (chk != 0 || nprob > 0) {
        struct osm_buf pb;
        osm_buf_init(&pb);
        problems_to(ts, &pb);
        osm_err_set(err, OSM_ESOLVE, "the transaction's dependencies do not hold: %s", pb.len ? pb.s : msgs.s);
        osm_buf_free(&pb);
        goto out;
    }
    rpmtsOrder(ts);
    rpmtsClean(ts);
    osm_info("apply.run", "root=%s elements=%zu", root, c.total);
    osm_buf_reset(&msgs);
    osm_rpmlog_capture_begin(&msgs);
    int run = rpmtsRun(ts, NULL, filter);
    osm_rpmlog_capture_end();
    r.scriptlet_warnings = c.warnings;
    if (run != 0 || c.failures.len) {
        struct osm_buf pb;
        osm_buf_init(&pb);
        problems_to(ts, &pb);
        if (c.failures.len && pb.len)
            osm_buf_adds(&c.failures, "; ");
        osm_buf_adds(&c.failures, pb.s);
        osm_err_set(err, OSM_EFAIL, "the rpm transaction failed in %s: %s%s%s%s", root, c.failures.s,
                    msgs.len ? " (rpm: " : "", msgs.s, msgs.len ? ")" : "");
        osm_buf_free(&pb);
        goto out;
    }
    rc = 0;
out:
    if (c.fd)
        Fclose(c.fd);
    if (ts) {
        rpmtsEmpty(ts);
        rpmtsCloseDB(ts);
        rpmtsFree(ts);
    }
    if (dbpath_pushed)
        osm_rpm_el_dbpath_end();
    osm_free_strv(keys, nkeys);
    json_decref(manifest);
    osm_buf_free(&msgs);
    osm_buf_free(&c.failures);
    free(stage);
    if (res)
        *res = r;
    return rc;
}
