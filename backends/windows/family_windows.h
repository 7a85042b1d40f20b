/* family_windows: Windows Server systems as an OS family (osm_windows.h). */
#ifndef OSM_FAMILY_WINDOWS_H
#define OSM_FAMILY_WINDOWS_H

#include "family.h"

extern const struct osm_family osm_family_windows;

#endif
