/* store.c: the store's handle (store.h, store_sql.h), where the state
 * lives, claim owners, ids, and the records' memory. The operations are
 * store_rules.c's and store_nonce.c's. */
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
#include "store_sql.h"

#define DEFAULT_STATE_DIR "/var/lib/osmig"

char *osm_store_state_dir(const char *dir)
{
    if (dir && *dir)
        return osm_xstrdup(dir);
    const char *env = getenv("OSMIG_STATE_DIR");
    return osm_xstrdup(env && *env ? env : DEFAULT_STATE_DIR);
}

struct osm_store *osm_store_new(const struct osm_sql_driver *drv, struct osm_sql *c, char *location)
{
    struct osm_store *st = osm_xcalloc(1, sizeof *st);
    st->impl = osm_xcalloc(1, sizeof *st->impl);
    st->impl->drv = drv;
    st->impl->sql = c;
    st->location = location;
    c->memo = -1;
    return st;
}

struct osm_sql *osm_store_sql(struct osm_store *st, const struct osm_sql_driver *drv)
{
    return st->impl->drv == drv ? st->impl->sql : NULL;
}

const char *osm_store_kind(const struct osm_store *st)
{
    return st->impl->drv->name;
}

void osm_store_close(struct osm_store *st)
{
    if (!st)
        return;
    osm_store_nonce_clear(st);
    st->impl->drv->close(st->impl->sql);
    for (int i = 0; i < OSM_QUERY_SHAPES; i++)
        for (int j = 0; j <= OSM_TASK_N_STATES; j++)
            free(st->impl->query_sql[i][j]);
    free(st->impl);
    free(st->location);
    free(st);
}

int osm_store_read_begin(struct osm_store *st, struct osm_err *err)
{
    return st->impl->drv->read_begin ? st->impl->drv->read_begin(st->impl->sql, err) : 0;
}

void osm_store_read_end(struct osm_store *st)
{
    if (st->impl->drv->read_end)
        st->impl->drv->read_end(st->impl->sql);
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

void osm_task_list_free(struct osm_task *tasks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        osm_task_free(&tasks[i]);
    free(tasks);
}

void osm_task_events_free(struct osm_task_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        osm_free_all(ev[i].type, ev[i].message);
    free(ev);
}

void osm_journal_free(struct osm_journal_entry *j, size_t n)
{
    for (size_t i = 0; i < n; i++)
        osm_free_all(j[i].step, j[i].what, j[i].result, j[i].detail);
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

void osm_job_init(struct osm_job *j)
{
    memset(j, 0, sizeof *j);
}

void osm_job_free(struct osm_job *j)
{
    osm_free_all(j->client_token, j->name, j->max_concurrency, j->max_errors, j->stop_reason, j->spec, j->state,
                 j->created_by);
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
    for (size_t i = 0; i < n; i++)
        osm_free_all(w[i].job_id, w[i].window);
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
    dst->expires = src->expires;
}

void osm_audit_free(struct osm_audit_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        osm_free_all(e[i].object, e[i].action, e[i].actor, e[i].detail);
    }
    free(e);
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
