/* rpmdb.c: see rpmdb.h. */
#include "rpmdb.h"

#include <errno.h>
#include <fcntl.h>
#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmts.h>
#include <solv/repo_rpmdb.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>
#include <solv/repodata.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_hash.h"
#include "osm_log.h"
#include "osm_run.h"
#include "rpmsetup.h"
#include "solvcache.h"

int osm_rpmdb_locate(const char *root, struct osm_rpmdb_info *info, struct osm_err *err)
{
    static const char *const dirs[] = {"/var/lib/rpm", "/usr/lib/sysimage/rpm", "/usr/share/rpm"};
    static const struct {
        const char *file, *backend;
    } files[] = {{"rpmdb.sqlite", "sqlite"}, {"Packages.db", "ndb"}, {"Packages", "bdb_ro"}};
    memset(info, 0, sizeof *info);
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
            char *guest = osm_path_join(dirs[d], files[f].file);
            char *host = osm_root_path(root, guest);
            free(guest);
            struct stat st;
            int found = stat(host, &st) == 0 && S_ISREG(st.st_mode);
            if (found) {
                snprintf(info->dbpath, sizeof info->dbpath, "%s", dirs[d]);
                snprintf(info->backend, sizeof info->backend, "%s", files[f].backend);
                snprintf(info->dbfile, sizeof info->dbfile, "%s", host);
                free(host);
                return 0;
            }
            free(host);
        }
    }
    return osm_err_set(err, OSM_ENOTFOUND,
                       "%s: no rpm database (looked for rpmdb.sqlite, Packages.db and Packages in /var/lib/rpm, "
                       "/usr/lib/sysimage/rpm and /usr/share/rpm): not an rpm-based root",
                       root);
}

/* Cache key: what identifies this exact database content cheaply. A changed
 * rpmdb always changes size or mtime (rpm rewrites pages and the file's
 * mtime on every transaction). */
static char *cache_file(const char *cache_dir, struct osm_rpmdb_info *info)
{
    struct stat st;
    if (stat(info->dbfile, &st) != 0)
        return NULL;
    char *key = osm_xasprintf("rpmdb|%s|%lld|%lld.%09ld|%llu|%d", info->dbfile, (long long)st.st_size,
                              (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino,
                              LIBSOLV_VERSION);
    char hex[65];
    osm_sha256_hex(key, strlen(key), hex);
    free(key);
    snprintf(info->key, sizeof info->key, "%s", hex);
    if (!cache_dir)
        return NULL;
    /* v3: with the modularity labels */
    char *name = osm_xasprintf("installed-%.32s.v3.solv", hex);
    char *path = osm_path_join(cache_dir, name);
    free(name);
    return path;
}

/* Copy the database files (the main file and, for sqlite, its -wal) into
 * `dir`. */
static int copy_db(const struct osm_rpmdb_info *info, const char *dir, struct osm_err *err)
{
    const char *base = strrchr(info->dbfile, '/') + 1;
    static const char *const suffixes[] = {"", "-wal"};
    for (size_t i = 0; i < 2; i++) {
        char *src = osm_xasprintf("%s%s", info->dbfile, suffixes[i]);
        char *name = osm_xasprintf("%s%s", base, suffixes[i]);
        char *dst = osm_path_join(dir, name);
        free(name);
        int r = 0;
        if (i == 0 || access(src, F_OK) == 0) {
            const char *argv[] = {"cp", "--reflink=auto", "--", src, dst, NULL};
            struct osm_buf out;
            osm_buf_init(&out);
            struct osm_run_opts o = {.errout = &out};
            r = osm_run(argv, &o, err);
            if (r > 0)
                osm_err_set(err, OSM_EIO, "copying %s: %s", src, out.s);
            osm_buf_free(&out);
        }
        free(src);
        free(dst);
        if (r != 0)
            return -1;
    }
    return 0;
}

int osm_rpmdb_load(Pool *pool, const char *root, const char *cache_dir, Repo **out, struct osm_rpmdb_info *info,
                   struct osm_err *err)
{
    *out = NULL;
    if (!osm_is_dir(root))
        return osm_err_set(err, OSM_ENOTFOUND, "%s: no such root directory", root);
    if (osm_rpmdb_locate(root, info, err) != 0)
        return -1;
    if (strcmp(info->backend, "ndb") == 0)
        return osm_err_set(err, OSM_EUNSUPPORTED,
                           "%s: the rpm database is in ndb format (SUSE); this system's librpm cannot read ndb",
                           info->dbfile);
    if (access(info->dbfile, R_OK) != 0)
        return osm_err_errno(err, "%s: cannot read the rpm database", info->dbfile);

    Repo *repo = repo_create(pool, "@System");
    char *cpath = cache_file(cache_dir, info);
    if (cpath && osm_solvcache_read(repo, cpath) == 0) {
        osm_debug("rpmdb.cache", "root=%s hit=1 packages=%d", root, repo->nsolvables);
        free(cpath);
        pool_set_installed(pool, repo);
        *out = repo;
        return 0;
    }

    if (osm_rpm_setup(err) != 0)
        goto fail;
    /* Read a private copy: even a read-only sqlite open of a WAL database
     * leaves -wal/-shm files behind, and inspecting must not touch the root. */
    char scratch[] = "/tmp/osmig-rpmdb-XXXXXX";
    if (!mkdtemp(scratch)) {
        osm_err_errno(err, "creating a scratch directory for the rpm database");
        goto fail;
    }
    if (copy_db(info, scratch, err) != 0) {
        osm_remove_tree(scratch, NULL);
        goto fail;
    }
    osm_rpm_capture_begin();
    /* The backend is named explicitly so that rpm neither guesses nor
     * converts anything. */
    rpmPushMacro(NULL, "_dbpath", NULL, scratch, RMIL_CMDLINE);
    rpmPushMacro(NULL, "_db_backend", NULL, info->backend, RMIL_CMDLINE);
    rpmts ts = rpmtsCreate();
    rpmtsSetRootDir(ts, "/");
    rpmtsSetVSFlags(ts, _RPMVSF_NODIGESTS | _RPMVSF_NOSIGNATURES | _RPMVSF_NOHEADER);
    int opened = rpmtsOpenDB(ts, O_RDONLY) == 0;
    void *state = rpm_state_create(pool, root);
    int count = 0, bad = 0;
    Id label_key = pool_str2id(pool, OSM_RPMDB_MODULARITYLABEL, 1);
    if (opened) {
        rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_PACKAGES, NULL, 0);
        Header h;
        while (mi && (h = rpmdbNextIterator(mi))) {
            const char *name = headerGetString(h, RPMTAG_NAME);
            if (name && strcmp(name, "gpg-pubkey") == 0)
                continue;
            void *rh = rpm_byrpmh(state, h);
            /* One repodata for all packages (libsolv makes one per call otherwise). */
            Id p = rh ? repo_add_rpm_handle(repo, rh, REPO_NO_INTERNALIZE | REPO_REUSE_REPODATA) : 0;
            if (!p) {
                bad++;
                continue;
            }
            /* libsolv does not read the label; module streams need it. */
            const char *label = headerGetString(h, RPMTAG_MODULARITYLABEL);
            if (label && *label)
                repodata_set_str(repo_last_repodata(repo), p, label_key, label);
            count++;
        }
        rpmdbFreeIterator(mi);
    }
    rpm_state_free(state);
    rpmtsFree(ts);
    rpmPopMacro(NULL, "_db_backend");
    rpmPopMacro(NULL, "_dbpath");
    char *rpm_errors = osm_rpm_capture_end();
    osm_remove_tree(scratch, NULL);
    if (!opened) {
        osm_err_set(err, OSM_EINPUT, "%s: cannot open the rpm database (%s backend)%s%s", info->dbfile, info->backend,
                    rpm_errors[0] ? ": " : "", rpm_errors);
        free(rpm_errors);
        goto fail;
    }
    if (count == 0) {
        osm_err_set(err, OSM_EINPUT, "%s: the rpm database holds no readable package (%s backend; corrupt?)%s%s",
                    info->dbfile, info->backend, rpm_errors[0] ? ": " : "", rpm_errors);
        free(rpm_errors);
        goto fail;
    }
    if (bad)
        osm_warn("rpmdb.skip", "root=%s unreadable_headers=%d", root, bad);
    free(rpm_errors);
    repo_internalize(repo);
    if (cpath && osm_mkdir_p(cache_dir, 0755, NULL) == 0)
        osm_solvcache_write(repo, cpath);
    osm_debug("rpmdb.load", "root=%s backend=%s packages=%d", root, info->backend, count);
    free(cpath);
    pool_set_installed(pool, repo);
    *out = repo;
    return 0;
fail:
    free(cpath);
    repo_free(repo, 1);
    return -1;
}
