/* osm_paths: where osmig keeps its own files on this host.
 * cache: downloaded repository metadata and parsed .solv files; safe to
 * delete at any time. $OSMIG_CACHE_DIR, else /var/cache/osmig when running as
 * root, else $XDG_CACHE_HOME/osmig or ~/.cache/osmig. */
#ifndef OSM_PATHS_H
#define OSM_PATHS_H

const char *osm_cache_dir(void);
/* Override (from a --cache-dir option); NULL restores the default. */
void osm_set_cache_dir(const char *dir);

#endif
