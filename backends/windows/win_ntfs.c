/* win_ntfs.c: allocate with libntfs-3g, copy with the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "lazy_ntfs.h"

#include "osm_buf.h"
#include "win_ntfs.h"

struct run {
    int64_t vcn, lcn, len; /* in clusters */
};

struct win_ntfs_extents {
    struct run *runs;
    size_t n;
    uint32_t cluster;
    int64_t size;
};

void win_ntfs_extents_free(struct win_ntfs_extents *ext)
{
    if (ext)
        free(ext->runs);
    free(ext);
}

/* Create the file, allocate SIZE bytes of real clusters, and return where
 * they are. The sizes recorded are final, so Windows reads the whole file. */
static int allocate(const char *volume, const char *dir, const char *name, int64_t size, struct run **runs,
                    size_t *n, uint32_t *cluster, struct osm_err *err)
{
    ntfs_volume *vol = ntfs_mount(volume, 0);
    if (!vol)
        return osm_err_errno(err, "opening NTFS volume '%s'", volume);
    ntfs_inode *dni = NULL, *ni = NULL;
    ntfs_attr *na = NULL;
    ntfschar *uname = NULL;
    int rc = -1;
    if (!(dni = ntfs_pathname_to_inode(vol, NULL, dir))) {
        osm_err_errno(err, "NTFS volume '%s': directory '%s'", volume, dir);
        goto out;
    }
    int ulen = ntfs_mbstoucs(name, &uname);
    if (ulen <= 0 || !(ni = ntfs_create(dni, const_cpu_to_le32(0), uname, (u8)ulen, S_IFREG))) {
        osm_err_errno(err, "NTFS volume '%s': creating '%s/%s'", volume, dir, name);
        goto out;
    }
    /* The parent must be closed first: closing the new inode updates its
     * entry in the parent's index, which fails while the parent is held. */
    ntfs_inode_close(dni);
    dni = NULL;
    if (!(na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0)) || ntfs_attr_truncate_solid(na, size) != 0) {
        osm_err_errno(err, "NTFS volume '%s': allocating %lld bytes for '%s'", volume, (long long)size, name);
        goto out;
    }
    /* truncate leaves initialized_size at 0 (reads would return zeros): the
     * whole file is about to be written, so record it as initialized. */
    ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
    if (!ctx || ntfs_attr_lookup(AT_DATA, AT_UNNAMED, 0, CASE_SENSITIVE, 0, NULL, 0, ctx) != 0) {
        if (ctx)
            ntfs_attr_put_search_ctx(ctx);
        osm_err_errno(err, "NTFS volume '%s': the data of '%s'", volume, name);
        goto out;
    }
    ctx->attr->initialized_size = cpu_to_sle64(size);
    na->initialized_size = size;
    ntfs_inode_mark_dirty(ctx->ntfs_ino);
    ntfs_attr_put_search_ctx(ctx);
    if (ntfs_attr_map_whole_runlist(na) != 0) {
        osm_err_errno(err, "NTFS volume '%s': mapping '%s'", volume, name);
        goto out;
    }
    size_t cnt = 0;
    for (runlist_element *rl = na->rl; rl && rl->length; rl++)
        cnt++;
    *runs = osm_xcalloc(cnt ? cnt : 1, sizeof **runs);
    for (size_t i = 0; i < cnt; i++) {
        if (na->rl[i].lcn < 0) {
            osm_err_set(err, OSM_EIO, "NTFS volume '%s': '%s' got a hole instead of clusters", volume, name);
            free(*runs);
            *runs = NULL;
            goto out;
        }
        (*runs)[i] = (struct run){na->rl[i].vcn, na->rl[i].lcn, na->rl[i].length};
    }
    *n = cnt;
    *cluster = vol->cluster_size;
    rc = 0;
out:
    if (na)
        ntfs_attr_close(na);
    if (ni && ntfs_inode_close(ni) != 0 && rc == 0)
        rc = osm_err_errno(err, "NTFS volume '%s': writing the record of '%s'", volume, name);
    if (dni)
        ntfs_inode_close(dni);
    free(uname);
    if (ntfs_umount(vol, FALSE) != 0 && rc == 0)
        rc = osm_err_errno(err, "closing NTFS volume '%s'", volume);
    if (rc != 0) {
        free(*runs);
        *runs = NULL;
    }
    return rc;
}

int win_ntfs_allocate(const char *volume, const char *dir, const char *name, int64_t size,
                      struct win_ntfs_extents **out, struct osm_err *err)
{
    struct win_ntfs_extents *e = osm_xcalloc(1, sizeof *e);
    e->size = size;
    if (allocate(volume, dir, name, size, &e->runs, &e->n, &e->cluster, err) != 0) {
        free(e);
        *out = NULL;
        return -1;
    }
    *out = e;
    return 0;
}

int win_ntfs_fill(const struct win_ntfs_extents *e, const char *src, const char *image, off_t volume_offset,
                  struct osm_err *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0) {
        if (in >= 0)
            close(in);
        return osm_err_errno(err, "reading '%s'", src);
    }
    if (st.st_size != e->size) {
        close(in);
        return osm_err_set(err, OSM_EIO, "'%s' changed size while the transit disk was built", src);
    }
    int out = open(image, O_WRONLY | O_CLOEXEC);
    int rc = out < 0 ? osm_err_errno(err, "opening '%s'", image) : 0;
    for (size_t i = 0; rc == 0 && i < e->n; i++) {
        loff_t from = (loff_t)e->runs[i].vcn * e->cluster, to = volume_offset + (loff_t)e->runs[i].lcn * e->cluster;
        int64_t left = e->runs[i].len * (int64_t)e->cluster;
        if (from + left > e->size)
            left = e->size - from;
        while (left > 0) {
            ssize_t w = copy_file_range(in, &from, out, &to, (size_t)left, 0);
            if (w <= 0) {
                rc = w == 0 ? osm_err_set(err, OSM_EIO, "'%s' shrank while being copied", src)
                            : osm_err_errno(err, "copying '%s' into '%s'", src, image);
                break;
            }
            left -= w;
        }
    }
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = osm_err_errno(err, "writing '%s'", image);
    close(in);
    return rc;
}
