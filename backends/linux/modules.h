/* modules: the module streams of the target repositories (modules.yaml:
 * modulemd and modulemd-defaults documents) and which packages a plan may
 * use because of them. The rule is dnf's: a modular package is available
 * only when its stream is enabled, that is the stream of an installed
 * package's modularity label or else the module's default stream; every
 * other stream's packages are hidden, and so are non-modular packages that
 * share a name with a package of an enabled stream (the stream wins).
 * Hidden packages leave pool->considered; installed packages always stay. */
#ifndef OSM_MODULES_H
#define OSM_MODULES_H

#include <solv/bitmap.h>
#include <solv/pool.h>

#include "osm_error.h"

struct osm_module_stream {
    char *name;
    char *stream;
    char *label;   /* "name:stream" */
    char **rpms;   /* artifacts: name-epoch:version-release.arch */
    size_t n_rpms;
    int enabled;
    const char *enabled_by; /* "installed" or "default" when enabled */
};

struct osm_modules {
    struct osm_module_stream *v; /* one per modulemd document */
    size_t n;
    char **def_module, **def_stream; /* modulemd-defaults with a stream */
    size_t n_defaults;
};

/* Append the documents of one modules.yaml (plain, .gz, .xz or .zst).
 * Fails on malformed YAML, naming the file and line. With `compact`, what a
 * plan needs of the file is kept there (written once, read instead of the
 * YAML afterwards): name it by the file's checksum. */
int osm_modules_read(struct osm_modules *m, const char *path, const char *compact, struct osm_err *err);
void osm_modules_free(struct osm_modules *m);

/* Enable streams (installed labels, then defaults), mark the packages of
 * every stream in `stream_of` (indexed by solvable id, NULL for
 * non-modular; the caller frees the array, not its elements) and fill
 * `considered` (initialised here) with what stays available. Returns the
 * number of hidden packages. Needs the pool's whatprovides. */
int osm_modules_apply(struct osm_modules *m, Pool *pool, const struct osm_module_stream ***stream_of,
                      Map *considered);

#endif
