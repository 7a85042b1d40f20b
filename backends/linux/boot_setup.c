/* boot_setup.c: see boot_setup.h. Every command run in the instance is a
 * fixed script; paths and names come as its arguments. */
#include "boot_setup.h"

#include <ctype.h>
#include <glob.h>
#include <solv/pool.h>
#include <solv/solvable.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "bootloader.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "plan_priv.h"

#define MIB (1024LL * 1024LL)
#define INITRAMFS_GUESS (32 * MIB) /* when /boot holds no initramfs to go by */

static int is_kernel(const char *name)
{
    return strcmp(name, "kernel") == 0 || strcmp(name, "kernel-core") == 0;
}

/* ---- assess ------------------------------------------------------------- */

/* /boot's free bytes and its largest initramfs; -1 when unknown. */
static long long boot_space(const struct osm_txn_place *pl, long long *initramfs)
{
    *initramfs = 0;
    if (!pl->guest) {
        char *b = osm_root_path(pl->root, "/boot");
        struct statvfs sv;
        long long fr = statvfs(b, &sv) == 0 ? (long long)sv.f_bavail * (long long)sv.f_frsize : -1;
        char *pat = osm_xasprintf("%s/initramfs-*.img", b);
        glob_t g;
        if (glob(pat, 0, NULL, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; i++) {
                struct stat st;
                if (stat(g.gl_pathv[i], &st) == 0 && st.st_size > *initramfs)
                    *initramfs = st.st_size;
            }
            globfree(&g);
        }
        free(pat);
        free(b);
        return fr;
    }
    const char *argv[] = {"/bin/sh", "-c",
                          "df -Pk /boot | tail -n 1 || exit 1; for f in /boot/initramfs-*.img; do "
                          "[ -f \"$f\" ] && echo \"size $(wc -c <\"$f\")\"; done; exit 0",
                          NULL};
    struct osm_buf out;
    osm_buf_init(&out);
    struct osm_err e = OSM_ERR_INIT;
    long long fr = -1;
    if (osm_place_run(pl, argv, &out, &e) == 0 && out.s) {
        char dev[256];
        long long total, used, avail;
        if (sscanf(out.s, "%255s %lld %lld %lld", dev, &total, &used, &avail) == 4)
            fr = avail * 1024;
        for (const char *p = strstr(out.s, "size "); p; p = strstr(p + 5, "size ")) {
            long long s = atoll(p + 5);
            if (s > *initramfs)
                *initramfs = s;
        }
    } else {
        osm_warn("boot.space", "instance=%s error=\"%s\"", osm_place_name(pl), e.msg[0] ? e.msg : out.s ? out.s : "");
    }
    osm_buf_free(&out);
    return fr;
}

void osm_boot_assess(struct osm_plan *plan, const struct osm_txn_place *pl)
{
    Pool *pool = plan->sys->pool;
    const struct osm_action *k = NULL;
    for (size_t i = 0; i < plan->n_actions && !k; i++)
        if (plan->actions[i].to && plan->actions[i].kind != OSM_ACT_KEEP &&
            is_kernel(pool_id2str(pool, pool->solvables[plan->actions[i].to].name)))
            k = &plan->actions[i];
    if (!k)
        return; /* the kernel stays: nothing to boot that is new */
    Solvable *s = &pool->solvables[k->to];
    long long kernel = (long long)solvable_lookup_num(s, SOLVABLE_INSTALLSIZE, 0);
    long long initramfs;
    long long fr = boot_space(pl, &initramfs);
    long long need = kernel + (initramfs > 0 ? initramfs : INITRAMFS_GUESS);
    if (fr >= 0 && fr < need) {
        struct osm_finding *f = osm_plan_add_finding(
            plan, "boot-space", 1, "free space in /boot (remove old kernels and their initramfs) or enlarge /boot",
            "/boot has %lld MiB free; the target's kernel %s and its initramfs need about %lld MiB (%lld MiB more)",
            fr / MIB, pool_solvable2str(pool, s), (need + MIB - 1) / MIB, (need - fr + MIB - 1) / MIB);
        osm_finding_add_item(f, "/boot: %lld MiB free, %lld MiB needed", fr / MIB, (need + MIB - 1) / MIB);
    }
    if (!pl->guest)
        return; /* a root tree is not booted by osmig: its bootloader is not osmig's to change */
    char *config = NULL;
    const struct osm_bootloader *bl = osm_bootloader_detect(pl, &config);
    if (!bl) {
        char *looked = osm_bootloader_looked_for();
        struct osm_finding *f = osm_plan_add_finding(
            plan, "bootloader", 1, "install a bootloader osmig knows (syslinux/extlinux) or migrate by hand",
            "no bootloader configuration that osmig knows: it cannot make the target's kernel the default entry");
        osm_finding_add_item(f, "looked for %s", looked);
        free(looked);
    } else if (!bl->set_default) {
        struct osm_finding *f = osm_plan_add_finding(
            plan, "bootloader", 1, "wait for osmig's grub2 support (grubby/grub2-mkconfig) or migrate by hand",
            "bootloader %s (%s): osmig cannot write its boot entry for the target's kernel yet", bl->name, config);
        osm_finding_add_item(f, "%s: %s", bl->name, config);
    }
    free(config);
}

/* ---- setup -------------------------------------------------------------- */

/* The release of the installed package `nevra`: the KREL of its
 * /lib/modules/KREL/ or /boot/vmlinuz-KREL. */
static char *kernel_release(const struct osm_txn_place *pl, const char *nevra, struct osm_err *err)
{
    const char *argv[] = {"rpm", "-ql", nevra, NULL};
    struct osm_buf out;
    osm_buf_init(&out);
    int st = osm_place_run(pl, argv, &out, err);
    char *krel = NULL;
    if (st > 0)
        osm_err_set(err, OSM_EFAIL, "%s: rpm -ql %s: %.300s", osm_place_name(pl), nevra, out.s ? out.s : "");
    char *save = NULL;
    for (char *l = st == 0 ? strtok_r(out.s, "\n", &save) : NULL; l && !krel; l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "/lib/modules/", 13) == 0 && strchr(l + 13, '/'))
            krel = osm_xasprintf("%.*s", (int)(strchr(l + 13, '/') - (l + 13)), l + 13);
        else if (strncmp(l, "/boot/vmlinuz-", 14) == 0 && l[14])
            krel = osm_xstrdup(l + 14);
    }
    /* The release names files and a boot entry: plain characters only. */
    if (krel && (!*krel || krel[0] == '.' || strspn(krel, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                            "0123456789._+-") != strlen(krel))) {
        osm_err_set(err, OSM_EINPUT, "%s: the kernel package %s names the release '%s', which is not a plain "
                    "kernel release ([A-Za-z0-9._+-])", osm_place_name(pl), nevra, krel);
        free(krel);
        krel = NULL;
    } else if (st == 0 && !krel)
        osm_err_set(err, OSM_ENOTFOUND, "%s: the kernel package %s has no /lib/modules/KREL/ nor /boot/vmlinuz-KREL",
                    osm_place_name(pl), nevra);
    osm_buf_free(&out);
    return krel;
}

/* Initramfs builders, the first the instance has: its own, then dracut. */
static const struct builder {
    const char *path;
    const char *name;
} builders[] = {
    {"/etc/osmig/mkinitramfs", "the instance's own /etc/osmig/mkinitramfs"},
    {"/usr/bin/dracut", "the target's dracut"},
    {"/usr/sbin/dracut", "the target's dracut"},
};

static const char SETUP_SCRIPT[] =
    /* $1 KREL, $2 builder; dracut takes OUT KREL, the others KREL OUT */
    "k=$1; b=$2; v=/boot/vmlinuz-$k; i=/boot/initramfs-$k.img\n"
    "if [ ! -s \"$v\" ]; then [ -s \"/lib/modules/$k/vmlinuz\" ] || { echo \"no $v nor /lib/modules/$k/vmlinuz\"; exit 1; }\n"
    "  cp \"/lib/modules/$k/vmlinuz\" \"$v\" || exit 1; fi\n"
    "case \"$b\" in */dracut) \"$b\" -f \"$i\" \"$k\" ;; *) \"$b\" \"$k\" \"$i\" ;; esac 2>&1 || exit 1\n"
    "[ -s \"$i\" ] || { echo \"$b made no $i\"; exit 1; }\n"
    "sync\n";

int osm_boot_setup(const struct osm_planfile *pf, const struct osm_txn_place *pl, char **krel, struct osm_buf *said,
                   struct osm_err *err)
{
    *krel = NULL;
    const char *nevra = NULL;
    for (size_t i = 0; i < pf->n_actions && !nevra; i++)
        if (pf->actions[i].to && pf->actions[i].kind != OSM_PF_KEEP && pf->actions[i].kind != OSM_PF_ERASE &&
            is_kernel(pf->actions[i].name))
            nevra = pf->actions[i].to;
    if (!nevra)
        return 0;
    const char *where = osm_place_name(pl);
    char *config = NULL;
    const struct osm_bootloader *bl = osm_bootloader_detect(pl, &config);
    if (!bl || !bl->set_default) {
        osm_err_set(err, OSM_EUNSUPPORTED, "%s: %s%s%s: osmig cannot make the target's kernel the default entry",
                    where, bl ? bl->name : "no bootloader osmig knows", bl ? " " : "", config ? config : "");
        free(config);
        return -1;
    }
    const struct builder *b = NULL;
    for (size_t i = 0; i < sizeof builders / sizeof builders[0] && !b; i++) {
        const char *argv[] = {"test", "-x", builders[i].path, NULL};
        struct osm_err e = OSM_ERR_INIT;
        if (osm_place_run(pl, argv, NULL, &e) == 0)
            b = &builders[i];
    }
    char *k = kernel_release(pl, nevra, err);
    int rc = -1;
    if (!k)
        goto out;
    if (!b) {
        osm_err_set(err, OSM_ENOTFOUND, "%s: no initramfs builder for kernel %s (looked for %s, %s, %s)", where, k,
                    builders[0].path, builders[1].path, builders[2].path);
        goto out;
    }
    const char *argv[] = {"/bin/sh", "-c", SETUP_SCRIPT, "sh", k, b->path, NULL};
    struct osm_buf out;
    osm_buf_init(&out);
    int st = osm_place_run(pl, argv, &out, err);
    if (st > 0)
        osm_err_set(err, OSM_EFAIL, "%s: the initramfs of kernel %s by %s: %.500s", where, k, b->name,
                    out.s ? out.s : "");
    osm_buf_free(&out);
    if (st != 0)
        goto out;
    char *vmlinuz = osm_xasprintf("/boot/vmlinuz-%s", k);
    char *initrd = osm_xasprintf("/boot/initramfs-%s.img", k);
    osm_buf_addf(said, "kernel %s (%s): initramfs %s by %s; ", k, nevra, initrd, b->name);
    rc = bl->set_default(pl, config, k, vmlinuz, initrd, said, err);
    free(vmlinuz);
    free(initrd);
    if (rc == 0)
        osm_info("boot.setup", "instance=%s kernel=%s builder=%s bootloader=%s config=%s", where, k, b->path, bl->name,
                 config);
out:
    if (rc == 0)
        *krel = k;
    else
        free(k);
    free(config);
    return rc;
}
