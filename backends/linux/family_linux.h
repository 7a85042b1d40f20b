/* family_linux: rpm systems (CentOS, RHEL, Alibaba Cloud Linux, ...) as an
 * OS family: detected by their os-release (or redhat-release); inspected,
 * assessed and planned with libsolv and librpm; migrated by the steps of
 * migration_linux.h. */
#ifndef OSM_FAMILY_LINUX_H
#define OSM_FAMILY_LINUX_H

#include "family.h"

extern const struct osm_family osm_family_linux;

#endif
