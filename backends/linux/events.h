/* events: package events between releases, as Leapp's PES events.
 *
 * Two input formats, detected from the content:
 *  - Leapp's pes-events.json ({"packageinfo": [...]}, as used by Leapp and
 *    ELevate; actions Present=0 Removed=1 Deprecated=2 Replaced=3 Split=4
 *    Merged=5 Moved=6 Renamed=7; in/out package sets with repository and
 *    module stream; initial_release/release major.minor; architectures);
 *  - osmig's own format (the JSON files in matrices/linux/events/, see docs/events.md).
 *
 * osm_events_apply() replays the events release by release between the
 * source and the target version, like Leapp does, over the set of installed
 * package names, and says for every name that must go or come which event
 * asked for it. The planner turns that into solver jobs. */
#ifndef OSM_EVENTS_H
#define OSM_EVENTS_H

#include <stddef.h>

#include "osm_error.h"

enum osm_event_action {
    OSM_EV_PRESENT = 0,
    OSM_EV_REMOVED = 1,
    OSM_EV_DEPRECATED = 2,
    OSM_EV_REPLACED = 3,
    OSM_EV_SPLIT = 4,
    OSM_EV_MERGED = 5,
    OSM_EV_MOVED = 6,
    OSM_EV_RENAMED = 7,
};

struct osm_event_pkg {
    char *name;
    char *repo;   /* PES repository id, or NULL */
    char *module; /* module name when the package is modular, else NULL */
    char *stream; /* module stream, else NULL */
};

struct osm_event {
    long id;                 /* the file's id, or the position in the file */
    enum osm_event_action action;
    struct osm_event_pkg *in;
    size_t n_in;
    struct osm_event_pkg *out;
    size_t n_out;
    int from_major, from_minor; /* initial_release */
    int to_major, to_minor;     /* release; OSM_EV_AT_TARGET for an osmig event without one */
    char **arches;           /* empty: every architecture */
    size_t n_arches;
    char *origin;            /* "FILE#ID" for reasons shown to the user */
};

/* An osmig event without a release (a change of vendor, such as
 * centos-release -> alinux-release, even from 7.9 to a 7.9) applies after
 * every release step, whatever the source and target. */
#define OSM_EV_AT_TARGET (-1)

struct osm_eventset {
    struct osm_event *ev;
    size_t n;
};

enum osm_change_kind {
    OSM_CHANGE_REMOVE,     /* the installed package goes (removed, or replaced by `related`) */
    OSM_CHANGE_INSTALL,    /* the package comes in (replacing `related`) */
    OSM_CHANGE_DEPRECATED, /* stays, but is deprecated in the target */
};

struct osm_event_change {
    enum osm_change_kind kind;
    char *name;
    char *related;                 /* comma-separated names on the other side, or NULL */
    const struct osm_event *event; /* points into the eventset */
};

struct osm_event_result {
    struct osm_event_change *changes;
    size_t n;
};

/* Append the events of `path` (either format) to `set`. A malformed file
 * fails naming the file and the entry, and leaves `set` unchanged. */
int osm_events_load_file(struct osm_eventset *set, const char *path, struct osm_err *err);
void osm_eventset_free(struct osm_eventset *set);

/* Replay the events for `arch` from the source release (src_major.src_minor)
 * up to the target release (dst_major.dst_minor) over `installed` (package
 * names), in release order. A name may be written NAME@MODULE:STREAM for a
 * package installed from a module stream: only such a package matches an
 * event's modular in-package (docs/events.md). The changes come in name
 * order and point into `set`, which must outlive them. */
int osm_events_apply(const struct osm_eventset *set, const char *const *installed, size_t n_installed,
                     int src_major, int src_minor, int dst_major, int dst_minor, const char *arch,
                     struct osm_event_result *out, struct osm_err *err);
void osm_event_result_free(struct osm_event_result *res);

const char *osm_event_action_name(enum osm_event_action a);

#endif
