/* osrelease: the OS identity of a Linux root, from /etc/os-release (or
 * /usr/lib/os-release) and, for the exact minor version, the distribution's
 * release file (/etc/centos-release "CentOS Linux release 7.9.2009 (Core)",
 * /etc/redhat-release, /etc/alinux-release, ...). */
#ifndef OSM_OSRELEASE_H
#define OSM_OSRELEASE_H

#include "osm_error.h"

struct osm_osrelease {
    char id[64];          /* os-release ID: centos, rhel, alinux, anolis, ... */
    char id_like[128];
    char name[128];       /* PRETTY_NAME or NAME */
    char version_id[64];  /* VERSION_ID as written: "7", "8.6", "2.1903" */
    int major;            /* 7 */
    int minor;            /* 9 (from the release file when os-release has only the major), -1 unknown */
    char full_version[64];/* "7.9.2009" when a release file says so, else version_id */
    char platform_id[64]; /* PLATFORM_ID, e.g. platform:el8 */
};

/* Fails with a clear error when the root has no os-release. */
int osm_osrelease_read(const char *root, struct osm_osrelease *out, struct osm_err *err);

#endif
