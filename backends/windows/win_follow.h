/* win_follow: drive one upgrade on an instance through its provider and say
 * how it ended.
 *
 * win_upgrade: attach the transit disk, run the start script, follow setup
 * across its reboots, and always detach the transit disk again (success,
 * failure, or hang). Following polls the status script through
 * provider->run: an instance that does not answer is rebooting; the upgrade
 * succeeded when the build is the target's and C:\$WINDOWS.~BT is gone; it
 * failed when setup exits with a code, or the instance comes back on the old
 * build after a reboot (setup rolled back), or a phase outlives its time
 * limit (a hang). On any failure the result says why (decoded code, first
 * Panther error lines) and asks for the disks to be rolled back to the
 * snapshot set: the caller (the engine's task) does that.
 * Time comes from a clock the caller may replace, so tests never sleep. */
#ifndef WIN_FOLLOW_H
#define WIN_FOLLOW_H

#include <jansson.h>
#include <time.h>

#include "osm_error.h"
#include "provider.h"
#include "win_outcome.h"
#include "win_setup.h"

struct win_clock {
    time_t (*now)(void *ctx);
    void (*sleep)(void *ctx, unsigned seconds);
    void *ctx;
};

struct win_follow_opts {
    long from_build, target_build;
    unsigned poll_s;           /* 0: 30 s */
    unsigned limit_setup_s;    /* setup running before its first reboot; 0: 4 h */
    unsigned limit_reboot_s;   /* instance silent across a reboot; 0: 1 h */
    unsigned limit_finalize_s; /* new build, $WINDOWS.~BT still there; 0: 2 h */
    const struct win_clock *clock; /* NULL: the real clock */
};

enum win_end { WIN_END_SUCCEEDED, WIN_END_FAILED, WIN_END_HUNG };

struct win_upgrade_result {
    enum win_end end;
    char phase[16];            /* where it ended: scan, setup, reboot, finalize, done */
    struct win_result code;    /* code.code == 0 when no code was seen */
    char cause[1024];
    json_t *errors;            /* first Panther error lines (array); caller decrefs */
    long final_build;
    int rollback_disks;        /* 1: restore every disk from the snapshot set */
    int reboots;
};

/* 0 when the outcome is known (see r->end), -1 with err when the upgrade
 * could not be started at all (nothing changed on the instance then). */
int win_upgrade(struct osm_instance *inst, const char *transit_image, const struct win_setup_params *sp,
                const struct win_follow_opts *fo, struct win_upgrade_result *r, struct osm_err *err);
/* Follow an upgrade that is already running (the engine resuming a task). */
int win_follow(struct osm_instance *inst, const struct win_setup_params *sp, const struct win_follow_opts *fo,
               struct win_upgrade_result *r, struct osm_err *err);
void win_upgrade_result_free(struct win_upgrade_result *r);

/* Run every hop of a media plan (win_media_plan) in order under one task:
 * for each hop, build (or reuse) the transit disk TRANSIT_DIR/MEDIA-ID.img
 * from the hop's media, then win_upgrade from the previous hop's build to
 * this hop's, then release (delete) the transit disk, whatever the outcome. Stops at the first hop that does not succeed: *failed_hop is
 * its 1-based number (0 when all succeeded) and R describes it. The snapshot
 * set is the caller's, taken once before the first hop. */
int win_upgrade_hops(struct osm_instance *inst, const json_t *plan, long from_build, const char *transit_dir,
                     const struct win_setup_params *sp, const struct win_follow_opts *fo, struct win_upgrade_result *r,
                     int *failed_hop, struct osm_err *err);

#endif
