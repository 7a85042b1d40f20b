/* guest_migration.c: see guest_migration.h. Every command run in the guest
 * is a fixed script; paths come as its arguments. */
#include "guest_migration.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_fs.h"
#include "osm_log.h"
#include "osm_run.h"
#include "osrelease.h"
#include "stage.h"
#include "target_txn.h"
#include "userspace.h"
#include "verify.h"

#define SHIP_GUEST "/var/lib/osmig/ship.tar"
#define MARKER_MEMBER "var/lib/osmig/userspace/" OSM_USERSPACE_MARKER

static int guest_sh(const struct osm_txn_place *pl, const char *script, const char *a1, const char *a2,
                    struct osm_buf *out, struct osm_err *err)
{
    const char *argv[] = {"/bin/sh", "-c", script, "sh", a1, a2, NULL};
    return osm_place_run(pl, argv, out, err);
}

int osm_guest_ship(const struct osm_txn_place *pl, const char *work, long long *bytes, struct osm_err *err)
{
    if (!osm_userspace_ready(pl->root))
        return osm_err_set(err, OSM_ENOTFOUND, "%s: no target userspace to ship into %s", pl->root, pl->guest->uri);
    if (!pl->guest->provider->copy_in)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance %s: its provider cannot copy a file in", pl->guest->uri);
    char *tar = osm_path_join(work, "ship.tar");
    const char *targv[] = {"tar", "-C", pl->root, "-cf", tar, "--", OSM_STAGE_SUBDIR + 1, OSM_USERSPACE_SUBDIR + 1,
                           NULL};
    struct osm_buf out;
    osm_buf_init(&out);
    struct osm_run_opts ro = {.out = &out, .errout = &out};
    int rc = -1;
    int st = osm_run(targv, &ro, err);
    struct stat sb;
    if (st > 0)
        osm_err_set(err, OSM_EIO, "packing %s for %s: tar: %.500s", pl->root, pl->guest->uri, out.s);
    else if (st == 0 && stat(tar, &sb) != 0)
        osm_err_errno(err, "%s", tar);
    else if (st == 0 && osm_place_mkdir(pl, "/var/lib/osmig", err) == 0 &&
             pl->guest->provider->copy_in(pl->guest, tar, SHIP_GUEST, err) == 0) {
        osm_buf_free(&out);
        osm_buf_init(&out);
        /* The old userspace goes first and the marker comes last: a guest
         * with the marker has the whole of it. */
        st = guest_sh(pl,
                      "t=$1; m=$2; rm -rf /var/lib/osmig/userspace && tar -xf \"$t\" -C / --exclude=\"$m\" && "
                      "tar -xf \"$t\" -C / \"$m\" && rm -f \"$t\"",
                      SHIP_GUEST, MARKER_MEMBER, &out, err);
        if (st > 0)
            osm_err_set(err, OSM_EIO, "instance %s: unpacking %s: %.500s", pl->guest->uri, SHIP_GUEST, out.s);
        else if (st == 0) {
            rc = 0;
            if (bytes)
                *bytes = (long long)sb.st_size;
            osm_info("guest.shipped", "instance=%s bytes=%lld", pl->guest->uri, (long long)sb.st_size);
        }
    }
    unlink(tar);
    free(tar);
    osm_buf_free(&out);
    return rc;
}

/* ---- verify ------------------------------------------------------------ */

struct checks {
    struct osm_buf *report;
    struct osm_buf failed;
};

static void result(struct checks *c, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void result(struct checks *c, int ok, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (c->report)
        osm_buf_addf(c->report, "%s %s\n", ok ? "ok" : "FAIL", line);
    if (!ok)
        osm_buf_addf(&c->failed, "%s%s", c->failed.len ? "; " : "", line);
}

/* os-release read by osrelease.c from a copy of the guest's release files. */
static void check_release(struct checks *c, const struct osm_planfile *plan, const struct osm_txn_place *pl)
{
    static const char *const files[] = {"/etc/os-release", "/usr/lib/os-release", "/etc/redhat-release"};
    const char *tmp = getenv("TMPDIR");
    char *dir = osm_xasprintf("%s/osmig-release-XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
    if (!mkdtemp(dir)) {
        result(c, 0, "os-release: cannot make a temporary directory %s", dir);
        free(dir);
        return;
    }
    struct osm_err e = OSM_ERR_INIT;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *host = osm_path_join(dir, files[i]);
        char *parent = osm_xstrdup(host);
        *strrchr(parent, '/') = '\0';
        struct osm_err ie = OSM_ERR_INIT; /* absent files are fine */
        if (osm_mkdir_p(parent, 0700, &ie) == 0)
            pl->guest->provider->copy_out(pl->guest, files[i], host, &ie);
        free(parent);
        free(host);
    }
    struct osm_osrelease osr;
    if (osm_osrelease_read(dir, &osr, &e) < 0) {
        result(c, 0, "os-release of the guest: %s", e.msg);
    } else {
        int ok = osm_verify_release_is_target(plan, &osr);
        result(c, ok, "os-release in the guest: ID=%s VERSION_ID=%s, target %s%s%s", osr.id, osr.version_id,
               plan->target_id, plan->target_version ? " " : "", plan->target_version ? plan->target_version : "");
    }
    osm_remove_tree(dir, &e);
    free(dir);
}

/* Mount points of the guest's file systems of type `type` (vfat, tmpfs),
 * one per line with a trailing '/', from /proc/mounts. */
static char *mounts_of(const struct osm_txn_place *pl, const char *type)
{
    struct osm_buf m, res;
    osm_buf_init(&m);
    osm_buf_init(&res);
    struct osm_err e = OSM_ERR_INIT;
    if (osm_place_read(pl, "/proc/mounts", &m, &e) == 1) {
        char *save = NULL;
        for (char *l = strtok_r(m.s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            char dev[256], dir[512], fs[64];
            if (sscanf(l, "%255s %511s %63s", dev, dir, fs) == 3 && strcmp(fs, type) == 0)
                osm_buf_addf(&res, "%s%s\n", dir, strcmp(dir, "/") == 0 ? "" : "/");
        }
    }
    osm_buf_free(&m);
    return osm_buf_detach(&res);
}

/* Is `path` (or, for "/var/run/...", "/run/...") on one of `mounts`? */
static int on_mount(const char *mounts, const char *path)
{
    /* /var/run is a link to /run on EL: "/var/run/x" + 4 = "/run/x". */
    const char *q = strncmp(path, "/var/run/", 9) == 0 ? path + 4 : path;
    char p[4096];
    snprintf(p, sizeof p, "%s/", q);
    for (const char *m = mounts; m && *m;) {
        const char *nl = strchr(m, '\n');
        size_t l = nl ? (size_t)(nl - m) : strlen(m);
        if (l > 1 && strncmp(p, m, l) == 0)
            return 1;
        m = nl ? nl + 1 : m + l;
    }
    return 0;
}

/* One line of `rpm -Va`: 1 when it is a failure. Allowed: %config (c) and
 * %ghost (g) files; a differing time (T) alone; on a FAT file system (vfat:
 * /boot/efi, the test guest's /boot), which holds no modes or owners, M, U,
 * G too; missing entries on a tmpfs (/run: runtime state that a booted
 * system's tmpfiles.d makes, not the package's files). */
static int va_line_fails(const char *l, const char *vfat, const char *tmpfs)
{
    size_t n = strlen(l);
    if (n == 0)
        return 0;
    const char *attrs = l, *rest;
    int missing = strncmp(l, "missing", 7) == 0;
    if (missing) {
        rest = l + 7;
    } else {
        if (n < 10 || strspn(l, ".SM5DLUGTP?") < 9)
            return 1; /* not a file line: an error or an unsatisfied dependency */
        rest = l + 9;
    }
    while (*rest == ' ')
        rest++;
    char marker = rest[0] && rest[1] == ' ' && isalpha((unsigned char)rest[0]) ? rest[0] : ' ';
    if (marker == 'c' || marker == 'g')
        return 0;
    const char *path = strchr(rest, '/');
    if (missing)
        return !(path && on_mount(tmpfs, path));
    const char *allowed = path && on_mount(vfat, path) ? ".TMUG" : ".T";
    for (int i = 0; i < 9; i++)
        if (!strchr(allowed, attrs[i]))
            return 1;
    return 0;
}

static void check_rpm_va(struct checks *c, const struct osm_txn_place *pl)
{
    const char *args[] = {"-Va", NULL};
    struct osm_buf out, errout, bad;
    osm_buf_init(&out);
    osm_buf_init(&errout);
    osm_buf_init(&bad);
    struct osm_err e = OSM_ERR_INIT;
    char *vfat = mounts_of(pl, "vfat"), *tmpfs = mounts_of(pl, "tmpfs");
    int st = osm_place_rpm(pl, "rpm", args, NULL, NULL, &out, &errout, &e);
    if (st < 0) {
        result(c, 0, "rpm -Va by the target's rpm: %s", e.msg);
    } else {
        size_t lines = 0, fails = 0;
        char *save = NULL;
        for (char *l = strtok_r(out.s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            lines++;
            if (va_line_fails(l, vfat, tmpfs)) {
                fails++;
                if (fails <= 20)
                    osm_buf_addf(&bad, "%s  %s", fails > 1 ? ";" : "", l);
            }
        }
        if (errout.len) {
            fails++;
            osm_buf_addf(&bad, "%s  stderr: %.300s", fails > 1 ? ";" : "", errout.s);
        }
        result(c, fails == 0,
               "rpm -Va by the target's rpm in the guest (exit %d): %zu line(s), %zu failure(s)%s%s", st, lines,
               fails,
               fails ? ":" : " (the rest: %config/%ghost files, times, modes on FAT, runtime entries on tmpfs)",
               bad.s ? bad.s : "");
    }
    free(vfat);
    free(tmpfs);
    osm_buf_free(&out);
    osm_buf_free(&errout);
    osm_buf_free(&bad);
}

static void check_packages(struct checks *c, const struct osm_planfile *plan, const struct osm_txn_place *pl)
{
    struct osm_err e = OSM_ERR_INIT;
    size_t done = 0, pending = 0;
    if (osm_target_progress_at(plan, pl, &done, &pending, &e) < 0) {
        result(c, 0, "the planned packages: %s", e.msg);
        return;
    }
    result(c, pending == 0, "every planned change made (%zu done, %zu not)", done, pending);
    size_t planned = 0;
    for (size_t i = 0; i < plan->n_actions; i++)
        planned += plan->actions[i].kind != OSM_PF_ERASE;
    char *set = osm_target_installed_at(pl, &e);
    size_t have = 0;
    for (const char *p = set; p && *p; p++)
        have += *p == '\n';
    result(c, set && have == planned, "rpm -qa in the guest: %zu packages, the plan leaves %zu", have, planned);
    free(set);
}

static void check_kernel(struct checks *c, const struct osm_txn_place *pl, const char *kernel)
{
    const char *argv[] = {"uname", "-r", NULL};
    struct osm_buf out;
    osm_buf_init(&out);
    struct osm_err e = OSM_ERR_INIT;
    int st = osm_place_run(pl, argv, &out, &e);
    while (out.len && isspace((unsigned char)out.s[out.len - 1]))
        out.s[--out.len] = '\0';
    if (st != 0)
        result(c, 0, "running kernel: uname -r failed: %s", st < 0 ? e.msg : out.s);
    else if (kernel)
        result(c, strcmp(out.s, kernel) == 0, "running kernel %s, the target's %s", out.s, kernel);
    else
        result(c, 1, "running kernel %s (the plan names no target kernel)", out.s);
    osm_buf_free(&out);
    /* Every check above went through the agent: it is back. */
    result(c, st >= 0, "the guest's agent answers");
}

/* The network up: every NIC but lo with its operstate, and whether a
 * default route exists (/sys and /proc: no tool of the target needed). A
 * guest without a NIC has nothing to check; one with NICs needs one up and
 * a default route. */
static void check_network(struct checks *c, const struct osm_txn_place *pl)
{
    const char *argv[] = {"/bin/sh", "-c",
                          "for d in /sys/class/net/*; do n=${d##*/}; [ \"$n\" = lo ] && continue; [ -e \"$d\" ] || "
                          "continue; echo \"nic $n $(cat \"$d/operstate\" 2>/dev/null)\"; done; "
                          "while read -r i dst rest; do [ \"$dst\" = 00000000 ] && echo \"default $i\"; done "
                          "</proc/net/route; exit 0",
                          NULL};
    struct osm_buf out, nics;
    osm_buf_init(&out);
    osm_buf_init(&nics);
    struct osm_err e = OSM_ERR_INIT;
    if (osm_place_run(pl, argv, &out, &e) != 0) {
        result(c, 0, "the network: reading /sys/class/net failed: %s", e.msg[0] ? e.msg : out.s ? out.s : "");
    } else {
        size_t n = 0, up = 0;
        char route[64] = "";
        char *save = NULL;
        for (char *l = strtok_r(out.s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            char a[64], b[64] = "";
            if (sscanf(l, "nic %63s %63s", a, b) >= 1) {
                n++;
                up += strcmp(b, "up") == 0;
                osm_buf_addf(&nics, "%s%s %s", nics.len ? ", " : "", a, b[0] ? b : "?");
            } else if (sscanf(l, "default %63s", a) == 1 && !route[0]) {
                snprintf(route, sizeof route, "%s", a);
            }
        }
        if (n == 0)
            result(c, 1, "the network: no interface but lo (nothing to check)");
        else
            result(c, up > 0 && route[0], "the network: %s; default route %s%s", nics.s, route[0] ? "via " : "none",
                   route);
    }
    osm_buf_free(&out);
    osm_buf_free(&nics);
}

int osm_guest_verify(const struct osm_planfile *plan, const struct osm_txn_place *pl, const char *kernel,
                     struct osm_buf *report, struct osm_err *err)
{
    struct checks c = {.report = report};
    osm_buf_init(&c.failed);
    check_kernel(&c, pl, kernel);
    check_network(&c, pl);
    check_release(&c, plan, pl);
    check_packages(&c, plan, pl);
    check_rpm_va(&c, pl);
    int rc = c.failed.len ? osm_err_set(err, OSM_EFAIL, "%.3000s", c.failed.s) : 0;
    osm_buf_free(&c.failed);
    return rc;
}

int osm_guest_cleanup(const struct osm_txn_place *pl, struct osm_err *err)
{
    struct osm_buf out;
    osm_buf_init(&out);
    int st = guest_sh(pl,
                      "rm -rf /var/lib/osmig/stage /var/lib/osmig/userspace /var/lib/osmig/keys "
                      "/var/lib/osmig/ship.tar || exit 1; rmdir /var/lib/osmig 2>/dev/null; exit 0",
                      NULL, NULL, &out, err);
    if (st > 0)
        osm_err_set(err, OSM_EIO, "instance %s: removing osmig's files: %.300s", pl->guest->uri, out.s);
    osm_buf_free(&out);
    if (st == 0)
        osm_info("migrate.cleanup", "instance=%s removed=stage,userspace,keys", pl->guest->uri);
    return st == 0 ? 0 : -1;
}
