/* worker.c: see worker.h. One lock guards the queue, the ids being run and
 * the stop flag; store calls are made outside it, each thread on its own
 * connection (a connection is never shared between threads). */
extern char **environ;
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fleet_metrics.h"
#include "metrics.h"
#include "os_migration.h"
#include "report_task.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "runner.h"
#include "scheduler.h"
#include "store.h"

struct runner_slot {
    struct osm_worker *w;
    pthread_t thread;
    struct osm_store *st;
    char running[40];             /* "" when idle */
};

struct osm_worker {
    struct osm_worker_config cfg;
    char *location;
    char *exe;                    /* this program, for the children */
    const char *owner;
    pthread_mutex_t pass_lock;    /* a scheduler pass, or a claim hand-over */
    int64_t lease;
    pthread_mutex_t lock;
    pthread_cond_t wake_loop, wake_runners, wake_beat;
    int stop, kicked;
    char (*queue)[40];
    size_t n_queue, cap_queue;
    struct runner_slot *slots;
    pthread_t loop, beat;
    struct osm_store *loop_st, *beat_st;
    int started_loop, started_beat;
    size_t n_started_slots;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void deadline_in(struct timespec *ts, double seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)seconds;
    ts->tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

/* Is `id` queued? Called with the lock held. */
static int queued_locked(struct osm_worker *w, const char *id)
{
    for (size_t i = 0; i < w->n_queue; i++)
        if (strcmp(w->queue[i], id) == 0)
            return 1;
    return 0;
}

/* Is `id` being run (its child may still be ending)? Lock held. */
static int running_locked(struct osm_worker *w, const char *id)
{
    for (int i = 0; i < w->cfg.n_workers; i++)
        if (strcmp(w->slots[i].running, id) == 0)
            return 1;
    return 0;
}

static void enqueue(struct osm_worker *w, char (*ids)[40], size_t n)
{
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < n; i++) {
        /* A task being run can be claimed again as soon as its child wrote
         * its end (a retry): it waits in the queue for that run to end. */
        if (queued_locked(w, ids[i]))
            continue;
        if (w->n_queue == w->cap_queue) {
            w->cap_queue = w->cap_queue ? 2 * w->cap_queue : 16;
            w->queue = osm_xrealloc(w->queue, w->cap_queue * sizeof *w->queue);
        }
        memcpy(w->queue[w->n_queue++], ids[i], 40);
    }
    pthread_cond_broadcast(&w->wake_runners);
    pthread_mutex_unlock(&w->lock);
}

/* ---- the loop: orphans, then a scheduler pass ---- */

static size_t free_slots(struct osm_worker *w)
{
    pthread_mutex_lock(&w->lock);
    size_t busy = w->n_queue;
    for (int i = 0; i < w->cfg.n_workers; i++)
        busy += w->slots[i].running[0] != '\0';
    pthread_mutex_unlock(&w->lock);
    return busy >= (size_t)w->cfg.n_workers ? 0 : (size_t)w->cfg.n_workers - busy;
}

static void pass(struct osm_worker *w)
{
    int64_t now = osm_store_now();
    struct osm_err err = OSM_ERR_INIT;
    size_t room = free_slots(w);
    if (room > 0) {
        char (*ids)[40] = osm_xcalloc(room, sizeof *ids);
        size_t n = 0;
        pthread_mutex_lock(&w->pass_lock);
        int orc = osm_store_claim_orphans(w->loop_st, w->owner, now, now + w->lease, room, ids, &n, &err);
        pthread_mutex_unlock(&w->pass_lock);
        if (orc != 0) {
            osm_warn("worker.orphans", "msg=\"%s\"", err.msg);
            osm_err_clear(&err);
        } else if (n > 0) {
            osm_info("worker.orphans", "claimed=%zu", n);
            enqueue(w, ids, n);
            if (w->cfg.metrics)
                osm_metrics_counter_add(w->cfg.metrics, OSM_M_ORPHANS, NULL, (double)n);
        }
        free(ids);
    }
    double t0 = mono_now();
    struct osm_sched_result res;
    memset(&res, 0, sizeof res);
    pthread_mutex_lock(&w->pass_lock);
    int rc = osm_scheduler_pass(w->loop_st, now, w->owner, w->lease, free_slots(w), &res, &err);
    pthread_mutex_unlock(&w->pass_lock);
    double dt = mono_now() - t0;
    if (w->cfg.metrics)
        osm_metrics_observe(w->cfg.metrics, OSM_M_SCHED_PASS,
                            osm_metrics_seconds_bounds, osm_metrics_n_seconds_bounds, NULL, dt);
    if (rc != 0) {
        osm_warn("worker.scheduler", "msg=\"%s\"", err.msg);
        return;
    }
    if (res.n_claimed > 0) {
        osm_info("worker.scheduler", "waiting=%zu expired=%zu scheduled=%zu due=%zu claimed=%zu", res.n_waiting,
                 res.n_expired, res.n_scheduled, res.n_due, res.n_claimed);
        enqueue(w, res.claimed, res.n_claimed);
        if (w->cfg.metrics)
            osm_metrics_counter_add(w->cfg.metrics, OSM_M_SCHED_CLAIMED, NULL, (double)res.n_claimed);
    }
    osm_sched_result_free(&res);
}

#define KICK_GAP 0.1 /* seconds */

static void *loop_main(void *arg)
{
    struct osm_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        w->kicked = 0;
        pthread_mutex_unlock(&w->lock);
        pass(w);
        pthread_mutex_lock(&w->lock);
        struct timespec until;
        deadline_in(&until, (double)w->cfg.interval);
        while (!w->stop && !w->kicked)
            if (pthread_cond_timedwait(&w->wake_loop, &w->lock, &until) == ETIMEDOUT)
                break;
        /* Kicks (a created job, a finished task) come in bursts: one pass
         * per KICK_GAP serves them all, where a pass per create made passes
         * the larger part of a create's cost. */
        if (w->kicked && !w->stop) {
            deadline_in(&until, KICK_GAP);
            while (!w->stop && pthread_cond_timedwait(&w->wake_loop, &w->lock, &until) != ETIMEDOUT)
                ;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

void osm_worker_kick(void *arg)
{
    struct osm_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    w->kicked = 1;
    pthread_cond_signal(&w->wake_loop);
    pthread_mutex_unlock(&w->lock);
}

/* ---- the heartbeat of queued claims ---- */

static void *beat_main(void *arg)
{
    struct osm_worker *w = arg;
    double every = (double)w->lease / 3.0;
    if (every < 1)
        every = 1;
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        struct timespec until;
        deadline_in(&until, every);
        while (!w->stop && pthread_cond_timedwait(&w->wake_beat, &w->lock, &until) != ETIMEDOUT)
            ;
        if (w->stop)
            break;
        /* Running tasks belong to their children, which renew them. */
        size_t n = 0;
        char (*ids)[40] = osm_xcalloc(w->n_queue + 1, sizeof *ids);
        for (size_t i = 0; i < w->n_queue; i++)
            memcpy(ids[n++], w->queue[i], 40);
        pthread_mutex_unlock(&w->lock);
        int64_t now = osm_store_now();
        for (size_t i = 0; i < n; i++) {
            struct osm_err err = OSM_ERR_INIT;
            int c = osm_store_claim(w->beat_st, ids[i], w->owner, now + w->lease, &err);
            if (c < 0)
                osm_warn("worker.heartbeat", "task=%s msg=\"%s\"", ids[i], err.msg);
            else if (c == 0)
                osm_warn("worker.heartbeat", "task=%s lost=1 msg=\"another engine holds it\"", ids[i]);
        }
        free(ids);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* ---- running tasks: a child process each ---- */

/* The owner id the child will have: ours with its pid. */
static void child_owner(const char *self, pid_t pid, char *out, size_t size)
{
    const char *colon = strrchr(self, ':');
    int n = colon ? (int)(colon - self) : (int)strlen(self);
    snprintf(out, size, "%.*s:%ld", n, self, (long)pid);
}

static void observe_phase(struct osm_worker *w, const char *phase, double seconds)
{
    if (!w->cfg.metrics)
        return;
    const char *labels[] = {"phase", phase, NULL};
    osm_metrics_observe(w->cfg.metrics, OSM_M_PHASE,
                        osm_metrics_seconds_bounds, osm_metrics_n_seconds_bounds, labels, seconds);
}

static void count_result(struct osm_worker *w, const char *result)
{
    if (w->cfg.metrics) {
        const char *labels[] = {"result", result, NULL};
        osm_metrics_counter_add(w->cfg.metrics, OSM_M_WORKER_TASKS, labels, 1);
    }
}

static void run_one(struct runner_slot *s, const char *id)
{
    struct osm_worker *w = s->w;
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        osm_warn("worker.run", "task=%s msg=\"pipe: %s\"", id, strerror(errno));
        goto fail_pipes;
    }
    char lease[32];
    snprintf(lease, sizeof lease, "%lld", (long long)w->lease);
    char *const argv[] = {w->exe, "serve", "--run-task", (char *)id, "--store", w->location, "--lease",
                          lease, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    /* The server blocks its stop signals (sigwait) and ignores SIGPIPE; the
     * child must not inherit that, and a Ctrl-C meant for the server must
     * not kill a task mid-step: its own process group. */
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    pid_t pid;
    int e = posix_spawn(&pid, w->exe, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(in[0]);
    close(out[1]);
    if (e != 0) {
        osm_warn("worker.run", "task=%s msg=\"cannot start %s: %s\"", id, w->exe, strerror(e));
        close(in[1]);
        close(out[0]);
        count_result(w, "spawn_failed");
        return;
    }
    /* Hand the claim over while no scheduler pass of ours can take it back. */
    char owner[400];
    child_owner(w->owner, pid, owner, sizeof owner);
    struct osm_err err = OSM_ERR_INIT;
    pthread_mutex_lock(&w->pass_lock);
    osm_store_release(s->st, id, w->owner, &err);
    int c = osm_store_claim(s->st, id, owner, osm_store_now() + w->lease, &err);
    pthread_mutex_unlock(&w->pass_lock);
    if (c == 1 && write(in[1], "go\n", 3) != 3)
        c = -1;
    close(in[1]); /* without "go" the child sees end of file and leaves the task alone */
    if (c != 1)
        osm_warn("worker.run", "task=%s msg=\"%s\"", id, c < 0 ? err.msg : "taken by another engine meanwhile");
    FILE *f = fdopen(out[0], "r");
    char line[256], state[64] = "";
    while (f && fgets(line, sizeof line, f)) {
        char name[64];
        double secs;
        if (sscanf(line, "phase %63s %lf", name, &secs) == 2)
            observe_phase(w, name, secs);
        else if (sscanf(line, "state %63s", name) == 1)
            snprintf(state, sizeof state, "%s", name);
    }
    if (f)
        fclose(f);
    else
        close(out[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (c == 1) {
        if (code != 0)
            osm_warn("worker.run", "task=%s child=%ld exit=%d", id, (long)pid, code);
        else
            osm_info("worker.run", "task=%s child=%ld state=%s", id, (long)pid, state);
        count_result(w, code == 0 && state[0] ? state : "child_failed");
    }
    return;
fail_pipes:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    count_result(w, "spawn_failed");
}

/* ---- the child ---- */

struct child {
    const char *location, *id;
    int64_t lease;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    char phase[40];
    double phase_t0;
};

static void child_phase(struct child *c, const struct osm_task *t)
{
    if (strcmp(c->phase, t->phase) == 0)
        return;
    double now = mono_now();
    if (c->phase[0]) {
        printf("phase %s %.3f\n", c->phase, now - c->phase_t0);
        fflush(stdout);
    }
    snprintf(c->phase, sizeof c->phase, "%s", t->phase);
    c->phase_t0 = now;
}

static void child_event(void *user, const struct osm_task *t, const char *type, const char *message)
{
    (void)type, (void)message;
    child_phase(user, t);
}

static void child_progress(void *user, const struct osm_task *t)
{
    child_phase(user, t);
}

/* Renew our claim every third of the lease, on a connection of its own. */
static void *child_beat(void *arg)
{
    struct child *c = arg;
    struct osm_store *st = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_open_location(c->location, &st, &err) != 0) {
        osm_warn("worker.heartbeat", "task=%s msg=\"%s\"", c->id, err.msg);
        return NULL;
    }
    double every = (double)c->lease / 3.0;
    pthread_mutex_lock(&c->lock);
    while (!c->done) {
        struct timespec until;
        deadline_in(&until, every < 1 ? 1 : every);
        while (!c->done && pthread_cond_timedwait(&c->cond, &c->lock, &until) != ETIMEDOUT)
            ;
        if (c->done)
            break;
        pthread_mutex_unlock(&c->lock);
        osm_err_clear(&err);
        int r = osm_store_claim(st, c->id, osm_store_self_owner(), osm_store_now() + c->lease, &err);
        if (r <= 0)
            osm_warn("worker.heartbeat", "task=%s msg=\"%s\"", c->id, r < 0 ? err.msg : "another engine holds it");
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    osm_store_close(st);
    return NULL;
}

/* The task's log in TASK_DIR/osmig.log, as `osmig migrate` keeps it: the
 * state directory is the one its options name (the server's). NULL when
 * the task names none or the directory cannot be made (the run goes on:
 * the store keeps the history). */
static char *open_task_log(struct osm_store *st, const char *id)
{
    struct osm_task t;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_store_get_task(st, id, &t, &err) != 0)
        return NULL;
    char *dir = osm_report_task_dir(&t), *path = NULL;
    if (dir) {
        path = osm_path_join(dir, "osmig.log");
        if (osm_mkdir_p(dir, 0755, &err) != 0 || osm_log_set_file(path) != 0) {
            osm_warn("worker.log", "task=%s path=%s msg=\"%s\"", id, path, err.msg[0] ? err.msg : strerror(errno));
            free(path);
            path = NULL;
        }
        free(dir);
    }
    osm_task_free(&t);
    return path;
}

int osm_worker_child(const char *store_location, const char *id, int64_t lease_seconds)
{
    char go[8] = "";
    if (!fgets(go, sizeof go, stdin) || strcmp(go, "go\n") != 0)
        return 3;
    struct child c = {.location = store_location, .id = id, .lease = lease_seconds > 0 ? lease_seconds : 300};
    pthread_mutex_init(&c.lock, NULL);
    cond_init_mono(&c.cond);
    struct osm_store *st = NULL;
    struct osm_err err = OSM_ERR_INIT;
    int rc = 1;
    if (osm_store_open_location(store_location, &st, &err) != 0) {
        fprintf(stderr, "osmig serve --run-task %s: %s\n", id, err.msg);
        goto out;
    }
    char *log_path = open_task_log(st, id);
    if (log_path)
        osm_info("worker.task", "task=%s owner=%s store=%s", id, osm_store_self_owner(), store_location);
    pthread_t beat;
    int beating = pthread_create(&beat, NULL, child_beat, &c) == 0;
    /* The lease of `serve --lease` from the first claim on, not only from
     * the heartbeat's first renewal. */
    struct osm_runner_opts opts = {child_event, child_progress, &c, c.lease};
    int r = osm_runner_run(st, id, &opts, &err);
    pthread_mutex_lock(&c.lock);
    c.done = 1;
    pthread_cond_signal(&c.cond);
    pthread_mutex_unlock(&c.lock);
    if (beating)
        pthread_join(beat, NULL);
    if (r < 0) {
        fprintf(stderr, "osmig serve --run-task %s: %s\n", id, err.msg);
    } else if (r == 1) {
        rc = 3;
    } else {
        /* The run's report, as `osmig migrate` leaves it (report_task.h);
         * one that cannot be written is a warning, the task's end stays. */
        struct osm_err rerr = OSM_ERR_INIT;
        if (osm_report_task(st, id, "migrate", NULL, NULL, &rerr) != 0)
            osm_warn("worker.report", "task=%s msg=\"%s\"", id, rerr.msg);
        struct osm_task t;
        if (osm_store_get_task(st, id, &t, &err) == 0) {
            struct osm_task shown = t;
            child_phase(&c, &shown); /* the last phase's time */
            printf("state %s\n", osm_task_state_name(t.state));
            osm_task_free(&t);
        }
        rc = 0;
    }
    osm_store_close(st);
    if (log_path) {
        osm_log_set_file(NULL);
        free(log_path);
    }
out:
    fflush(stdout);
    pthread_cond_destroy(&c.cond);
    pthread_mutex_destroy(&c.lock);
    return rc;
}

static void *slot_main(void *arg)
{
    struct runner_slot *s = arg;
    struct osm_worker *w = s->w;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        size_t k = 0;
        for (;;) {
            for (k = 0; k < w->n_queue && running_locked(w, w->queue[k]); k++)
                ;
            if (w->stop || k < w->n_queue)
                break;
            pthread_cond_wait(&w->wake_runners, &w->lock);
        }
        if (w->stop)
            break;
        memcpy(s->running, w->queue[k], 40);
        memmove(w->queue + k, w->queue + k + 1, (w->n_queue - k - 1) * sizeof *w->queue);
        w->n_queue--;
        pthread_mutex_unlock(&w->lock);
        run_one(s, s->running);
        pthread_mutex_lock(&w->lock);
        s->running[0] = '\0';
        /* A finished task may let its job start more (ramp-up): look now. */
        w->kicked = 1;
        pthread_cond_signal(&w->wake_loop);
        pthread_cond_broadcast(&w->wake_runners); /* a queued retry of it may go */
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* ---- start and stop ---- */

int osm_worker_start(const struct osm_worker_config *cfg, struct osm_worker **out, struct osm_err *err)
{
    *out = NULL;
    struct osm_worker *w = osm_xcalloc(1, sizeof *w);
    w->cfg = *cfg;
    if (w->cfg.n_workers < 1)
        w->cfg.n_workers = 1;
    if (w->cfg.interval < 1)
        w->cfg.interval = 1;
    w->location = osm_xstrdup(cfg->store_location);
    w->cfg.store_location = w->location;
    w->owner = osm_store_self_owner();
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        free(w->location);
        free(w);
        return osm_err_errno(err, "cannot find this program (/proc/self/exe)");
    }
    exe[len] = '\0';
    w->exe = osm_xstrdup(exe);
    pthread_mutex_init(&w->pass_lock, NULL);
    w->lease = cfg->lease_seconds > 0 ? cfg->lease_seconds : 300;
    pthread_mutex_init(&w->lock, NULL);
    cond_init_mono(&w->wake_loop);
    cond_init_mono(&w->wake_beat);
    pthread_cond_init(&w->wake_runners, NULL);
    w->slots = osm_xcalloc((size_t)w->cfg.n_workers, sizeof *w->slots);
    if (osm_store_open_location(w->location, &w->loop_st, err) != 0 ||
        osm_store_open_location(w->location, &w->beat_st, err) != 0)
        goto fail;
    for (int i = 0; i < w->cfg.n_workers; i++) {
        w->slots[i].w = w;
        if (osm_store_open_location(w->location, &w->slots[i].st, err) != 0)
            goto fail;
    }
    for (int i = 0; i < w->cfg.n_workers; i++) {
        if (pthread_create(&w->slots[i].thread, NULL, slot_main, &w->slots[i]) != 0) {
            osm_err_set(err, OSM_EIO, "cannot start a worker thread");
            goto fail;
        }
        w->n_started_slots++;
    }
    if (pthread_create(&w->beat, NULL, beat_main, w) != 0) {
        osm_err_set(err, OSM_EIO, "cannot start the heartbeat thread");
        goto fail;
    }
    w->started_beat = 1;
    if (pthread_create(&w->loop, NULL, loop_main, w) != 0) {
        osm_err_set(err, OSM_EIO, "cannot start the scheduler thread");
        goto fail;
    }
    w->started_loop = 1;
    *out = w;
    return 0;
fail:
    osm_worker_stop(w);
    return -1;
}

void osm_worker_stop(struct osm_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_broadcast(&w->wake_loop);
    pthread_cond_broadcast(&w->wake_runners);
    pthread_cond_broadcast(&w->wake_beat);
    pthread_mutex_unlock(&w->lock);
    if (w->started_loop)
        pthread_join(w->loop, NULL);
    for (size_t i = 0; i < w->n_started_slots; i++)
        pthread_join(w->slots[i].thread, NULL);
    if (w->started_beat)
        pthread_join(w->beat, NULL);
    /* Claims of tasks never started go back, so another engine (or the next
     * start of this one) takes them at once instead of after the lease. */
    for (size_t i = 0; i < w->n_queue && w->loop_st; i++) {
        struct osm_err err = OSM_ERR_INIT;
        osm_store_release(w->loop_st, w->queue[i], w->owner, &err);
    }
    for (int i = 0; i < w->cfg.n_workers; i++)
        if (w->slots[i].st)
            osm_store_close(w->slots[i].st);
    if (w->loop_st)
        osm_store_close(w->loop_st);
    if (w->beat_st)
        osm_store_close(w->beat_st);
    osm_free_all(w->slots, w->queue, w->location, w->exe);
    pthread_mutex_destroy(&w->pass_lock);
    pthread_cond_destroy(&w->wake_loop);
    pthread_cond_destroy(&w->wake_runners);
    pthread_cond_destroy(&w->wake_beat);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
