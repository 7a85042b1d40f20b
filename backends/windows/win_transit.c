/* win_transit.c: transit disk = GPT + one NTFS/FAT32 partition with the media. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lazy_windows.h"

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "osm_run.h"
#include "win_fs.h"
#include "win_gpt.h"
#include "win_ntfs.h"
#include "win_transit.h"

#define MIB (1024ull * 1024)

/* mkntfs, sgdisk and mkfs.fat live in /usr/sbin, which a non-root PATH may
 * lack: fall back to the sbin directories for them. */
static const char *tool_path(const char *name, char *buf, size_t n)
{
    const char *path = getenv("PATH");
    for (const char *p = path ? path : ""; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(buf, n, "%.*s/%s", (int)len, p, name);
        if (len && access(buf, X_OK) == 0)
            return name;
        p += len + (p[len] == ':');
    }
    static const char *const sbins[] = {"/usr/sbin", "/sbin"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(buf, n, "%s/%s", sbins[i], name);
        if (access(buf, X_OK) == 0)
            return buf;
    }
    return name;
}

static int run_tool(const char *const argv_in[], struct osm_err *err)
{
    const char *argv[32];
    char resolved[512];
    size_t n = 0;
    for (; argv_in[n] && n < 31; n++)
        argv[n] = argv_in[n];
    argv[n] = NULL;
    argv[0] = tool_path(argv_in[0], resolved, sizeof resolved);
    struct osm_buf out;
    osm_buf_init(&out);
    struct osm_run_opts ro = {.out = &out, .errout = &out};
    static const char *const env[] = {"MTOOLS_SKIP_CHECK=1", NULL};
    ro.env = env;
    int st = osm_run(argv, &ro, err);
    if (st > 0) {
        char *nl;
        while (out.len && (nl = strrchr(out.s, '\n')) && nl[1] == '\0')
            *nl = '\0', out.len--;
        osm_err_set(err, OSM_EIO, "%s failed (exit %d): %s", argv[0], st, out.s);
    }
    osm_buf_free(&out);
    return st == 0 ? 0 : -1;
}

static _Thread_local uint64_t tree_apparent; /* nftw has no context pointer */
static int add_size(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)p, (void)ftw;
    if (flag == FTW_F)
        tree_apparent += (uint64_t)st->st_size;
    tree_apparent += 4096; /* per-entry metadata on the target */
    return 0;
}

static uint64_t round_mib(uint64_t n)
{
    return (n + MIB - 1) / MIB * MIB;
}

static char *sidecar_text(const struct win_transit_opts *o, const char *wim)
{
    struct stat st;
    if (stat(wim, &st) != 0)
        return NULL;
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:I}", "media", o->media_dir, "wim", wim, "wim_size",
                          (json_int_t)st.st_size, "wim_mtime", (json_int_t)st.st_mtime, "fs",
                          o->fs == WIN_TRANSIT_NTFS ? "ntfs" : "fat32", "format",
                          o->format == WIN_TRANSIT_RAW ? "raw" : "qcow2", "swm_part_bytes", (json_int_t)o->swm_part_bytes);
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2));
    json_decref(j);
    return s;
}

static int wim_err(struct osm_err *err, int r, const char *what, const char *path)
{
    return osm_err_set(err, OSM_EIO, "%s '%s': %s", what, path, wimlib_get_error_string((enum wimlib_error_code)r));
}

/* Fill an NTFS volume (a plain file) with the media tree: the small files
 * through wimlib's NTFS-3G extraction (no mount); install.wim only gets its
 * clusters here (win_ntfs), its bytes are copied once the volume sits at its
 * final place. WIM_REL is install.wim's path in the media. */
static int fill_ntfs(const char *media, const char *wim_rel, const char *vol, struct win_ntfs_extents **ext,
                     struct osm_err *err)
{
    char *cfg = osm_xasprintf("%s.wimcfg", vol);
    struct osm_buf text;
    osm_buf_init(&text);
    osm_buf_adds(&text, "[ExclusionList]\n\\");
    for (const char *c = wim_rel; *c; c++)
        osm_buf_addc(&text, *c == '/' ? '\\' : *c);
    osm_buf_addc(&text, '\n');
    WIMStruct *wim = NULL;
    int r = -1;
    if (osm_write_file_atomic(cfg, text.s, text.len, 0600, err) != 0)
        goto out;
    r = wimlib_create_new_wim(WIMLIB_COMPRESSION_TYPE_NONE, &wim);
    if (r == 0)
        r = wimlib_add_image(wim, media, "transit", cfg, WIMLIB_ADD_FLAG_NORPFIX);
    if (r != 0) {
        wim_err(err, r, "reading media", media);
        r = -1;
        goto out;
    }
    r = wimlib_extract_image(wim, 1, vol, WIMLIB_EXTRACT_FLAG_NTFS | WIMLIB_EXTRACT_FLAG_NO_ACLS);
    if (r != 0) {
        wim_err(err, r, "writing the NTFS volume", vol);
        r = -1;
        goto out;
    }
    /* "sources/install.wim" -> directory "/sources", name "install.wim" */
    const char *slash = strrchr(wim_rel, '/');
    char *dir = slash ? osm_xasprintf("/%.*s", (int)(slash - wim_rel), wim_rel) : osm_xstrdup("/");
    char *src = osm_path_join(media, wim_rel);
    struct stat st;
    if (stat(src, &st) != 0)
        r = osm_err_errno(err, "reading '%s'", src);
    else
        r = win_ntfs_allocate(vol, dir, slash ? slash + 1 : wim_rel, st.st_size, ext, err);
    free(dir);
    free(src);
out:
    wimlib_free(wim);
    unlink(cfg);
    free(cfg);
    osm_buf_free(&text);
    return r;
}

/* Put PREFIX zero bytes in front of the file's data: FALLOC_FL_INSERT_RANGE
 * moves extents instead of bytes; without it, copy. */
static int shift_right(const char *path, off_t prefix, struct osm_err *err)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "opening '%s'", path);
    if (fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, prefix) == 0) {
        close(fd);
        return 0;
    }
    osm_info("transit.shift", "mode=copy reason=%d", errno);
    char *tmp = osm_xasprintf("%s.shift", path);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = -1;
    struct stat st;
    if (out < 0 || fstat(fd, &st) != 0 || ftruncate(out, prefix) != 0 || lseek(out, prefix, SEEK_SET) < 0) {
        osm_err_errno(err, "shifting '%s'", path);
        goto done;
    }
    for (off_t left = st.st_size; left > 0;) {
        ssize_t n = copy_file_range(fd, NULL, out, NULL, (size_t)left, 0);
        if (n <= 0) {
            osm_err_errno(err, "copying '%s'", path);
            goto done;
        }
        left -= n;
    }
    if (rename(tmp, path) != 0) {
        osm_err_errno(err, "renaming '%s'", tmp);
        goto done;
    }
    rc = 0;
done:
    if (out >= 0)
        close(out);
    close(fd);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

static int partition(const char *img, uint64_t part_bytes, struct osm_err *err)
{
    return win_gpt_write(img, WIN_TRANSIT_PART_OFFSET / 512, part_bytes / 512, "OSMIG-TRANSIT", err);
}

static int build_ntfs(const struct win_transit_opts *o, const char *img, const char *wim_rel, uint64_t part_bytes,
                      struct osm_err *err)
{
    if (truncate(img, (off_t)part_bytes) != 0)
        return osm_err_errno(err, "sizing '%s'", img);
    const char *mk[] = {"mkntfs", "-F", "-Q", "-q", "-s", "512", "-p", "2048", "-H", "255", "-S", "63", "-L", "OSMIG-TRANSIT", img, NULL};
    struct win_ntfs_extents *ext = NULL;
    if (run_tool(mk, err) != 0 || fill_ntfs(o->media_dir, wim_rel, img, &ext, err) != 0)
        return -1;
    /* Shift while install.wim's clusters are still unwritten: only metadata moves. */
    char *src = osm_path_join(o->media_dir, wim_rel);
    int rc = -1;
    if (shift_right(img, WIN_TRANSIT_PART_OFFSET, err) != 0)
        goto out;
    if (win_ntfs_fill(ext, src, img, WIN_TRANSIT_PART_OFFSET, err) != 0)
        goto out;
    /* room for the backup GPT after the partition */
    if (truncate(img, (off_t)(WIN_TRANSIT_PART_OFFSET + part_bytes + MIB)) != 0) {
        osm_err_errno(err, "sizing '%s'", img);
        goto out;
    }
    rc = partition(img, part_bytes, err);
out:
    free(src);
    win_ntfs_extents_free(ext);
    return rc;
}

static int mcopy_into(const char *img_at, const char *src, const char *dest, struct osm_err *err)
{
    const char *argv[] = {"mcopy", "-s", "-Q", "-i", img_at, src, dest, NULL};
    return run_tool(argv, err);
}

/* Every entry of `dir` but those named in `skip` (NULL-ended, any case)
 * into `dest` of the image. */
static int mcopy_dir(const char *img_at, const char *dir, const char *dest, const char *const *skip,
                     struct osm_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return osm_err_errno(err, "reading '%s'", dir);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        int skipped = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
        for (const char *const *k = skip; *k && !skipped; k++)
            skipped = !strcasecmp(e->d_name, *k);
        if (skipped)
            continue;
        char *src = osm_path_join(dir, e->d_name);
        rc = mcopy_into(img_at, src, dest, err);
        free(src);
    }
    closedir(d);
    return rc;
}

static int build_fat32(const struct win_transit_opts *o, const char *img, const char *wim, uint64_t part_bytes,
                       struct osm_err *err)
{
    int rc = -1;
    char *swmdir = osm_xasprintf("%s.swm.d", img);
    char *swm = osm_path_join(swmdir, "install.swm");
    char *img_at = osm_xasprintf("%s@@%d", img, WIN_TRANSIT_PART_OFFSET);
    char *sources = win_fs_find(o->media_dir, "sources");
    WIMStruct *w = NULL;
    if (osm_remove_tree(swmdir, err) != 0 || osm_mkdir_p(swmdir, 0755, err) != 0)
        goto out;
    int r = wimlib_open_wim(wim, 0, &w);
    if (r == 0)
        r = wimlib_split(w, swm, o->swm_part_bytes ? o->swm_part_bytes : 3800 * MIB, 0);
    if (r != 0) {
        wim_err(err, r, "splitting", wim);
        goto out;
    }
    if (truncate(img, (off_t)(WIN_TRANSIT_PART_OFFSET + part_bytes + MIB)) != 0) {
        osm_err_errno(err, "sizing '%s'", img);
        goto out;
    }
    if (partition(img, part_bytes, err) != 0)
        goto out;
    char *off = osm_xasprintf("--offset=%d", WIN_TRANSIT_PART_OFFSET / 512);
    const char *mk[] = {"mkfs.fat", "-F", "32", "-n", "OSMIGTRANSI", off, img, NULL};
    r = run_tool(mk, err);
    free(off);
    if (r != 0)
        goto out;
    /* Everything but sources/install.wim, then the .swm parts. */
    const char *const skip_sources[] = {sources ? strrchr(sources, '/') + 1 : "", NULL};
    const char *const skip_wim[] = {"install.wim", "install.esd", NULL}, *const skip_none[] = {NULL};
    const char *md[] = {"mmd", "-i", img_at, "::/sources", NULL};
    if (mcopy_dir(img_at, o->media_dir, "::/", skip_sources, err) != 0 || run_tool(md, err) != 0 ||
        (sources && mcopy_dir(img_at, sources, "::/sources/", skip_wim, err) != 0) ||
        mcopy_dir(img_at, swmdir, "::/sources/", skip_none, err) != 0)
        goto out;
    rc = 0;
out:
    wimlib_free(w);
    struct osm_err ignore = OSM_ERR_INIT;
    osm_remove_tree(swmdir, &ignore);
    osm_free_all(swmdir, swm, img_at, sources);
    return rc;
}

int win_transit_build(const struct win_transit_opts *o, struct osm_err *err)
{
    char *wim = win_fs_find(o->media_dir, "sources/install.wim");
    if (!wim)
        wim = win_fs_find(o->media_dir, "sources/install.esd");
    char *setup = win_fs_find(o->media_dir, "setup.exe");
    char *side = osm_xasprintf("%s.osmig.json", o->out);
    char *partial = osm_xasprintf("%s.partial", o->out);
    char *rawtmp = osm_xasprintf("%s.partial.raw", o->out);
    char *want = NULL;
    int rc = -1;
    if (!wim || !setup) {
        osm_err_set(err, OSM_EINPUT, "media '%s' is not installation media: %s is missing", o->media_dir,
                    !wim ? "sources/install.wim (or install.esd)" : "setup.exe");
        goto out;
    }
    if (o->fs == WIN_TRANSIT_FAT32 && strcasecmp(wim + strlen(wim) - 4, ".esd") == 0) {
        osm_err_set(err, OSM_EUNSUPPORTED, "media '%s': install.esd cannot be split for FAT32; use NTFS", o->media_dir);
        goto out;
    }
    want = sidecar_text(o, wim);
    if (osm_is_file(o->out)) {
        struct osm_buf have;
        osm_buf_init(&have);
        struct osm_err e2 = OSM_ERR_INIT;
        int same = osm_read_file(side, &have, &e2) == 0 && want && strcmp(have.s, want) == 0;
        osm_buf_free(&have);
        if (same) {
            rc = 1;
            goto out;
        }
        osm_err_set(err, OSM_EINPUT, "transit disk '%s' already exists and was not built from this media with these options; remove it first",
                    o->out);
        goto out;
    }
    tree_apparent = 0;
    if (nftw(o->media_dir, add_size, 32, FTW_PHYS) != 0) {
        osm_err_errno(err, "reading media '%s'", o->media_dir);
        goto out;
    }
    /* NTFS: MFT, log file and per-file records; FAT32: FATs and cluster slack. */
    uint64_t part = round_mib(tree_apparent + tree_apparent / 20 + 64 * MIB);
    const char *img = o->format == WIN_TRANSIT_RAW ? partial : rawtmp;
    unlink(partial);
    unlink(rawtmp);
    int fd = open(img, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        osm_err_errno(err, "creating '%s'", img);
        goto out;
    }
    close(fd);
    /* win_fs_find matched "sources/install.*": its last two components, as spelled on disk */
    const char *wim_rel = wim + strlen(wim);
    for (int slashes = 0; wim_rel > wim; wim_rel--)
        if (wim_rel[-1] == '/' && ++slashes == 2)
            break;
    if ((o->fs == WIN_TRANSIT_NTFS ? build_ntfs(o, img, wim_rel, part, err) : build_fat32(o, img, wim, part, err)) != 0)
        goto fail;
    if (o->format == WIN_TRANSIT_QCOW2) {
        const char *cv[] = {"qemu-img", "convert", "-f", "raw", "-O", "qcow2", rawtmp, partial, NULL};
        if (run_tool(cv, err) != 0)
            goto fail;
        unlink(rawtmp);
    }
    fd = open(partial, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        osm_err_errno(err, "syncing '%s'", partial);
        if (fd >= 0)
            close(fd);
        goto fail;
    }
    close(fd);
    if (osm_write_file_atomic(side, want, strlen(want), 0644, err) != 0)
        goto fail;
    if (rename(partial, o->out) != 0) {
        osm_err_errno(err, "renaming '%s' to '%s'", partial, o->out);
        unlink(side);
        goto fail;
    }
    rc = 0;
    goto out;
fail:
    osm_err_prefix(err, "building transit disk '%s'", o->out);
    unlink(partial);
    unlink(rawtmp);
out:
    osm_free_all(wim, setup, side, partial, rawtmp, want);
    return rc;
}
