/* verify.c: see verify.h. */
#include "verify.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmfi.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmpgp.h>
#include <rpm/rpmts.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_hash.h"
#include "osrelease.h"
#include "osm_run.h"
#include "rpmutil.h"
#include "target_txn.h"

const char *const osm_verify_default_core[] = {"filesystem", "setup",   "glibc", "bash", "coreutils",
                                               "rpm",        "systemd", "util-linux", NULL};

struct checks {
    struct osm_buf *report;
    struct osm_buf failed;
    size_t n;
};

__attribute__((format(printf, 3, 4))) static void result(struct checks *c, int ok, const char *fmt, ...)
{
    va_list ap;
    char line[1024];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->n++;
    if (c->report)
        osm_buf_addf(c->report, "%s %s\n", ok ? "ok" : "FAIL", line);
    if (!ok)
        osm_buf_addf(&c->failed, "%s%s", c->failed.len ? "; " : "", line);
}

int osm_verify_fstab(const char *root, struct osm_err *err)
{
    char *path = osm_root_path(root, "/etc/fstab");
    struct osm_buf text;
    osm_buf_init(&text);
    int rc = osm_read_file(path, &text, err);
    int lineno = 0;
    for (char *line = text.s, *next; rc == 0 && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *fields[8];
        int nf = 0;
        for (char *tok = strtok(line, " \t"); tok; tok = strtok(NULL, " \t")) {
            if (tok[0] == '#' && nf == 0)
                break;
            if (nf < 8)
                fields[nf] = tok;
            nf++;
        }
        if (nf == 0)
            continue;
        if (nf < 4 || nf > 6) {
            rc = osm_err_set(err, OSM_EINPUT, "%s:%d: %d fields, an entry needs 4 to 6", path, lineno, nf);
            break;
        }
        if (fields[1][0] != '/' && strcmp(fields[1], "none") != 0 && strcmp(fields[1], "swap") != 0)
            rc = osm_err_set(err, OSM_EINPUT, "%s:%d: mount point \"%s\" is not an absolute path", path, lineno,
                             fields[1]);
        for (int i = 4; rc == 0 && i < nf; i++)
            for (const char *p = fields[i]; *p; p++)
                if (!isdigit((unsigned char)*p)) {
                    rc = osm_err_set(err, OSM_EINPUT, "%s:%d: field %d (\"%s\") must be a number", path, lineno,
                                     i + 1, fields[i]);
                    break;
                }
    }
    osm_buf_free(&text);
    free(path);
    return rc;
}

int osm_verify_release_is_target(const struct osm_planfile *plan, const struct osm_osrelease *osr)
{
    char idmaj[160];
    snprintf(idmaj, sizeof idmaj, "%s%d", osr->id, osr->major);
    /* A target id is a matrix name ("alinux3", "sample-alinux3"); its os_id,
     * when the plan gives it, is what os-release must say. */
    int ok = plan->target_os_id ? strcmp(osr->id, plan->target_os_id) == 0
                                : strcmp(osr->id, plan->target_id) == 0 || strcmp(idmaj, plan->target_id) == 0;
    if (ok && plan->target_version)
        ok = strncmp(osr->version_id, plan->target_version, strlen(osr->version_id)) == 0 ||
             strncmp(plan->target_version, osr->version_id, strlen(plan->target_version)) == 0;
    return ok;
}

static void check_osrelease(const struct osm_planfile *plan, const char *root, struct checks *c)
{
    struct osm_osrelease osr;
    struct osm_err e = OSM_ERR_INIT;
    if (osm_osrelease_read(root, &osr, &e) < 0) {
        result(c, 0, "os-release: %s", e.msg);
        return;
    }
    int ok = osm_verify_release_is_target(plan, &osr);
    result(c, ok, "os-release: ID=%s VERSION_ID=%s, target %s%s%s", osr.id, osr.version_id, plan->target_id,
           plan->target_version ? " " : "", plan->target_version ? plan->target_version : "");
}

static const char *algo_name(int algo)
{
    switch (algo) {
    case PGPHASHALGO_MD5: return "md5";
    case PGPHASHALGO_SHA1: return "sha1";
    case PGPHASHALGO_SHA224: return "sha224";
    case PGPHASHALGO_SHA256: return "sha256";
    case PGPHASHALGO_SHA384: return "sha384";
    case PGPHASHALGO_SHA512: return "sha512";
    default: return NULL;
    }
}

/* Like `rpm -V` limited to type, size, digest and link target. Returns the
 * first problem in `why` or 0 when every file matches. */
static int verify_files(rpmts ts, Header h, const char *root, char *why, size_t whylen)
{
    rpmfi fi = rpmfiNew(ts, h, RPMTAG_BASENAMES, 0);
    int bad = 0;
    while (!bad && fi && rpmfiNext(fi) >= 0) {
        rpmfileAttrs fl = rpmfiFFlags(fi);
        if ((fl & (RPMFILE_CONFIG | RPMFILE_GHOST)) || rpmfiFState(fi) != RPMFILE_STATE_NORMAL)
            continue;
        const char *fn = rpmfiFN(fi);
        char *host = osm_root_path(root, fn);
        struct stat st;
        rpm_mode_t mode = rpmfiFMode(fi);
        if (lstat(host, &st) != 0) {
            snprintf(why, whylen, "%s: missing", fn);
            bad = 1;
        } else if ((st.st_mode & S_IFMT) != (mode & S_IFMT)) {
            snprintf(why, whylen, "%s: file type changed", fn);
            bad = 1;
        } else if (S_ISLNK(mode)) {
            char target[4096];
            ssize_t n = readlink(host, target, sizeof target - 1);
            target[n > 0 ? n : 0] = '\0';
            if (strcmp(target, rpmfiFLink(fi)) != 0) {
                /* The reason is cut to `whylen`; the return value says by how much. */
                if (snprintf(why, whylen, "%s: link points to %s, not %s", fn, target, rpmfiFLink(fi)) < 0)
                    why[0] = '\0';
                bad = 1;
            }
        } else if (S_ISREG(mode)) {
            int algo = 0;
            char *want = rpmfiFDigestHex(fi, &algo);
            if ((rpm_loff_t)st.st_size != rpmfiFSize(fi)) {
                snprintf(why, whylen, "%s: size %lld, rpm says %llu", fn, (long long)st.st_size,
                         (unsigned long long)rpmfiFSize(fi));
                bad = 1;
            } else if (want && *want && algo_name(algo)) {
                char got[129];
                struct osm_err e = OSM_ERR_INIT;
                if (osm_hash_file(algo_name(algo), host, got, &e) < 0) {
                    if (snprintf(why, whylen, "%s", e.msg) < 0)
                        why[0] = '\0';
                    bad = 1;
                } else if (strcasecmp(got, want) != 0) {
                    snprintf(why, whylen, "%s: digest differs from the package's", fn);
                    bad = 1;
                }
            }
            free(want);
        }
        free(host);
    }
    rpmfiFree(fi);
    return bad;
}

static void check_packages(const struct osm_planfile *plan, const char *root, const struct osm_verify_opts *o,
                           struct checks *c)
{
    struct osm_err e = OSM_ERR_INIT;
    if (osm_rpm_init(&e) < 0) {
        result(c, 0, "rpmdb: %s", e.msg);
        return;
    }
    rpmts ts = rpmtsCreate();
    rpmtsSetRootDir(ts, root);
    rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES);
    osm_rpm_el_dbpath_begin(root);
    if (rpmtsOpenDB(ts, O_RDONLY) != 0) {
        result(c, 0, "rpmdb: cannot open %s/var/lib/rpm", root);
        osm_rpm_el_dbpath_end();
        rpmtsFree(ts);
        return;
    }
    if (plan->release_package) {
        rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_NAME, plan->release_package, 0);
        result(c, mi && rpmdbGetIteratorCount(mi) > 0, "release package %s installed", plan->release_package);
        rpmdbFreeIterator(mi);
    }
    size_t left = 0, missing = 0;
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_planfile_action *a = &plan->actions[i];
        if (osm_planfile_has_package(a) && !osm_rpm_is_installed(ts, a->to)) {
            if (missing++ < 5)
                result(c, 0, "%s (%s) is not installed", a->to, osm_planfile_kind_name(a->kind));
        }
        if (a->kind != OSM_PF_KEEP && a->kind != OSM_PF_INSTALL && a->from &&
            !(a->to && strcmp(a->from, a->to) == 0) && osm_rpm_is_installed(ts, a->from)) {
            if (left++ < 5)
                result(c, 0, "%s of the old release is still installed (plan: %s)", a->from,
                       osm_planfile_kind_name(a->kind));
        }
    }
    if (missing > 5 || left > 5)
        result(c, 0, "%zu planned packages missing and %zu old packages left in all", missing, left);
    if (!missing && !left)
        result(c, 1, "planned packages installed, no package of the old release left outside the kept ones");

    const char *const *core = o->core_packages ? o->core_packages : osm_verify_default_core;
    size_t ncore = 0;
    for (const char *const *p = core; *p; p++)
        ncore++;
    for (size_t i = 0; i <= ncore; i++) {
        const char *name = i == 0 ? plan->release_package : core[i - 1];
        if (!name || (i > 0 && plan->release_package && strcmp(name, plan->release_package) == 0))
            continue;
        if (o->progress) {
            struct osm_progress p = {.phase = "verify", .pkgs_done = i, .pkgs_total = ncore + 1, .current = name};
            o->progress(&p, o->userdata);
        }
        rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_NAME, name, 0);
        Header h;
        while (mi && (h = rpmdbNextIterator(mi))) {
            char why[1200] = "";
            char *nevra = headerGetAsString(h, RPMTAG_NEVRA);
            int bad = verify_files(ts, h, root, why, sizeof why);
            result(c, !bad, "rpm verify %s%s%s", nevra, bad ? ": " : "", why);
            free(nevra);
        }
        rpmdbFreeIterator(mi);
    }
    rpmtsCloseDB(ts);
    rpmtsFree(ts);
    osm_rpm_el_dbpath_end();
}

/* ---- judged by the root's own rpm ---------------------------------------- */

/* Run the root's /usr/bin/rpm chrooted into it; stdout in `out`, stderr in
 * `eout`. Returns the exit status or -1. */
static int root_rpm(const char *root, const char *const *args, struct osm_buf *out, struct osm_buf *eout)
{
    size_t n = 0;
    while (args[n])
        n++;
    const char **argv = osm_xcalloc(n + 2, sizeof *argv);
    argv[0] = "/usr/bin/rpm";
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = args[i];
    static const char *const env[] = {"LC_ALL=C", NULL};
    struct osm_run_opts ro = {.chroot_dir = root, .env = env, .out = out, .errout = eout};
    struct osm_err e = OSM_ERR_INIT;
    int st = osm_run(argv, &ro, &e);
    free(argv);
    return st;
}

/* Short key ids ("fd431d51") of the plan's key files (file:// only). */
static void plan_key_ids(const struct osm_planfile *plan, struct osm_buf *ids)
{
    for (size_t r = 0; r < plan->n_repos; r++)
        for (size_t k = 0; k < plan->repos[r].n_gpgkeys; k++) {
            const char *url = plan->repos[r].gpgkeys[k];
            if (strncmp(url, "file://", 7) != 0)
                continue;
            uint8_t *pkt = NULL;
            size_t len = 0;
            pgpKeyID_t id;
            if (pgpReadPkts(url + 7, &pkt, &len) == PGPARMOR_PUBKEY && pgpPubkeyKeyID(pkt, len, id) == 0)
                osm_buf_addf(ids, "%02x%02x%02x%02x\n", id[4], id[5], id[6], id[7]);
            free(pkt);
        }
}

/* One line of `rpm -V`: "SM5DLUGTP c /path", "missing   c /path" or a
 * dependency problem. 1 when the target's rpm -Va on a fresh system would
 * not print it: anything but times in a file that is not %config/%ghost. */
static int verify_line_fails(const char *line)
{
    if (strncmp(line, "missing", 7) == 0) {
        const char *p = line + 7;
        while (*p == ' ')
            p++;
        return !(p[0] && p[1] == ' ' && (p[0] == 'c' || p[0] == 'g'));
    }
    /* "SM5DLUGTP  c /path": nine flags, two spaces, the file's attribute. */
    if (strlen(line) < 14 || line[9] != ' ' || line[10] != ' ')
        return 1; /* "Unsatisfied dependencies for ..." and anything unknown */
    char attr = line[11];
    if (attr == 'c' || attr == 'g')
        return 0;
    for (int i = 0; i < 9; i++)
        if (line[i] != '.' && line[i] != 'T' && line[i] != '?')
            return 1;
    return 0;
}

static void check_by_root_rpm(const struct osm_planfile *plan, const char *root, const struct osm_verify_opts *o,
                              struct checks *c)
{
    struct osm_buf out, eout;
    osm_buf_init(&out);
    osm_buf_init(&eout);
    struct osm_err de = OSM_ERR_INIT;
    if (osm_rpmdb_format(root) == OSM_RPMDB_BDB && osm_rpmdb_drop_environment(root, &de) < 0)
        result(c, 0, "rpmdb: %s", de.msg);
    const char *qa[] = {"-qa", "--qf", "%{NAME}-%|EPOCH?{%{EPOCH}}:{0}|:%{VERSION}-%{RELEASE}.%{ARCH}\\n", NULL};
    int st = root_rpm(root, qa, &out, &eout);
    result(c, st == 0 && eout.len == 0, "the root's own rpm reads its rpmdb%s%.300s", eout.len ? ": " : "",
           eout.s);
    /* "\nNEVRA\n..." once, so every lookup is one strstr of "\nNEVRA\n". */
    char *installed = osm_xasprintf("\n%s", out.s);
    osm_buf_reset(&out);
    if (plan->release_package) {
        /* "\nNAME-EPOCH:" exactly (not "\nNAME-eula-..."). */
        char *want = osm_xasprintf("\n%s-", plan->release_package);
        int found = 0;
        for (const char *p = installed; !found && (p = strstr(p, want)); p++) {
            const char *e = p + strlen(want);
            size_t d = strspn(e, "0123456789");
            found = d > 0 && e[d] == ':';
        }
        result(c, found, "release package %s installed", plan->release_package);
        free(want);
    }
    size_t missing = 0, left = 0, nv = 0, nn = 0;
    const char **vargs = osm_xcalloc(plan->n_actions + 4, sizeof *vargs);
    char **names = osm_xcalloc(plan->n_actions + 1, sizeof *names);
    vargs[nv++] = "-V";
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_planfile_action *a = &plan->actions[i];
        char *to = a->to ? osm_nevra_with_epoch(a->to) : NULL, *from = a->from ? osm_nevra_with_epoch(a->from) : NULL;
        char *tl = to ? osm_xasprintf("%s\n", to) : NULL, *fl = from ? osm_xasprintf("%s\n", from) : NULL;
        if (osm_planfile_has_package(a)) {
            char *needle = osm_xasprintf("\n%s", tl);
            if (!strstr(installed, needle) && missing++ < 5)
                result(c, 0, "%s (%s) is not installed", a->to, osm_planfile_kind_name(a->kind));
            free(needle);
            names[nn] = osm_nevra_without_epoch(a->to);
            vargs[nv++] = names[nn++];
        }
        if (a->kind != OSM_PF_KEEP && a->kind != OSM_PF_INSTALL && from && !(to && strcmp(from, to) == 0)) {
            char *needle = osm_xasprintf("\n%s", fl);
            if (strstr(installed, needle) && left++ < 5)
                result(c, 0, "%s of the old release is still installed (plan: %s)", a->from,
                       osm_planfile_kind_name(a->kind));
            free(needle);
        }
        osm_free_all(to, from, tl, fl);
    }
    if (missing > 5 || left > 5)
        result(c, 0, "%zu planned packages missing and %zu old packages left in all", missing, left);
    if (!missing && !left)
        result(c, 1, "planned packages installed, no package of the old release left outside the kept ones");
    if (o->progress) {
        struct osm_progress p = {.phase = "verify", .pkgs_done = 0, .pkgs_total = nv - 1, .current = "rpm -V"};
        o->progress(&p, o->userdata);
    }
    /* rpm -V exits non-zero whenever it prints anything; judge the lines. */
    osm_buf_reset(&eout);
    if (nv > 1) {
        root_rpm(root, vargs, &out, &eout);
        size_t bad = 0, noted = 0;
        for (char *p = out.s; *p;) {
            char *nl = strchr(p, '\n');
            if (nl)
                *nl = '\0';
            if (*p && verify_line_fails(p)) {
                if (bad++ < 10)
                    result(c, 0, "rpm -V: %s", p);
            } else if (*p) {
                noted++;
            }
            p = nl ? nl + 1 : p + strlen(p);
        }
        if (bad > 10)
            result(c, 0, "rpm -V: %zu differences in all", bad);
        if (eout.len)
            result(c, 0, "rpm -V: %.300s", eout.s);
        if (!bad && !eout.len)
            result(c, 1, "rpm -V of %zu planned packages by the root's own rpm: no difference a fresh install would "
                         "not show (%zu %%config/%%ghost/time lines)", nv - 1, noted);
    }
    struct osm_buf ids;
    osm_buf_init(&ids);
    plan_key_ids(plan, &ids);
    for (char *p = ids.s; *p;) {
        char *nl = strchr(p, '\n');
        *nl = '\0';
        /* -qa listed the keys too: "gpg-pubkey-0:ID-DATE.(none)". */
        char *line = osm_xasprintf("\ngpg-pubkey-0:%s-", p);
        result(c, strstr(installed, line) != NULL, "the target's key gpg-pubkey-%s is in the rpmdb", p);
        free(line);
        p = nl + 1;
    }
    osm_buf_free(&ids);
    osm_free_strv(names, nn);
    free(vargs);
    free(installed);
    osm_buf_free(&out);
    osm_buf_free(&eout);
}

int osm_verify(const struct osm_planfile *plan, const char *root, const struct osm_verify_opts *opts,
               struct osm_buf *report, struct osm_err *err)
{
    struct osm_verify_opts o = opts ? *opts : (struct osm_verify_opts){0};
    struct checks c = {.report = report};
    osm_buf_init(&c.failed);
    check_osrelease(plan, root, &c);
    if (o.by_root_rpm)
        check_by_root_rpm(plan, root, &o, &c);
    else
        check_packages(plan, root, &o, &c);
    struct osm_err fe = OSM_ERR_INIT;
    char *fstab = osm_root_path(root, "/etc/fstab");
    if (o.fstab_may_be_absent && !osm_is_file(fstab))
        result(&c, 1, "/etc/fstab absent, as before the migration");
    else if (osm_verify_fstab(root, &fe) < 0)
        result(&c, 0, "fstab: %s", fe.msg);
    else
        result(&c, 1, "/etc/fstab parses");
    free(fstab);
    int rc = 0;
    if (c.failed.len)
        rc = osm_err_set(err, OSM_EFAIL, "verification of %s failed: %s", root, c.failed.s);
    osm_buf_free(&c.failed);
    return rc;
}
