/* worker.c: see worker.h. One lock guards the queue, the ids being run and
 * the stop flag; store calls are made outside it, each thread on its own
 * connection (a connection is never shared between threads). */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "osm_buf.h"
#include "osm_log.h"
#include "runner.h"
#include "scheduler.h"
#include "store.h"

struct runner_slot {
    struct osm_worker *w;
    pthread_t thread;
    struct osm_store *st;
    char running[40];             /* "" when idle */
    /* Phase timing for osmig_phase_duration_seconds. */
    char phase[40];
    double phase_t0;
};

struct osm_worker {
    struct osm_worker_config cfg;
    char *location;
    const char *owner;
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

/* Is `id` queued or being run? Called with the lock held. */
static int held_locked(struct osm_worker *w, const char *id)
{
    for (size_t i = 0; i < w->n_queue; i++)
        if (strcmp(w->queue[i], id) == 0)
            return 1;
    for (int i = 0; i < w->cfg.n_workers; i++)
        if (strcmp(w->slots[i].running, id) == 0)
            return 1;
    return 0;
}

static void enqueue(struct osm_worker *w, char (*ids)[40], size_t n)
{
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < n; i++) {
        if (held_locked(w, ids[i]))
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
        if (osm_store_claim_orphans(w->loop_st, w->owner, now, now + w->lease, room, ids, &n, &err) != 0) {
            osm_warn("worker.orphans", "msg=\"%s\"", err.msg);
            osm_err_clear(&err);
        } else if (n > 0) {
            osm_info("worker.orphans", "claimed=%zu", n);
            enqueue(w, ids, n);
            if (w->cfg.metrics)
                osm_metrics_counter_add(w->cfg.metrics, "osmig_worker_orphans_claimed_total",
                                        "Tasks left by a dead engine that this server took over", NULL, (double)n);
        }
        free(ids);
    }
    double t0 = mono_now();
    struct osm_sched_result res;
    memset(&res, 0, sizeof res);
    int rc = osm_scheduler_pass(w->loop_st, now, w->owner, w->lease, &res, &err);
    double dt = mono_now() - t0;
    if (w->cfg.metrics)
        osm_metrics_observe(w->cfg.metrics, "osmig_scheduler_pass_seconds", "Duration of a scheduler pass",
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
            osm_metrics_counter_add(w->cfg.metrics, "osmig_scheduler_claimed_total",
                                    "Due tasks the scheduler claimed to run", NULL, (double)res.n_claimed);
    }
    osm_sched_result_free(&res);
}

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

/* ---- the heartbeat ---- */

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
        size_t n = 0;
        char (*ids)[40] = osm_xcalloc(w->n_queue + (size_t)w->cfg.n_workers + 1, sizeof *ids);
        for (size_t i = 0; i < w->n_queue; i++)
            memcpy(ids[n++], w->queue[i], 40);
        for (int i = 0; i < w->cfg.n_workers; i++)
            if (w->slots[i].running[0])
                memcpy(ids[n++], w->slots[i].running, 40);
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

/* ---- running tasks ---- */

static void phase_seen(struct runner_slot *s, const struct osm_task *t)
{
    if (strcmp(s->phase, t->phase) == 0)
        return;
    double now = mono_now();
    if (s->phase[0] && s->w->cfg.metrics) {
        const char *labels[] = {"phase", s->phase, NULL};
        osm_metrics_observe(s->w->cfg.metrics, "osmig_phase_duration_seconds",
                            "Time tasks spent in each phase on this server", osm_metrics_seconds_bounds,
                            osm_metrics_n_seconds_bounds, labels, now - s->phase_t0);
    }
    snprintf(s->phase, sizeof s->phase, "%s", t->phase);
    s->phase_t0 = now;
}

static void on_event(void *user, const struct osm_task *t, const char *type, const char *message)
{
    struct runner_slot *s = user;
    phase_seen(s, t);
    osm_info("worker.task", "task=%s phase=%s event=%s", t->id, t->phase, type);
    (void)message;
}

static void on_progress(void *user, const struct osm_task *t)
{
    phase_seen(user, t);
}

static void run_one(struct runner_slot *s, const char *id)
{
    struct osm_worker *w = s->w;
    struct osm_runner_opts opts = {on_event, on_progress, s};
    struct osm_err err = OSM_ERR_INIT;
    s->phase[0] = '\0';
    int rc = osm_runner_run(s->st, id, &opts, &err);
    const char *result = "error";
    struct osm_task t;
    osm_task_init(&t);
    if (rc < 0) {
        osm_warn("worker.run", "task=%s msg=\"%s\"", id, err.msg);
    } else if (rc == 1) {
        result = "held_elsewhere";
    } else if (osm_store_get_task(s->st, id, &t, &err) == 0) {
        result = osm_task_state_name(t.state);
        osm_info("worker.run", "task=%s state=%s", id, result);
    }
    if (w->cfg.metrics) {
        const char *labels[] = {"result", result, NULL};
        osm_metrics_counter_add(w->cfg.metrics, "osmig_worker_tasks_total", "Task runs by how they ended", labels,
                                1);
    }
    osm_task_free(&t);
}

static void *slot_main(void *arg)
{
    struct runner_slot *s = arg;
    struct osm_worker *w = s->w;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stop && w->n_queue == 0)
            pthread_cond_wait(&w->wake_runners, &w->lock);
        if (w->stop)
            break;
        memcpy(s->running, w->queue[0], 40);
        memmove(w->queue, w->queue + 1, (w->n_queue - 1) * sizeof *w->queue);
        w->n_queue--;
        pthread_mutex_unlock(&w->lock);
        run_one(s, s->running);
        pthread_mutex_lock(&w->lock);
        s->running[0] = '\0';
        /* A finished task may let its job start more (ramp-up): look now. */
        w->kicked = 1;
        pthread_cond_signal(&w->wake_loop);
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
    w->lease = cfg->lease_seconds > 0 ? cfg->lease_seconds : osm_store_lease_seconds();
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
    free(w->slots);
    free(w->queue);
    free(w->location);
    pthread_cond_destroy(&w->wake_loop);
    pthread_cond_destroy(&w->wake_runners);
    pthread_cond_destroy(&w->wake_beat);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
