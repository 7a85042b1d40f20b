/* events_priv.h: what the two event-file readers (events_pes.c,
 * events_native.c) share with the loader (events.c). Not part of the
 * module's contract; see events.h for that.
 *
 * A reader appends to `set` and, on a malformed entry, fills `err` with
 * "FILE: WHERE: WHAT" and returns -1; the loader then throws the partial
 * set away, so a reader need not clean up after itself. */
#ifndef OSM_EVENTS_PRIV_H
#define OSM_EVENTS_PRIV_H

#include <jansson.h>

#include "events.h"

int osm_events_read_pes(struct osm_eventset *set, const json_t *root, const char *path, const char *base,
                        struct osm_err *err);
int osm_events_read_native(struct osm_eventset *set, const json_t *root, const char *path, const char *base,
                           struct osm_err *err);

/* A new zeroed event at the end of `set`. */
struct osm_event *osm_events_push(struct osm_eventset *set);
void osm_event_pkg_add(struct osm_event_pkg **pkgs, size_t *n, const char *name, const char *repo,
                       const char *module, const char *stream);
void osm_event_free_fields(struct osm_event *ev);

/* Where a reader is in a file, for error messages: "PATH: LIST[INDEX] (id
 * ID): WHAT" (the id part only when id[0]). */
struct osm_ev_where {
    const char *path;
    const char *list; /* "events", "packageinfo" */
    size_t index;
    char id[64];
};
__attribute__((format(printf, 3, 4))) int osm_events_bad(struct osm_err *err, const struct osm_ev_where *w,
                                                         const char *fmt, ...);
/* Each package of the JSON array `list` (NULL: none) to read_one with its
 * context "PREFIX[i]" for messages; a `list` that is not an array is the
 * error `not_a_list`. */
/* Each entry of root's list `key` (which must be an array, else the error
 * "PATH: `not_a_list`") to read_one with its place. */
typedef int (*osm_ev_entry_fn)(struct osm_eventset *set, const json_t *e, struct osm_ev_where *w, const char *base,
                               struct osm_err *err);
int osm_events_each_entry(struct osm_eventset *set, const json_t *root, const char *key, const char *not_a_list,
                          const char *path, const char *base, osm_ev_entry_fn read_one, struct osm_err *err);

struct pkg_list {
    struct osm_event_pkg **pkgs;
    size_t *n;
};
typedef int (*osm_ev_pkg_fn)(const json_t *pkg, const char *ctx, void *arg, struct osm_err *err,
                             const struct osm_ev_where *w);
int osm_events_each_pkg(const json_t *list, const char *not_a_list, const char *prefix, osm_ev_pkg_fn read_one,
                        void *arg, struct osm_err *err, const struct osm_ev_where *w);

/* Leapp's accepted architectures (x86_64, aarch64, ppc64le, s390x). */
int osm_events_arch_known(const char *arch);

#endif
