/* osm_log: structured logs, one line per event:
 *   ts=2026-11-23T04:50:00Z level=info event=repo.load repo=baseos packages=1125
 * to stderr when the level is enabled (OSMIG_LOG=debug|info|warn|error, default
 * warn; --verbose sets info), and always to the log file when one is set. */
#ifndef OSM_LOG_H
#define OSM_LOG_H

enum osm_log_level { OSM_LOG_DEBUG, OSM_LOG_INFO, OSM_LOG_WARN, OSM_LOG_ERROR };

void osm_log_set_level(enum osm_log_level level);
void osm_log_init_from_env(void);
/* Also append every event (any level) to this file; NULL closes it. */
int osm_log_set_file(const char *path);
/* `fields` is a printf format producing space-separated key=value pairs;
 * values with spaces should be quoted by the caller with %s and osm_log_q(). */
__attribute__((format(printf, 3, 4))) void osm_log(enum osm_log_level level, const char *event, const char *fields, ...);

#define osm_debug(ev, ...) osm_log(OSM_LOG_DEBUG, ev, __VA_ARGS__)
#define osm_info(ev, ...) osm_log(OSM_LOG_INFO, ev, __VA_ARGS__)
#define osm_warn(ev, ...) osm_log(OSM_LOG_WARN, ev, __VA_ARGS__)

#endif
