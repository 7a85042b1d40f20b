/* store.c: the store interface (see store.h): where the state lives, claim
 * owners, and the wrappers that dispatch to an implementation. */
#include "store.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "store_pg.h"

#define DEFAULT_STATE_DIR "/var/lib/osmig"

char *osm_store_state_dir(const char *dir)
{
    if (dir && *dir)
        return osm_xstrdup(dir);
    const char *env = getenv("OSMIG_STATE_DIR");
    return osm_xstrdup(env && *env ? env : DEFAULT_STATE_DIR);
}

int osm_store_open(const char *state_dir, struct osm_store **out, struct osm_err *err)
{
    *out = NULL;
    char *dir = osm_store_state_dir(state_dir);
    int rc = osm_mkdir_p(dir, 0700, err);
    if (rc != 0) {
        osm_err_prefix(err, "state directory %s", dir);
    } else {
        char *db = osm_path_join(dir, "state.db");
        rc = osm_store_sqlite_open(db, out, err);
        free(db);
    }
    free(dir);
    return rc;
}

void osm_store_close(struct osm_store *st)
{
    if (st)
        st->ops->close(st);
}

int osm_store_create_task(struct osm_store *st, struct osm_task *t, struct osm_err *err)
{
    if (!t->id[0])
        osm_store_new_id("t", t->id);
    return st->ops->create_task(st, t, err);
}

int osm_store_get_task(struct osm_store *st, const char *id, struct osm_task *out, struct osm_err *err)
{
    return st->ops->get_task(st, id, out, err);
}

int osm_store_list_tasks(struct osm_store *st, struct osm_task **out, size_t *n, struct osm_err *err)
{
    return st->ops->list_tasks(st, out, n, err);
}

int osm_store_commit(struct osm_store *st, const struct osm_task_change *ch, struct osm_err *err)
{
    return st->ops->commit(st, ch, err);
}

int osm_store_list_events(struct osm_store *st, const char *id, struct osm_task_event **out, size_t *n, struct osm_err *err)
{
    return st->ops->list_events(st, id, out, n, err);
}

int osm_store_list_journal(struct osm_store *st, const char *id, struct osm_journal_entry **out, size_t *n,
                           struct osm_err *err)
{
    return st->ops->list_journal(st, id, out, n, err);
}

int osm_store_claim(struct osm_store *st, const char *id, const char *owner, int64_t lease_until, struct osm_err *err)
{
    return st->ops->claim(st, id, owner, lease_until, err);
}

int osm_store_release(struct osm_store *st, const char *id, const char *owner, struct osm_err *err)
{
    return st->ops->release(st, id, owner, err);
}

void osm_task_list_free(struct osm_task *tasks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        osm_task_free(&tasks[i]);
    free(tasks);
}

void osm_task_events_free(struct osm_task_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ev[i].type);
        free(ev[i].message);
    }
    free(ev);
}

void osm_journal_free(struct osm_journal_entry *j, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(j[i].step);
        free(j[i].what);
        free(j[i].result);
        free(j[i].detail);
    }
    free(j);
}

int64_t osm_store_now(void)
{
    return (int64_t)time(NULL);
}

/* "HOST/BOOTID": a process id means something only within one boot of one host. */
static void host_boot(char *out, size_t size)
{
    char host[256] = "";
    char boot[64] = "";
    /* Tests run several engines on one host as if on several. */
    const char *as_host = getenv("OSMIG_OWNER_HOST");
    if (as_host && *as_host)
        snprintf(host, sizeof host, "%s", as_host);
    else if (gethostname(host, sizeof host - 1) != 0)
        strcpy(host, "localhost");
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
        if (!fgets(boot, sizeof boot, f))
            boot[0] = '\0';
        fclose(f);
        boot[strcspn(boot, "\n")] = '\0';
    }
    snprintf(out, size, "%s/%s", host, boot);
}

const char *osm_store_self_owner(void)
{
    static char owner[400];
    static pid_t for_pid;
    if (for_pid != getpid()) { /* recompute after fork */
        char hb[340];
        host_boot(hb, sizeof hb);
        snprintf(owner, sizeof owner, "%s:%ld", hb, (long)getpid());
        for_pid = getpid();
    }
    return owner;
}

int osm_store_owner_dead(const char *owner)
{
    if (!owner)
        return 1;
    const char *colon = strrchr(owner, ':');
    if (!colon)
        return 0;
    char hb[340];
    host_boot(hb, sizeof hb);
    size_t n = (size_t)(colon - owner);
    const char *slash = memchr(owner, '/', n);
    size_t hl = strcspn(hb, "/");
    if (!slash || (size_t)(slash - owner) != hl || strncmp(owner, hb, hl) != 0)
        return 0; /* another host: only its lease can tell */
    if (n != strlen(hb) || strncmp(owner, hb, n) != 0)
        return 1; /* this host, an earlier boot */
    char *end;
    long pid = strtol(colon + 1, &end, 10);
    if (*end || pid <= 0)
        return 0;
    if (pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int osm_store_owner_alive_here(const char *owner)
{
    if (!owner)
        return 0;
    const char *colon = strrchr(owner, ':');
    char hb[340];
    host_boot(hb, sizeof hb);
    if (!colon || (size_t)(colon - owner) != strlen(hb) || strncmp(owner, hb, strlen(hb)) != 0)
        return 0;
    return !osm_store_owner_dead(owner);
}

/* ---- fleet wrappers ---- */

static int unsupported(struct osm_store *st, const char *what, struct osm_err *err)
{
    return osm_err_set(err, OSM_EUNSUPPORTED, "state store %s (%s): %s is not supported by this store", st->location,
                       st->ops->name, what);
}

#define FLEET_CALL(op, ...) (st->ops->op ? st->ops->op(st, __VA_ARGS__) : unsupported(st, #op, err))

/* "PREFIX-", the time in seconds (8 hex digits) and 48 random bits (12):
 * ids of one second sort together, so that each index over an id (the
 * tasks', the jobs', their history's) takes new rows in its last pages
 * rather than in a random page each: a create rewrites fewer pages. */
void osm_store_new_id(const char *prefix, char id[40])
{
    unsigned char r[6] = {0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        /* Extremely unlikely; pid and a counter still make a usable id. */
        static unsigned counter;
        int64_t t = ((int64_t)getpid() << 20) ^ ((int64_t)__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) << 40);
        memcpy(r, &t, sizeof r);
    }
    snprintf(id, 40, "%s-%08x%02x%02x%02x%02x%02x%02x", prefix, (unsigned)(uint32_t)osm_store_now(), r[0], r[1], r[2],
             r[3], r[4], r[5]);
}

int osm_store_create_job(struct osm_store *st, struct osm_job *job, struct osm_task *tasks, size_t n, struct osm_err *err)
{
    if (!st->ops->create_job)
        return unsupported(st, "create_job", err);
    for (size_t i = 0; i < n; i++)
        if (!tasks[i].instance || !tasks[i].kind[0])
            return osm_err_set(err, OSM_EUSAGE, "job: task %zu of %zu needs a kind and an instance", i + 1, n);
    if (!job->id[0])
        osm_store_new_id("j", job->id);
    for (size_t i = 0; i < n; i++)
        if (!tasks[i].id[0])
            osm_store_new_id("t", tasks[i].id);
    return st->ops->create_job(st, job, tasks, n, err);
}

int osm_store_get_job(struct osm_store *st, const char *id, struct osm_job *out, struct osm_err *err)
{
    return FLEET_CALL(get_job, id, out, err);
}

int osm_store_list_jobs(struct osm_store *st, int64_t after_seq, size_t limit, struct osm_job **out, size_t *n,
                        int64_t *next_seq, struct osm_err *err)
{
    return FLEET_CALL(list_jobs, after_seq, limit, out, n, next_seq, err);
}

int osm_store_set_job_stop(struct osm_store *st, const char *id, const char *reason, struct osm_err *err)
{
    return FLEET_CALL(set_job_stop, id, reason, err);
}

int osm_store_query_tasks(struct osm_store *st, const struct osm_task_filter *f, struct osm_task **out, size_t *n,
                          int64_t *next_seq, struct osm_err *err)
{
    *out = NULL;
    *n = 0;
    *next_seq = 0;
    if (f->n_states > OSM_TASK_N_STATES)
        return osm_err_set(err, OSM_EUSAGE, "a task query names %zu states; there are %d", f->n_states,
                           OSM_TASK_N_STATES);
    for (size_t i = 0; i < f->n_states; i++)
        if (f->states[i] < 0 || f->states[i] >= OSM_TASK_N_STATES)
            return osm_err_set(err, OSM_EUSAGE, "a task query names state %d, which does not exist", f->states[i]);
    return FLEET_CALL(query_tasks, f, out, n, next_seq, err);
}

int osm_store_count_tasks(struct osm_store *st, const char *job_id, struct osm_task_counts *out, struct osm_err *err)
{
    return FLEET_CALL(count_tasks, job_id, out, err);
}

int osm_store_list_waiting(struct osm_store *st, struct osm_waiting_task **out, size_t *n, struct osm_err *err)
{
    return FLEET_CALL(list_waiting, out, n, err);
}

int osm_store_list_waiting_due(struct osm_store *st, int64_t now, struct osm_waiting_task **out, size_t *n,
                               struct osm_err *err)
{
    if (st->ops->list_waiting_due)
        return st->ops->list_waiting_due(st, now, out, n, err);
    if (osm_store_list_waiting(st, out, n, err) != 0)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        struct osm_waiting_task *w = &(*out)[i];
        if (w->state == OSM_TASK_SUBMITTED || w->not_before <= now || (w->latest_start > 0 && w->latest_start < now)) {
            (*out)[k++] = *w;
        } else {
            free(w->job_id);
            free(w->window);
        }
    }
    *n = k;
    return 0;
}

int osm_store_list_waiting_page(struct osm_store *st, int which, int64_t now, int64_t after_not_before,
                                int64_t after_seq, const char *skip_jobs, size_t limit,
                                struct osm_waiting_task **out, size_t *n, struct osm_err *err)
{
    *out = NULL;
    *n = 0;
    return FLEET_CALL(list_waiting_page, which, now, after_not_before, after_seq, skip_jobs, limit, out, n, err);
}

int osm_store_claim_waiting(struct osm_store *st, const char *job_id, const char *const *ids, size_t n_ids,
                            int max_running, const char *owner, int64_t lease_until, char (*claimed)[40],
                            size_t *n_claimed, struct osm_err *err)
{
    return FLEET_CALL(claim_waiting, job_id, ids, n_ids, max_running, owner, lease_until, claimed, n_claimed, err);
}

int osm_store_claim_orphans(struct osm_store *st, const char *owner, int64_t now, int64_t lease_until, size_t max,
                            char (*claimed)[40], size_t *n_claimed, struct osm_err *err)
{
    return FLEET_CALL(claim_orphans, owner, now, lease_until, max, claimed, n_claimed, err);
}

int osm_store_put_key(struct osm_store *st, const struct osm_key *k, struct osm_err *err)
{
    if (!k->id[0] || !k->sealed_secret)
        return osm_err_set(err, OSM_EUSAGE, "a key needs an id and a sealed secret");
    if (!k->role || (strcmp(k->role, "viewer") != 0 && strcmp(k->role, "operator") != 0 && strcmp(k->role, "admin") != 0))
        return osm_err_set(err, OSM_EUSAGE, "key %s: role '%s' is not one of viewer, operator, admin", k->id,
                           k->role ? k->role : "");
    return FLEET_CALL(put_key, k, err);
}

int osm_store_get_key(struct osm_store *st, const char *id, struct osm_key *out, struct osm_err *err)
{
    return FLEET_CALL(get_key, id, out, err);
}

int osm_store_list_keys(struct osm_store *st, struct osm_key **out, size_t *n, struct osm_err *err)
{
    return FLEET_CALL(list_keys, out, n, err);
}

int osm_store_delete_key(struct osm_store *st, const char *id, struct osm_err *err)
{
    return FLEET_CALL(delete_key, id, err);
}

int osm_store_use_nonce(struct osm_store *st, const char *key_id, const char *nonce, int64_t expires, int64_t now,
                        struct osm_err *err)
{
    return FLEET_CALL(use_nonce, key_id, nonce, expires, now, err);
}

int osm_store_stage_nonce(struct osm_store *st, const char *nonce, int64_t expires, int64_t now,
                          const struct osm_key *key, int64_t keys_gen)
{
    return st->ops->stage_nonce && keys_gen >= 0 ? st->ops->stage_nonce(st, nonce, expires, now, key, keys_gen) : 0;
}

int osm_store_settle_nonce(struct osm_store *st, struct osm_err *err)
{
    return st->ops->settle_nonce ? st->ops->settle_nonce(st, err) : OSM_NONCE_FRESH;
}

int osm_store_read_begin(struct osm_store *st, struct osm_err *err)
{
    return st->ops->read_begin ? st->ops->read_begin(st, err) : 0;
}

void osm_store_read_end(struct osm_store *st)
{
    if (st->ops->read_end)
        st->ops->read_end(st);
}

int osm_store_use_nonce_gen(struct osm_store *st, const char *key_id, const char *nonce, int64_t expires, int64_t now,
                            int64_t *keys_gen, struct osm_err *err)
{
    *keys_gen = -1;
    if (st->ops->use_nonce_gen)
        return st->ops->use_nonce_gen(st, key_id, nonce, expires, now, keys_gen, err);
    return osm_store_use_nonce(st, key_id, nonce, expires, now, err);
}

void osm_job_init(struct osm_job *j)
{
    memset(j, 0, sizeof *j);
}

void osm_job_free(struct osm_job *j)
{
    free(j->client_token);
    free(j->name);
    free(j->max_concurrency);
    free(j->max_errors);
    free(j->stop_reason);
    free(j->spec);
    osm_job_init(j);
}

void osm_job_list_free(struct osm_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        osm_job_free(&jobs[i]);
    free(jobs);
}

void osm_waiting_free(struct osm_waiting_task *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(w[i].job_id);
        free(w[i].window);
    }
    free(w);
}

void osm_key_copy(struct osm_key *dst, const struct osm_key *src)
{
    memset(dst, 0, sizeof *dst);
    snprintf(dst->id, sizeof dst->id, "%s", src->id);
    dst->role = src->role ? osm_xstrdup(src->role) : NULL;
    dst->scope = src->scope ? osm_xstrdup(src->scope) : NULL;
    dst->sealed_secret = src->sealed_secret ? osm_xstrdup(src->sealed_secret) : NULL;
    dst->created = src->created;
    dst->disabled = src->disabled;
}

void osm_key_free(struct osm_key *k)
{
    free(k->role);
    free(k->scope);
    free(k->sealed_secret);
    memset(k, 0, sizeof *k);
}

void osm_key_list_free(struct osm_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        osm_key_free(&keys[i]);
    free(keys);
}

int osm_store_open_location(const char *location, struct osm_store **out, struct osm_err *err)
{
    if (location && (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0))
        return osm_store_pg_open(location, out, err);
    return osm_store_open(location, out, err);
}
