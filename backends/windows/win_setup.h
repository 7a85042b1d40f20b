/* win_setup: the PowerShell that runs on the instance (through the agent).
 *
 * The start script finds the transit volume by its label, runs the
 * compatibility scan (`setup.exe /auto upgrade /quiet /compat scanonly`,
 * expecting 0xC1900210), then starts `setup.exe /auto upgrade /quiet /eula
 * accept /dynamicupdate disable /compat ignorewarning /showoobe none
 * /imageindex N /copylogs DIR` detached, as a SYSTEM scheduled task, and
 * returns at once. It prints "compat=0x..." and "result=started" (exit 0),
 * "result=already-running" (exit 0, setup is already at work: starting is
 * idempotent), "result=transit-missing" (exit 2), exit 3 after a failed scan,
 * "result=task-failed" (exit 4). The status script prints key=value lines:
 * build, bt (1 while C:\$WINDOWS.~BT exists), setup_running, setup_exit,
 * err (the first lines of setuperr.log, repeated).
 * Both only use PowerShell 2.0 features (WMI, schtasks.exe) so they run on
 * 2008 R2. Nothing from outside goes into them but the image index (an
 * integer) and the state directory (checked against a strict pattern). */
#ifndef WIN_SETUP_H
#define WIN_SETUP_H

#include <jansson.h>

#include "osm_error.h"

#define WIN_TRANSIT_LABEL "OSMIG-TRANSIT"
#define WIN_DEFAULT_STATE_DIR "C:\\osmig"

struct win_setup_params {
    int image_index;
    const char *state_dir; /* on the instance; NULL: C:\osmig */
};

char *win_setup_start_script(const struct win_setup_params *p, struct osm_err *err);
char *win_setup_status_script(const struct win_setup_params *p, struct osm_err *err);
/* argv that runs SCRIPT with powershell.exe (no profile, no prompts). */
void win_setup_argv(const char *script, const char *argv[8]);

struct win_status {
    long build;          /* -1 unknown */
    int bt_present;
    int setup_running;
    char setup_exit[32]; /* "" when setup has not exited */
    char compat[32];
    char result[32];
    json_t *errors;      /* win_panther_errors() of the err= lines; caller decrefs */
};

void win_setup_parse_status(const char *text, struct win_status *st);

#endif
