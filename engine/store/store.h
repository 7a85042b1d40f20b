/* store: where tasks live, durably: SQLite by default (a file in the state
 * directory), or a PostgreSQL server shared by several engines. Every rule
 * below is written once (store_rules.c, store_nonce.c) over a SQL driver per
 * dialect (store_sql.h: sql_sqlite.c, sql_pg.c).
 *
 * Contract:
 * - One task that holds its instance (osm_task_state_holds_instance) per
 *   instance, enforced by the store itself; a second one fails with
 *   OSM_ECONFLICT and an error naming the other task.
 * - Each task has an append-only history of events and an append-only step
 *   journal (intent before a step acts, outcome after). osm_store_commit()
 *   writes the task's new fields, its history event and its journal entry in
 *   one transaction, only if the task is still in the expected state (or rev).
 * - Each commit bumps the task's rev, for optimistic read-modify-write.
 * - A task is run by at most one engine at a time: osm_store_claim() gives it
 *   to an owner until the owner releases it, dies (same host), or lets its
 *   lease run out. */
#ifndef OSM_STORE_H
#define OSM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "osm_error.h"
#include "task.h"

struct osm_store;

struct osm_task_event {
    int64_t seq;
    int64_t at;          /* unix time */
    char *type;          /* "submitted", "step.intent", "state", "progress", ... */
    char *message;
};

struct osm_journal_entry {
    int64_t seq;
    int64_t at;
    int step_index;      /* -1 for the rollback step */
    char *step;
    char *what;          /* "intent" | "outcome" */
    char *result;        /* outcome: "ok", "failed", "happened" (found by check); intent: NULL */
    char *detail;
};

/* One atomic change of a task. */
struct osm_task_change {
    const struct osm_task *task;      /* new values of the mutable fields (by id) */
    int expect_state;                 /* -1: no check; else the state the task must be in */
    int64_t expect_rev;               /* -1: no check; else the task's rev must be this (read-modify-write) */
    const char *event_type;           /* NULL: no history event */
    const char *event_message;
    const struct osm_journal_entry *journal; /* NULL: no journal entry */
};


/* ---- the fleet (osmig serve): jobs, queries, claims of due tasks, keys ---- */

/* A job: tasks for many instances submitted together, with rate control.
 * max_concurrency / max_errors are "N" or "N%" of the job's tasks (NULL: no
 * limit for concurrency; "0" errors by default is the API's choice, not the
 * store's). stop_reason is set when the job stopped starting tasks (errors
 * over the limit) and says why. */
struct osm_job {
    char id[40];
    char *client_token;      /* idempotency token of the create request; NULL if none */
    char *name;
    char *max_concurrency;
    char *max_errors;
    char *stop_reason;
    char *spec;              /* JSON object text: the normalised create request */
    char *state;             /* "active" (NULL reads so), "paused" (no task starts), "cancelled" */
    char *created_by;        /* create: the actor recorded in the audit trail for the job and each
                              * task (NULL: none); not read back (osm_store_audit_list) */
    int64_t created, updated;
    int64_t rev;
};
void osm_job_init(struct osm_job *j);
void osm_job_free(struct osm_job *j);

/* Filters of a task query; unset members do not filter. */
struct osm_task_filter {
    const int *states;       /* any of these states */
    size_t n_states;
    const char *instance;    /* exact instance URI */
    const char *target;
    const char *job_id;
    /* The instance matches this fnmatch(3) pattern (flags 0: '*' also
     * matches '/'), as a key's scope: filtered in the query, so that a page
     * is full whenever more matching tasks exist. */
    const char *instance_pattern;
    int64_t created_from;    /* created >= (0: unset) */
    int64_t created_to;      /* created <  (0: unset) */
    int64_t after_seq;       /* paging: tasks after this cursor (0: from the first) */
    size_t limit;            /* 0: no limit */
};

/* Per-state task counts (of one job, or of the store). */
struct osm_task_counts {
    int64_t by_state[OSM_TASK_N_STATES];
};

/* A task waiting to start, as the scheduler reads it (light: no history). */
struct osm_waiting_task {
    char id[40];
    char *job_id;
    char *window;
    int64_t not_before;
    int64_t latest_start;
    int64_t created;
    int state;               /* submitted or scheduled */
    int64_t seq;             /* order of creation (list_waiting_page's cursor) */
};
void osm_waiting_free(struct osm_waiting_task *w, size_t n);

/* An API access key. The secret is kept only sealed (encrypted at rest by
 * the caller: engine/fleet/keys.c); the store never sees it in clear. */
struct osm_key {
    char id[64];
    char *role;              /* "viewer" | "operator" | "admin" */
    char *scope;             /* instance pattern (fnmatch); NULL: every instance */
    char *sealed_secret;     /* opaque text made by keys.c */
    int64_t created;
    int disabled;
    int64_t expires;         /* unix time from which the key is refused; 0: never */
};
void osm_key_free(struct osm_key *k);
void osm_key_copy(struct osm_key *dst, const struct osm_key *src); /* deep; dst is overwritten */

/* A store handle: one connection, used by one thread at a time. Its
 * insides are the store's (store_sql.h). */
struct osm_store_impl;
struct osm_store {
    char *location;      /* for messages: the database file or URL (no password) */
    struct osm_store_impl *impl;
};
/* "sqlite" or "postgresql". */
const char *osm_store_kind(const struct osm_store *st);

/* The state directory: `dir` if given, else $OSMIG_STATE_DIR, else
 * /var/lib/osmig. Caller frees. */
char *osm_store_state_dir(const char *dir);
/* Open (creating and migrating as needed) STATE_DIR/state.db. A file that is
 * not an osmig store, is unreadable or unwritable, or has a newer schema gives
 * a clear error naming the file. */
int osm_store_open(const char *state_dir, struct osm_store **out, struct osm_err *err);
int osm_store_sqlite_open(const char *db_path, struct osm_store **out, struct osm_err *err);
void osm_store_close(struct osm_store *st);

int osm_store_create_task(struct osm_store *st, struct osm_task *t, struct osm_err *err);
/* 0 found, -1 with OSM_ENOTFOUND when no such task. */
int osm_store_get_task(struct osm_store *st, const char *id, struct osm_task *out, struct osm_err *err);
/* Newest first. */
int osm_store_list_tasks(struct osm_store *st, struct osm_task **out, size_t *n, struct osm_err *err);
/* 0 written, 1 the task is no longer in expect_state or at expect_rev
 * (nothing written). */
int osm_store_commit(struct osm_store *st, const struct osm_task_change *ch, struct osm_err *err);
int osm_store_list_events(struct osm_store *st, const char *id, struct osm_task_event **out, size_t *n, struct osm_err *err);
int osm_store_list_journal(struct osm_store *st, const char *id, struct osm_journal_entry **out, size_t *n, struct osm_err *err);
/* 1 claimed (or renewed), 0 held by another owner: one that runs on this
 * host, or one elsewhere whose lease has not run out. */
int osm_store_claim(struct osm_store *st, const char *id, const char *owner, int64_t lease_until, struct osm_err *err);
int osm_store_release(struct osm_store *st, const char *id, const char *owner, struct osm_err *err);

/* ---- the fleet ---- */

/* Create a job and its tasks in one transaction. When job->client_token
 * names an existing job, nothing is written and 1 is returned with job->id
 * set to that job's id (idempotent create); 0 when created. A task on an
 * instance that another task holds (or an instance named twice) fails the
 * whole job with OSM_ECONFLICT naming the instance and the other task;
 * nothing written. A task created scheduled (osm_scheduler_place) has its
 * progress_msg added to its "submitted" history entry (not kept in the row). */
int osm_store_create_job(struct osm_store *st, struct osm_job *job, struct osm_task *tasks, size_t n, struct osm_err *err);
int osm_store_get_job(struct osm_store *st, const char *id, struct osm_job *out, struct osm_err *err);
/* Oldest first, after cursor `after_seq`, at most `limit` (0: all);
 * *next_seq is the cursor for the next page (0 when none). */
int osm_store_list_jobs(struct osm_store *st, int64_t after_seq, size_t limit, struct osm_job **out, size_t *n,
                        int64_t *next_seq, struct osm_err *err);
/* Write a job's state, name, max_concurrency, max_errors and stop_reason
 * if its rev is still `expect_rev` (-1: no check), with an audit entry
 * (actor, action, detail; none when action is NULL) in the same
 * transaction. 0 written (job->rev, updated advanced), 1 the job moved
 * (nothing written), -1 with OSM_ENOTFOUND when there is no such job. */
int osm_store_update_job(struct osm_store *st, struct osm_job *job, int64_t expect_rev, const char *actor,
                         const char *action, const char *detail, struct osm_err *err);
/* Set or clear (NULL) a job's stop reason. */
int osm_store_set_job_stop(struct osm_store *st, const char *id, const char *reason, struct osm_err *err);
/* Tasks matching `f`, oldest first; *next_seq as for list_jobs. */
int osm_store_query_tasks(struct osm_store *st, const struct osm_task_filter *f, struct osm_task **out, size_t *n,
                          int64_t *next_seq, struct osm_err *err);
/* Counts by state of job `job_id` (NULL: every task). */
int osm_store_count_tasks(struct osm_store *st, const char *job_id, struct osm_task_counts *out, struct osm_err *err);
/* Every task in state submitted or scheduled (the scheduler's pass). */
int osm_store_list_waiting(struct osm_store *st, struct osm_waiting_task **out, size_t *n, struct osm_err *err);
/* The waiting tasks a pass must look at by `now`: every submitted one, and
 * scheduled ones whose not_before <= now or whose latest_start is set and
 * < now (a task scheduled for later needs nothing until then). Oldest first. */
int osm_store_list_waiting_due(struct osm_store *st, int64_t now, struct osm_waiting_task **out, size_t *n,
                               struct osm_err *err);
/* A bounded page of waiting tasks for the scheduler, by `now`:
 * OSM_WAITING_STARTABLE: not_before <= now, not claimed (or the claim's
 *   lease ran out), not of a job with a stop reason; in start order
 *   (not_before, then seq), after the cursor (after_not_before, after_seq)
 *   (INT64_MIN, 0: from the first), not of the jobs named in `skip_jobs`
 *   (a JSON array of job ids; NULL: none);
 * OSM_WAITING_LATER: submitted with not_before > now, oldest first;
 * OSM_WAITING_EXPIRED: latest_start set and < now, oldest first.
 * At most `limit` rows, each read from an index range. */
enum { OSM_WAITING_STARTABLE, OSM_WAITING_LATER, OSM_WAITING_EXPIRED };
int osm_store_list_waiting_page(struct osm_store *st, int which, int64_t now, int64_t after_not_before,
                                int64_t after_seq, const char *skip_jobs, size_t limit,
                                struct osm_waiting_task **out, size_t *n, struct osm_err *err);
/* Claim, for `owner` until `lease_until`, those of `ids` that are still
 * waiting and unclaimed (or whose claim's lease ran out), but no more than
 * would make the job's running-or-claimed tasks exceed `max_running` (< 0:
 * no limit); all ids belong to job `job_id` (NULL: tasks without a job).
 * Several workers may call this at once: the job row is locked and the
 * tasks are taken with SELECT ... FOR UPDATE SKIP LOCKED (in SQLite the
 * write transaction holds the file), so no task is claimed twice and the
 * limit holds across workers. The claimed ids are written to `claimed`
 * (capacity n_ids) and counted in *n_claimed. */
int osm_store_claim_waiting(struct osm_store *st, const char *job_id, const char *const *ids, size_t n_ids,
                            int max_running, const char *owner, int64_t lease_until, char (*claimed)[40],
                            size_t *n_claimed, struct osm_err *err);
/* Claim up to `max` tasks that an engine began and left: running or
 * rolling_back whose claim's lease ran out before `now` (the owner died
 * elsewhere) or whose owner is a dead process of this host (the rule of
 * osm_store_claim). Writes ids to `claimed` (capacity max). */
int osm_store_claim_orphans(struct osm_store *st, const char *owner, int64_t now, int64_t lease_until, size_t max,
                            char (*claimed)[40], size_t *n_claimed, struct osm_err *err);
/* Access keys. put: create (OSM_ECONFLICT when the id exists). get, delete:
 * OSM_ENOTFOUND when none. list: by id. */
int osm_store_put_key(struct osm_store *st, const struct osm_key *k, struct osm_err *err);
int osm_store_get_key(struct osm_store *st, const char *id, struct osm_key *out, struct osm_err *err);
int osm_store_list_keys(struct osm_store *st, struct osm_key **out, size_t *n, struct osm_err *err);
int osm_store_delete_key(struct osm_store *st, const char *id, struct osm_err *err);
/* Write a key's sealed secret, disabled and expires (the id names it; role
 * and scope stay). OSM_ENOTFOUND when none. */
int osm_store_update_key(struct osm_store *st, const struct osm_key *k, struct osm_err *err);

/* ---- the audit trail: who did what to which job, task or key ---- */

/* One entry. actor: an API key id, or "local:USER" for the CLI on the host. */
struct osm_audit_entry {
    int64_t seq;
    int64_t at;              /* unix time */
    char *object;            /* a job, task or key id */
    char *action;            /* "created", "started", "cancelled", "rolled_back", "paused", ... */
    char *actor;
    char *detail;            /* NULL or words (a reason, the limits set) */
};
/* Append an entry (append-only: the store refuses changes to it). */
int osm_store_audit_add(struct osm_store *st, const char *object, const char *action, const char *actor,
                        const char *detail, struct osm_err *err);
/* The entries of `object`, oldest first. */
int osm_store_audit_list(struct osm_store *st, const char *object, struct osm_audit_entry **out, size_t *n,
                         struct osm_err *err);
void osm_audit_free(struct osm_audit_entry *e, size_t n);
/* Record a request nonce valid until `expires`: 1 when new, 0 when seen
 * before (a replay). Nonces past their expiry are forgotten. */
int osm_store_use_nonce(struct osm_store *st, const char *key_id, const char *nonce, int64_t expires, int64_t now,
                        struct osm_err *err);
/* use_nonce, and *keys_gen set to the generation of the access keys as of
 * the nonce's commit: a number that changes with every change of a key
 * (created, changed, deleted), so a key row kept in memory since generation
 * G is still the row while the generation is G; -1 when the store keeps no
 * generation (PostgreSQL: read the row). */
int osm_store_use_nonce_gen(struct osm_store *st, const char *key_id, const char *nonce, int64_t expires, int64_t now,
                            int64_t *keys_gen, struct osm_err *err);
/* Record a request's nonce with the next write of this handle, in that
 * write's transaction, before it, instead of in a commit of its own (one
 * commit per request, not two), where the store's writes share transactions
 * (SQLite); `key` is the key row the request was checked against, at
 * generation `keys_gen`. 1 staged, 0 the store cannot (call use_nonce_gen
 * now). While one is staged, the handle's next write first
 * records it, in the same transaction: when the nonce was used before, or the
 * key row is no longer `key` (its generation moved and the row differs:
 * deleted, disabled, another secret, role or scope), the write is not done
 * and fails (OSM_EFAIL), as does every later write of the handle until the
 * nonce is settled. A write that fails on its own keeps the nonce recorded.
 * Settle before answering: OSM_NONCE_FRESH (recorded now or with a write),
 * OSM_NONCE_USED, OSM_NONCE_KEY_CHANGED (the nonce is recorded, nothing
 * else was written), or -1 (err; nothing was recorded). */
enum { OSM_NONCE_USED = 0, OSM_NONCE_FRESH = 1, OSM_NONCE_KEY_CHANGED = 2 };
int osm_store_stage_nonce(struct osm_store *st, const char *nonce, int64_t expires, int64_t now,
                          const struct osm_key *key, int64_t keys_gen);
int osm_store_settle_nonce(struct osm_store *st, struct osm_err *err);
/* Reads between read_begin and read_end see one snapshot of the store (and,
 * in SQLite, share one read transaction instead of one each); no write may
 * come between them. */
int osm_store_read_begin(struct osm_store *st, struct osm_err *err);
void osm_store_read_end(struct osm_store *st);
void osm_job_list_free(struct osm_job *jobs, size_t n);
void osm_key_list_free(struct osm_key *keys, size_t n);

/* Since when (unix time) the store's writes fail for lack of space on its
 * file system (SQLite's "disk full", PostgreSQL's class 53 errors); 0 when
 * the last write committed. Process-wide: any handle's writes count. */
int64_t osm_store_full_since(void);
/* Called after every write transaction of this process with its duration
 * in seconds (commit included), from the writing thread: the fleet's
 * metrics. Set once before any store is used; NULL: none. */
void osm_store_set_write_observer(void (*fn)(void *user, double seconds), void *user);

/* Open a store by location: a postgresql:// or postgres:// URL (libpq; the
 * schema is created or migrated), else a state directory as
 * osm_store_open(). */
int osm_store_open_location(const char *location, struct osm_store **out, struct osm_err *err);

void osm_task_list_free(struct osm_task *tasks, size_t n);
void osm_task_events_free(struct osm_task_event *ev, size_t n);
void osm_journal_free(struct osm_journal_entry *j, size_t n);

/* This process as a claim owner: "HOST/BOOTID:PID" (HOST is
 * $OSMIG_OWNER_HOST when set, so tests can run "other hosts" here). */
const char *osm_store_self_owner(void);
/* Is `owner` a process of this host that is gone (or of an earlier boot)? */
int osm_store_owner_dead(const char *owner);
/* Is `owner` a process of this host, this boot, that still runs? Such an
 * owner keeps its claim even past its lease. */
int osm_store_owner_alive_here(const char *owner);
int64_t osm_store_now(void);
/* A new id "PREFIX-" + 20 hex digits: the creation second, then 48 random
 * bits (ids sort by creation time, to the second). */
void osm_store_new_id(const char *prefix, char id[40]);

#endif
