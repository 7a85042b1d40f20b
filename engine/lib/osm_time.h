/* osm_time: times as the API and the CLI show them (UTC, ISO 8601). */
#ifndef OSM_TIME_H
#define OSM_TIME_H

#include <stdint.h>

/* "2026-11-23T05:00:00Z"; "-" for 0 or less. Returns buf. */
const char *osm_time_iso(int64_t t, char buf[32]);

#endif
