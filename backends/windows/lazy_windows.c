/* lazy_windows.c: the Windows backend's libraries (lazy_windows.h). */
#include "lazy_windows.h"

struct osm_lazy_lib osm_lazy_hivex = {OSM_SONAME_HIVEX, NULL};
struct osm_lazy_lib osm_lazy_wimlib = {OSM_SONAME_WIMLIB, NULL};
extern struct osm_lazy_lib osm_lazy_ntfs; /* lazy_ntfs.h; its headers do not mix with these */
struct osm_lazy_lib osm_lazy_ntfs = {OSM_SONAME_NTFS3G, NULL};
struct osm_lazy_lib osm_lazy_fdisk = {OSM_SONAME_FDISK, NULL};
