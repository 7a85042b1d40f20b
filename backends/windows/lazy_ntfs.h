/* lazy_ntfs.h: libntfs-3g for the Windows backend, loaded on first use
 * (osm_lazy.h). Apart from lazy_windows.h: its headers must come before
 * the others' (ntfs-3g/types.h sets up what the rest expect). */
#ifndef OSM_LAZY_NTFS_H
#define OSM_LAZY_NTFS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

#include "osm_lazy.h"

extern struct osm_lazy_lib osm_lazy_ntfs;

#define AT_UNNAMED OSM_LAZY(osm_lazy_ntfs, AT_UNNAMED) /* a variable of the library */
#define ntfs_attr_close OSM_LAZY(osm_lazy_ntfs, ntfs_attr_close)
#define ntfs_attr_get_search_ctx OSM_LAZY(osm_lazy_ntfs, ntfs_attr_get_search_ctx)
#define ntfs_attr_lookup OSM_LAZY(osm_lazy_ntfs, ntfs_attr_lookup)
#define ntfs_attr_map_whole_runlist OSM_LAZY(osm_lazy_ntfs, ntfs_attr_map_whole_runlist)
#define ntfs_attr_open OSM_LAZY(osm_lazy_ntfs, ntfs_attr_open)
#define ntfs_attr_put_search_ctx OSM_LAZY(osm_lazy_ntfs, ntfs_attr_put_search_ctx)
#define ntfs_attr_truncate_solid OSM_LAZY(osm_lazy_ntfs, ntfs_attr_truncate_solid)
#define ntfs_create OSM_LAZY(osm_lazy_ntfs, ntfs_create)
#define ntfs_inode_close OSM_LAZY(osm_lazy_ntfs, ntfs_inode_close)
#define ntfs_inode_mark_dirty OSM_LAZY(osm_lazy_ntfs, ntfs_inode_mark_dirty)
#define ntfs_mbstoucs OSM_LAZY(osm_lazy_ntfs, ntfs_mbstoucs)
#define ntfs_mount OSM_LAZY(osm_lazy_ntfs, ntfs_mount)
#define ntfs_pathname_to_inode OSM_LAZY(osm_lazy_ntfs, ntfs_pathname_to_inode)
#define ntfs_umount OSM_LAZY(osm_lazy_ntfs, ntfs_umount)

#endif
