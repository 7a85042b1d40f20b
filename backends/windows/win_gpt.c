/* win_gpt.c: a one-partition GPT with libfdisk. */
#include <errno.h>
#include "lazy_windows.h"
#include <string.h>

#include "win_gpt.h"

int win_gpt_write(const char *image, uint64_t start, uint64_t size, const char *name, struct osm_err *err)
{
    struct fdisk_context *cxt = fdisk_new_context();
    struct fdisk_partition *pa = fdisk_new_partition();
    struct fdisk_parttype *type = NULL;
    const char *step = "opening";
    int rc;
    if (!cxt || !pa) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = fdisk_assign_device(cxt, image, 0)) != 0)
        goto out;
    step = "creating the GPT in";
    if ((rc = fdisk_create_disklabel(cxt, "gpt")) != 0)
        goto out;
    type = fdisk_label_get_parttype_from_string(fdisk_get_label(cxt, "gpt"), WIN_GPT_BASIC_DATA);
    step = "adding the partition to";
    if (!type) {
        rc = -EINVAL;
        goto out;
    }
    if ((rc = fdisk_partition_set_start(pa, start)) != 0 || (rc = fdisk_partition_set_size(pa, size)) != 0 ||
        (rc = fdisk_partition_set_partno(pa, 0)) != 0 || (rc = fdisk_partition_set_type(pa, type)) != 0 ||
        (rc = fdisk_partition_set_name(pa, name)) != 0 || (rc = fdisk_add_partition(cxt, pa, NULL)) != 0)
        goto out;
    step = "writing the GPT to";
    if ((rc = fdisk_write_disklabel(cxt)) != 0)
        goto out;
    rc = fdisk_deassign_device(cxt, 0);
out:
    fdisk_unref_parttype(type);
    fdisk_unref_partition(pa);
    fdisk_unref_context(cxt);
    if (rc != 0)
        return osm_err_set(err, OSM_EIO, "%s '%s': %s", step, image, strerror(rc < 0 ? -rc : rc));
    return 0;
}
