/* store: where tasks live, durably. SQLite by default (store_sqlite.c); the
 * interface is a small table of operations so that a PostgreSQL store (claims
 * with leases, FOR UPDATE SKIP LOCKED) can sit beside it.
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

struct osm_store_ops {
    const char *name;
    void (*close)(struct osm_store *st);
    int (*create_task)(struct osm_store *st, struct osm_task *t, struct osm_err *err);
    /* 0 found, -1 with OSM_ENOTFOUND when no such task. */
    int (*get_task)(struct osm_store *st, const char *id, struct osm_task *out, struct osm_err *err);
    /* Newest first. */
    int (*list_tasks)(struct osm_store *st, struct osm_task **out, size_t *n, struct osm_err *err);
    /* 0 written, 1 the task is no longer in expect_state (nothing written). */
    int (*commit)(struct osm_store *st, const struct osm_task_change *ch, struct osm_err *err);
    int (*list_events)(struct osm_store *st, const char *id, struct osm_task_event **out, size_t *n, struct osm_err *err);
    int (*list_journal)(struct osm_store *st, const char *id, struct osm_journal_entry **out, size_t *n, struct osm_err *err);
    /* 1 claimed (or renewed), 0 held by another owner: one that runs on this
     * host, or one elsewhere whose lease has not run out. */
    int (*claim)(struct osm_store *st, const char *id, const char *owner, int64_t lease_until, struct osm_err *err);
    int (*release)(struct osm_store *st, const char *id, const char *owner, struct osm_err *err);
};

struct osm_store {
    const struct osm_store_ops *ops;
    char *location;      /* for messages: the database file or URL */
};

/* The state directory: `dir` if given, else $OSMIG_STATE_DIR, else
 * /var/lib/osmig. Caller frees. */
char *osm_store_state_dir(const char *dir);
/* Open (creating and migrating as needed) STATE_DIR/state.db. A file that is
 * not an osmig store, is unreadable or unwritable, or has a newer schema gives
 * a clear error naming the file. */
int osm_store_open(const char *state_dir, struct osm_store **out, struct osm_err *err);
int osm_store_sqlite_open(const char *db_path, struct osm_store **out, struct osm_err *err);
void osm_store_close(struct osm_store *st);

/* Thin wrappers over the ops, with the task id in error messages. */
int osm_store_create_task(struct osm_store *st, struct osm_task *t, struct osm_err *err);
int osm_store_get_task(struct osm_store *st, const char *id, struct osm_task *out, struct osm_err *err);
int osm_store_list_tasks(struct osm_store *st, struct osm_task **out, size_t *n, struct osm_err *err);
int osm_store_commit(struct osm_store *st, const struct osm_task_change *ch, struct osm_err *err);
int osm_store_list_events(struct osm_store *st, const char *id, struct osm_task_event **out, size_t *n, struct osm_err *err);
int osm_store_list_journal(struct osm_store *st, const char *id, struct osm_journal_entry **out, size_t *n, struct osm_err *err);
int osm_store_claim(struct osm_store *st, const char *id, const char *owner, int64_t lease_until, struct osm_err *err);
int osm_store_release(struct osm_store *st, const char *id, const char *owner, struct osm_err *err);

void osm_task_list_free(struct osm_task *tasks, size_t n);
void osm_task_events_free(struct osm_task_event *ev, size_t n);
void osm_journal_free(struct osm_journal_entry *j, size_t n);

/* This process as a claim owner: "BOOTID:PID". */
const char *osm_store_self_owner(void);
/* Is `owner` a process of this host that is gone (or of an earlier boot)? */
int osm_store_owner_dead(const char *owner);
/* Is `owner` a process of this host, this boot, that still runs? Such an
 * owner keeps its claim even past its lease. */
int osm_store_owner_alive_here(const char *owner);
int64_t osm_store_now(void);

#endif
