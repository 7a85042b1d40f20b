/* target_txn.c: see target_txn.h. */
#include "target_txn.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "stage.h"
#include "txn_place.h"
#include "userspace.h"

#define KEYS_SUBDIR "/var/lib/osmig/keys"
#define QF_NEVRA_ "%{NAME}-%|EPOCH?{%{EPOCH}}:{0}|:%{VERSION}-%{RELEASE}.%{ARCH}"
#define QF_NEVRA QF_NEVRA_ "\\n"

char *osm_nevra_with_epoch(const char *nevra)
{
    /* name-[E:]V-R.A: the version starts after the second-to-last '-'. */
    const char *last = strrchr(nevra, '-');
    const char *vstart = NULL;
    for (const char *p = nevra; last && p < last; p++)
        if (*p == '-')
            vstart = p + 1;
    if (!vstart)
        return osm_xstrdup(nevra);
    const char *colon = strchr(vstart, ':');
    if (colon && colon < last)
        return osm_xstrdup(nevra);
    return osm_xasprintf("%.*s0:%s", (int)(vstart - nevra), nevra, vstart);
}

/* "name-V-R.A" (no epoch): how rpm -e names one package. */
char *osm_nevra_without_epoch(const char *nevra)
{
    char *full = osm_nevra_with_epoch(nevra);
    const char *last = strrchr(full, '-');
    const char *vstart = NULL;
    for (const char *p = full; last && p < last; p++)
        if (*p == '-')
            vstart = p + 1;
    const char *colon = vstart ? strchr(vstart, ':') : NULL;
    char *r = colon ? osm_xasprintf("%.*s%s", (int)(vstart - full), full, colon + 1) : osm_xstrdup(full);
    free(full);
    return r;
}

/* Is `nevra` a line of `set` (newline-separated "name-E:V-R.A")? */
static int in_set(const char *set, const char *nevra)
{
    char *want = osm_nevra_with_epoch(nevra);
    size_t wl = strlen(want);
    int found = 0;
    for (const char *p = set; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == wl && memcmp(p, want, wl) == 0) {
            found = 1;
            break;
        }
        p = nl ? nl + 1 : p + l;
    }
    free(want);
    return found;
}

/* Berkeley DB's environment files (__db.001 ...) belong to the libdb that
 * made them: the target's newer libdb refuses them (DB_VERSION_MISMATCH).
 * They hold no data and nothing else uses the instance's rpmdb now, so they
 * go, as `rm -f /var/lib/rpm/__db.*` does on any EL system. */
int osm_rpmdb_drop_environment(const char *root, struct osm_err *err)
{
    for (int i = 1; i <= 9; i++) {
        char guest[64];
        snprintf(guest, sizeof guest, "/var/lib/rpm/__db.%03d", i);
        char *p = osm_root_path(root, guest);
        int rc = unlink(p) != 0 && errno != ENOENT ? osm_err_errno(err, "removing %s", p) : 0;
        free(p);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Only a Berkeley DB rpmdb has them (osm_rpmdb_format_seen's probes, in its
 * order). In a guest the probe and the removal are one command: each is a
 * round trip through the agent, and every rpm run is preceded by this. */
static int drop_environment(const struct osm_txn_place *pl, struct osm_err *err)
{
    if (!pl->guest)
        return osm_rpmdb_format(pl->root) == OSM_RPMDB_BDB ? osm_rpmdb_drop_environment(pl->root, err) : 0;
    const char *argv[] = {"/bin/sh", "-c",
                          "cd /var/lib/rpm 2>/dev/null || exit 0; [ -f rpmdb.sqlite ] || [ -f Packages.db ] || "
                          "[ ! -f Packages ] || exec rm -f __db.00[1-9]",
                          NULL};
    struct osm_buf b;
    osm_buf_init(&b);
    int st = osm_place_run(pl, argv, &b, err);
    if (st > 0)
        osm_err_set(err, OSM_EIO, "instance %s: removing /var/lib/rpm/__db.*: %.300s", pl->guest->uri, b.s);
    osm_buf_free(&b);
    return st == 0 ? 0 : -1;
}

/* The place whose environment files osm_target_transaction_at removed as
 * it began: its own rpm runs that follow, one after the other, leave none
 * that matter (each ends, or the transaction ends with it), so they need
 * not remove them again (in a guest, a command each). Per thread: a fleet
 * worker runs several tasks at once. */
static _Thread_local const struct osm_txn_place *env_dropped;

/* Run the target's rpm; a non-zero exit is an error quoting its stderr. */
static int trpm_prog(const struct osm_txn_place *pl, const char *program, const char *const *args, const char *what,
                     void (*on_line)(const char *, void *), void *ud, struct osm_buf *out, struct osm_err *err)
{
    /* Nothing else uses the instance's rpmdb during a migration, and a
     * target rpm that was killed (with osmig) leaves its locks in these
     * files: the next rpm would wait for them forever. */
    if (env_dropped != pl && drop_environment(pl, err) < 0)
        return -1;
    struct osm_buf eout;
    osm_buf_init(&eout);
    int st = osm_place_rpm(pl, program, args, on_line, ud, out, &eout, err);
    if (st > 0)
        osm_err_set(err, OSM_EFAIL, "%s: the target's rpm failed (exit %d): %.2000s", what, st, eout.s);
    else if (st == 0 && eout.len)
        osm_info("target_rpm.stderr", "what=\"%s\" text=\"%.500s\"", what, eout.s);
    osm_buf_free(&eout);
    return st == 0 ? 0 : -1;
}

static int trpm(const struct osm_txn_place *pl, const char *const *args, const char *what,
                void (*on_line)(const char *, void *), void *ud, struct osm_buf *out, struct osm_err *err)
{
    return trpm_prog(pl, "rpm", args, what, on_line, ud, out, err);
}

char *osm_target_installed(const char *root, struct osm_err *err)
{
    struct osm_txn_place pl = {.root = root};
    return osm_target_installed_at(&pl, err);
}

char *osm_target_installed_at(const struct osm_txn_place *pl, struct osm_err *err)
{
    const char *args[] = {"-qa", "--qf", QF_NEVRA, NULL};
    struct osm_buf out;
    osm_buf_init(&out);
    if (trpm(pl, args, "listing the installed packages", NULL, NULL, &out, err) < 0) {
        osm_buf_free(&out);
        return NULL;
    }
    /* gpg-pubkey entries are keys, not packages. */
    struct osm_buf kept;
    osm_buf_init(&kept);
    for (char *p = out.s; *p;) {
        char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (strncmp(p, "gpg-pubkey-", 11) != 0)
            osm_buf_addf(&kept, "%.*s\n", (int)l, p);
        p = nl ? nl + 1 : p + l;
    }
    osm_buf_free(&out);
    return osm_buf_detach(&kept);
}

int osm_target_progress(const struct osm_planfile *plan, const char *root, size_t *done, size_t *pending,
                        struct osm_err *err)
{
    struct osm_txn_place pl = {.root = root};
    return osm_target_progress_at(plan, &pl, done, pending, err);
}

int osm_target_progress_at(const struct osm_planfile *plan, const struct osm_txn_place *pl, size_t *done,
                           size_t *pending, struct osm_err *err)
{
    char *set = osm_target_installed_at(pl, err);
    if (!set)
        return -1;
    *done = *pending = 0;
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_planfile_action *a = &plan->actions[i];
        if (a->kind == OSM_PF_KEEP)
            continue;
        int new_in = a->to ? in_set(set, a->to) : 1;
        int old_gone = a->from && a->kind != OSM_PF_INSTALL ? !in_set(set, a->from) : 1;
        if (new_in && old_gone)
            (*done)++;
        else
            (*pending)++;
    }
    free(set);
    return 0;
}

/* ---- 1. the rpmdb format -------------------------------------------------- */

static int native_rpmdb(const struct osm_txn_place *pl, int *rebuilt, struct osm_err *err)
{
    const char *args[] = {"--eval", "%{?_db_backend}", NULL};
    struct osm_buf out;
    osm_buf_init(&out);
    int rc = trpm(pl, args, "reading the target's rpmdb backend", NULL, NULL, &out, err);
    while (out.len && isspace((unsigned char)out.s[out.len - 1]))
        out.s[--out.len] = '\0';
    enum osm_rpmdb_format have = osm_place_rpmdb_format(pl);
    int differs = rc == 0 && ((strcmp(out.s, "bdb") == 0 && have != OSM_RPMDB_BDB) ||
                              (strcmp(out.s, "sqlite") == 0 && have != OSM_RPMDB_SQLITE) ||
                              (strcmp(out.s, "ndb") == 0 && have != OSM_RPMDB_NDB));
    if (differs) {
        const char *rb[] = {"--rebuilddb", NULL};
        rc = trpm_prog(pl, "rpmdb", rb, "rebuilding the rpmdb in the target's format", NULL, NULL, NULL, err);
        if (rc == 0) {
            *rebuilt = 1;
            osm_info("target_txn.rpmdb_rebuilt", "root=%s backend=%s", osm_place_name(pl), out.s);
        }
    }
    osm_buf_free(&out);
    return rc;
}

/* ---- 0. device nodes ------------------------------------------------------ */

/* Scriptlets write to /dev/null and read /dev/urandom: a root tree on this
 * host may have none (then a scriptlet's `> /dev/null` would make a plain
 * file). A real machine's /dev has them; a root tree gets them here. */
static int device_nodes(const char *root, struct osm_err *err)
{
    static const struct {
        const char *path;
        unsigned maj, min;
    } nodes[] = {{"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}};
    /* /dev resolved inside the root (a link there cannot lead out), then
     * every node made relative to that directory. */
    char *dev = osm_root_path(root, "/dev");
    struct stat st;
    if (lstat(dev, &st) != 0 && mkdir(dev, 0755) != 0 && errno != EEXIST) {
        osm_err_errno(err, "creating %s", dev);
        free(dev);
        return -1;
    }
    free(dev);
    int dfd = osm_root_open(root, "/dev", O_RDONLY | O_DIRECTORY, 0, err);
    if (dfd < 0)
        return osm_err_prefix(err, "the instance's /dev"), -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof nodes / sizeof nodes[0]; i++) {
        const char *name = nodes[i].path + 5;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode))
            continue;
        /* Only a plain empty file left by an earlier scriptlet is replaced. */
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !(S_ISREG(st.st_mode) && st.st_size == 0))
            rc = osm_err_set(err, OSM_EINPUT, "%s/%s is neither a device nor an empty file: not replaced", root,
                             nodes[i].path + 1);
        else if ((unlinkat(dfd, name, 0) != 0 && errno != ENOENT) ||
                 mknodat(dfd, name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) != 0)
            rc = osm_err_errno(err, "creating the device node %s%s", root, nodes[i].path);
    }
    close(dfd);
    return rc;
}

/* ---- 2. symlinked directories ------------------------------------------- */

static int replace_symlinked_dirs(const struct osm_planfile *plan, const struct osm_txn_place *pl, size_t *n,
                                  struct osm_err *err)
{
    for (size_t i = 0; i < plan->n_symlinked_dirs; i++) {
        const char *guest = plan->symlinked_dirs[i];
        int rc = osm_place_symlink_to_dir(pl, guest, err);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            (*n)++;
            osm_info("target_txn.symlink_replaced", "root=%s path=%s", osm_place_name(pl), guest);
        }
    }
    return 0;
}

/* ---- 3 and 6. keys ------------------------------------------------------- */

/* Copy every key of the plan (from the stage in pl->root, on this host)
 * into the instance's /var/lib/osmig/keys; guest paths. */
static int keys_into_root(const struct osm_planfile *plan, const struct osm_txn_place *pl, char ***out, size_t *n,
                          struct osm_err *err)
{
    char *stage = osm_stage_dir(pl->root);
    size_t cap = 1;
    for (size_t r = 0; r < plan->n_repos; r++)
        cap += plan->repos[r].n_gpgkeys;
    *out = osm_xcalloc(cap, sizeof **out);
    *n = 0;
    int rc = osm_place_mkdir(pl, KEYS_SUBDIR, err);
    for (size_t r = 0; rc == 0 && r < plan->n_repos; r++)
        for (size_t k = 0; rc == 0 && k < plan->repos[r].n_gpgkeys; k++) {
            const char *url = plan->repos[r].gpgkeys[k];
            char *src = osm_stage_key_file(stage, url, plan->repos[r].id, k);
            struct osm_buf data;
            osm_buf_init(&data);
            char *dest = osm_xasprintf(KEYS_SUBDIR "/key-%zu-%zu.asc", r, k);
            rc = osm_read_file(src, &data, err) == 0 && osm_place_write(pl, dest, data.s, data.len, err) == 0 ? 0
                                                                                                            : -1;
            if (rc == 0)
                (*out)[(*n)++] = dest;
            else {
                osm_err_prefix(err, "gpg key %s of repo %s", url, plan->repos[r].id);
                free(dest);
            }
            free(src);
            osm_buf_free(&data);
        }
    free(stage);
    return rc;
}

static int import_keys(const struct osm_planfile *plan, const struct osm_txn_place *pl, size_t *n_imported,
                       struct osm_err *err)
{
    char **keys = NULL;
    size_t n = 0;
    int rc = keys_into_root(plan, pl, &keys, &n, err);
    if (rc == 0 && n > 0) {
        const char **args = osm_xcalloc(n + 2, sizeof *args);
        args[0] = "--import";
        for (size_t i = 0; i < n; i++)
            args[i + 1] = keys[i];
        rc = trpm_prog(pl, "rpmkeys", args, "importing the target's keys", NULL, NULL, NULL, err);
        free(args);
        if (rc == 0)
            *n_imported = n;
    }
    osm_free_strv(keys, n);
    return rc;
}

/* Short key ids ("f4a80eb5") that signed the installed packages, one per
 * line, from the signature tags as the target's rpm prints them; with
 * `pubkeys`, also the gpg-pubkey-ID names in the rpmdb, and with
 * `installed`, the installed packages as osm_target_installed_at lists
 * them (the same query: one rpm run fewer). */
static char *signing_keys(const struct osm_txn_place *pl, char **pubkeys, char **installed, struct osm_err *err)
{
    const char *args[] = {"-qa", "--qf", "%{NAME}-%{VERSION} " QF_NEVRA_ " %{RSAHEADER:pgpsig} %{SIGPGP:pgpsig}\\n",
                          NULL};
    struct osm_buf out, ids, keys, pkgs;
    osm_buf_init(&out);
    osm_buf_init(&ids);
    osm_buf_init(&keys);
    osm_buf_init(&pkgs);
    if (trpm(pl, args, "reading the packages' signing keys", NULL, NULL, &out, err) < 0) {
        osm_buf_free(&out);
        osm_buf_free(&ids);
        osm_buf_free(&keys);
        return NULL;
    }
    for (char *line = out.s; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        size_t nv = strcspn(line, " ");
        if (strncmp(line, "gpg-pubkey-", 11) == 0)
            osm_buf_addf(&keys, "%.*s\n", (int)nv, line);
        else if (line[nv] == ' ')
            osm_buf_addf(&pkgs, "%.*s\n", (int)strcspn(line + nv + 1, " "), line + nv + 1);
        for (char *p = line; (p = strstr(p, "Key ID "));) {
            p += 7;
            size_t l = strspn(p, "0123456789abcdefABCDEF");
            if (l >= 8) {
                char id[9];
                for (int k = 0; k < 8; k++)
                    id[k] = (char)tolower((unsigned char)p[l - 8 + (size_t)k]);
                id[8] = '\0';
                if (!strstr(ids.s, id))
                    osm_buf_addf(&ids, "%s\n", id);
            }
            p += l;
        }
        line = nl ? nl + 1 : line + strlen(line);
    }
    osm_buf_free(&out);
    if (pubkeys)
        *pubkeys = osm_buf_detach(&keys);
    else
        osm_buf_free(&keys);
    if (installed)
        *installed = osm_buf_detach(&pkgs);
    else
        osm_buf_free(&pkgs);
    return osm_buf_detach(&ids);
}

/* Erase, in one rpm run, every key of `before` that signs nothing now. */
static int remove_source_keys(const struct osm_txn_place *pl, const char *before, size_t *removed,
                              struct osm_err *err)
{
    char *pubkeys = NULL;
    char *after = signing_keys(pl, &pubkeys, NULL, err);
    if (!after)
        return -1;
    size_t n = 0, cap = 8;
    char **names = osm_xcalloc(cap, sizeof *names);
    for (const char *p = before; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        char *name = osm_xasprintf("gpg-pubkey-%.*s", (int)(l < 15 ? l : 15), p);
        char *line = osm_xasprintf("%s\n", name);
        if (!strstr(after, name + 11) && strstr(pubkeys, line)) {
            if (n + 3 >= cap)
                names = osm_xrealloc(names, (cap *= 2) * sizeof *names);
            names[n++] = name;
        } else {
            free(name);
        }
        free(line);
        p = nl ? nl + 1 : p + l;
    }
    int rc = 0;
    if (n > 0) {
        const char **args = osm_xcalloc(n + 3, sizeof *args);
        args[0] = "-e";
        args[1] = "--allmatches";
        for (size_t i = 0; i < n; i++)
            args[i + 2] = names[i];
        rc = trpm(pl, args, "removing the source distribution's keys", NULL, NULL, NULL, err);
        free(args);
        if (rc == 0) {
            *removed = n;
            for (size_t i = 0; i < n; i++)
                osm_info("target_txn.key_removed", "root=%s key=%s", osm_place_name(pl), names[i]);
        }
    }
    osm_free_strv(names, n);
    free(after);
    free(pubkeys);
    return rc;
}

/* ---- 4 and 5. the transaction ------------------------------------------- */

struct txprog {
    const struct osm_ttx_opts *o;
    const char *phase;
    size_t done, total;
    char current[256];
};

/* rpm -vh prints one "name-V-R   ####...#" line per element it finishes
 * (with "N:" before the name on a terminal), after "Preparing..." and
 * "Verifying..." lines of the same shape. */
static void on_rpm_line(const char *line, void *ud)
{
    struct txprog *t = ud;
    const char *p = line;
    while (*p == ' ')
        p++;
    size_t len = strlen(p);
    if (!len || p[len - 1] != '#' || strncmp(p, "Preparing...", 12) == 0 || strncmp(p, "Verifying...", 12) == 0)
        return;
    const char *colon = strchr(p, ':');
    if (colon && strspn(p, "0123456789") == (size_t)(colon - p))
        p = colon + 1;
    size_t l = strcspn(p, " #");
    snprintf(t->current, sizeof t->current, "%.*s", (int)l, p);
    if (t->done < t->total)
        t->done++;
    /* Half way through an element list, as a machine that dies mid-way. */
    if (t->o->crash_point && t->done == t->total / 2)
        t->o->crash_point(t->phase[0] == 'e' ? "target_txn.erasing" : "target_txn.installing");
    if (t->o->progress) {
        struct osm_progress pr = {.phase = t->phase, .pkgs_done = t->done, .pkgs_total = t->total,
                                  .current = t->current};
        t->o->progress(&pr, t->o->userdata);
    }
}

/* One part of the transaction (t->phase) over `n` packages, none when n is
 * 0; *done = n when it succeeded. */
static int run_part(const struct osm_txn_place *pl, const char **args, const char *what, struct txprog *t, size_t n, size_t *done,
                    struct osm_err *err)
{
    if (n == 0)
        return 0;
    char event[48];
    snprintf(event, sizeof event, "target_txn.%s", t->phase);
    osm_info(event, "root=%s packages=%zu", osm_place_name(pl), n);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (trpm(pl, args, what, on_rpm_line, t, NULL, err) != 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* The rpm run alone: what bench/vm-migrate.sh counts as the bare transaction. */
    osm_info("target_txn.rpm_done", "root=%s part=%s packages=%zu ms=%lld", osm_place_name(pl), t->phase, n,
             (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    *done = n;
    return 0;
}

static int erase_part(const struct osm_planfile *plan, const struct osm_txn_place *pl, const char *installed,
                      const struct osm_ttx_opts *o, struct osm_ttx_result *r, struct osm_err *err)
{
    const char **args = osm_xcalloc(plan->n_actions + 6, sizeof *args);
    char **names = osm_xcalloc(plan->n_actions + 1, sizeof *names);
    size_t k = 0, n = 0;
    args[k++] = "-e";
    args[k++] = "-vh";
    args[k++] = "--nodeps";
    args[k++] = "--";
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_planfile_action *a = &plan->actions[i];
        if ((a->kind != OSM_PF_ERASE && a->kind != OSM_PF_REPLACE) || !a->from)
            continue;
        if (!in_set(installed, a->from)) {
            r->skipped += a->kind == OSM_PF_ERASE;
            continue;
        }
        names[n] = osm_nevra_without_epoch(a->from);
        args[k++] = names[n++];
    }
    struct txprog t = {.o = o, .phase = "erase", .total = n};
    int rc = run_part(pl, args, "erasing the packages the target has no place for", &t, n, &r->erased, err);
    osm_free_strv(names, n);
    free(args);
    return rc;
}

/* Removes from `set` (in place) the lines erase_part erased: the old
 * package of every erase and replace. */
static void without_erased(const struct osm_planfile *plan, char *set)
{
    char *w = set;
    for (const char *p = set; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) + 1 : strlen(p);
        int gone = 0;
        for (size_t i = 0; !gone && i < plan->n_actions; i++) {
            const struct osm_planfile_action *a = &plan->actions[i];
            if ((a->kind != OSM_PF_ERASE && a->kind != OSM_PF_REPLACE) || !a->from)
                continue;
            char *want = osm_nevra_with_epoch(a->from);
            size_t wl = strlen(want);
            gone = (l == wl + 1 || (l == wl && !nl)) && memcmp(p, want, wl) == 0;
            free(want);
        }
        if (!gone) {
            memmove(w, p, l);
            w += l;
        }
        p += l;
    }
    *w = '\0';
}

static int install_part(const struct osm_planfile *plan, const struct osm_txn_place *pl, const char *installed,
                        const struct osm_ttx_opts *o, struct osm_ttx_result *r, struct osm_err *err)
{
    const char **args = osm_xcalloc(plan->n_actions + 10, sizeof *args);
    char **files = osm_xcalloc(plan->n_actions + 1, sizeof *files);
    size_t k = 0, n = 0, replaced = 0;
    int downgrade = 0;
    args[k++] = "-U";
    args[k++] = "-vh";
    if (!o->no_signature_check) {
        /* The keys are imported: the target's rpm checks each signature too.
         * Its flags leave out the legacy checks over header and payload
         * (MD5, v3 signatures: 0xe0000): the signed header and the payload
         * digest it carries bind the package, and staging has checked every
         * package fully already (all checks, where a payload digest is
         * missing). */
        args[k++] = "--define";
        args[k++] = "_pkgverify_level signature";
        args[k++] = "--define";
        args[k++] = "_pkgverify_flags 0xe0000";
    }
    size_t opt_slot = k;
    args[k++] = "--";
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_planfile_action *a = &plan->actions[i];
        if (!osm_planfile_has_package(a))
            continue;
        if (in_set(installed, a->to)) {
            r->skipped++;
            continue;
        }
        downgrade |= a->kind == OSM_PF_DOWNGRADE;
        replaced += a->kind == OSM_PF_UPGRADE || a->kind == OSM_PF_DOWNGRADE;
        files[n] = osm_xasprintf(OSM_STAGE_SUBDIR "/%s", a->filename);
        args[k++] = files[n++];
    }
    if (downgrade) {
        memmove(&args[opt_slot + 1], &args[opt_slot], (k - opt_slot) * sizeof *args);
        args[opt_slot] = "--oldpackage";
        k++;
    }
    /* rpm -vh reports each new package and each old one it removes. */
    struct txprog t = {.o = o, .phase = "install", .total = n + replaced};
    int rc = run_part(pl, args, "the rpm transaction", &t, n, &r->installed, err);
    osm_free_strv(files, n);
    free(args);
    return rc;
}

/* The keys that signed the installed packages before the transaction, kept
 * in the instance (so a resumed task still knows them; rollback and the
 * clean-up after success remove the file). */
static char *source_keys(const struct osm_txn_place *pl, char **installed, struct osm_err *err)
{
    struct osm_buf b;
    osm_buf_init(&b);
    char *res = NULL;
    int have = osm_place_read(pl, KEYS_SUBDIR "/source-keys.txt", &b, err);
    if (have == 1) {
        res = osm_buf_detach(&b);
    } else if (have == 0) {
        char *ids = signing_keys(pl, NULL, installed, err);
        if (ids && osm_place_mkdir(pl, KEYS_SUBDIR, err) == 0 &&
            osm_place_write(pl, KEYS_SUBDIR "/source-keys.txt", ids, strlen(ids), err) == 0)
            res = ids;
        else
            free(ids);
    }
    osm_buf_free(&b);
    return res;
}

int osm_target_finish(const char *root, size_t *keys_removed, struct osm_err *err)
{
    struct osm_txn_place pl = {.root = root};
    return osm_target_finish_at(&pl, keys_removed, err);
}

int osm_target_finish_at(const struct osm_txn_place *pl, size_t *keys_removed, struct osm_err *err)
{
    struct osm_buf b;
    osm_buf_init(&b);
    size_t n = 0;
    int rc = osm_place_read(pl, KEYS_SUBDIR "/source-keys.txt", &b, err);
    if (rc == 1) {
        rc = remove_source_keys(pl, b.s, &n, err);
        /* Done once: a later call (verify's) has nothing to do. */
        if (rc == 0)
            rc = osm_place_unlink(pl, KEYS_SUBDIR "/source-keys.txt", err);
    }
    if (keys_removed)
        *keys_removed = n;
    osm_buf_free(&b);
    return rc < 0 ? -1 : 0;
}

int osm_target_transaction(const struct osm_planfile *plan, const char *root, const struct osm_ttx_opts *opts,
                           struct osm_ttx_result *res, struct osm_err *err)
{
    struct osm_txn_place pl = {.root = root};
    return osm_target_transaction_at(plan, &pl, opts, res, err);
}

int osm_target_transaction_at(const struct osm_planfile *plan, const struct osm_txn_place *pl,
                              const struct osm_ttx_opts *opts, struct osm_ttx_result *res, struct osm_err *err)
{
    struct osm_ttx_opts o = opts ? *opts : (struct osm_ttx_opts){0};
    struct osm_ttx_result r = {0};
    char *installed = NULL, *keys_before = NULL;
    int rc = -1;
    /* A guest is a real machine: its /dev has the nodes. */
    if ((!pl->guest && device_nodes(pl->root, err) < 0) || drop_environment(pl, err) < 0)
        goto out;
    env_dropped = pl;
    if (native_rpmdb(pl, &r.rpmdb_rebuilt, err) < 0 || replace_symlinked_dirs(plan, pl, &r.dirs_replaced, err) < 0)
        goto out;
    /* The installed set comes with the source keys when they are read now
     * (importing keys adds only gpg-pubkey entries, which it leaves out). */
    if (!(keys_before = source_keys(pl, &installed, err)) || import_keys(plan, pl, &r.keys_imported, err) < 0)
        goto out;
    if (o.crash_point)
        o.crash_point("target_txn.keys_imported");
    if ((!installed && !(installed = osm_target_installed_at(pl, err))) ||
        erase_part(plan, pl, installed, &o, &r, err) < 0)
        goto out;
    if (o.crash_point)
        o.crash_point("target_txn.erased");
    /* rpm -e exited 0: exactly the listed packages are gone. The set without
     * them is what another rpm -qa would print, one run of the target's rpm
     * (seconds in an emulated guest) sooner. */
    without_erased(plan, installed);
    if (install_part(plan, pl, installed, &o, &r, err) < 0)
        goto out;
    if (o.crash_point)
        o.crash_point("target_txn.installed");
    if (osm_target_finish_at(pl, &r.keys_removed, err) < 0)
        goto out;
    rc = 0;
out:
    env_dropped = NULL;
    free(installed);
    free(keys_before);
    if (res)
        *res = r;
    return rc;
}
