/* win_provider_double: a TEST DOUBLE of an instance provider that plays
 * Windows Setup's outcomes, since Windows cannot run here. It is not a Windows
 * instance: it answers the osmig start and status scripts (recognised by
 * their text) from a scripted timeline, keeps a fake clock, and records the
 * transit disk's attach and detach so tests can check it is always released.
 *
 * Timelines (one step per status poll after a successful start):
 *   SUCCESS      setup, setup, (no answer: rebooting) x2, new build with
 *                $WINDOWS.~BT, new build without it
 *   ROLLBACK     setup, setup, rebooting x2, old build again, setup stopped,
 *                setuperr.log lines from `log` (0xC1900101-0x40017)
 *   HANG         setup running forever on the old build
 *   COMPAT_BLOCK the compatibility scan answers `compat` (e.g. 0xC1900208)
 *   SETUP_EXIT   setup exits early with `setup_exit` (a signed decimal) */
#ifndef WIN_PROVIDER_DOUBLE_H
#define WIN_PROVIDER_DOUBLE_H

#include <time.h>

#include "provider.h"
#include "win_follow.h"

enum win_double_play { DOUBLE_SUCCESS, DOUBLE_ROLLBACK, DOUBLE_HANG, DOUBLE_COMPAT_BLOCK, DOUBLE_SETUP_EXIT,
                       DOUBLE_AGENT_DOWN };

struct win_double {
    enum win_double_play play;
    long old_build, new_build;
    const char *log;        /* setuperr.log text for ROLLBACK / SETUP_EXIT */
    const char *compat;     /* COMPAT_BLOCK */
    const char *setup_exit; /* SETUP_EXIT */
    long builds[4];         /* several hops: start k upgrades builds[k-1] -> builds[k] */
    int nbuilds;
    /* observed */
    int attached, detached, starts, polls;
    char last_start_script[8192];
    time_t now;
    struct win_clock clock;
};

/* Make INST (zeroed by the caller) an instance of the double D. */
void win_double_open(struct osm_instance *inst, struct win_double *d);

#endif
