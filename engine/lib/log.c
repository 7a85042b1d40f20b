/* log.c: see osm_log.h. */
#include "osm_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum osm_log_level min_level = OSM_LOG_WARN;
static FILE *log_file;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void osm_log_set_level(enum osm_log_level level)
{
    min_level = level;
}

void osm_log_init_from_env(void)
{
    const char *v = getenv("OSMIG_LOG");
    if (!v)
        return;
    for (int i = 0; i < 4; i++)
        if (strcmp(v, level_names[i]) == 0)
            min_level = (enum osm_log_level)i;
}

int osm_log_set_file(const char *path)
{
    if (log_file) {
        fclose(log_file);
        log_file = NULL;
    }
    if (!path)
        return 0;
    log_file = fopen(path, "ae");
    return log_file ? 0 : -1;
}

void osm_log(enum osm_log_level level, const char *event, const char *fields, ...)
{
    if (level < min_level && !log_file)
        return;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char body[4096];
    va_list ap;
    va_start(ap, fields);
    vsnprintf(body, sizeof body, fields, ap);
    va_end(ap);
    if (level >= min_level)
        fprintf(stderr, "ts=%s level=%s event=%s %s\n", ts, level_names[level], event, body);
    if (log_file) {
        fprintf(log_file, "ts=%s level=%s event=%s %s\n", ts, level_names[level], event, body);
        fflush(log_file);
    }
}
