/* stage.c: see stage.h. */
#include "stage.h"

#include "lazy_curl.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "sigcheck.h"

#define DEFAULT_RESERVE (500LL * 1024 * 1024)

char *osm_stage_dir(const char *root)
{
    return osm_root_path(root, OSM_STAGE_SUBDIR);
}

/* The stage directory must resolve inside the root: a root whose var/lib is
 * a symlink to a host path must not make us write there. */
static int check_inside_root(const char *root, const char *dir, struct osm_err *err)
{
    char rroot[PATH_MAX], rdir[PATH_MAX];
    if (!realpath(root, rroot))
        return osm_err_errno(err, "root %s", root);
    /* Before mkdir -p: judge the deepest part that exists. */
    char *probe = osm_xstrdup(dir);
    while (!realpath(probe, rdir)) {
        char *slash = strrchr(probe, '/');
        if (errno != ENOENT || !slash || slash == probe) {
            free(probe);
            return osm_err_errno(err, "stage directory %s", dir);
        }
        *slash = '\0';
    }
    free(probe);
    size_t n = strlen(rroot);
    if (strcmp(rroot, "/") != 0 && (strncmp(rdir, rroot, n) != 0 || (rdir[n] != '/' && rdir[n] != '\0')))
        return osm_err_set(err, OSM_EINPUT, "stage directory %s resolves to %s, outside the root %s", dir, rdir,
                           rroot);
    return 0;
}

char *osm_stage_key_file(const char *stage, const char *url, const char *repo, size_t idx)
{
    if (strncmp(url, "file://", 7) == 0) {
        char *path = curl_easy_unescape(NULL, url + 7, 0, NULL);
        char *out = osm_xstrdup(path);
        curl_free(path);
        return out;
    }
    if (url[0] == '/')
        return osm_xstrdup(url);
    char *name = osm_xasprintf("keys/%s-%zu.asc", repo, idx);
    for (char *p = name + 5; *p; p++)
        if (*p == '/')
            *p = '_';
    char *dest = osm_path_join(stage, name);
    free(name);
    return dest;
}

/* A gpgkeys entry as a local file: http(s) keys are downloaded into the
 * stage's keys/ directory. Caller frees. */
static char *key_to_file(const char *url, const char *stage, const char *repo, size_t idx,
                         const struct osm_fetch_opts *fo, struct osm_err *err)
{
    char *dest = osm_stage_key_file(stage, url, repo, idx);
    if (strncmp(url, "file://", 7) == 0 || url[0] == '/')
        return dest;
    char *keys = osm_path_join(stage, "keys");
    int ok = osm_mkdir_p(keys, 0755, err) == 0 && osm_fetch_file(url, dest, NULL, NULL, fo, err) >= 0;
    free(keys);
    if (!ok) {
        osm_err_prefix(err, "gpg key of repo %s", repo);
        free(dest);
        return NULL;
    }
    return dest;
}

static int load_keys(const struct osm_planfile *plan, const char *stage, const struct osm_fetch_opts *fo,
                     struct osm_keyring **kr, struct osm_err *err)
{
    size_t n = 0, cap = 0;
    for (size_t r = 0; r < plan->n_repos; r++)
        cap += plan->repos[r].n_gpgkeys;
    char **files = osm_xcalloc(cap + 1, sizeof *files);
    int rc = -1;
    for (size_t r = 0; r < plan->n_repos; r++)
        for (size_t k = 0; k < plan->repos[r].n_gpgkeys; k++) {
            files[n] = key_to_file(plan->repos[r].gpgkeys[k], stage, plan->repos[r].id, k, fo, err);
            if (!files[n])
                goto out;
            n++;
        }
    if (n == 0) {
        osm_err_set(err, OSM_EINPUT,
                    "the plan lists no gpgkeys for the target's repos: cannot check signatures "
                    "(pass --no-signature-check to stage without checking)");
        goto out;
    }
    rc = osm_keyring_load((const char *const *)files, n, kr, err);
out:
    osm_free_strv(files, n);
    return rc;
}

static int check_space(const char *stage, uint64_t need_pkgs, int64_t reserve, struct osm_err *err)
{
    struct statvfs vfs;
    if (statvfs(stage, &vfs) != 0)
        return osm_err_errno(err, "statvfs %s", stage);
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    uint64_t need = need_pkgs + (uint64_t)(reserve > 0 ? reserve : 0);
    if (avail < need)
        return osm_err_set(err, OSM_EIO,
                           "not enough free space in %s: staging needs %llu bytes (%llu of packages + %llu reserve), "
                           "%llu available; free some space on the system disk",
                           stage, (unsigned long long)need, (unsigned long long)need_pkgs,
                           (unsigned long long)(reserve > 0 ? reserve : 0), (unsigned long long)avail);
    return 0;
}

static int sync_stage(const char *stage, struct osm_err *err)
{
    int fd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "opening %s", stage);
    int rc = syncfs(fd);
    close(fd);
    return rc == 0 ? 0 : osm_err_errno(err, "syncing %s", stage);
}

/* The manifest, written inside the root (a link there cannot lead out). */
static int write_manifest(const struct osm_planfile *plan, const char *root, struct osm_fetch_item *items,
                          const struct osm_planfile_action **acts, size_t n, int sigchecked, struct osm_err *err)
{
    json_t *pkgs = json_array();
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        uint64_t size = stat(items[i].dest, &st) == 0 ? (uint64_t)st.st_size : 0;
        json_array_append_new(pkgs, json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:I, s:s}", "name", acts[i]->name,
                                              "action", osm_planfile_kind_name(acts[i]->kind), "to", acts[i]->to, "file",
                                              acts[i]->filename, "checksum", "type", acts[i]->checksum_type, "value",
                                              acts[i]->checksum, "size", (json_int_t)size, "signature",
                                              sigchecked ? "verified" : "not checked"));
    }
    json_t *m = json_pack("{s:i, s:s, s:b, s:o}", "osmig_stage", 1, "target", plan->target_id, "signature_check",
                          sigchecked, "packages", pkgs);
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(m);
    int rc = osm_root_write_file_atomic(root, OSM_STAGE_SUBDIR "/" OSM_STAGE_MANIFEST, text, strlen(text), 0644, err);
    free(text);
    return rc;
}

int osm_stage(const struct osm_planfile *plan, const char *root, const struct osm_stage_opts *opts,
              struct osm_stage_result *res, struct osm_err *err)
{
    struct osm_stage_opts o = opts ? *opts : (struct osm_stage_opts){0};
    struct osm_stage_result r = {0};
    int64_t reserve = o.reserve_bytes == 0 ? DEFAULT_RESERVE : o.reserve_bytes;
    char *stage = osm_stage_dir(root);
    struct osm_fetch_item *items = osm_xcalloc(plan->n_actions + 1, sizeof *items);
    const struct osm_planfile_action **acts = osm_xcalloc(plan->n_actions + 1, sizeof *acts);
    char **dests = osm_xcalloc(plan->n_actions + 1, sizeof *dests);
    char **urls = osm_xcalloc(plan->n_actions + 1, sizeof *urls);
    struct osm_keyring *kr = NULL;
    size_t n = 0;
    int rc = -1;

    if (!osm_is_dir(root)) {
        osm_err_set(err, OSM_ENOTFOUND, "root %s is not a directory", root);
        goto out;
    }
    /* A symlink on the way that the host would follow out of the root is
     * refused outright (stage is resolved inside the root anyway). */
    char *naive = osm_path_join(root, OSM_STAGE_SUBDIR);
    int outside = check_inside_root(root, naive, err) < 0;
    free(naive);
    if (outside || check_inside_root(root, stage, err) < 0 || osm_mkdir_p(stage, 0755, err) < 0 ||
        check_inside_root(root, stage, err) < 0)
        goto out;

    /* A stage being redone is not valid until its new manifest is written. */
    char *manifest = osm_path_join(stage, OSM_STAGE_MANIFEST);
    if (unlink(manifest) != 0 && errno != ENOENT) {
        osm_err_errno(err, "removing %s", manifest);
        free(manifest);
        goto out;
    }
    free(manifest);

    uint64_t need = 0;
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_planfile_action *a = &plan->actions[i];
        if (!osm_planfile_has_package(a))
            continue;
        for (size_t j = 0; j < n; j++)
            if (strcmp(acts[j]->filename, a->filename) == 0) {
                osm_err_set(err, OSM_EINPUT, "plan: %s and %s would both be staged as %s", acts[j]->to, a->to,
                            a->filename);
                goto out;
            }
        acts[n] = a;
        urls[n] = osm_xasprintf("%s%s", a->repo_ref->baseurl, a->location);
        dests[n] = osm_path_join(stage, a->filename);
        items[n] = (struct osm_fetch_item){.url = urls[n], .dest = dests[n], .checksum_type = a->checksum_type,
                                           .checksum = a->checksum, .size = a->download_size, .label = a->to};
        if (!osm_is_file(dests[n]))
            need += a->download_size;
        n++;
    }
    if (check_space(stage, need, reserve, err) < 0)
        goto out;

    struct osm_fetch_opts fo = o.fetch;
    fo.root = root; /* packages and keys are written only inside the root */
    /* One syncfs before the manifest instead of an fsync per package: a file
     * torn by a crash is caught by its digest on the next run anyway. */
    fo.no_fsync = 1;
    fo.progress = o.progress;
    fo.userdata = o.userdata;
    if (!o.no_signature_check && n > 0) {
        struct osm_fetch_opts ko = fo;
        ko.progress = NULL;
        if (load_keys(plan, stage, &ko, &kr, err) < 0)
            goto out;
    }
    osm_info("stage.download", "packages=%zu bytes_to_fetch=%llu dir=%s", n, (unsigned long long)need, stage);
    if (osm_fetch_many(items, n, &fo, err) < 0) {
        osm_err_prefix(err, "staging");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        r.reused += items[i].reused;
        r.bytes += stat(dests[i], &st) == 0 ? (uint64_t)st.st_size : 0;
    }
    r.packages = n;
    if (kr) {
        for (size_t i = 0; i < n; i++) {
            if (o.progress) {
                struct osm_progress p = {.phase = "sigcheck", .pkgs_done = i, .pkgs_total = n, .current = acts[i]->to};
                o.progress(&p, o.userdata);
            }
            if (osm_sigcheck_package(kr, dests[i], acts[i]->to, err) < 0) {
                osm_err_prefix(err, "signature check");
                goto out;
            }
        }
        r.signatures_checked = 1;
    } else {
        osm_warn("stage.no_signature_check", "packages=%zu reason=\"disabled by the caller\"", n);
    }
    if ((r.reused < n && sync_stage(stage, err) < 0) ||
        write_manifest(plan, root, items, acts, n, r.signatures_checked, err) < 0)
        goto out;
    rc = 0;
out:
    if (res)
        *res = r;
    osm_keyring_free(kr);
    for (size_t i = 0; i < n; i++) {
        free(dests[i]);
        free(urls[i]);
    }
    free(dests);
    free(urls);
    free(items);
    free(acts);
    free(stage);
    return rc;
}
