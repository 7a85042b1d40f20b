/* win_setup: the PowerShell that runs on the instance (through the agent),
 * and what it prints.
 *
 * Every script returns at once: anything long (the compatibility scan,
 * Windows Setup, DISM) runs detached in a SYSTEM scheduled task whose cmd
 * file records its exit code, written `>"FILE" echo %ERRORLEVEL%` (the
 * redirection first: `echo 3> FILE` would redirect handle 3 and lose exit
 * codes 0-9). The follower (win_follow.h) polls the status script.
 *
 *   prepare   bring the transit disk online and writable (diskpart: SAN
 *             policy OnlineAll, every non-system disk online, read-only
 *             cleared; a drive letter when it has none; a write probe), then
 *             for Windows 10-era media start `setup.exe /auto upgrade /quiet
 *             /compat scanonly ...` detached ("result=scanning"); 2012 R2's
 *             setup has no scan-only mode ("compat=skipped", "result=ready").
 *             Exit 2 transit-missing, 5 transit-readonly, 4 task-failed.
 *   start     Windows Setup, detached: Windows 10-era media `/auto upgrade
 *             /quiet /eula accept /dynamicupdate disable /compat
 *             ignorewarning /showoobe none /imageindex N [/pkey K] /copylogs
 *             DIR\panther`; 2012 R2 volume-licence media `/auto:upgrade`
 *             (with /Auto setup takes no answer file), other 2012 R2 media
 *             `/unattend:DIR\unattend.xml`, the answer file an upgrade with
 *             the image index and the key.
 *             "result=started", or "result=already-running" (idempotent).
 *   convert   a licence conversion within a release: `DISM /online
 *             /Set-Edition:EDITION /ProductKey:K /AcceptEula /NoRestart`,
 *             detached; "result=started" / "result=already-running".
 *   status    key=value lines: build, edition (EditionID), bt (1 while
 *             C:\$WINDOWS.~BT exists), setup_running (the osmig-setup task
 *             running, or a setup, SetupHost or SetupPrep process),
 *             convert_running, compat_exit, setup_exit, convert_exit, err
 *             (the first lines of the newest setuperr.log).
 *   logs      every setuperr.log and setupact.log setup left (its Panther and
 *             Rollback folders, C:\Windows\Panther, /copylogs), whole, framed
 *             "log-begin=NAME", "log=LINE"..., "log-end=NAME".
 * All of them use only PowerShell 2.0 (WMI, the Task Scheduler COM object,
 * schtasks.exe, diskpart.exe), so they run on 2008 R2. Nothing from outside
 * enters them but the image index (an integer), the state directory, the
 * product key and the edition id (each checked against a strict pattern). */
#ifndef WIN_SETUP_H
#define WIN_SETUP_H

#include <jansson.h>

#include "osm_error.h"

#define WIN_TRANSIT_LABEL "OSMIG-TRANSIT"
#define WIN_DEFAULT_STATE_DIR "C:\\osmig"

enum win_setup_kind {
    WIN_SETUP_WINDOWS10, /* 2016 and later media: /auto upgrade, /compat scanonly */
    WIN_SETUP_WINDOWS8,  /* 2012 R2 media: /auto:upgrade and an answer file */
};

struct win_setup_params {
    int image_index;
    const char *state_dir;   /* on the instance; NULL: C:\osmig */
    enum win_setup_kind kind;
    int volume_licence;      /* WINDOWS8: the media's ei.cfg says Volume: /auto:upgrade */
    const char *product_key; /* NULL: none (required for WINDOWS8 without volume_licence, and convert) */
    const char *edition_id;  /* convert: "ServerDatacenter" */
};

/* "windows8" / "windows10" (the matrix's "setup"); -1 when unknown. */
int win_setup_kind_of(const char *name, enum win_setup_kind *kind);

char *win_setup_prepare_script(const struct win_setup_params *p, struct osm_err *err);
char *win_setup_start_script(const struct win_setup_params *p, struct osm_err *err);
char *win_setup_convert_script(const struct win_setup_params *p, struct osm_err *err);
char *win_setup_status_script(const struct win_setup_params *p, struct osm_err *err);
char *win_setup_logs_script(const struct win_setup_params *p, struct osm_err *err);
/* argv that runs SCRIPT with powershell.exe (no profile, no prompts). */
void win_setup_argv(const char *script, const char *argv[8]);

struct win_status {
    long build;          /* -1 unknown */
    char edition[48];    /* EditionID, "" unknown */
    int bt_present;
    int setup_running;
    int convert_running;
    char compat_exit[32];  /* "" while the scan has not exited */
    char setup_exit[32];   /* "" when setup has not exited */
    char convert_exit[32]; /* "" when DISM has not exited */
    char compat[32];       /* prepare: "skipped" */
    char result[32];
    json_t *errors;      /* win_panther_errors() of the err= lines; caller decrefs */
};

void win_setup_parse_status(const char *text, struct win_status *st);

/* The logs script's output: calls FN once per log with its name and text.
 * Returns how many logs it found. */
int win_setup_parse_logs(const char *text, void (*fn)(void *ctx, const char *name, const char *text), void *ctx);

#endif
