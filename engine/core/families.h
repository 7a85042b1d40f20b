/* families: the table of OS families this program knows (family.h), in the
 * order roots are tried and paths listed; the first one also takes a root
 * no family recognises. */
#ifndef OSM_FAMILIES_H
#define OSM_FAMILIES_H

#include "family.h"

extern const struct osm_family *const osm_families[];

#endif
