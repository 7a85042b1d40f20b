/* time.c: see osm_time.h. */
#include "osm_time.h"

#include <string.h>
#include <time.h>

const char *osm_time_iso(int64_t t, char buf[32])
{
    if (t <= 0)
        return strcpy(buf, "-");
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}
