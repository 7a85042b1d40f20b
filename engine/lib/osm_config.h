/* osm_config: the configuration file, /etc/osmig/osmig.conf, for what an
 * admin would otherwise repeat on every call. `key = value` lines (a line
 * per setting, greppable, editable by sed or a configuration tool, comments
 * with `#` at the start of a line: values may hold '#', as URLs do), not
 * JSON, which has no comments and breaks on a missing comma.
 *
 *   state_dir = /var/lib/osmig          what --state-dir sets
 *   cache_dir = /var/cache/osmig        --cache-dir
 *   report_dir = /var/log/osmig         --report-dir
 *   snapshot_store = /srv/snapshots     --snapshot-store
 *   server = https://osmig.example:8470 --server
 *   repo = rhel-8-baseos=http://mirror.example/rhel8/baseos   (repeatable:
 *                                       the local mirrors, as --repo ID=URL)
 *   matrix_dir = /etc/osmig/matrices.d  site matrices: every *.json in it,
 *                                       as --matrix FILE (default: the
 *                                       file's directory's matrices.d)
 *   report_keep = 50                    report runs kept per instance
 *   report_keep_days = 90               and none older (default 0: no age limit)
 *
 * Precedence: the command line, then the environment (OSMIG_STATE_DIR,
 * ...), then this file, then the defaults; any --repo on the command line
 * replaces the file's repos. The file is $OSMIG_CONFIG (empty: none), else
 * /etc/osmig/osmig.conf, which may be absent. A bad line is an error naming
 * FILE:LINE: an unknown key, a line with no '=', a key given twice (repo
 * apart), a relative path, a URL of another scheme, an empty value. */
#ifndef OSM_CONFIG_H
#define OSM_CONFIG_H

#include <stddef.h>

#include "osm_error.h"

#define OSM_CONFIG_DEFAULT "/etc/osmig/osmig.conf"

struct osm_config {
    char *path;                 /* the file read; NULL: none */
    char *state_dir, *cache_dir, *report_dir, *snapshot_store, *server, *matrix_dir;
    char *report_keep, *report_keep_days; /* whole numbers, as given */
    char **repos;               /* ID=URL, in the file's order */
    size_t n_repos;
};

/* The file to read: $OSMIG_CONFIG, NULL when it is set empty, else the
 * default. *explicit is 1 when it came from the environment (then it must
 * exist). */
const char *osm_config_path(int *explicit_path);
/* Parse `text` (the content of `path`, for messages) into *c (zeroed
 * first). 0, or -1 with err naming PATH:LINE; *c is freed on error. */
int osm_config_parse(const char *path, const char *text, struct osm_config *c, struct osm_err *err);
/* Read and parse `path`: a missing file is no settings unless must_exist. */
int osm_config_load(const char *path, int must_exist, struct osm_config *c, struct osm_err *err);
void osm_config_free(struct osm_config *c);
/* Set the environment's OSMIG_STATE_DIR, OSMIG_CACHE_DIR, OSMIG_REPORT_DIR,
 * OSMIG_REPORT_KEEP, OSMIG_REPORT_KEEP_DAYS, OSMIG_SNAPSHOT_STORE and
 * OSMIG_SERVER from *c where they are not set. */
void osm_config_apply_env(const struct osm_config *c);
/* The hint an error of the network gets: where to name a local mirror. */
void osm_config_offline_hint(struct osm_err *err);

#endif
