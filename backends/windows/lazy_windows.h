/* lazy_windows.h: the Windows backend's libraries (hivex, wimlib, libfdisk;
 * libntfs-3g in lazy_ntfs.h), loaded on first use (osm_lazy.h). Include this instead of their
 * headers; it names every function the backend calls. */
#ifndef OSM_LAZY_WINDOWS_H
#define OSM_LAZY_WINDOWS_H

#include <hivex.h>
#include <libfdisk/libfdisk.h>
#include <wimlib.h>

#include "osm_lazy.h"

extern struct osm_lazy_lib osm_lazy_hivex;
extern struct osm_lazy_lib osm_lazy_wimlib;
extern struct osm_lazy_lib osm_lazy_fdisk;

#define hivex_close OSM_LAZY(osm_lazy_hivex, hivex_close)
#define hivex_node_children OSM_LAZY(osm_lazy_hivex, hivex_node_children)
#define hivex_node_get_child OSM_LAZY(osm_lazy_hivex, hivex_node_get_child)
#define hivex_node_get_value OSM_LAZY(osm_lazy_hivex, hivex_node_get_value)
#define hivex_node_name OSM_LAZY(osm_lazy_hivex, hivex_node_name)
#define hivex_open OSM_LAZY(osm_lazy_hivex, hivex_open)
#define hivex_root OSM_LAZY(osm_lazy_hivex, hivex_root)
#define hivex_value_dword OSM_LAZY(osm_lazy_hivex, hivex_value_dword)
#define hivex_value_multiple_strings OSM_LAZY(osm_lazy_hivex, hivex_value_multiple_strings)
#define hivex_value_string OSM_LAZY(osm_lazy_hivex, hivex_value_string)
#define hivex_value_type OSM_LAZY(osm_lazy_hivex, hivex_value_type)

#define wimlib_add_image OSM_LAZY(osm_lazy_wimlib, wimlib_add_image)
#define wimlib_create_new_wim OSM_LAZY(osm_lazy_wimlib, wimlib_create_new_wim)
#define wimlib_extract_image OSM_LAZY(osm_lazy_wimlib, wimlib_extract_image)
#define wimlib_free OSM_LAZY(osm_lazy_wimlib, wimlib_free)
#define wimlib_get_error_string OSM_LAZY(osm_lazy_wimlib, wimlib_get_error_string)
#define wimlib_get_image_property OSM_LAZY(osm_lazy_wimlib, wimlib_get_image_property)
#define wimlib_get_wim_info OSM_LAZY(osm_lazy_wimlib, wimlib_get_wim_info)
#define wimlib_open_wim OSM_LAZY(osm_lazy_wimlib, wimlib_open_wim)
#define wimlib_split OSM_LAZY(osm_lazy_wimlib, wimlib_split)


#define fdisk_add_partition OSM_LAZY(osm_lazy_fdisk, fdisk_add_partition)
#define fdisk_assign_device OSM_LAZY(osm_lazy_fdisk, fdisk_assign_device)
#define fdisk_create_disklabel OSM_LAZY(osm_lazy_fdisk, fdisk_create_disklabel)
#define fdisk_deassign_device OSM_LAZY(osm_lazy_fdisk, fdisk_deassign_device)
#define fdisk_get_label OSM_LAZY(osm_lazy_fdisk, fdisk_get_label)
#define fdisk_label_get_parttype_from_string OSM_LAZY(osm_lazy_fdisk, fdisk_label_get_parttype_from_string)
#define fdisk_new_context OSM_LAZY(osm_lazy_fdisk, fdisk_new_context)
#define fdisk_new_partition OSM_LAZY(osm_lazy_fdisk, fdisk_new_partition)
#define fdisk_partition_set_name OSM_LAZY(osm_lazy_fdisk, fdisk_partition_set_name)
#define fdisk_partition_set_partno OSM_LAZY(osm_lazy_fdisk, fdisk_partition_set_partno)
#define fdisk_partition_set_size OSM_LAZY(osm_lazy_fdisk, fdisk_partition_set_size)
#define fdisk_partition_set_start OSM_LAZY(osm_lazy_fdisk, fdisk_partition_set_start)
#define fdisk_partition_set_type OSM_LAZY(osm_lazy_fdisk, fdisk_partition_set_type)
#define fdisk_unref_context OSM_LAZY(osm_lazy_fdisk, fdisk_unref_context)
#define fdisk_unref_partition OSM_LAZY(osm_lazy_fdisk, fdisk_unref_partition)
#define fdisk_unref_parttype OSM_LAZY(osm_lazy_fdisk, fdisk_unref_parttype)
#define fdisk_write_disklabel OSM_LAZY(osm_lazy_fdisk, fdisk_write_disklabel)

#endif
