/* osm_error: errors that carry their context up.
 *
 * A function that can fail takes a `struct osm_err *` and returns -1 (or NULL)
 * after filling it; callers add context with osm_err_prefix() ("reading
 * repo 'baseos': " + "primary.xml.gz: checksum mismatch"). The code maps to
 * the process exit status: OSM_EUSAGE -> 2, everything else -> 1. */
#ifndef OSM_ERROR_H
#define OSM_ERROR_H

#include <stdarg.h>
#include <stddef.h>

enum osm_errcode {
    OSM_OK = 0,
    OSM_EFAIL = 1,     /* generic failure */
    OSM_EUSAGE = 2,    /* bad command line */
    OSM_EINPUT = 3,    /* malformed input file / data */
    OSM_ENOTFOUND = 4, /* missing file, unknown id */
    OSM_EIO = 5,       /* I/O or system error */
    OSM_ENET = 6,      /* network / download */
    OSM_ECHECKSUM = 7, /* digest mismatch */
    OSM_ESOLVE = 8,    /* dependency problems */
    OSM_EUNSUPPORTED = 9,
    OSM_ECONFLICT = 10, /* the state forbids it: a busy instance, a finished task */
};

struct osm_err {
    int code;
    char msg[2048];
};

#define OSM_ERR_INIT {0, {0}}

__attribute__((format(printf, 3, 4))) int osm_err_set(struct osm_err *err, int code, const char *fmt, ...);
/* Like osm_err_set, with ": strerror(errno)" appended. */
__attribute__((format(printf, 2, 3))) int osm_err_errno(struct osm_err *err, const char *fmt, ...);
/* Prepend context: "context: previous message". */
__attribute__((format(printf, 2, 3))) void osm_err_prefix(struct osm_err *err, const char *fmt, ...);
void osm_err_clear(struct osm_err *err);
/* Exit status for an error: 2 for usage, 1 otherwise. */
int osm_err_exit_status(const struct osm_err *err);

#endif
