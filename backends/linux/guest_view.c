/* guest_view.c: see guest_view.h. */
#include "guest_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"

/* Single files: copied when they exist (os-release is a link on EL: the
 * agent reads through it). */
static const char *const FILES[] = {"/etc/os-release",     "/usr/lib/os-release", "/etc/redhat-release",
                                    "/etc/centos-release", "/etc/system-release", "/etc/alinux-release",
                                    "/etc/anolis-release", "/etc/fstab"};
/* Directories whose regular files are copied (one level). */
static const char *const DIRS[] = {"/var/lib/rpm", "/usr/lib/sysimage/rpm", "/etc/yum.repos.d"};

/* guest_path copied to VIEW/guest_path; 0, or -1 and err. */
static int copy_one(struct osm_instance *inst, const char *view, const char *guest_path, struct osm_err *err)
{
    char *host = osm_path_join(view, guest_path);
    char *parent = osm_xstrdup(host);
    *strrchr(parent, '/') = '\0';
    int rc = osm_mkdir_p(parent, 0700, err) == 0 ? inst->provider->copy_out(inst, guest_path, host, err) : -1;
    free(parent);
    free(host);
    return rc;
}

/* The regular files of guest directory `dir` ("ls -1Ap": directories end
 * in '/'); none when it does not exist. */
static int copy_dir(struct osm_instance *inst, const char *view, const char *dir, size_t *copied, struct osm_err *err)
{
    const char *argv[] = {"ls", "-1Ap", "--", dir, NULL};
    struct osm_buf out;
    osm_buf_init(&out);
    struct osm_err e = OSM_ERR_INIT;
    int status = inst->provider->run(inst, argv, &out, &e);
    if (status != 0) { /* no such directory (or ls said why): nothing to copy */
        osm_buf_free(&out);
        return status < 0 ? (*err = e, -1) : 0;
    }
    int rc = 0;
    char *save = NULL;
    for (char *name = strtok_r(out.s ? out.s : (char *)"", "\n", &save); rc == 0 && name;
         name = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(name);
        if (n == 0 || name[n - 1] == '/' || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        /* Berkeley DB's environment files are the guest's running state, not data. */
        if (strncmp(name, "__db.", 5) == 0)
            continue;
        char *guest = osm_path_join(dir, name);
        rc = copy_one(inst, view, guest, err);
        if (rc == 0)
            (*copied)++;
        else
            osm_err_prefix(err, "copying %s out of %s", guest, inst->uri);
        free(guest);
    }
    osm_buf_free(&out);
    return rc;
}

char *osm_guest_view_open(struct osm_instance *inst, struct osm_err *err)
{
    if (!inst->provider->run || !inst->provider->copy_out) {
        osm_err_set(err, OSM_EUNSUPPORTED,
                    "instance %s has no root this host can reach, and its provider can neither run a command in it "
                    "nor copy a file out",
                    inst->uri);
        return NULL;
    }
    const char *tmp = getenv("TMPDIR");
    char *dir = osm_xasprintf("%s/osmig-guest-XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
    if (!mkdtemp(dir)) {
        osm_err_errno(err, "making a directory for the view of %s (%s)", inst->uri, dir);
        free(dir);
        return NULL;
    }
    size_t copied = 0;
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        struct osm_err e = OSM_ERR_INIT; /* absent files are the rule */
        if (copy_one(inst, dir, FILES[i], &e) == 0)
            copied++;
    }
    for (size_t i = 0; i < sizeof DIRS / sizeof DIRS[0]; i++)
        if (copy_dir(inst, dir, DIRS[i], &copied, err) != 0) {
            osm_guest_view_close(dir);
            return NULL;
        }
    osm_info("guest_view.open", "instance=%s files=%zu dir=%s", inst->uri, copied, dir);
    return dir;
}

void osm_guest_view_close(char *dir)
{
    if (!dir)
        return;
    struct osm_err e = OSM_ERR_INIT;
    if (osm_remove_tree(dir, &e) != 0)
        osm_warn("guest_view.close", "dir=%s error=\"%s\"", dir, e.msg);
    free(dir);
}
