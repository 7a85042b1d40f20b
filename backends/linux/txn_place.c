/* txn_place.c: see txn_place.h. In a guest every operation is one `run` of
 * a fixed script whose paths come as arguments ("$1"), never in the script
 * text. */
#include "txn_place.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_fs.h"
#include "osm_log.h"
#include "osm_run.h"
#include "userspace.h"

/* Between rpm's stdout and its stderr in a guest's run output. */
#define ERR_MARK "\n@@osmig-stderr@@\n"
#define ERR_FILE "/var/lib/osmig/rpm-stderr.txt"

const char *osm_place_name(const struct osm_txn_place *pl)
{
    return pl->guest ? pl->guest->uri : pl->root;
}

static int guest_run(const struct osm_txn_place *pl, const char *const *argv, struct osm_buf *out,
                     struct osm_err *err)
{
    struct osm_instance *g = pl->guest;
    if (!g->provider->run)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance %s: its provider cannot run a command in it", g->uri);
    struct osm_buf tmp;
    osm_buf_init(&tmp);
    int st = g->provider->run(g, argv, out ? out : &tmp, err);
    osm_buf_free(&tmp);
    return st;
}

/* /bin/sh -c SCRIPT sh ARG...: a fixed script, its data as arguments. */
static int guest_sh(const struct osm_txn_place *pl, const char *script, const char *a1, const char *a2,
                    struct osm_buf *out, struct osm_err *err)
{
    const char *argv[] = {"/bin/sh", "-c", script, "sh", a1, a2, NULL};
    return guest_run(pl, argv, out, err);
}

/* guest_sh on one path, for a change that either happens or fails: a
 * nonzero exit becomes "instance URI: WHAT PATH: its output". 0 or -1. */
static int guest_change(const struct osm_txn_place *pl, const char *script, const char *what, const char *path,
                        struct osm_err *err)
{
    struct osm_buf b;
    osm_buf_init(&b);
    int st = guest_sh(pl, script, path, NULL, &b, err);
    if (st > 0)
        osm_err_set(err, OSM_EIO, "instance %s: %s %s: %.300s", pl->guest->uri, what, path, b.s ? b.s : "");
    osm_buf_free(&b);
    return st == 0 ? 0 : -1;
}

int osm_place_run(const struct osm_txn_place *pl, const char *const *argv, struct osm_buf *out, struct osm_err *err)
{
    if (pl->guest)
        return guest_run(pl, argv, out, err);
    struct osm_run_opts ro = {.chroot_dir = pl->root, .out = out, .errout = out};
    return osm_run(argv, &ro, err);
}

int osm_place_rpm(const struct osm_txn_place *pl, const char *program, const char *const *args,
                  void (*on_line)(const char *line, void *ud), void *ud, struct osm_buf *out, struct osm_buf *errout,
                  struct osm_err *err)
{
    if (!pl->guest)
        return osm_userspace_rpm(pl->root, program, args, on_line, ud, out, errout, err);
    if (!osm_place_userspace_ready(pl))
        return osm_err_set(err, OSM_ENOTFOUND, "%s: no target userspace in %s", pl->guest->uri,
                           OSM_USERSPACE_SUBDIR);
    char **rargv = osm_userspace_argv(pl->root, program, args, 1, err);
    if (!rargv)
        return -1;
    size_t n = 0;
    while (rargv[n])
        n++;
    /* stderr to a file, printed after a mark: run gives one stream. */
    const char **argv = osm_xcalloc(n + 6, sizeof *argv);
    size_t k = 0;
    argv[k++] = "/bin/sh";
    argv[k++] = "-c";
    argv[k++] = "e=$1; shift; \"$@\" 2>\"$e\"; s=$?; printf '" ERR_MARK "'; cat \"$e\"; rm -f \"$e\"; exit $s";
    argv[k++] = "sh";
    argv[k++] = ERR_FILE;
    for (size_t i = 0; i < n; i++)
        argv[k++] = rargv[i];
    argv[k] = NULL;
    struct osm_buf all;
    osm_buf_init(&all);
    int st = guest_run(pl, argv, &all, err);
    free(argv);
    osm_userspace_argv_free(rargv);
    if (st >= 0) {
        char *mark = all.s ? strstr(all.s, ERR_MARK) : NULL;
        const char *e = mark ? mark + strlen(ERR_MARK) : "";
        if (mark)
            *mark = '\0';
        if (st == 127 && !mark)
            st = osm_err_set(err, OSM_EFAIL, "%s: the target's rpm could not be started: %.500s", pl->guest->uri,
                             all.s ? all.s : "");
        if (out)
            osm_buf_adds(out, all.s ? all.s : "");
        if (errout)
            osm_buf_adds(errout, e);
        if (on_line && all.s) {
            char *save = NULL;
            for (char *l = strtok_r(all.s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                on_line(l, ud);
        }
    }
    osm_buf_free(&all);
    return st;
}

int osm_place_read(const struct osm_txn_place *pl, const char *path, struct osm_buf *out, struct osm_err *err)
{
    if (!pl->guest) {
        char *p = osm_root_path(pl->root, path);
        int rc = !osm_is_file(p) ? 0 : osm_read_file(p, out, err) == 0 ? 1 : -1;
        free(p);
        return rc;
    }
    struct osm_buf b;
    osm_buf_init(&b);
    int st = guest_sh(pl, "[ -f \"$1\" ] || exit 3; exec cat -- \"$1\"", path, NULL, &b, err);
    int rc = st == 0 ? 1 : st == 3 ? 0 : -1;
    if (st == 0)
        osm_buf_adds(out, b.s ? b.s : "");
    else if (st > 0 && st != 3)
        osm_err_set(err, OSM_EIO, "instance %s: reading %s: %.300s", pl->guest->uri, path, b.s ? b.s : "");
    osm_buf_free(&b);
    return rc;
}

int osm_place_write(const struct osm_txn_place *pl, const char *path, const char *data, size_t len,
                    struct osm_err *err)
{
    if (!pl->guest)
        return osm_root_write_file_atomic(pl->root, path, data, len, 0644, err);
    struct osm_instance *g = pl->guest;
    if (!g->provider->copy_in)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance %s: its provider cannot copy a file in", g->uri);
    const char *tmp = getenv("TMPDIR");
    char *host = osm_xasprintf("%s/osmig-place-XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
    int fd = mkstemp(host);
    int rc = -1;
    if (fd < 0) {
        osm_err_errno(err, "making a temporary file for %s of %s", path, g->uri);
    } else {
        ssize_t w = write(fd, data, len);
        if (close(fd) != 0 || w < 0 || (size_t)w != len)
            osm_err_errno(err, "writing %s", host);
        else if (chmod(host, 0644) != 0)
            osm_err_errno(err, "chmod %s", host);
        else
            rc = g->provider->copy_in(g, host, path, err);
        unlink(host);
    }
    free(host);
    return rc;
}

int osm_place_mkdir(const struct osm_txn_place *pl, const char *path, struct osm_err *err)
{
    if (!pl->guest) {
        char *p = osm_root_path(pl->root, path);
        int rc = osm_mkdir_p(p, 0755, err);
        free(p);
        return rc;
    }
    return guest_change(pl, "exec mkdir -p -m 755 -- \"$1\"", "mkdir", path, err);
}

int osm_place_unlink(const struct osm_txn_place *pl, const char *path, struct osm_err *err)
{
    if (!pl->guest) {
        char *p = osm_root_path(pl->root, path);
        int rc = unlink(p) != 0 && errno != ENOENT ? osm_err_errno(err, "removing %s", p) : 0;
        free(p);
        return rc;
    }
    return guest_change(pl, "exec rm -f -- \"$1\"", "removing", path, err);
}

int osm_place_is_file(const struct osm_txn_place *pl, const char *path)
{
    if (!pl->guest) {
        char *p = osm_root_path(pl->root, path);
        int yes = osm_is_file(p);
        free(p);
        return yes;
    }
    struct osm_err e = OSM_ERR_INIT;
    return guest_sh(pl, "[ -f \"$1\" ]", path, NULL, NULL, &e) == 0;
}

/* Does the directory holding `host` resolve inside `root`? (A parent that
 * became a symlink since assess must not send the change elsewhere.) */
static int parent_inside(const char *root, const char *host)
{
    char *parent = osm_xstrdup(host);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    char *rp = realpath(parent, NULL), *rr = realpath(root, NULL);
    size_t rl = rr ? strlen(rr) : 0;
    int ok = rp && rr && strncmp(rp, rr, rl) == 0 && (rp[rl] == '/' || rp[rl] == '\0');
    free(rp);
    free(rr);
    free(parent);
    return ok;
}

int osm_place_symlink_to_dir(const struct osm_txn_place *pl, const char *path, struct osm_err *err)
{
    if (pl->guest) {
        struct osm_buf b;
        osm_buf_init(&b);
        int st = guest_sh(pl, "[ -L \"$1\" ] || exit 3; rm -f -- \"$1\" && exec mkdir -m 755 -- \"$1\"", path, NULL,
                          &b, err);
        if (st > 0 && st != 3)
            osm_err_set(err, OSM_EIO, "instance %s: replacing the symlink %s by a directory: %.300s",
                        pl->guest->uri, path, b.s ? b.s : "");
        osm_buf_free(&b);
        return st == 0 ? 1 : st == 3 ? 0 : -1;
    }
    char *host = osm_root_path(pl->root, path);
    struct stat st;
    int rc = 0;
    if (!parent_inside(pl->root, host))
        rc = osm_err_set(err, OSM_EINPUT, "%s: its parent directory resolves outside the instance root", path);
    else if (lstat(host, &st) == 0 && S_ISLNK(st.st_mode))
        rc = unlink(host) != 0 || mkdir(host, 0755) != 0
                 ? osm_err_errno(err, "replacing the symlink %s by a directory", path)
                 : 1;
    free(host);
    return rc;
}

static int in_place(const char *path, void *pl)
{
    return osm_place_is_file(pl, path);
}

enum osm_rpmdb_format osm_place_rpmdb_format(const struct osm_txn_place *pl)
{
    if (!pl->guest)
        return osm_rpmdb_format(pl->root);
    return osm_rpmdb_format_seen(in_place, (void *)pl);
}

int osm_place_userspace_ready(const struct osm_txn_place *pl)
{
    if (!pl->guest)
        return osm_userspace_ready(pl->root);
    return osm_place_is_file(pl, OSM_USERSPACE_SUBDIR "/" OSM_USERSPACE_MARKER);
}
