/* matrix: the Linux migration matrix, read from data files (matrices/linux/
 * *.json, then every --matrix FILE in order). A file may hold "sources",
 * "targets" and "paths"; a later file overrides a source or target of the
 * same id and a path with the same (source id, versions, target), and adds
 * everything else. Format: docs/matrix.md. */
#ifndef OSM_MATRIX_H
#define OSM_MATRIX_H

#include <stddef.h>

#include "osm_error.h"

struct osm_repo_def {
    char *id;
    char *name;
    char *baseurl;   /* may contain $basearch / $releasever */
    char **gpgkeys;  /* URLs or paths of the signing keys */
    size_t n_gpgkeys;
    int gpgcheck;
};

struct osm_note {
    char *id;          /* stable id, e.g. toolchain-change */
    char *message;
    char *remediation;
};

struct osm_source_os {
    char *id;                /* os-release ID: centos, rhel, alinux, anolis */
    char *name;
    char **vendors;          /* package vendors of the distribution itself */
    size_t n_vendors;
    char *release_package;
};

struct osm_target {
    char *id;                /* alinux3 */
    char *name;              /* Alibaba Cloud Linux 3 */
    char *os_id;             /* os-release ID after migration: alinux */
    char *version;           /* "3" */
    int el_major, el_minor;  /* EL release whose package events apply: 8.6 */
    char **arches;
    size_t n_arches;
    char *release_package;
    char **vendors;
    size_t n_vendors;
    struct osm_repo_def *repos;
    size_t n_repos;
    char **events;           /* event files, absolute */
    size_t n_events;
    struct osm_note *warnings;
    size_t n_warnings;
    int min_vcpus;
    long min_memory_mib;
    long min_free_mib;
};

struct osm_path {
    char *from_id;       /* source os-release ID */
    char **versions;     /* "7" matches 7.x, "7.9" only 7.9 */
    size_t n_versions;
    char *to;            /* target id */
    char **arches;
    size_t n_arches;
    char **regions;      /* NULL: every region */
    size_t n_regions;
    int trial_only;
    char *note;
    char *origin;        /* file it came from */
};

struct osm_matrix {
    struct osm_source_os *sources;
    size_t n_sources;
    struct osm_target *targets;
    size_t n_targets;
    struct osm_path *paths;
    size_t n_paths;
};

/* The data directory: $OSMIG_MATRIX_DIR, else the source tree's matrices/,
 * else the installed share/osmig/matrices. */
const char *osm_matrix_dir(void);
/* Load the defaults (every .json file in linux/ of the data directory) and then `extra`
 * files in order. A malformed file fails naming the file and the member. */
int osm_matrix_load(struct osm_matrix *m, const char *const *extra, size_t n_extra, struct osm_err *err);
int osm_matrix_load_file(struct osm_matrix *m, const char *path, struct osm_err *err);
void osm_matrix_free(struct osm_matrix *m);

const struct osm_target *osm_matrix_target(const struct osm_matrix *m, const char *id);
const struct osm_source_os *osm_matrix_source(const struct osm_matrix *m, const char *id);
/* The path from (os id, major, minor, arch) to `target`, or NULL. */
const struct osm_path *osm_matrix_find_path(const struct osm_matrix *m, const char *os_id, int major, int minor,
                                            const char *arch, const char *target);
int osm_path_matches(const struct osm_path *p, const char *os_id, int major, int minor, const char *arch);

/* Expand $basearch, $arch and $releasever in a repo URL; caller frees. */
char *osm_expand_repo_vars(const char *url, const char *basearch, const char *releasever);

#endif
