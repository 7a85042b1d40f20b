/* win_double: a TEST DOUBLE of Windows, because Windows cannot run here.
 *
 * It is not Windows and runs nothing: it stands behind the agent's
 * operations (run, reboot, attach and detach a disk; win_follow.h) and
 * answers osmig's own scripts (recognised by their first line) from a
 * scripted timeline, with a fake clock, so the whole Windows task runs
 * through the real engine, store, runner and snapshot sets. It is on only
 * when OSMIG_WINDOWS_DOUBLE names a directory (tests set it):
 *
 *   DIR/scenario.json  what "Windows" does, written by the test:
 *     {"builds": [7601, 9600, 17763],     the build before, and after each setup hop
 *                                         (a conversion keeps the build)
 *      "edition": "ServerStandard",       EditionID before the first hop
 *      "plays": ["success", "rollback"],  per hop (setup or conversion); the last repeats
 *      "compat": "0xC1900208", "setup_exit": "-1047526904", "convert_exit": "...",
 *      "setuperr": "...", "setupact": "..."}  Panther samples the logs script returns
 *   DIR/events.log     one line per thing the double saw (attach IMAGE,
 *                      detach IMAGE, prepare, start ARGS, convert ARGS,
 *                      reboot, logs), for the test to check
 *   ROOT/osmig-windows-double.json  the double's "Windows" (build, edition,
 *                      setup progress, clock): inside the instance's root, so
 *                      reverting the snapshot set puts it back too.
 *
 * Plays of a setup hop (one step per status poll after setup starts):
 *   success      setup x2, rebooting x2, new build with setup finishing,
 *                new build done and $WINDOWS.~BT gone
 *   bt-stays     as success, but $WINDOWS.~BT stays
 *   rollback     setup x2, rebooting x2, the old build with setup stopped and
 *                setuperr.log lines (setup rolled back)
 *   setup-exit   setup exits early with `setup_exit` (a signed decimal)
 *   compat-block the compatibility scan answers `compat`
 *   hang         setup running on the old build forever
 *   reboot-loop  setup, then rebooting and back, over and over
 *   never-changes setup x2, rebooting x2, then setup "running" on the old
 *                build forever
 *   agent-down   no command gets an answer
 * Plays of a conversion hop: success (DISM 3010, new edition after one
 * restart), conversion-fails (DISM exits `convert_exit`),
 * conversion-no-change (DISM 3010, the edition never changes). */
#ifndef WIN_DOUBLE_H
#define WIN_DOUBLE_H

#include "provider.h"
#include "win_follow.h"

/* 1 when OSMIG_WINDOWS_DOUBLE is set. */
int win_double_on(void);
/* The double's agent for INST (OSMIG_WINDOWS_DOUBLE must be set). */
void win_double_agent(struct win_agent *a, struct osm_instance *inst);

#endif
