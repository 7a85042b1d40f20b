/* families.c: see families.h. Adding an OS family is its folder under
 * backends/ and one line here. */
#include "families.h"

#include "family_linux.h"
#include "family_windows.h"

const struct osm_family *const osm_families[] = {
    &osm_family_linux,
    &osm_family_windows,
    NULL,
};
