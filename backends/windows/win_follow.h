/* win_follow: drive one hop of a Windows migration on an instance through an
 * agent (the provider's run/reboot/attach/detach, or the test double,
 * win_double.h) and say how it ended.
 *
 * A setup hop: win_hop_prepare (transit disk online and writable; the
 * compatibility scan, detached, followed until its code: 0xC1900210 passes,
 * 2012 R2 media have no scan and pass), win_hop_start (Windows Setup,
 * detached), win_follow (polls the status script: no answer is a reboot).
 * Success is the hop's build running (and its edition) with setup finished;
 * C:\$WINDOWS.~BT may stay for days after a good upgrade, so it is reported
 * (bt_left), never waited for. Failure: setup exits with a code, the
 * instance comes back on the old build with setup stopped (setup rolled
 * back), a reboot loop, or a phase outliving its limit (a hang).
 * A conversion hop (same release, Standard -> Datacenter): win_convert runs
 * DISM /Set-Edition detached, waits for its exit code (0 or 3010), reboots
 * through the provider, and succeeds only when EditionID is the target's on
 * the same build: a poll that merely sees no change is not success.
 * Every failure decodes the cause (result code, first setuperr.log lines)
 * and asks for every disk to be restored (rollback_disks): the task does it.
 * win_fetch_logs copies setup's whole setuperr.log and setupact.log back.
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

/* How the steps reach the instance: the provider's operations, or the
 * double's. */
struct win_agent {
    struct osm_instance *inst;
    int (*run)(struct osm_instance *inst, const char *const argv[], struct osm_buf *out, struct osm_err *err);
    int (*reboot)(struct osm_instance *inst, char boot_id[64], struct osm_err *err);
    int (*attach_disk)(struct osm_instance *inst, const char *image, struct osm_err *err);
    int (*detach_disk)(struct osm_instance *inst, const char *image, struct osm_err *err);
    const struct win_clock *clock; /* NULL: the real clock */
};

/* The instance's own provider (operations it lacks stay NULL). */
void win_agent_of_provider(struct win_agent *a, struct osm_instance *inst);

struct win_follow_opts {
    long from_build, target_build;
    const char *target_edition; /* EditionID after the hop ("ServerDatacenter"); NULL: not checked */
    unsigned poll_s;            /* 0: 30 s */
    unsigned limit_scan_s;      /* the compatibility scan; 0: 1 h */
    unsigned limit_setup_s;     /* setup running before its first reboot; 0: 4 h */
    unsigned limit_reboot_s;    /* instance silent across a reboot; 0: 1 h */
    unsigned limit_finalize_s;  /* new build, setup still at work; 0: 2 h */
    unsigned max_reboots;       /* more is a reboot loop; 0: 10 */
    int resumed;                /* setup was started by an engine that died: it may have
                                 * rebooted and rolled back unseen, so the old build with
                                 * setup stopped and no exit code means it rolled back */
};

enum win_end { WIN_END_SUCCEEDED, WIN_END_FAILED, WIN_END_HUNG };

struct win_upgrade_result {
    enum win_end end;
    char phase[16];            /* where it ended: scan, start, setup, reboot, finalize, convert, done */
    struct win_result code;    /* code.code == 0 when no code was seen */
    char cause[1024];
    json_t *errors;            /* first Panther error lines (array); caller decrefs */
    long final_build;
    char final_edition[48];
    int bt_left;               /* succeeded with C:\$WINDOWS.~BT still there */
    int rollback_disks;        /* 1: restore every disk from the snapshot set */
    int reboots;
};

/* Each returns 0 when the outcome is known: 0 with r->end SUCCEEDED to go
 * on, or r->end FAILED/HUNG; -1 with err when the agent could not be asked
 * at all. R is zeroed by win_hop_prepare / win_convert / win_upgrade. */
int win_hop_prepare(const struct win_agent *a, const struct win_setup_params *sp, const struct win_follow_opts *fo,
                    struct win_upgrade_result *r, struct osm_err *err);
int win_hop_start(const struct win_agent *a, const struct win_setup_params *sp, struct win_upgrade_result *r,
                  struct osm_err *err);
int win_follow(const struct win_agent *a, const struct win_setup_params *sp, const struct win_follow_opts *fo,
               struct win_upgrade_result *r, struct osm_err *err);
int win_convert(const struct win_agent *a, const struct win_setup_params *sp, const struct win_follow_opts *fo,
                struct win_upgrade_result *r, struct osm_err *err);
/* The whole setup hop: attach, prepare, start, follow, and always detach. */
int win_upgrade(const struct win_agent *a, const char *transit_image, const struct win_setup_params *sp,
                const struct win_follow_opts *fo, struct win_upgrade_result *r, struct osm_err *err);
void win_upgrade_result_free(struct win_upgrade_result *r);
/* The status once the instance answers (polling across a reboot for up to
 * an hour); -1 with err when it never does. */
int win_poll_status(const struct win_agent *a, const struct win_setup_params *sp, struct win_status *st,
                    struct osm_err *err);
/* Copy every setuperr.log / setupact.log setup left into DIR (created):
 * DIR/TAG-setuperr.log, ... Returns how many, -1 with err. */
int win_fetch_logs(const struct win_agent *a, const struct win_setup_params *sp, const char *dir, struct osm_err *err);

#endif
