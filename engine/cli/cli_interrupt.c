/* cli_interrupt.c: Ctrl-C (SIGINT), SIGHUP and SIGTERM during a migration
 * run in the foreground (cli_tasks.h: osm_cli_interrupt_start).
 *
 * Before the instance changes, the task is cancelled (the runner sees it at
 * its next step and stops) and the command says so. Once the instance is
 * changing, stopping half-way would leave it neither old nor new: the
 * migration goes on to its end, or rolls back if a step fails, and the
 * command says that instead (a step's own programs, signalled with the
 * terminal's process group, fail their step, which then rolls back).
 * SIGPIPE is ignored, so a reader that goes away (`osmig migrate ... |
 * head`) does not stop the engine between two steps. A second signal
 * leaves at once, as a crash would: the task stays where its records say
 * and `osmig resume` (or the next start) carries it on; the programs a
 * step runs inside the instance die with osmig (osm_run.h), so a resumed
 * task never meets them. The handlers only write the signal to a pipe; a
 * thread does the rest. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_tasks.h"
#include "osm_buf.h"
#include "runner.h"

struct osm_cli_interrupt {
    char *state_dir, *task_id;
    pthread_t thread;
    struct sigaction old[3];
};

static const int signals[3] = {SIGINT, SIGHUP, SIGTERM};
static int wake[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;
    ssize_t w = write(wake[1], &c, 1);
    (void)w;
    errno = saved;
}

static const char *signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT (Ctrl-C)" : sig == SIGHUP ? "SIGHUP" : "SIGTERM";
}

static void act(const struct osm_cli_interrupt *in, int sig)
{
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    const char *name = signal_name(sig);
    if (osm_store_open(in->state_dir, &st, &err) != 0) {
        fprintf(stderr, "\nosmig: %s: the task store cannot be opened to cancel task %s: %s\n", name, in->task_id,
                err.msg);
        return;
    }
    if (osm_runner_cancel(st, in->task_id, &err) == 0) {
        char *why = osm_xasprintf("%s before any change", name);
        osm_store_audit_add(st, in->task_id, "cancelled", osm_cli_actor(), why, &err);
        free(why);
        fprintf(stderr, "\nosmig: %s: task %s is cancelled; its instance was not changed (the step under way "
                        "ends first)\n", name, in->task_id);
    } else if (err.code == OSM_ECONFLICT) {
        fprintf(stderr, "\nosmig: %s: task %s is already changing its instance: the migration goes on to its end, "
                        "or rolls back if a step fails; it is not stopped half-way (`osmig task show %s` follows "
                        "it)\n", name, in->task_id, in->task_id);
    } else {
        fprintf(stderr, "\nosmig: %s: task %s could not be cancelled: %s\n", name, in->task_id, err.msg);
    }
    osm_store_close(st);
}

/* The second signal: the admin wants the terminal back now. */
static void leave_now(const struct osm_cli_interrupt *in, int sig)
{
    fprintf(stderr, "\nosmig: second %s: leaving now without waiting for the step; task %s stays where its "
                    "records say, as after a crash: `osmig resume` carries it on\n", signal_name(sig), in->task_id);
    _exit(128 + sig);
}

static void *watch(void *arg)
{
    struct osm_cli_interrupt *in = arg;
    unsigned char c;
    int seen = 0;
    for (;;) {
        ssize_t r = read(wake[0], &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r != 1 || c == 0)
            return NULL;
        if (seen++)
            leave_now(in, c);
        act(in, c);
    }
}

struct osm_cli_interrupt *osm_cli_interrupt_start(const char *state_dir, const char *task_id)
{
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(wake, O_CLOEXEC) != 0) /* the steps' programs must not hold it */
        return NULL;
    struct osm_cli_interrupt *in = osm_xcalloc(1, sizeof *in);
    in->state_dir = osm_xstrdup(state_dir);
    in->task_id = osm_xstrdup(task_id);
    if (pthread_create(&in->thread, NULL, watch, in) != 0) {
        close(wake[0]);
        close(wake[1]);
        free(in->state_dir);
        free(in->task_id);
        free(in);
        return NULL;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++)
        sigaction(signals[i], &sa, &in->old[i]);
    return in;
}

void osm_cli_interrupt_stop(struct osm_cli_interrupt *in)
{
    if (!in)
        return;
    for (int i = 0; i < 3; i++)
        sigaction(signals[i], &in->old[i], NULL);
    unsigned char zero = 0;
    ssize_t w = write(wake[1], &zero, 1);
    (void)w;
    pthread_join(in->thread, NULL);
    close(wake[0]);
    close(wake[1]);
    wake[0] = wake[1] = -1;
    free(in->state_dir);
    free(in->task_id);
    free(in);
}
