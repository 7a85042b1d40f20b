/* kind_files.c: see kind_files.h. */
#include "kind_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "providers/provider.h"
#include "runner.h"

#define ORIG_LOG "installed\n"
#define ORIG_COUNTER "41\n"
#define ORIG_CONF "setting=1\n"

static char *in(const char *work, const char *rel)
{
    return osm_path_join(work, rel);
}

/* What a step works on: WORK (the parent of the instance root) and the
 * paths below it that the step names (NULL past those). */
struct where {
    char *work;
    char *p[3];
};

/* Run `fn` with the paths REL... resolved under WORK. */
static int with_paths(struct osm_step_ctx *ctx, struct osm_err *err,
                      int (*fn)(struct osm_step_ctx *, const struct where *, struct osm_err *), const char *rel0,
                      const char *rel1, const char *rel2)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst)
        return -1;
    struct where w = {osm_path_join(inst->root, ".."), {NULL, NULL, NULL}};
    const char *rel[3] = {rel0, rel1, rel2};
    for (int i = 0; i < 3; i++)
        w.p[i] = rel[i] ? in(w.work, rel[i]) : NULL;
    int rc = fn(ctx, &w, err);
    for (int i = 0; i < 3; i++)
        free(w.p[i]);
    free(w.work);
    return rc;
}

/* NAME(ctx, err), the step or check of the kind, runs NAME_at with its paths. */
#define PATHS_STEP(name, rel0, rel1, rel2)                                                                        \
    static int name##_at(struct osm_step_ctx *ctx, const struct where *w, struct osm_err *err);                  \
    static int name(struct osm_step_ctx *ctx, struct osm_err *err)                                               \
    {                                                                                                            \
        return with_paths(ctx, err, name##_at, rel0, rel1, rel2);                                                \
    }                                                                                                            \
    static int name##_at(struct osm_step_ctx *ctx, const struct where *w, struct osm_err *err)

static int read_str(const char *path, struct osm_buf *b)
{
    osm_buf_reset(b);
    return osm_read_file(path, b, NULL);
}

/* Copy the flat directory `from` to `to` (which must not exist) through
 * to.tmp and a rename, so `to` appears complete or not at all. */
static int copy_dir(const char *from, const char *to, struct osm_err *err)
{
    char *tmp = osm_xasprintf("%s.tmp", to);
    int rc = -1;
    DIR *d = NULL;
    if (osm_remove_tree(tmp, err) != 0 || osm_mkdir_p(tmp, 0755, err) != 0)
        goto out;
    d = opendir(from);
    if (!d) {
        osm_err_errno(err, "opening %s", from);
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *src = osm_path_join(from, e->d_name);
        char *dst = osm_path_join(tmp, e->d_name);
        struct osm_buf b;
        osm_buf_init(&b);
        int r = osm_read_file(src, &b, err) == 0 ? osm_write_file_atomic(dst, b.s, b.len, 0644, err) : -1;
        osm_buf_free(&b);
        free(src);
        free(dst);
        if (r != 0)
            goto out;
    }
    if (rename(tmp, to) != 0) {
        osm_err_errno(err, "renaming %s", tmp);
        goto out;
    }
    rc = 0;
out:
    if (d)
        closedir(d);
    free(tmp);
    return rc;
}

PATHS_STEP(step_check, "root/data/counter", NULL, NULL)
{
    (void)ctx;
    const char *counter = w->p[0];
    return osm_is_file(counter) ? 0 : osm_err_set(err, OSM_EINPUT, "%s is missing", counter);
}

PATHS_STEP(snapshot_check, "snapshot", NULL, NULL)
{
    int done = osm_is_dir(w->p[0]);
    /* Killed between the copy and recording the set: record it now. */
    if (done && !ctx->task->snapshot_set && osm_step_set_snapshot_set(ctx, "files-snapshot", err) != 0)
        return -1;
    return done;
}

PATHS_STEP(step_snapshot, "root/data", "snapshot", NULL)
{
    int rc = copy_dir(w->p[0], w->p[1], err);
    osm_step_crash_point("snapshot: copied, set not recorded");
    if (rc == 0)
        rc = osm_step_set_snapshot_set(ctx, "files-snapshot", err);
    return rc;
}

static char *migrated_line(struct osm_step_ctx *ctx)
{
    return osm_xasprintf("migrated %s\n", ctx->task->id);
}

PATHS_STEP(append_check, "root/data/log.txt", NULL, NULL)
{
    const char *log = w->p[0];
    char *line = migrated_line(ctx);
    struct osm_buf b;
    osm_buf_init(&b);
    int rc;
    if (read_str(log, &b) != 0)
        rc = osm_err_set(err, OSM_EINPUT, "%s is missing", log);
    else if (strcmp(b.s, ORIG_LOG) == 0)
        rc = 0;
    else if (b.len == strlen(ORIG_LOG) + strlen(line) && strncmp(b.s, ORIG_LOG, strlen(ORIG_LOG)) == 0 &&
             strcmp(b.s + strlen(ORIG_LOG), line) == 0)
        rc = 1;
    else
        rc = osm_err_set(err, OSM_EINPUT, "%s has unexpected content", log);
    osm_buf_free(&b);
    free(line);
    return rc;
}

PATHS_STEP(step_append, "root/data/log.txt", NULL, NULL)
{
    const char *log = w->p[0];
    char *line = migrated_line(ctx);
    int rc = -1;
    osm_step_crash_point("append: before the write");
    /* Widen the window in which a second engine could run this step too. */
    const char *delay = getenv("KIND_FILES_DELAY_MS");
    if (delay) {
        struct timespec ts = {0, strtol(delay, NULL, 10) * 1000000L};
        nanosleep(&ts, NULL);
    }
    int fd = open(log, O_WRONLY | O_APPEND);
    if (fd < 0) {
        osm_err_errno(err, "opening %s", log);
    } else {
        ssize_t n = write(fd, line, strlen(line));
        if (n != (ssize_t)strlen(line) || fsync(fd) != 0)
            osm_err_errno(err, "appending to %s", log);
        else
            rc = 0;
        close(fd);
    }
    osm_step_progress(ctx, 1.0, "line appended");
    free(line);
    return rc;
}

static long read_long(const char *path)
{
    struct osm_buf b;
    osm_buf_init(&b);
    long v = read_str(path, &b) == 0 ? strtol(b.s, NULL, 10) : -1;
    osm_buf_free(&b);
    return v;
}

PATHS_STEP(counter_check, "root/data/counter", "snapshot/counter", NULL)
{
    (void)ctx;
    long c = read_long(w->p[0]), o = read_long(w->p[1]);
    return c == o + 1 ? 1 : c == o ? 0 : osm_err_set(err, OSM_EINPUT, "counter is %ld, expected %ld or %ld", c, o, o + 1);
}

PATHS_STEP(step_counter, "root/data/counter", NULL, NULL)
{
    (void)ctx;
    const char *cur = w->p[0];
    long c = read_long(cur);
    osm_step_crash_point("counter: read, not written");
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", c + 1);
    return c < 0 ? osm_err_set(err, OSM_EINPUT, "cannot read %s", cur)
                 : osm_write_file_atomic(cur, text, (size_t)n, 0644, err);
}

PATHS_STEP(rename_check, "root/data/old.conf", "root/data/new.conf", NULL)
{
    (void)ctx;
    int o = osm_is_file(w->p[0]), n = osm_is_file(w->p[1]);
    return (!o && n) ? 1 : (o && !n) ? 0 : osm_err_set(err, OSM_EINPUT, "old.conf and new.conf both %s", o ? "exist" : "missing");
}

PATHS_STEP(step_rename, "root/data/old.conf", "root/data/new.conf", NULL)
{
    int rc = rename(w->p[0], w->p[1]) == 0 ? 0 : osm_err_errno(err, "renaming %s", w->p[0]);
    if (rc == 0)
        rc = osm_step_event(ctx, "renamed", "old.conf -> new.conf", err);
    return rc;
}

/* A simulated reboot: the boot id in root/boot_id changes. Like a real
 * reboot it must not be repeated blindly; its check compares the boot id with
 * the one noted (durably, in the task) before rebooting. */
PATHS_STEP(reboot_check, "root/boot_id", NULL, NULL)
{
    const char *boot = w->p[0];
    struct osm_buf b;
    osm_buf_init(&b);
    const char *before = osm_step_note(ctx, "boot_before");
    int rc;
    if (read_str(boot, &b) != 0)
        rc = osm_err_set(err, OSM_EINPUT, "%s is missing", boot);
    else if (!before)
        rc = 0; /* killed before the note: the reboot was not asked for */
    else
        rc = strcmp(b.s, before) != 0;
    osm_buf_free(&b);
    return rc;
}

PATHS_STEP(step_reboot, "root/boot_id", NULL, NULL)
{
    const char *boot = w->p[0];
    struct osm_buf b;
    osm_buf_init(&b);
    int rc = -1;
    if (read_str(boot, &b) != 0) {
        osm_err_set(err, OSM_EINPUT, "%s is missing", boot);
    } else if (osm_step_note_set(ctx, "boot_before", b.s, err) == 0) {
        osm_step_crash_point("reboot: noted, not rebooted");
        long n = strtol(b.s, NULL, 10);
        char next[32];
        int len = snprintf(next, sizeof next, "%ld", n + 1);
        rc = osm_write_file_atomic(boot, next, (size_t)len, 0644, err);
        if (rc == 0)
            rc = osm_step_event(ctx, "boot", next, err);
    }
    osm_buf_free(&b);
    return rc;
}

PATHS_STEP(step_verify, "root/FAIL_VERIFY", NULL, NULL)
{
    if (osm_is_file(w->p[0]))
        return osm_err_set(err, OSM_EFAIL, "verification failed: %s exists", w->p[0]);
    if (!kind_files_is_migrated(w->work, ctx->task->id))
        return osm_err_set(err, OSM_EFAIL, "verification failed: %s/root/data is not the migrated content", w->work);
    return 0;
}

PATHS_STEP(step_rollback, "root/FAIL_ROLLBACK", "root/data", "snapshot")
{
    (void)ctx;
    const char *block = w->p[0], *data = w->p[1], *snap = w->p[2];
    if (osm_is_file(block))
        return osm_err_set(err, OSM_EIO, "cannot restore: %s exists", block);
    if (!osm_is_dir(snap))
        return osm_err_set(err, OSM_ENOTFOUND, "no snapshot at %s", snap);
    if (osm_remove_tree(data, err) != 0)
        return -1;
    osm_step_crash_point("rollback: data removed, not restored");
    return copy_dir(snap, data, err);
}

static struct osm_step steps[] = {
    {"check", "prechecking", step_check, NULL, 1, 0},
    {"snapshot", "snapshotting", step_snapshot, snapshot_check, 0, 0},
    {"append", "staging", step_append, append_check, 0, 1},
    {"counter", "upgrading", step_counter, counter_check, 0, 1},
    {"rename", "upgrading", step_rename, rename_check, 0, 1},
    {"reboot", "rebooting", step_reboot, reboot_check, 0, 1},
    {"verify", "verifying", step_verify, NULL, 1, 0},
};

static const struct osm_task_kind kind = OSM_TASK_KIND(KIND_FILES, steps, step_rollback);

void kind_files_register(void)
{
    osm_task_kind_register(&kind);
}

static int write_file(const char *work, const char *rel, const char *text)
{
    char *p = in(work, rel);
    int rc = osm_write_file_atomic(p, text, strlen(text), 0644, NULL);
    free(p);
    return rc;
}

int kind_files_make_root(const char *work)
{
    char *data = in(work, "root/data");
    int rc = osm_mkdir_p(data, 0755, NULL);
    free(data);
    if (rc == 0)
        rc = write_file(work, "root/data/log.txt", ORIG_LOG);
    if (rc == 0)
        rc = write_file(work, "root/data/counter", ORIG_COUNTER);
    if (rc == 0)
        rc = write_file(work, "root/data/old.conf", ORIG_CONF);
    if (rc == 0)
        rc = write_file(work, "root/boot_id", "1");
    return rc;
}

/* Exactly these files with these contents in root/data. */
static int data_is(const char *work, const char *const names[], const char *const texts[], size_t n)
{
    char *data = in(work, "root/data");
    DIR *d = opendir(data);
    size_t count = 0;
    int ok = d != NULL;
    struct dirent *e;
    while (ok && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        count++;
        int found = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(e->d_name, names[i]) == 0) {
                char *p = osm_path_join(data, names[i]);
                struct osm_buf b;
                osm_buf_init(&b);
                found = read_str(p, &b) == 0 && strcmp(b.s, texts[i]) == 0;
                osm_buf_free(&b);
                free(p);
            }
        ok = found;
    }
    if (d)
        closedir(d);
    free(data);
    return ok && count == n;
}

int kind_files_is_original(const char *work)
{
    const char *names[] = {"log.txt", "counter", "old.conf"};
    const char *texts[] = {ORIG_LOG, ORIG_COUNTER, ORIG_CONF};
    return data_is(work, names, texts, 3);
}

int kind_files_is_migrated(const char *work, const char *id)
{
    char *log = osm_xasprintf(ORIG_LOG "migrated %s\n", id);
    const char *names[] = {"log.txt", "counter", "new.conf"};
    const char *texts[] = {log, "42\n", ORIG_CONF};
    int ok = data_is(work, names, texts, 3);
    free(log);
    return ok;
}

long kind_files_boot_id(const char *work)
{
    char *p = in(work, "root/boot_id");
    long v = read_long(p);
    free(p);
    return v;
}
