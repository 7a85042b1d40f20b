/* progress: one callback shape for staging and applying, so the runner can
 * feed a task's progress bar from downloads and from the rpm transaction
 * alike. Callbacks run on the caller's thread; they must not block long. */
#ifndef OSM_PROGRESS_H
#define OSM_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

struct osm_progress {
    const char *phase;     /* "download", "sigcheck", "install", "erase", "verify" */
    uint64_t bytes_done;   /* 0/0 when the phase has no byte count */
    uint64_t bytes_total;
    size_t pkgs_done;
    size_t pkgs_total;
    const char *current;   /* package or file being worked on; may be NULL */
};

typedef void (*osm_progress_fn)(const struct osm_progress *p, void *userdata);

#endif
