/* userspace.c: see userspace.h. */
#include "userspace.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_rpmdb.h>
#include <solv/bitmap.h>
#include <solv/evr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_fs.h"
#include "osm_hash.h"
#include "osm_paths.h"
#include "osm_log.h"
#include "osm_run.h"
#include "stage.h"

#define MARKER OSM_USERSPACE_MARKER
#define USERSPACE_ENV_CONFIGDIR "RPM_CONFIGDIR=" OSM_USERSPACE_SUBDIR "/usr/lib/rpm"
#define USERSPACE_ENV_LC_ALL "LC_ALL=C"

static const struct osm_planfile_action *rpm_action(const struct osm_planfile *plan)
{
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_planfile_action *a = &plan->actions[i];
        if (osm_planfile_has_package(a) && a->name && strcmp(a->name, "rpm") == 0)
            return a;
    }
    return NULL;
}

int osm_userspace_possible(const struct osm_planfile *plan)
{
    return rpm_action(plan) != NULL;
}

int osm_userspace_runnable(const struct osm_planfile *plan, const char *root)
{
    const struct osm_planfile_action *a = rpm_action(plan);
    if (!a)
        return 0;
    char *stage = osm_stage_dir(root);
    char *pkg = osm_path_join(stage, a->filename);
    struct archive *in = archive_read_new();
    archive_read_support_filter_all(in);
    archive_read_support_format_cpio(in);
    int found = 0;
    struct archive_entry *e;
    if (archive_read_open_filename(in, pkg, 1 << 16) == ARCHIVE_OK)
        while (!found && archive_read_next_header(in, &e) == ARCHIVE_OK) {
            const char *n = archive_entry_pathname(e);
            if (strcmp(n, "./usr/bin/rpm") != 0 && strcmp(n, "/usr/bin/rpm") != 0)
                continue;
            /* The program itself, not a script standing in for it. */
            char magic[4];
            found = archive_read_data(in, magic, sizeof magic) == 4 && memcmp(magic, "\177ELF", 4) == 0;
            break;
        }
    archive_read_free(in);
    free(pkg);
    free(stage);
    return found;
}

static char *marker_path(const char *root)
{
    char *us = osm_root_path(root, OSM_USERSPACE_SUBDIR);
    char *m = osm_path_join(us, MARKER);
    free(us);
    return m;
}

int osm_userspace_ready(const char *root)
{
    char *m = marker_path(root);
    int ok = osm_is_file(m);
    free(m);
    return ok;
}

/* "x86_64" of "name-1:2-3.el8.x86_64". */
static const char *nevra_arch(const char *nevra)
{
    const char *dot = strrchr(nevra, '.');
    return dot ? dot + 1 : "noarch";
}

/* The staged files the target's rpm needs to run, read from the staged
 * packages' own headers with libsolv. */
static int closure(const struct osm_planfile *plan, const char *stage, char ***files, size_t *n,
                   struct osm_err *err)
{
    Pool *pool = pool_create();
    pool_setdisttype(pool, DISTTYPE_RPM); /* Debian's libsolv defaults to deb version rules */
    pool_setarch(pool, nevra_arch(rpm_action(plan)->to));
    Repo *repo = repo_create(pool, "staged");
    size_t cap = plan->n_actions + 1;
    char **paths = osm_xcalloc(cap, sizeof *paths);
    Id *ids = osm_xcalloc(cap, sizeof *ids);
    size_t np = 0;
    int rc = -1;
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_planfile_action *a = &plan->actions[i];
        if (!osm_planfile_has_package(a))
            continue;
        char *p = osm_path_join(stage, a->filename);
        Id s = repo_add_rpm(repo, p, REPO_REUSE_REPODATA | REPO_NO_INTERNALIZE);
        if (!s) {
            osm_err_set(err, OSM_EINPUT, "%s: cannot read the staged package %s: %s", a->to, p, pool_errstr(pool));
            free(p);
            goto out;
        }
        paths[np] = p;
        ids[np++] = s;
    }
    repo_internalize(repo);
    pool_createwhatprovides(pool);
    /* What the rpm program needs to run: the rpm package and, following
     * only shared-library requirements (sonames), the packages that
     * provide them. Scriptlet and tool requirements (bash, coreutils, curl)
     * are the instance's business, not the userspace's. */
    Queue need;
    queue_init(&need);
    Map seen;
    map_init(&seen, pool->nsolvables);
    Id p, pp, rpmname = pool_str2id(pool, "rpm", 1);
    FOR_PROVIDES(p, pp, rpmname)
    if (pool->solvables[p].name == rpmname && !MAPTST(&seen, p)) {
        MAPSET(&seen, p);
        queue_push(&need, p);
        break;
    }
    for (int k = 0; k < need.count; k++) {
        Queue reqs;
        queue_init(&reqs);
        solvable_lookup_deparray(pool->solvables + need.elements[k], SOLVABLE_REQUIRES, &reqs, -1);
        for (int r = 0; r < reqs.count; r++) {
            const char *d = pool_dep2str(pool, reqs.elements[r]);
            if (!strstr(d, ".so") && strncmp(d, "rpm-libs", 8) != 0)
                continue;
            Id best = 0;
            FOR_PROVIDES(p, pp, reqs.elements[r])
            if (!best || pool_evrcmp(pool, pool->solvables[p].evr, pool->solvables[best].evr, EVRCMP_COMPARE) > 0)
                best = p;
            if (!best) {
                osm_err_set(err, OSM_ESOLVE, "the target's rpm cannot run from the staged packages: nothing "
                            "provides %s needed by %s", d, pool_solvid2str(pool, need.elements[k]));
                queue_free(&reqs);
                queue_free(&need);
                map_free(&seen);
                goto out;
            }
            if (!MAPTST(&seen, best)) {
                MAPSET(&seen, best);
                queue_push(&need, best);
            }
        }
        queue_free(&reqs);
    }
    if (need.count == 0) {
        queue_free(&need);
        map_free(&seen);
        osm_err_set(err, OSM_ENOTFOUND, "no rpm package among the staged packages");
        goto out;
    }
    *files = osm_xcalloc((size_t)need.count + 1, sizeof **files);
    *n = 0;
    for (int k = 0; k < need.count; k++)
        for (size_t j = 0; j < np; j++)
            if (ids[j] == need.elements[k]) {
                (*files)[(*n)++] = osm_xstrdup(paths[j]);
                break;
            }
    queue_free(&need);
    map_free(&seen);
    rc = 0;
out:
    osm_free_strv(paths, np);
    free(ids);
    pool_free(pool);
    return rc;
}

/* What running rpm never needs: documentation, translations, the C
 * library's character-set converters (rpm runs in the C locale), the
 * administration programs and the debuginfo links (.build-id: half the
 * entries, each a mkdir or symlink when the userspace is copied in). Left
 * out, the userspace is half the size and a third of the entries. */
static int skipped(const char *name)
{
    static const char *const prefixes[] = {"usr/share/", "usr/lib64/gconv/", "usr/lib/gconv/", "sbin/", "usr/sbin/",
                                           "usr/include/", "usr/lib/.build-id/"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

/* Extract one package's payload (libarchive: the rpm filter, then cpio)
 * under `dest`. Entry names are checked: nothing may leave `dest`. */
static int extract(const char *pkg, const char *dest, struct osm_err *err)
{
    struct archive *in = archive_read_new();
    archive_read_support_filter_all(in);
    archive_read_support_format_cpio(in);
    struct archive *out = archive_write_disk_new();
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                            ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_UNLINK);
    int rc = -1;
    if (archive_read_open_filename(in, pkg, 1 << 16) != ARCHIVE_OK) {
        osm_err_set(err, OSM_EIO, "%s: %s", pkg, archive_error_string(in));
        goto out;
    }
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        while (name[0] == '.' && name[1] == '/')
            name += 2;
        while (name[0] == '/')
            name++;
        if (!name[0] || skipped(name))
            continue;
        char *full = osm_path_join(dest, name);
        struct stat st;
        /* A directory another package made stays one (no unlinking it for
         * a symlink of the same name). */
        if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode) && archive_entry_filetype(e) != AE_IFREG) {
            free(full);
            continue;
        }
        char *shown = osm_xstrdup(name);
        name = shown;
        archive_entry_set_pathname(e, full);
        const char *hl = archive_entry_hardlink(e);
        char *hfull = NULL;
        if (hl) {
            while (hl[0] == '.' && hl[1] == '/')
                hl += 2;
            hfull = osm_path_join(dest, hl);
            archive_entry_set_hardlink(e, hfull);
        }
        free(full);
        free(hfull);
        if (archive_write_header(out, e) != ARCHIVE_OK) {
            osm_err_set(err, OSM_EIO, "%s: extracting %s: %s", pkg, name, archive_error_string(out));
            free(shown);
            goto out;
        }
        const void *buf;
        size_t len;
        la_int64_t off;
        while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
            if (archive_write_data_block(out, buf, len, off) != ARCHIVE_OK) {
                osm_err_set(err, OSM_EIO, "%s: writing %s: %s", pkg, name, archive_error_string(out));
                free(shown);
                goto out;
            }
        if (r != ARCHIVE_EOF) {
            osm_err_set(err, OSM_EIO, "%s: reading %s: %s", pkg, name, archive_error_string(in));
            free(shown);
            goto out;
        }
        free(shown);
        archive_write_finish_entry(out);
    }
    if (r != ARCHIVE_EOF) {
        osm_err_set(err, OSM_EIO, "%s: %s", pkg, archive_error_string(in));
        goto out;
    }
    rc = 0;
out:
    archive_read_free(in);
    archive_write_free(out);
    return rc;
}

/* Extract `files` into `dir` (made anew) with the marker last. */
static int extract_all(char **files, size_t n, const char *dir, struct osm_err *err)
{
    if (osm_remove_tree(dir, err) < 0 || osm_mkdir_p(dir, 0755, err) < 0)
        return -1;
    struct osm_buf list;
    osm_buf_init(&list);
    for (size_t i = 0; i < n; i++) {
        if (extract(files[i], dir, err) < 0) {
            osm_buf_free(&list);
            return osm_err_prefix(err, "building the target userspace"), -1;
        }
        const char *base = strrchr(files[i], '/');
        osm_buf_addf(&list, "%s\n", base ? base + 1 : files[i]);
    }
    char *m = osm_path_join(dir, MARKER);
    int rc = osm_write_file_atomic(m, list.s, list.len, 0644, err);
    free(m);
    osm_buf_free(&list);
    return rc;
}

/* The host's copy of this exact userspace, keyed by the packages' digests
 * (extracting is most of the cost; instances migrated to the same target
 * share it). NULL when there is no cache directory to use. */
static char *cached_userspace(const struct osm_planfile *plan, char **files, size_t n, struct osm_err *err)
{
    const char *cache = osm_cache_dir();
    if (!cache || !*cache)
        return NULL;
    struct osm_buf key;
    osm_buf_init(&key);
    /* The layout's version: a change of what is extracted makes a new key. */
    osm_buf_adds(&key, "layout 2\n");
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(files[i], '/');
        base = base ? base + 1 : files[i];
        for (size_t k = 0; k < plan->n_actions; k++)
            if (plan->actions[k].filename && strcmp(plan->actions[k].filename, base) == 0)
                osm_buf_addf(&key, "%s %s:%s\n", base, plan->actions[k].checksum_type, plan->actions[k].checksum);
    }
    char hex[65];
    osm_sha256_hex(key.s, key.len, hex);
    osm_buf_free(&key);
    char *dir = osm_xasprintf("%s/userspace/%.32s", cache, hex);
    char *marker = osm_path_join(dir, MARKER);
    int ready = osm_is_file(marker);
    free(marker);
    if (!ready) {
        char *tmp = osm_xasprintf("%s.tmp.%ld", dir, (long)getpid());
        struct osm_err ce = OSM_ERR_INIT;
        if (extract_all(files, n, tmp, &ce) < 0 || (rename(tmp, dir) != 0 && !osm_is_dir(dir))) {
            osm_warn("userspace.cache", "dir=%s error=\"%s\"", dir, ce.msg[0] ? ce.msg : strerror(errno));
            osm_remove_tree(tmp, &ce);
            free(tmp);
            free(dir);
            return NULL;
        }
        osm_remove_tree(tmp, &ce); /* another process won the rename */
        free(tmp);
    }
    (void)err;
    return dir;
}

int osm_userspace_build(const struct osm_planfile *plan, const char *root, struct osm_userspace_result *res,
                        struct osm_err *err)
{
    struct osm_userspace_result r = {0};
    if (!osm_userspace_possible(plan))
        return osm_err_set(err, OSM_ENOTFOUND, "the plan brings no rpm package of the target");
    if (osm_userspace_ready(root)) {
        r.reused = 1;
        if (res)
            *res = r;
        return 0;
    }
    /* Its parent directory resolved inside the root once and held open:
     * every path below goes through that descriptor (/proc/PID/fd/N, which
     * cp, a child, can follow too), so a link swapped into the root
     * meanwhile cannot send the copy or the rename elsewhere. */
    char *parent = osm_xstrdup(OSM_USERSPACE_SUBDIR);
    *strrchr(parent, '/') = '\0';
    int pfd = osm_root_open(root, parent, O_RDONLY | O_DIRECTORY, 0, err);
    free(parent);
    if (pfd < 0)
        return osm_err_prefix(err, "the target userspace's directory"), -1;
    const char *leaf = strrchr(OSM_USERSPACE_SUBDIR, '/') + 1;
    char *stage = osm_stage_dir(root);
    char *us = osm_xasprintf("/proc/%d/fd/%d/%s", (int)getpid(), pfd, leaf);
    char *tmp = osm_xasprintf("%s.tmp", us);
    char *tmp_leaf = osm_xasprintf("%s.tmp", leaf);
    char **files = NULL, *cached = NULL;
    size_t n = 0;
    int rc = -1;
    if (closure(plan, stage, &files, &n, err) < 0 || osm_remove_tree(us, err) < 0 || osm_remove_tree(tmp, err) < 0)
        goto out;
    if ((cached = cached_userspace(plan, files, n, err))) {
        /* A copy, never links: nothing in the instance may reach the cache. */
        const char *argv[] = {"cp", "-a", "--reflink=auto", "--", cached, tmp, NULL};
        struct osm_buf eout;
        osm_buf_init(&eout);
        struct osm_run_opts ro = {.errout = &eout};
        int st = osm_run(argv, &ro, err);
        if (st > 0)
            osm_err_set(err, OSM_EIO, "copying the target userspace %s into %s%s.tmp: %s", cached, root,
                        OSM_USERSPACE_SUBDIR, eout.s);
        osm_buf_free(&eout);
        if (st != 0)
            goto out;
    } else if (extract_all(files, n, tmp, err) < 0) {
        goto out;
    }
    if (renameat(pfd, tmp_leaf, pfd, leaf) != 0) {
        osm_err_errno(err, "renaming %s%s.tmp", root, OSM_USERSPACE_SUBDIR);
        goto out;
    }
    r.packages = n;
    osm_info("userspace.built", "root=%s packages=%zu dir=%s from=%s", root, n, OSM_USERSPACE_SUBDIR,
             cached ? cached : "the staged packages");
    rc = 0;
out:
    osm_free_strv(files, n);
    free(cached);
    free(stage);
    free(us);
    free(tmp);
    free(tmp_leaf);
    close(pfd);
    if (res)
        *res = r;
    return rc;
}

/* The userspace's dynamic loader, as a path inside the root. */
static char *loader(const char *root, struct osm_err *err)
{
    char *us = osm_root_path(root, OSM_USERSPACE_SUBDIR);
    char *pat = osm_xasprintf("%s/lib*/ld-linux*.so.*", us);
    glob_t g;
    char *res = NULL;
    if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0)
        res = osm_xasprintf(OSM_USERSPACE_SUBDIR "%s", g.gl_pathv[0] + strlen(us));
    else
        osm_err_set(err, OSM_ENOTFOUND, "%s: the target userspace has no dynamic loader", us);
    if (g.gl_pathc)
        globfree(&g);
    free(pat);
    free(us);
    return res;
}

char **osm_userspace_argv(const char *root, const char *program, const char *const *args, int with_env,
                          struct osm_err *err)
{
    char *ld = loader(root, err);
    if (!ld)
        return NULL;
    size_t na = 0;
    while (args[na])
        na++;
    char **argv = osm_xcalloc(na + 12, sizeof *argv);
    size_t k = 0;
    if (with_env) {
        /* A guest's run passes no environment: env(1) sets it. */
        argv[k++] = osm_xstrdup("env");
        argv[k++] = osm_xstrdup(USERSPACE_ENV_CONFIGDIR);
        argv[k++] = osm_xstrdup(USERSPACE_ENV_LC_ALL);
    }
    argv[k++] = ld;
    argv[k++] = osm_xstrdup("--library-path");
    argv[k++] = osm_xstrdup(OSM_USERSPACE_SUBDIR "/usr/lib64:" OSM_USERSPACE_SUBDIR "/lib64:" OSM_USERSPACE_SUBDIR
                            "/usr/lib:" OSM_USERSPACE_SUBDIR "/lib");
    /* rpm's popt aliases exec rpmkeys and rpmdb by absolute path, which
     * would be the root's own (the source release's): call them directly. */
    argv[k++] = osm_xasprintf(OSM_USERSPACE_SUBDIR "/usr/bin/%s", program);
    /* Plugins from the userspace too, not whatever the root has. */
    argv[k++] = osm_xstrdup("--define");
    argv[k++] = osm_xstrdup("__plugindir " OSM_USERSPACE_SUBDIR "/usr/lib64/rpm-plugins");
    for (size_t i = 0; i < na; i++)
        argv[k++] = osm_xstrdup(args[i]);
    argv[k] = NULL;
    return argv;
}

void osm_userspace_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

int osm_userspace_rpm(const char *root, const char *program, const char *const *args, void (*on_line)(const char *line, void *ud),
                      void *ud, struct osm_buf *out, struct osm_buf *errout, struct osm_err *err)
{
    if (!osm_userspace_ready(root))
        return osm_err_set(err, OSM_ENOTFOUND, "%s: no target userspace in %s", root, OSM_USERSPACE_SUBDIR);
    char **argv = osm_userspace_argv(root, program, args, 0, err);
    if (!argv)
        return -1;
    static const char *const env[] = {USERSPACE_ENV_CONFIGDIR, USERSPACE_ENV_LC_ALL, NULL};
    struct osm_buf tmp_out;
    osm_buf_init(&tmp_out);
    struct osm_run_opts ro = {.chroot_dir = root, .env = env, .out = out ? out : &tmp_out, .errout = errout,
                              .on_line = on_line, .line_ud = ud};
    int st = osm_run((const char *const *)argv, &ro, err);
    if (st == 127)
        osm_err_set(err, OSM_EFAIL, "%s: the target's rpm could not be started (chroot or exec of %s failed)", root,
                    argv[0]);
    osm_buf_free(&tmp_out);
    osm_userspace_argv_free(argv);
    return st == 127 ? -1 : st;
}
