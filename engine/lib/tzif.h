/* tzif: IANA time zones read from the system tz database (TZif files, RFC
 * 8536, Debian package tzdata), for the maintenance windows (schedule.h).
 *
 * Why our own reader and not glibc's TZ + tzset + localtime: the API server
 * is threaded, and switching the process-wide TZ (setenv + tzset) races with
 * every other thread that reads the environment or formats a local time. A
 * zone here is an immutable value: load once, then query from any thread.
 *
 * Contract:
 * - osm_tz_load() accepts a relative name ("Europe/Berlin") made of letters,
 *   digits, '_', '-', '+' and '/', with no "..", not absolute, naming a TZif
 *   file under $TZDIR or /usr/share/zoneinfo; anything else is an error
 *   naming the zone.
 * - Times are POSIX seconds (leap seconds are not counted). Past the last
 *   transition of the file the footer's POSIX TZ rule applies.
 * - Local -> UTC: in a DST gap (a local time that does not exist) the result
 *   is the first valid instant after it (the transition); in an overlap (a
 *   local time that occurs twice) the first occurrence. */
#ifndef OSM_TZIF_H
#define OSM_TZIF_H

#include <stdint.h>

#include "osm_error.h"

struct osm_tz;

int osm_tz_load(const char *name, struct osm_tz **out, struct osm_err *err);
void osm_tz_free(struct osm_tz *tz);
const char *osm_tz_name(const struct osm_tz *tz);
/* Seconds east of UTC in effect at instant t. */
int32_t osm_tz_offset(const struct osm_tz *tz, int64_t t);
/* The instant of local wall-clock time `local` (seconds since 1970-01-01
 * 00:00 local), by the gap and overlap rules above. */
int64_t osm_tz_local_to_utc(const struct osm_tz *tz, int64_t local);

/* Civil calendar helpers (proleptic Gregorian): days since 1970-01-01. */
int64_t osm_days_from_civil(int64_t y, int m, int d);
void osm_civil_from_days(int64_t z, int64_t *y, int *m, int *d);
int osm_weekday(int64_t z); /* 0 = Sunday */
int osm_days_in_month(int64_t y, int m);

#endif
