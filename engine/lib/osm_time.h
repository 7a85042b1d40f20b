/* osm_time: times as the API and the CLI show them (UTC, ISO 8601). */
#ifndef OSM_TIME_H
#define OSM_TIME_H

#include <stdint.h>

/* "2026-11-23T05:00:00Z"; "-" for 0 or less. Returns buf. */
const char *osm_time_iso(int64_t t, char buf[32]);
/* An RFC 3339 time ("2026-11-23T02:00:00Z", "...+08:00", fractions
 * ignored) as unix seconds: 0, or -1 when `s` is not one (a date that does
 * not exist, such as 02-30, included). */
int osm_time_parse(const char *s, int64_t *out);

#endif
