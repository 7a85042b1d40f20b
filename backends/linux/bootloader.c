/* bootloader.c: see bootloader.h. */
#include "bootloader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syslinux_cfg.h"

/* ---- where a file's partition is mounted -------------------------------- */

/* The longest mount point of /proc/mounts that holds `path` ("/" for a root
 * on this host, which has no mounts of its own). */
static char *mount_point_of(const struct osm_txn_place *pl, const char *path)
{
    struct osm_buf m;
    osm_buf_init(&m);
    struct osm_err e = OSM_ERR_INIT;
    char *best = osm_xstrdup("/");
    if (pl->guest && osm_place_read(pl, "/proc/mounts", &m, &e) == 1) {
        char *save = NULL;
        for (char *l = strtok_r(m.s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            char dev[256], dir[512];
            if (sscanf(l, "%255s %511s", dev, dir) != 2)
                continue;
            size_t n = strlen(dir);
            if (strncmp(path, dir, n) == 0 && path[n] == '/' && n > strlen(best)) {
                free(best);
                best = osm_xstrdup(dir);
            }
        }
    }
    osm_buf_free(&m);
    return best;
}

/* A path of the syslinux file (its partition's, or relative to the file's
 * directory) as an instance path. */
static char *instance_path(const char *mnt, const char *config, const char *p)
{
    if (p[0] != '/') {
        char *dir = osm_xstrdup(config);
        *strrchr(dir, '/') = '\0';
        char *r = osm_xasprintf("%s/%s", dir, p);
        free(dir);
        return r;
    }
    return strcmp(mnt, "/") == 0 ? osm_xstrdup(p) : osm_xasprintf("%s%s", mnt, p);
}

/* An instance path as the syslinux file names it. */
static const char *partition_path(const char *mnt, const char *p)
{
    return strcmp(mnt, "/") == 0 ? p : p + strlen(mnt);
}

/* 1 when both files exist and are not empty. */
static int both_nonempty(const struct osm_txn_place *pl, const char *a, const char *b, struct osm_err *err)
{
    const char *argv[] = {"/bin/sh", "-c", "[ -s \"$1\" ] && [ -s \"$2\" ]", "sh", a, b, NULL};
    int st = osm_place_run(pl, argv, NULL, err);
    return st < 0 ? -1 : st == 0;
}

/* ---- syslinux / extlinux ------------------------------------------------ */

static int syslinux_set_default(const struct osm_txn_place *pl, const char *config, const char *krel,
                                const char *vmlinuz, const char *initrd, struct osm_buf *said, struct osm_err *err)
{
    const char *where = osm_place_name(pl);
    char *mnt = mount_point_of(pl, config);
    struct osm_buf text;
    osm_buf_init(&text);
    char *what = osm_xasprintf("%s:%s", where, config);
    char *next = NULL;
    int rc = -1;
    int r = osm_place_read(pl, config, &text, err);
    if (r == 0)
        osm_err_set(err, OSM_ENOTFOUND, "%s: no such file", what);
    if (r != 1)
        goto out;
    if (strncmp(vmlinuz, mnt, strlen(mnt)) != 0 || strncmp(initrd, mnt, strlen(mnt)) != 0) {
        osm_err_set(err, OSM_EUNSUPPORTED, "%s: %s and %s are not on the partition syslinux boots from (%s)", what,
                    vmlinuz, initrd, mnt);
        goto out;
    }
    next = osm_syslinux_set_default(text.s ? text.s : "", what, krel, partition_path(mnt, vmlinuz),
                                    partition_path(mnt, initrd), err);
    if (!next || osm_place_write(pl, config, next, strlen(next), err) != 0)
        goto out;
    /* Read back what the bootloader will read. */
    osm_buf_reset(&text);
    struct osm_sl_cfg cfg;
    if (osm_place_read(pl, config, &text, err) != 1 || osm_syslinux_parse(text.s, what, &cfg, err) != 0) {
        osm_err_prefix(err, "reading back the boot entry");
        goto out;
    }
    const struct osm_sl_entry *d = &cfg.entries[cfg.def];
    char *k = d->kernel ? instance_path(mnt, config, d->kernel) : NULL;
    char *i = d->initrd ? instance_path(mnt, config, d->initrd) : NULL;
    int ok = strcmp(d->label, krel) == 0 && k && i ? both_nonempty(pl, k, i, err) : 0;
    if (ok == 0)
        osm_err_set(err, OSM_EFAIL,
                    "%s: the default entry %s names kernel %s and initramfs %s (instance paths %s, %s): they must "
                    "be the target kernel %s's, present and not empty",
                    what, d->label, d->kernel ? d->kernel : "(none)", d->initrd ? d->initrd : "(none)",
                    k ? k : "-", i ? i : "-", krel);
    else if (ok == 1) {
        osm_buf_addf(said, "default entry %s in %s (syslinux): kernel %s, initramfs %s, both present", krel, config,
                     k, i);
        rc = 0;
    }
    free(k);
    free(i);
    osm_syslinux_free(&cfg);
out:
    free(next);
    free(what);
    free(mnt);
    osm_buf_free(&text);
    return rc;
}

/* ---- the table ---------------------------------------------------------- */

static const char *const syslinux_configs[] = {"/boot/syslinux.cfg", "/boot/syslinux/syslinux.cfg",
                                               "/boot/extlinux/extlinux.conf", "/boot/extlinux.conf",
                                               "/boot/syslinux/extlinux.conf", NULL};
static const char *const grub2_configs[] = {"/boot/grub2/grub.cfg", "/boot/grub/grub.cfg",
                                            "/boot/efi/EFI/redhat/grub.cfg", "/boot/efi/EFI/centos/grub.cfg",
                                            "/etc/default/grub", NULL};

static const struct osm_bootloader table[] = {
    {"syslinux", syslinux_configs, syslinux_set_default},
    {"grub2", grub2_configs, NULL},
};

const struct osm_bootloader *osm_bootloader_detect(const struct osm_txn_place *pl, char **config)
{
    *config = NULL;
    for (size_t t = 0; t < sizeof table / sizeof table[0]; t++)
        for (const char *const *c = table[t].configs; *c; c++)
            if (osm_place_is_file(pl, *c)) {
                *config = osm_xstrdup(*c);
                return &table[t];
            }
    return NULL;
}

char *osm_bootloader_looked_for(void)
{
    struct osm_buf b;
    osm_buf_init(&b);
    for (size_t t = 0; t < sizeof table / sizeof table[0]; t++)
        for (const char *const *c = table[t].configs; *c; c++)
            osm_buf_addf(&b, "%s%s", b.len ? ", " : "", *c);
    return osm_buf_detach(&b);
}
