/* scheduler.c: one pass over the waiting tasks (scheduler.h).
 *
 * Cost: a pass reads bounded pages from index ranges
 * (osm_store_list_waiting_page), never every due task: the tasks whose
 * latest start passed (at most MAX_WRITES), the startable ones in start
 * order until `capacity` are claimed (at most SCAN_BUDGET rows), and the
 * submitted ones that start later (as many as may be written). A task
 * scheduled for later was decided by an earlier pass and its row says when
 * it starts. It writes only the rows that change, at most MAX_WRITES a
 * pass. Window specs are parsed
 * once per distinct text, and each one remembers its last next-start answer,
 * so tasks sharing a window and a start cost a string compare. */
#include "scheduler.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "osm_buf.h"
#include "osm_probe.h"
#include "schedule.h"

/* ---- a small string-keyed hash table (open addressing) ---- */

struct slot {
    const char *key; /* NULL: empty */
    uint64_t hash;
    size_t value;
};
struct table {
    struct slot *slots;
    size_t cap, n;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int slot_used(const void *e)
{
    return ((const struct slot *)e)->key != NULL;
}

static size_t slot_hash(const void *e, size_t cap)
{
    (void)cap;
    return (size_t)((const struct slot *)e)->hash;
}

static struct slot *table_find(struct table *t, const char *key, uint64_t h)
{
    osm_probe_grow(&t->slots, &t->cap, t->n, sizeof *t->slots, 64, slot_used, slot_hash);
    size_t j = h & (t->cap - 1);
    while (t->slots[j].key && (t->slots[j].hash != h || strcmp(t->slots[j].key, key) != 0))
        j = (j + 1) & (t->cap - 1);
    return &t->slots[j];
}

/* ---- per-pass caches ---- */

struct win {
    char *text;             /* the spec (owned: the rows of a page do not outlive it) */
    struct osm_window *w;   /* NULL when the spec is bad */
    char *error;            /* why, when bad */
    int64_t memo_base;      /* last next-start question and answer */
    int memo_rc;
    int64_t memo_start, memo_close;
    int memo_valid;
};

struct group {                /* the due tasks of one job */
    const char *job_id;       /* NULL: tasks without a job */
    const char **ids;
    size_t n, cap;
};

/* A waiting task whose row is to be written: its next start and why. */
struct pending {
    const struct osm_waiting_task *t;
    int64_t next, base;
    char why; /* 'w' window, 't' start time, 'n' no window opening within a year */
};

/* Rows a pass writes at most (each is a transaction; a job of 10,000 tasks
 * on a disk store would otherwise hold one pass for a minute). Tasks left
 * unwritten are decided the same way by the next pass: an expired one is
 * never a candidate, written or not. */
#define MAX_WRITES 500
/* The rows of waiting tasks only inform (a task's start time and window are
 * decided again by every pass): past the first WAIT_WRITES_MIN of a pass,
 * they are written only while the pass has run less than WAIT_WRITES_SECONDS.
 * Each write is a transaction with an fsync that holds the store's write
 * lock: 500 of them would hold every pass over a fresh job of 100,000 for a
 * second or more on a disk, and the API's requests wait for that lock. */
#define WAIT_WRITES_MIN 8
#define WAIT_WRITES_SECONDS 0.02
/* and at most this many a pass: the server runs a pass whenever work
 * arrives, and a fresh job of 100,000 is labelled over many passes anyway. */
#define WAIT_WRITES_MAX 64

struct pass {
    struct osm_store *st;
    struct pending *pending;
    size_t n_pending, cap_pending;
    size_t writes;          /* rows written (or tried) this pass */
    size_t wait_writes;     /* of which rows of waiting tasks */
    struct timespec t0;     /* when the pass began (CLOCK_MONOTONIC) */
    int64_t now;
    struct table win_index;
    struct win *wins;
    size_t n_wins, cap_wins;
    const char *last_text;  /* the window text of the task before, and its entry: */
    size_t last_win;        /* tasks of a job come together and share their window */
    struct table job_index;  /* the due tasks of this page by job */
    struct group *groups;
    size_t n_groups, cap_groups;
    struct table jobs_done;  /* jobs that start nothing more this pass (owned keys) */
    json_t *skip;            /* the same, as the JSON array the store's page query skips */
};

static struct win *window_of(struct pass *p, const char *text)
{
    if (p->last_text && strcmp(p->last_text, text) == 0)
        return &p->wins[p->last_win];
    uint64_t h = fnv1a(text);
    struct slot *s = table_find(&p->win_index, text, h);
    if (s->key) {
        p->last_text = s->key;
        p->last_win = s->value;
        return &p->wins[s->value];
    }
    if (p->n_wins == p->cap_wins) {
        p->cap_wins = p->cap_wins ? p->cap_wins * 2 : 16;
        p->wins = osm_xrealloc(p->wins, p->cap_wins * sizeof *p->wins);
    }
    struct win *w = &p->wins[p->n_wins];
    memset(w, 0, sizeof *w);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_window_parse(text, &w->w, &err) != 0)
        w->error = osm_xstrdup(err.msg);
    w->text = osm_xstrdup(text);
    s->key = w->text;
    s->hash = h;
    s->value = p->n_wins++;
    p->win_index.n++;
    p->last_text = w->text;
    p->last_win = s->value;
    return w;
}

static int window_next(struct win *w, int64_t base, int64_t *start, int64_t *close)
{
    if (!w->memo_valid || w->memo_base != base) {
        w->memo_rc = osm_window_next_start(w->w, base, &w->memo_start, &w->memo_close);
        w->memo_base = base;
        w->memo_valid = 1;
    }
    *start = w->memo_start;
    *close = w->memo_close;
    return w->memo_rc;
}

static void add_candidate(struct pass *p, const struct osm_waiting_task *t)
{
    const char *key = t->job_id ? t->job_id : "";
    uint64_t h = fnv1a(key);
    struct slot *s = table_find(&p->job_index, key, h);
    if (!s->key) {
        if (p->n_groups == p->cap_groups) {
            p->cap_groups = p->cap_groups ? p->cap_groups * 2 : 16;
            p->groups = osm_xrealloc(p->groups, p->cap_groups * sizeof *p->groups);
        }
        p->groups[p->n_groups] = (struct group){.job_id = t->job_id};
        s->key = key;
        s->hash = h;
        s->value = p->n_groups++;
        p->job_index.n++;
    }
    struct group *g = &p->groups[s->value];
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 8;
        g->ids = osm_xrealloc(g->ids, g->cap * sizeof *g->ids);
    }
    g->ids[g->n++] = t->id;
}

/* Forget the page's groups (their ids point into the page's rows). */
static void groups_reset(struct pass *p)
{
    for (size_t i = 0; i < p->n_groups; i++)
        free(p->groups[i].ids);
    p->n_groups = 0;
    free(p->job_index.slots);
    memset(&p->job_index, 0, sizeof p->job_index);
}

static int job_done(struct pass *p, const char *job_id)
{
    if (!p->jobs_done.cap)
        return 0;
    return table_find(&p->jobs_done, job_id, fnv1a(job_id))->key != NULL;
}

static void mark_job_done(struct pass *p, const char *job_id)
{
    uint64_t h = fnv1a(job_id);
    struct slot *s = table_find(&p->jobs_done, job_id, h);
    if (s->key)
        return;
    s->key = osm_xstrdup(job_id);
    s->hash = h;
    p->jobs_done.n++;
    if (!p->skip)
        p->skip = json_array();
    json_array_append_new(p->skip, json_string(job_id));
}

static void pass_free(struct pass *p)
{
    for (size_t i = 0; i < p->n_wins; i++) {
        osm_window_free(p->wins[i].w);
        free(p->wins[i].error);
        free(p->wins[i].text);
    }
    free(p->wins);
    free(p->win_index.slots);
    groups_reset(p);
    free(p->groups);
    for (size_t i = 0; i < p->jobs_done.cap; i++)
        free((char *)p->jobs_done.slots[i].key);
    free(p->jobs_done.slots);
    json_decref(p->skip);
    free(p->pending);
}

static const char *fmt_utc(int64_t t, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, 32, "@%lld", (long long)t);
    return buf;
}

/* ---- writing one task ---- */

enum change { CH_EXPIRE, CH_SCHEDULE, CH_BAD_WINDOW };

/* Read the task, change it, commit if it is still as it was read. 0 written,
 * 1 it moved on meanwhile (left alone), -1 store error. */
static int change_task(struct pass *p, const struct osm_waiting_task *wt, enum change what, int64_t not_before,
                       const char *words, struct osm_err *err)
{
    struct osm_task t;
    osm_task_init(&t);
    if (osm_store_get_task(p->st, wt->id, &t, err) != 0) {
        if (err->code == OSM_ENOTFOUND) {
            osm_err_clear(err);
            return 1;
        }
        return -1;
    }
    if (t.state != OSM_TASK_SUBMITTED && t.state != OSM_TASK_SCHEDULED) {
        osm_task_free(&t);
        return 1;
    }
    int was = (int)t.state;
    /* The phase names the event too. */
    static const struct {
        enum osm_task_state state;
        const char *phase, *error_code;
    } to[] = {
        [CH_EXPIRE] = {OSM_TASK_EXPIRED, "expired", "schedule.expired"},
        [CH_SCHEDULE] = {OSM_TASK_SCHEDULED, "scheduled", NULL},
        [CH_BAD_WINDOW] = {OSM_TASK_FAILED, "failed", "schedule.window"},
    };
    t.state = to[what].state;
    snprintf(t.phase, sizeof t.phase, "%s", to[what].phase);
    if (to[what].error_code) {
        osm_task_set_str(&t.error_code, to[what].error_code);
        osm_task_set_str(&t.cause, words);
    } else {
        t.not_before = not_before;
    }
    const char *event = to[what].phase;
    struct osm_task_change ch = {.task = &t, .expect_state = was, .expect_rev = t.rev, .event_type = event,
                                 .event_message = words};
    int rc = osm_store_commit(p->st, &ch, err);
    osm_task_free(&t);
    return rc;
}

/* ---- the pass ---- */

/* Decide one task; due ones join their job's candidates. */
static int visit(struct pass *p, const struct osm_waiting_task *t, struct osm_sched_result *res, struct osm_err *err)
{
    char when[32], words[2300];
    int64_t now = p->now;
    if (t->latest_start > 0 && now > t->latest_start) {
        if (p->writes >= MAX_WRITES)
            return 0;
        p->writes++;
        snprintf(words, sizeof words, "the task did not start before its latest start time, %s",
                 fmt_utc(t->latest_start, when));
        int rc = change_task(p, t, CH_EXPIRE, 0, words, err);
        res->n_expired += rc == 0;
        return rc < 0 ? -1 : 0;
    }
    int64_t base = t->not_before > now ? t->not_before : now;
    int64_t next = t->not_before;
    int due = t->not_before <= now, never = 0;
    struct win *w = t->window && *t->window ? window_of(p, t->window) : NULL;
    if (w && !w->w) {
        if (p->writes >= MAX_WRITES)
            return 0;
        p->writes++;
        snprintf(words, sizeof words,
                 "its maintenance window cannot be used (%s); reschedule the task with a valid window", w->error);
        return change_task(p, t, CH_BAD_WINDOW, 0, words, err) < 0 ? -1 : 0;
    }
    if (w) {
        int64_t start, close;
        if (window_next(w, base, &start, &close) == 0) {
            due = due && start == now;
            next = start;
        } else {
            due = 0; /* no opening within a year of its start: it waits */
            never = 1;
        }
    }
    if (due) {
        res->n_due++;
        add_candidate(p, t);
        return 0;
    }
    res->n_scheduled++;
    if (t->state == OSM_TASK_SCHEDULED && next == t->not_before)
        return 0; /* the row already tells when it starts */
    if (p->n_pending == p->cap_pending) {
        p->cap_pending = p->cap_pending ? p->cap_pending * 2 : 64;
        p->pending = osm_xrealloc(p->pending, p->cap_pending * sizeof *p->pending);
    }
    p->pending[p->n_pending++] = (struct pending){t, next, base, never ? 'n' : w ? 'w' : 't'};
    return 0;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Write the rows of tasks that wait: after the claims, as they only inform,
 * within what is left of MAX_WRITES and the time above; the next passes
 * write the rest. */
/* What a waiting task's row says of it: why 'n' (its window never opens),
 * 'w' (it waits for its window) or 't' (for its start time). */
static void say_waiting(char why, int64_t base, int64_t next, char *words, size_t size)
{
    char when[32];
    if (why == 'n')
        snprintf(words, size, "waiting: its maintenance window does not open within a year of %s", fmt_utc(base, when));
    else if (why == 'w')
        snprintf(words, size, "waiting for its maintenance window: next start %s", fmt_utc(next, when));
    else
        snprintf(words, size, "waiting for its start time, %s", fmt_utc(next, when));
}

static int write_pending(struct pass *p, struct osm_err *err)
{
    char words[256];
    for (size_t i = 0; i < p->n_pending && p->writes < MAX_WRITES; i++, p->writes++, p->wait_writes++) {
        if (p->wait_writes >= WAIT_WRITES_MAX ||
            (p->wait_writes >= WAIT_WRITES_MIN && seconds_since(&p->t0) > WAIT_WRITES_SECONDS))
            break;
        const struct pending *q = &p->pending[i];
        say_waiting(q->why, q->base, q->next, words, sizeof words);
        if (change_task(p, q->t, CH_SCHEDULE, q->next, words, err) < 0)
            return -1;
    }
    p->n_pending = 0; /* they point into the page's rows; the rest is for the next passes */
    return 0;
}

static int limit_of(const char *text, const char *field, int64_t n_tasks, int at_least_one, int *out,
                    struct osm_err *err)
{
    int v, pct;
    *out = -1;
    if (!text)
        return 0;
    if (osm_rate_limit_parse(text, field, &v, &pct, err) != 0)
        return -1;
    *out = osm_rate_limit_count(v, pct, n_tasks, at_least_one);
    return 0;
}

/* Rate control and claims of one job's due tasks, at most `room` of them. A
 * job that can start no more this pass (stopped, at its limit, or fewer
 * claimed than offered) is remembered, so later pages skip its tasks. */
static int start_group(struct pass *p, const struct group *g, size_t room, const char *owner, int64_t lease_until,
                       struct osm_sched_result *res, struct osm_err *err)
{
    int max_running = -1;
    if (room == 0 || (g->job_id && job_done(p, g->job_id)))
        return 0;
    if (g->job_id) {
        struct osm_job job;
        osm_job_init(&job);
        if (osm_store_get_job(p->st, g->job_id, &job, err) != 0) {
            if (err->code == OSM_ENOTFOUND) { /* its tasks name no job we have: start none */
                osm_err_clear(err);
                mark_job_done(p, g->job_id);
                return 0;
            }
            osm_err_prefix(err, "job %s", g->job_id);
            return -1;
        }
        if (job.stop_reason) { /* stopped earlier: starts nothing */
            osm_job_free(&job);
            mark_job_done(p, g->job_id);
            return 0;
        }
        struct osm_task_counts c;
        if (osm_store_count_tasks(p->st, g->job_id, &c, err) != 0) {
            osm_job_free(&job);
            osm_err_prefix(err, "job %s", g->job_id);
            return -1;
        }
        struct osm_job_progress pr = {0};
        for (int s = 0; s < OSM_TASK_N_STATES; s++)
            pr.n_tasks += c.by_state[s];
        pr.running = c.by_state[OSM_TASK_RUNNING] + c.by_state[OSM_TASK_ROLLING_BACK];
        pr.succeeded = c.by_state[OSM_TASK_SUCCEEDED];
        pr.errors = c.by_state[OSM_TASK_FAILED] + c.by_state[OSM_TASK_ROLLED_BACK] +
                    c.by_state[OSM_TASK_ROLLBACK_FAILED] + c.by_state[OSM_TASK_EXPIRED];
        pr.waiting = c.by_state[OSM_TASK_SUBMITTED] + c.by_state[OSM_TASK_SCHEDULED];
        int max_conc, max_err;
        struct osm_err lerr = OSM_ERR_INIT;
        char *reason = NULL;
        int allowed = 0;
        if (limit_of(job.max_concurrency, "max_concurrency", pr.n_tasks, 1, &max_conc, &lerr) != 0 ||
            limit_of(job.max_errors, "max_errors", pr.n_tasks, 0, &max_err, &lerr) != 0)
            reason = osm_xasprintf("its rate limits cannot be used (%s)", lerr.msg);
        else
            allowed = osm_rate_allowed(&pr, max_conc, max_err, &reason);
        osm_job_free(&job);
        if (reason) {
            int rc = osm_store_set_job_stop(p->st, g->job_id, reason, err);
            free(reason);
            if (rc != 0)
                return -1;
            res->n_jobs_stopped++;
            mark_job_done(p, g->job_id);
            return 0;
        }
        if (allowed == 0) {
            mark_job_done(p, g->job_id);
            return 0;
        }
        max_running = (int)pr.running + allowed;
    }
    size_t got = 0, offer = g->n < room ? g->n : room;
    if (osm_store_claim_waiting(p->st, g->job_id, g->ids, offer, max_running, owner, lease_until,
                                res->claimed + res->n_claimed, &got, err) != 0)
        return -1;
    res->n_claimed += got;
    if (got < offer && g->job_id)
        mark_job_done(p, g->job_id);
    return 0;
}

/* Rows of startable tasks a page reads: twice the capacity, within
 * [PAGE_MIN, PAGE_MAX]. A job found at its limit is skipped by the next
 * pages' query, so a small page wastes little on it. */
#define PAGE_MIN 16
#define PAGE_MAX 500
/* Pages and startable rows a pass reads at most: a pass costs the same
 * whether 1,000 or 1,000,000 tasks are due; those beyond wait for the next
 * passes. 64 pages: 64 jobs at their limit ahead of one with room. */
#define SCAN_PAGES 64
#define SCAN_BUDGET 4000

/* Visit rows (and start the due ones, at most capacity in all); then write
 * the rows of those that wait, within MAX_WRITES. */
static int visit_rows(struct pass *p, const struct osm_waiting_task *rows, size_t n, size_t capacity,
                      const char *owner, int64_t lease_until, struct osm_sched_result *res, struct osm_err *err)
{
    int rc = 0;
    res->n_waiting += n;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = visit(p, &rows[i], res, err);
    for (size_t g = 0; g < p->n_groups && rc == 0; g++)
        rc = start_group(p, &p->groups[g], capacity - res->n_claimed, owner, lease_until, res, err);
    groups_reset(p);
    if (rc == 0)
        rc = write_pending(p, err);
    p->n_pending = 0;
    return rc;
}

int osm_scheduler_pass(struct osm_store *st, int64_t now, const char *owner, int64_t lease_seconds, size_t capacity,
                       struct osm_sched_result *res, struct osm_err *err)
{
    memset(res, 0, sizeof *res);
    res->claimed = capacity ? osm_xcalloc(capacity, sizeof *res->claimed) : NULL;
    struct pass p = {.st = st, .now = now};
    clock_gettime(CLOCK_MONOTONIC, &p.t0);
    int64_t lease_until = now + lease_seconds;
    struct osm_waiting_task *rows = NULL;
    size_t n = 0;

    /* Expiries first, from their own index: they need no capacity. */
    int rc = osm_store_list_waiting_page(st, OSM_WAITING_EXPIRED, now, INT64_MIN, 0, NULL, MAX_WRITES, &rows, &n, err);
    if (rc == 0)
        rc = visit_rows(&p, rows, n, capacity, owner, lease_until, res, err);
    osm_waiting_free(rows, n);

    /* Startable tasks in start order, a page at a time, until the capacity
     * is used or SCAN_BUDGET rows were read; one page even with no
     * capacity, so that windows and start times are written. */
    size_t page = capacity > PAGE_MAX / 2 ? PAGE_MAX : capacity * 2 < PAGE_MIN ? PAGE_MIN : capacity * 2;
    int64_t after_nb = INT64_MIN, after_seq = 0;
    for (size_t read = 0, pages = 0; rc == 0 && read < SCAN_BUDGET && pages < SCAN_PAGES &&
                                     (pages == 0 || res->n_claimed < capacity);
         pages++) {
        rows = NULL;
        n = 0;
        /* Jobs that start nothing more this pass are skipped by the query:
         * a job at its limit with 100,000 due tasks does not fill the pages. */
        char *skip = p.skip ? json_dumps(p.skip, JSON_COMPACT) : NULL;
        rc = osm_store_list_waiting_page(st, OSM_WAITING_STARTABLE, now, after_nb, after_seq, skip, page, &rows, &n,
                                         err);
        free(skip);
        if (rc == 0)
            rc = visit_rows(&p, rows, n, capacity, owner, lease_until, res, err);
        if (n > 0) {
            after_nb = rows[n - 1].not_before;
            after_seq = rows[n - 1].seq;
        }
        osm_waiting_free(rows, n);
        read += n;
        if (n < page)
            break;
    }

    /* Submitted tasks that start later: their rows say when, as writes
     * allow. */
    if (rc == 0 && p.writes < MAX_WRITES && p.wait_writes < WAIT_WRITES_MAX) {
        rows = NULL;
        n = 0;
        size_t room = MAX_WRITES - p.writes < WAIT_WRITES_MAX - p.wait_writes ? MAX_WRITES - p.writes
                                                                              : WAIT_WRITES_MAX - p.wait_writes;
        rc = osm_store_list_waiting_page(st, OSM_WAITING_LATER, now, INT64_MIN, 0, NULL, room, &rows, &n, err);
        if (rc == 0)
            rc = visit_rows(&p, rows, n, capacity, owner, lease_until, res, err);
        osm_waiting_free(rows, n);
    }
    pass_free(&p);
    if (rc != 0) {
        osm_err_prefix(err, "scheduler");
        osm_sched_result_free(res);
        return -1;
    }
    return 0;
}

int osm_scheduler_place(const struct osm_task *t, int64_t now, int64_t *not_before, char *words, size_t words_size)
{
    if (t->latest_start > 0 && now > t->latest_start)
        return 0;
    int64_t base = t->not_before > now ? t->not_before : now;
    int64_t next = t->not_before;
    int due = t->not_before <= now;
    char why = 't';
    if (t->window && *t->window) {
        struct osm_window *w = NULL;
        struct osm_err err = OSM_ERR_INIT;
        if (osm_window_parse(t->window, &w, &err) != 0)
            return 0;
        int64_t start, close;
        if (osm_window_next_start(w, base, &start, &close) == 0) {
            due = due && start == now;
            next = start;
            why = 'w';
        } else {
            due = 0;
            why = 'n';
        }
        osm_window_free(w);
    }
    if (due)
        return 0;
    *not_before = next;
    say_waiting(why, base, next, words, words_size);
    return 1;
}

void osm_sched_result_free(struct osm_sched_result *r)
{
    free(r->claimed);
    r->claimed = NULL;
    r->n_claimed = 0;
}
