/* store.c: the store interface (see store.h): where the state lives, claim
 * owners, and the wrappers that dispatch to an implementation. */
#include "store.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"

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
    if (gethostname(host, sizeof host - 1) != 0)
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
