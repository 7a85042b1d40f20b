/* fetch: downloads with libcurl (http://, https://, file://).
 *
 * Several transfers run at once (curl multi). Each goes to DEST.part and is
 * renamed to DEST only once complete and, when a checksum is given, verified:
 * a reader never sees a partial or unverified DEST. An interrupted transfer
 * resumes from the .part file with a Range request. Transient failures
 * (connection refused/reset, timeouts, HTTP 408/429/5xx, short transfers) are
 * retried with exponential backoff. A finished file whose digest does not
 * match is deleted and fetched once more from scratch; a second mismatch fails
 * naming the item and both digests. A DEST that already exists with the right
 * digest is kept (so re-running a stage costs nothing). */
#ifndef OSM_FETCH_H
#define OSM_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"
#include "progress.h"

struct osm_fetch_opts {
    int parallel;            /* transfers at once; <= 0: 4 */
    int max_retries;         /* per item, transient errors; < 0: none; 0 means default 5 */
    unsigned backoff_ms;     /* first retry delay, doubled each time; 0: 500 */
    long connect_timeout_s;  /* 0: 30 */
    long stall_timeout_s;    /* abort a transfer that moves no byte for this long; 0: 60 */
    int no_fsync;            /* 1: the caller syncs the whole batch itself (syncfs) */
    osm_progress_fn progress; /* phase "download"; may be NULL */
    void *userdata;
    /* Set: every DEST lies under this root and its directory is opened
     * inside it (openat2 RESOLVE_IN_ROOT), so no symlink in the root leads
     * a download out of it. NULL: host paths. */
    const char *root;
};

struct osm_fetch_item {
    const char *url;
    const char *dest;
    const char *checksum_type; /* NULL: no check */
    const char *checksum;      /* hex */
    uint64_t size;             /* expected size for progress; 0 unknown */
    const char *label;         /* named in errors and progress (package NEVRA); NULL: url */
    /* out */
    int reused;                /* 1 when DEST was already present and verified */
    int attempts;              /* transfers started */
};

/* Download every item. On failure returns -1 naming the first item that
 * failed; completed items stay in place and .part files stay for resuming. */
int osm_fetch_many(struct osm_fetch_item *items, size_t n, const struct osm_fetch_opts *opts, struct osm_err *err);

/* One file (e.g. repomd.xml); checksum_type/checksum may be NULL. */
int osm_fetch_file(const char *url, const char *dest, const char *checksum_type, const char *checksum,
                   const struct osm_fetch_opts *opts, struct osm_err *err);

#endif
