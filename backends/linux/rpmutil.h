/* rpmutil: the bits of librpm setup that sigcheck, apply and verify share.
 * librpm keeps global state (configuration, macros, the log callback): these
 * helpers set it once and capture rpm's own messages so that errors can quote
 * rpm's reason instead of letting it print to stderr. */
#ifndef OSM_RPMUTIL_H
#define OSM_RPMUTIL_H

#include <rpm/rpmlog.h>
#include <rpm/rpmts.h>

#include "osm_buf.h"
#include "osm_error.h"

/* librpm's configuration, once (rpmsetup.h). */
int osm_rpm_init(struct osm_err *err);
/* Between begin and end, rpm opens the EL rpmdb location (/var/lib/rpm under
 * the transaction's root) instead of Debian's %_dbpath (~/.rpmdb). Scoped, so
 * other users of librpm in the same process keep their own %_dbpath. */
void osm_rpm_el_dbpath_begin(const char *root); /* /var/lib/rpm resolved inside ROOT */
void osm_rpm_el_dbpath_end(void);

/* Between begin and end, rpm's warnings and errors are appended to `sink`
 * ("; "-separated) instead of going to stderr; the previous log callback
 * (rpmsetup's) is restored at the end. Not reentrant. */
void osm_rpmlog_capture_begin(struct osm_buf *sink);
void osm_rpmlog_capture_end(void);
/* One rpm message appended to `sink` ("; " between messages, no newline). */
void osm_rpmlog_append(struct osm_buf *sink, rpmlogRec rec);

/* Installed packages matching "name-[E:]V-R.A" (the epoch may be spelled or
 * not). Caller frees the iterator with rpmdbFreeIterator. */
rpmdbMatchIterator osm_rpm_find_installed(rpmts ts, const char *nevra);
int osm_rpm_is_installed(rpmts ts, const char *nevra);

#endif
