/* stage: bring a plan's packages into the instance, ready for the upgrade.
 *
 * Every action with a "to" (install, upgrade, downgrade, replace) is
 * downloaded from its repo's baseurl + location into ROOT/var/lib/osmig/stage
 * (fetch.h: parallel, resumable, checksummed), then its signature is checked
 * against the target's keys only (sigcheck.h) unless the caller turns that
 * off. Before any download, the free space of the stage directory must cover
 * the packages still to fetch plus a reserve (500 MiB). At the end a
 * manifest (stage/manifest.json) is written atomically; apply only trusts a
 * stage that has one. Running it again re-uses every file that still matches
 * its checksum. */
#ifndef OSM_STAGE_H
#define OSM_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "fetch.h"
#include "osm_error.h"
#include "planfile.h"
#include "progress.h"

#define OSM_STAGE_SUBDIR "/var/lib/osmig/stage"
#define OSM_STAGE_MANIFEST "manifest.json"

struct osm_stage_opts {
    int no_signature_check;    /* --no-signature-check: recorded in the manifest and result */
    int64_t reserve_bytes;     /* free space kept beyond the packages; < 0: none; 0: 500 MiB */
    struct osm_fetch_opts fetch; /* parallelism, retries; its progress fields are ignored */
    osm_progress_fn progress;  /* phases "download" then "sigcheck" */
    void *userdata;
};

struct osm_stage_result {
    size_t packages;           /* packages in the stage */
    size_t reused;             /* already present and verified */
    uint64_t bytes;            /* total size of the staged packages */
    int signatures_checked;    /* 0 when the caller turned the check off */
};

/* The local file of a plan's gpgkeys entry: a file:// URL's or absolute
 * path's own file, else where staging downloads it (STAGE/keys/REPO-IDX.asc).
 * Caller frees. */
char *osm_stage_key_file(const char *stage, const char *url, const char *repo, size_t idx);

/* Host path of ROOT's stage directory; caller frees. */
char *osm_stage_dir(const char *root);

int osm_stage(const struct osm_planfile *plan, const char *root, const struct osm_stage_opts *opts,
              struct osm_stage_result *result, struct osm_err *err);

#endif
