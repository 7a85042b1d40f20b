/* families: the table of OS families this program knows (family.h), in the
 * order a root is tried: the last one takes a root no other recognises. */
#ifndef OSM_FAMILIES_H
#define OSM_FAMILIES_H

#include "family.h"

extern const struct osm_family *const osm_families[];

#endif
