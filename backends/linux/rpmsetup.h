/* rpmsetup: librpm's process-wide configuration, done once, and a way to
 * collect what librpm logs (instead of letting it print to stderr) so that
 * its messages become part of osmig's errors. */
#ifndef OSM_RPMSETUP_H
#define OSM_RPMSETUP_H

#include "osm_error.h"

int osm_rpm_setup(struct osm_err *err);
/* Start collecting rpm's error messages; warnings are dropped. */
void osm_rpm_capture_begin(void);
/* Stop collecting; returns the collected text ("" when none), caller frees. */
char *osm_rpm_capture_end(void);

#endif
