/* rpmutil: the bits of librpm setup that sigcheck, apply and verify share.
 * librpm keeps global state (configuration, macros, the log callback): these
 * helpers set it once and capture rpm's own messages so that errors can quote
 * rpm's reason instead of letting it print to stderr. */
#ifndef OSM_RPMUTIL_H
#define OSM_RPMUTIL_H

#include <rpm/rpmts.h>

#include "osm_buf.h"
#include "osm_error.h"

/* rpmReadConfigFiles once, then force the EL rpmdb location (/var/lib/rpm)
 * instead of Debian's ~/.rpmdb. */
int osm_rpm_init(struct osm_err *err);

/* Between begin and end, rpm's warnings and errors are appended to `sink`
 * (one per line) instead of going to stderr. Not reentrant. */
void osm_rpmlog_capture_begin(struct osm_buf *sink);
void osm_rpmlog_capture_end(void);

/* Installed packages matching "name-[E:]V-R.A" (the epoch may be spelled or
 * not). Caller frees the iterator with rpmdbFreeIterator. */
rpmdbMatchIterator osm_rpm_find_installed(rpmts ts, const char *nevra);
int osm_rpm_is_installed(rpmts ts, const char *nevra);

#endif
