/* snapshot.c: snapshot sets of an instance (see osm_snapshot.h): set.json,
 * the create / list / verify / restore / delete operations over every disk,
 * and chunk garbage collection.
 *
 * Why this design is fast: one pass reads each file with plain read()s into
 * 1 MiB chunks, hashes (SHA-256) and compresses (zstd -1) them on every CPU,
 * and stores each chunk once, appended to the worker's pack file. A re-snapshot loads the previous set's index
 * and reuses the chunk list of every file whose (size, mtime, ctime, inode,
 * device) is unchanged, so it only walks metadata. */
#include "osm_snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "osm_probe.h"
#include "snap_gc.h"
#include "snap_image.h"
#include "snap_index.h"
#include "snap_same.h"
#include "snap_store.h"
#include "snap_tree.h"

/* ---- small helpers ---- */

static const char *resolve_store(const struct osm_snap_opts *o)
{
    if (o && o->store && o->store[0])
        return o->store;
    const char *env = getenv("OSMIG_SNAPSHOT_STORE");
    return env && env[0] ? env : OSM_SNAPSHOT_STORE_DEFAULT;
}

/* Default: every CPU (hashing and compressing are what a first snapshot
 * spends its CPU on), at least 2 (one reads while the other computes), at
 * most 8 (each worker holds a few MiB of buffers and contexts). */
static int thread_count(const struct osm_snap_opts *o)
{
    if (o && o->threads > 0)
        return o->threads > 64 ? 64 : o->threads;
    const char *env = getenv("OSMIG_THREADS");
    int n = env ? atoi(env) : 0;
    if (n > 0 && n <= 64)
        return n;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 2 ? 2 : cpus > 8 ? 8 : (int)cpus;
}

static const char *kind_name(enum osm_disk_kind k)
{
    return k == OSM_DISK_TREE ? "tree" : k == OSM_DISK_RAW ? "raw" : "qcow2";
}

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= 64 || id[0] == '.' || id[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9') ||
              id[i] == '-' || id[i] == '_' || id[i] == '.'))
            return 0;
    return 1;
}

/* realpath() of a path that may not exist yet: resolve the longest existing
 * prefix and append the rest. */
static char *resolve_maybe_missing(const char *path)
{
    char *copy = osm_xstrdup(path);
    char *rest = NULL;
    for (;;) {
        char *r = realpath(copy, NULL);
        if (r) {
            char *full = rest ? osm_path_join(r, rest) : osm_xstrdup(r);
            free(r);
            free(copy);
            free(rest);
            return full;
        }
        char *slash = strrchr(copy, '/');
        if (!slash || slash == copy) {
            free(copy);
            free(rest);
            return osm_xstrdup(path);
        }
        char *nrest = rest ? osm_xasprintf("%s/%s", slash + 1, rest) : osm_xstrdup(slash + 1);
        free(rest);
        rest = nrest;
        *slash = '\0';
    }
}

static int path_within(const char *inner, const char *outer)
{
    size_t n = strlen(outer);
    if (n == 1 && outer[0] == '/')
        return 1;
    return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

static int store_outside_disks(const char *store, struct osm_instance *inst, struct osm_err *err)
{
    char *s = resolve_maybe_missing(store);
    int rc = 0;
    for (size_t i = 0; i < inst->n_disks && rc == 0; i++) {
        if (inst->disks[i].kind != OSM_DISK_TREE)
            continue;
        char *d = realpath(inst->disks[i].path, NULL);
        if (d && path_within(s, d))
            rc = osm_err_set(err, OSM_EINPUT,
                             "snapshot store %s lies inside disk %s (%s) of instance %s; choose a store elsewhere "
                             "(--snapshot-store or OSMIG_SNAPSHOT_STORE)",
                             store, inst->disks[i].id, inst->disks[i].path, inst->uri);
        free(d);
    }
    free(s);
    return rc;
}

static int open_store(const struct osm_snap_opts *o, struct osm_instance *inst, int create, int lock_mode,
                      struct snap_store *s, struct osm_err *err)
{
    const char *path = resolve_store(o);
    if (inst && store_outside_disks(path, inst, err) != 0)
        return -1;
    if (snap_store_open(s, path, create, err) != 0)
        return -1;
    if (lock_mode >= 0 && snap_store_lock(s, lock_mode, err) != 0)
        return -1;
    return 0;
}

static json_t *load_set_json(const struct snap_store *s, const char *id, struct osm_err *err)
{
    char *dir = snap_store_set_dir(s, id);
    char *p = osm_path_join(dir, "set.json");
    json_error_t je;
    json_t *j = NULL;
    if (!osm_is_dir(dir))
        osm_err_set(err, OSM_ENOTFOUND, "no snapshot set '%s' in store %s", id, s->dir);
    else if (!osm_is_file(p))
        osm_err_set(err, OSM_EINPUT, "snapshot set '%s' in store %s has no set.json (an interrupted create)", id,
                    s->dir);
    else if (!(j = json_load_file(p, 0, &je)) || !json_is_object(j)) {
        osm_err_set(err, OSM_EINPUT, "%s: line %d: %s", p, je.line, j ? "expected an object" : je.text);
        json_decref(j);
        j = NULL;
    }
    free(p);
    free(dir);
    return j;
}

static int save_set_json(const struct snap_store *s, const char *id, json_t *j, struct osm_err *err)
{
    char *dir = snap_store_set_dir(s, id);
    char *p = osm_path_join(dir, "set.json");
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    size_t n = strlen(text);
    text[n] = '\0';
    int rc = osm_write_file_atomic(p, text, n, 0600, err);
    free(text);
    free(p);
    free(dir);
    return rc;
}

/* The first set.json of a create (state creating), without an fsync: it
 * only tells a running create (its lock held) or one killed (lock free:
 * failed) from a set. A power cut before it reaches the disk leaves the
 * set's directory without it, or with it empty, which list shows as failed
 * and delete removes, as when the cut comes before it was written; nothing
 * of the store refers to the set until its ready record, which is synced. */
static int save_set_json_unsynced(const struct snap_store *s, const char *id, json_t *j, struct osm_err *err)
{
    char *dir = snap_store_set_dir(s, id);
    char *p = osm_path_join(dir, "set.json"), *tmp = osm_path_join(dir, "set.json.tmp-creating");
    free(dir);
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    size_t n = text ? strlen(text) : 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd >= 0 && text && write(fd, text, n) == (ssize_t)n ? 0 : -1;
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, p) != 0)
        rc = -1;
    if (rc != 0) {
        osm_err_errno(err, "writing %s", p);
        unlink(tmp);
    }
    free(text);
    free(tmp);
    free(p);
    return rc;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static int set_state(const struct snap_store *s, const char *id, json_t *j, const char *state, struct osm_err *err)
{
    json_object_set_new(j, "state", json_string(state));
    return save_set_json(s, id, j, err);
}

/* The set must belong to this instance (same system disk path). */
static int check_owner(json_t *j, struct osm_instance *inst, const char *id, struct osm_err *err)
{
    if (strcmp(jstr(j, "instance"), inst->disks[0].path) != 0)
        return osm_err_set(err, OSM_ENOTFOUND, "snapshot set '%s' belongs to instance %s, not to %s", id,
                           jstr(j, "instance"), inst->disks[0].path);
    return 0;
}

/* 0 when `id` is a snapshot set id, else a usage error. */
static int check_set_id(const char *id, struct osm_err *err)
{
    return valid_id(id) ? 0 : osm_err_set(err, OSM_EUSAGE, "'%s' is not a snapshot set id", id);
}

/* Open the store of `opts` (as open_store with `open_inst` and `lock_mode`)
 * and load set `id` (a usage error when it is not a set id), which must
 * belong to `inst`: its set.json, or NULL. */
static json_t *open_owned_set(const struct osm_snap_opts *opts, struct osm_instance *open_inst, int lock_mode,
                              struct osm_instance *inst, const char *id, struct snap_store *s, struct osm_err *err)
{
    json_t *j = NULL;
    if (check_set_id(id, err) != 0 || open_store(opts, open_inst, 0, lock_mode, s, err) != 0 ||
        !(j = load_set_json(s, id, err)))
        return NULL;
    if (check_owner(j, inst, id, err) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* The set's disks must be the instance's disks. */
static struct osm_disk *instance_disk(struct osm_instance *inst, json_t *d, const char *id, struct osm_err *err)
{
    for (size_t i = 0; i < inst->n_disks; i++)
        if (strcmp(inst->disks[i].id, jstr(d, "id")) == 0) {
            if (strcmp(inst->disks[i].path, jstr(d, "path")) != 0 ||
                strcmp(kind_name(inst->disks[i].kind), jstr(d, "kind")) != 0) {
                osm_err_set(err, OSM_EINPUT, "snapshot set '%s': disk %s was %s %s, the instance now has %s %s", id,
                            jstr(d, "id"), jstr(d, "kind"), jstr(d, "path"), kind_name(inst->disks[i].kind),
                            inst->disks[i].path);
                return NULL;
            }
            return &inst->disks[i];
        }
    osm_err_set(err, OSM_ENOTFOUND, "snapshot set '%s': disk %s (%s) is not a disk of instance %s", id,
                jstr(d, "id"), jstr(d, "path"), inst->uri);
    return NULL;
}

static char *index_path(const struct snap_store *s, const char *id, const char *disk_id)
{
    return osm_xasprintf("%s/sets/%s/%s.idx", s->dir, id, disk_id);
}

/* A tree index's side file (snap_same.h): what the unchanged check reads. */
static char *side_path(const struct snap_store *s, const char *id, const char *disk_id)
{
    return osm_xasprintf("%s/sets/%s/%s.same", s->dir, id, disk_id);
}

static void qcow2_tag(const char *id, char tag[80])
{
    snprintf(tag, 80, "osmig-%s", id);
}

/* ---- progress ---- */

struct progress {
    const struct osm_snap_opts *o;
    struct osm_snap_progress p;
    _Atomic uint64_t bytes, files;
    struct timespec last;
};

static void progress_emit(struct progress *pr, int force)
{
    if (!pr->o || !pr->o->progress)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dt = (double)(now.tv_sec - pr->last.tv_sec) + (double)(now.tv_nsec - pr->last.tv_nsec) / 1e9;
    if (!force && dt < 0.25)
        return;
    pr->last = now;
    pr->p.bytes_done = atomic_load(&pr->bytes);
    pr->p.files_done = atomic_load(&pr->files);
    pr->o->progress(pr->o->progress_ctx, &pr->p);
}

static void progress_start(struct progress *pr, const char *phase, const char *disk, uint64_t bytes_total,
                           uint64_t files_total)
{
    pr->p.phase = phase;
    pr->p.disk = disk;
    pr->p.bytes_total = bytes_total;
    pr->p.files_total = files_total;
    atomic_store(&pr->bytes, 0);
    atomic_store(&pr->files, 0);
    progress_emit(pr, 1);
}

/* ---- create ---- */

struct read_ctx {
    const char *root;
    const struct snap_store *s;
    struct snap_entry **queue;
    struct progress *pr;
};

static int read_one(void *vctx, struct snap_worker *w, size_t i, struct osm_err *err)
{
    struct read_ctx *c = vctx;
    char *abs = snap_entry_abs(c->root, c->queue[i]);
    int rc = snap_file_chunks(abs, c->queue[i], c->s, w, &c->pr->bytes, err);
    if (rc != 0 && access(abs, F_OK) != 0 && errno == ENOENT) {
        /* Removed between the walk and the read (a live system): it is not
         * part of the snapshot. */
        c->queue[i]->type = 0;
        osm_err_clear(err);
        rc = 0;
    }
    free(abs);
    atomic_fetch_add(&c->pr->files, 1);
    return rc;
}

static void read_tick(void *vctx)
{
    progress_emit(((struct read_ctx *)vctx)->pr, 0);
}

static int same_file(const struct snap_entry *a, const struct snap_entry *b)
{
    return a && b && a->type == SNAP_FILE && b->type == SNAP_FILE && a->size == b->size && a->mtime_ns == b->mtime_ns &&
           a->ctime_ns == b->ctime_ns && a->ino == b->ino && a->dev == b->dev;
}

/* Snapshot one tree or raw disk into an index. `prev` is the previous set's
 * index of the same disk (may be empty; a tree's walk consumes it). Only the
 * files the walk did not take unchanged from `prev` are read. */
static int snapshot_disk(const struct osm_disk *d, const struct snap_store *s, struct snap_index *prev,
                         struct snap_worker *workers, int threads, struct progress *pr, struct snap_index *ix,
                         size_t *files_read, struct osm_err *err)
{
    if (d->kind == OSM_DISK_TREE) {
        progress_start(pr, "scan", d->id, 0, 0);
        if (snap_walk(d->path, ix, prev, err) != 0)
            return -1;
    } else {
        struct stat st;
        if (stat(d->path, &st) != 0)
            return osm_err_errno(err, "%s", d->path);
        struct snap_entry *e = snap_index_add(ix);
        e->path = snap_arena_strdup(&ix->arena, "");
        e->type = SNAP_FILE;
        e->mode = st.st_mode;
        e->size = (uint64_t)st.st_size;
        e->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        e->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
        e->ino = st.st_ino;
        e->dev = st.st_dev;
        if (S_ISBLK(st.st_mode))
            e->mtime_ns = -1; /* never reuse: a device's times say nothing */
        const struct snap_entry *p = prev->n == 1 ? prev->e[0] : NULL;
        if (e->mtime_ns != -1 && p && p->path[0] == '\0' && same_file(e, p)) {
            snap_entry_set_refs(ix, e, p->refs, p->n_refs);
            e->reused = 1;
        }
    }
    struct snap_entry **queue = osm_xmalloc((ix->n ? ix->n : 1) * sizeof *queue);
    size_t nt = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < ix->n; i++) {
        struct snap_entry *e = ix->e[i];
        if (e->type != SNAP_FILE || e->reused)
            continue;
        queue[nt++] = e;
        bytes += e->size;
    }
    osm_info("snapshot.disk", "disk=%s entries=%zu read_files=%zu read_bytes=%llu", d->id, ix->n, nt,
             (unsigned long long)bytes);
    *files_read += nt;
    progress_start(pr, "read", d->id, bytes, nt);
    struct read_ctx c = {d->path, s, queue, pr};
    int rc = snap_parallel(nt, threads, workers, read_one, &c, read_tick, err);
    free(queue);
    progress_emit(pr, 1);
    if (rc != 0) {
        osm_err_prefix(err, "disk %s", d->id);
        return rc;
    }
    size_t kept = 0;
    for (size_t i = 0; i < ix->n; i++) {
        if (ix->e[i]->type == 0)
            snap_entry_release(ix->e[i]);
        else
            ix->e[kept++] = ix->e[i];
    }
    ix->n = kept;
    if (d->kind != OSM_DISK_TREE && kept != 1)
        return osm_err_set(err, OSM_ENOTFOUND, "disk %s: image %s vanished while it was read", d->id, d->path);
    return 0;
}

static int by_name_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Newest ready set of this instance, for reuse. Ids start with the creation
 * time in seconds; two sets of the same second are ordered by when their
 * set.json was last written (turning ready). Any ready set would be correct
 * to reuse from (only unchanged entries are taken); the newest one has the
 * most to offer. */
static char *previous_set(const struct snap_store *s, struct osm_instance *inst, const char *except)
{
    char *sets = osm_path_join(s->dir, "sets");
    DIR *dir = opendir(sets);
    free(sets);
    if (!dir)
        return NULL;
    /* Newest name first, and only as far as the winner's second: a store
     * keeps many sets, and reading every set.json cost each create time. */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (de->d_name[0] == '.' || !valid_id(de->d_name) || strcmp(de->d_name, except) == 0)
            continue;
        if (n == cap)
            names = osm_xrealloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
        names[n++] = osm_xstrdup(de->d_name);
    }
    closedir(dir);
    if (n > 1) /* (qsort of NULL is undefined even for no names) */
        qsort(names, n, sizeof *names, by_name_desc);
    char *best = NULL;
    int64_t best_ns = 0;
    for (size_t i = 0; i < n; i++) {
        if (best && strncmp(names[i], best, 16) < 0) /* YYYYmmddTHHMMSSZ: an earlier second */
            break;
        struct osm_err e = OSM_ERR_INIT;
        json_t *j = load_set_json(s, names[i], &e);
        if (j && strcmp(jstr(j, "state"), "ready") == 0 && strcmp(jstr(j, "instance"), inst->disks[0].path) == 0) {
            char *p = osm_xasprintf("%s/sets/%s/set.json", s->dir, names[i]);
            struct stat st;
            int64_t ns = stat(p, &st) == 0 ? (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec : 0;
            free(p);
            if (!best || ns > best_ns) { /* names[i] is in best's second here */
                free(best);
                best = osm_xstrdup(names[i]);
                best_ns = ns;
            }
        }
        json_decref(j);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return best;
}

/* The disk of the previous set `jprev` that is `d` (same id, path and
 * kind), or NULL. */
static json_t *prev_disk(json_t *jprev, const struct osm_disk *d)
{
    size_t i;
    json_t *jd;
    json_array_foreach(json_object_get(jprev, "disks"), i, jd)
    {
        if (strcmp(jstr(jd, "id"), d->id) == 0 && strcmp(jstr(jd, "path"), d->path) == 0 &&
            strcmp(jstr(jd, "kind"), kind_name(d->kind)) == 0)
            return jd;
    }
    return NULL;
}

/* When the previous set began to look at its disks (CLOCK_REALTIME, ns):
 * "started_ns", or for a set written before that was recorded, "created"
 * (whole seconds, taken before its walk: never later than any of its
 * stats). 0 when neither can be read: then no entry is trusted. */
static int64_t set_started_ns(json_t *jprev)
{
    json_t *v = json_object_get(jprev, "started_ns");
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    struct tm tm = {0};
    const char *c = jstr(jprev, "created"), *end = c ? strptime(c, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (!end || *end)
        return 0;
    return (int64_t)timegm(&tm) * 1000000000;
}

/* The previous set's index of a disk, for reuse: an entry the racy rule
 * does not trust gets a ctime that nothing matches, so it is read again. */
static void load_prev_index(const struct snap_store *s, const char *prev_id, json_t *jprev, json_t *jpd,
                            struct snap_index *out)
{
    snap_index_init(out);
    if (!prev_id || !jpd)
        return;
    struct osm_err e = OSM_ERR_INIT;
    char *p = index_path(s, prev_id, jstr(jpd, "id"));
    if (snap_index_load(out, p, jstr(jpd, "index_sha256"), &e) != 0)
        snap_index_init(out);
    free(p);
    int64_t started = set_started_ns(jprev);
    for (size_t i = 0; i < out->n; i++)
        if (!snap_stat_trusted(out->e[i]->ctime_ns, started))
            out->e[i]->ctime_ns = INT64_MIN;
}

/* An unchanged tree disk (snap_same.h): the new set shares the previous
 * set's index file (a hard link: sets never rewrite an index, and each set
 * removes only its own name) and takes its digest. 1 when done so. */
static struct snap_same_check *start_unchanged(const struct snap_store *s, const char *prev_id, json_t *jprev,
                                               json_t *jpd, const struct osm_disk *d, int threads)
{
    /* Without the index's digest nothing here could be verified: walk. */
    if (!prev_id || !jpd || d->kind != OSM_DISK_TREE || !*jstr(jpd, "index_sha256"))
        return NULL;
    char *from = index_path(s, prev_id, d->id), *side = side_path(s, prev_id, d->id);
    struct snap_same_check *c =
        snap_same_start(d->path, from, jstr(jpd, "index_sha256"), side, set_started_ns(jprev), threads);
    free(from);
    free(side);
    return c;
}

/* A disk's record in set.json: what it is, then what it holds. */
static json_t *disk_head(const struct osm_disk *d)
{
    json_t *jd = json_object();
    json_object_set_new(jd, "id", json_string(d->id));
    json_object_set_new(jd, "path", json_string(d->path));
    json_object_set_new(jd, "kind", json_string(kind_name(d->kind)));
    return jd;
}

/* What an unchanged tree disk's record takes from the previous set's. */
static void take_unchanged(json_t *jd, json_t *jpd)
{
    static const char *const keep[] = {"size", "entries", "digest", "index_sha256"};
    for (size_t k = 0; k < sizeof keep / sizeof *keep; k++)
        json_object_set(jd, keep[k], json_object_get(jpd, keep[k]));
}

/* While the checks run: set.json as it will be if every disk is an unchanged
 * tree, state ready, written and fsynced under a temporary name, so that
 * turning the set ready then costs one rename and one directory fsync. The
 * temporary name, or NULL (then the set turns ready the usual way). */
static char *ready_ahead(const struct snap_store *s, const char *id, json_t *j, json_t *jprev,
                         const struct osm_instance *inst)
{
    json_t *jr = json_deep_copy(j), *jdisks = json_array();
    json_object_set_new(jr, "state", json_string("ready"));
    json_object_set_new(jr, "disks", jdisks);
    for (size_t i = 0; i < inst->n_disks; i++) {
        json_t *jd = disk_head(&inst->disks[i]);
        take_unchanged(jd, prev_disk(jprev, &inst->disks[i]));
        json_array_append_new(jdisks, jd);
    }
    char *text = json_dumps(jr, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(jr);
    char *dir = snap_store_set_dir(s, id);
    char *p = osm_path_join(dir, "set.json.tmp-ready");
    free(dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t n = text ? strlen(text) : 0;
    int ok = fd >= 0 && text && write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    free(text);
    if (!ok) {
        unlink(p);
        free(p);
        return NULL;
    }
    return p;
}

/* Takes the check `*check` started by start_unchanged (and clears it). */
static int reuse_unchanged(const struct snap_store *s, const char *id, const char *prev_id, json_t *jpd,
                           const struct osm_disk *d, struct snap_same_check **check, json_t *jd)
{
    /* Its side file too: the previous set's (linked below), or, when that
     * set has none (written before side files), the records the check
     * decoded from its index, written now. */
    char *side = side_path(s, id, d->id);
    int same = snap_same_finish_saving(*check, side);
    *check = NULL;
    if (!same) {
        free(side);
        return 0;
    }
    char *from = index_path(s, prev_id, d->id), *to = index_path(s, id, d->id);
    int ok = link(from, to) == 0;
    free(from);
    free(to);
    if (!ok) {
        unlink(side);
        free(side);
        return 0;
    }
    from = side_path(s, prev_id, d->id);
    if (link(from, side) != 0 && errno != ENOENT && errno != EEXIST)
        osm_info("snapshot.side", "disk=%s side file not shared: %s", d->id, strerror(errno));
    free(from);
    free(side);
    take_unchanged(jd, jpd);
    osm_info("snapshot.disk", "disk=%s entries=%lld read_files=0 read_bytes=0 unchanged=1 index_of=%s", d->id,
             (long long)json_integer_value(json_object_get(jd, "entries")), prev_id);
    return 1;
}

/* A set id is its creation time to the microsecond and a random tail: the
 * ids of one instance sort in creation order ("oldest first" in list, and the
 * latest set is the one an unchanged tree is compared with) even for sets
 * taken within one second. */
static void new_set_id(char id[64])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    unsigned char rnd[2] = {0};
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
        memcpy(rnd, (const char *)&ts.tv_nsec + 1, sizeof rnd);
    snprintf(id, 64, "%04d%02d%02dT%02d%02d%02d.%06ldZ-%02x%02x", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, rnd[0], rnd[1]);
}

static void now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int osm_snap_create(struct osm_instance *inst, const char *label, const struct osm_snap_opts *opts,
                    char id_out[64], struct osm_err *err)
{
    struct snap_store s = {0};
    if (open_store(opts, inst, 1, 1, &s, err) != 0) {
        snap_store_close(&s);
        return -1;
    }
    char id[64];
    new_set_id(id);
    char *setdir = snap_store_set_dir(&s, id);
    while (osm_is_dir(setdir)) { /* two sets in the same microsecond */
        free(setdir);
        new_set_id(id);
        setdir = snap_store_set_dir(&s, id);
    }
    /* Before anything looks at a disk: the next create's racy rule
     * (snap_stat_trusted) needs an instant no earlier than this set's stats. */
    struct timespec started;
    clock_gettime(CLOCK_REALTIME, &started);
    char created[32];
    now_iso(created);
    int threads = thread_count(opts);
    struct snap_worker workers[64];
    for (int t = 0; t < threads; t++)
        snap_worker_init(&workers[t], t);
    struct progress pr = {.o = opts};
    char tags_made[16][80];
    const char *tag_images[16];
    int n_tags = 0;
    int rc = -1, set_lock = -1;
    json_t *j = NULL, *jprev = NULL;
    char *prev_id = NULL, *ahead = NULL;
    size_t files_read = 0, reused = 0;
    /* An unchanged tree's check (snap_same.h) starts before the set is
     * recorded as creating: it uses the CPUs while this thread writes that
     * record and the ready one ahead (ready_ahead). (It looks at the tree
     * only; what it finds is used after both are written.) */
    struct snap_same_check **check = osm_xcalloc(inst->n_disks ? inst->n_disks : 1, sizeof *check);
    prev_id = previous_set(&s, inst, id);
    if (prev_id) {
        struct osm_err ignore = OSM_ERR_INIT;
        jprev = load_set_json(&s, prev_id, &ignore);
    }
    for (size_t i = 0; i < inst->n_disks; i++)
        check[i] =
            start_unchanged(&s, prev_id, jprev, prev_disk(jprev, &inst->disks[i]), &inst->disks[i], threads);
    if (mkdir(setdir, 0700) != 0) {
        osm_err_errno(err, "creating %s", setdir);
        goto fail_nodir;
    }
    if ((set_lock = osm_lock_file(setdir, "lock", 0600, err)) < 0)
        goto fail;
    j = json_object();
    json_object_set_new(j, "format", json_integer(snap_store_writes_format1() ? 1 : 2));
    json_object_set_new(j, "id", json_string(id));
    json_object_set_new(j, "label", json_string(label ? label : ""));
    json_object_set_new(j, "instance", json_string(inst->disks[0].path));
    json_object_set_new(j, "uri", json_string(inst->uri));
    json_object_set_new(j, "created", json_string(created));
    json_object_set_new(j, "started_ns",
                        json_integer((json_int_t)started.tv_sec * 1000000000 + (json_int_t)started.tv_nsec));
    json_object_set_new(j, "state", json_string("creating"));
    json_t *jdisks = json_array();
    json_object_set_new(j, "disks", jdisks);
    if (save_set_json_unsynced(&s, id, j, err) != 0)
        goto fail;
    {
        size_t checked = 0;
        for (size_t i = 0; i < inst->n_disks; i++)
            checked += check[i] != NULL;
        if (checked && checked == inst->n_disks)
            ahead = ready_ahead(&s, id, j, jprev, inst);
    }
    for (size_t i = 0; i < inst->n_disks; i++) {
        const struct osm_disk *d = &inst->disks[i];
        json_t *jd = disk_head(d);
        json_array_append_new(jdisks, jd);
        if (d->kind == OSM_DISK_QCOW2) {
            char tag[80];
            qcow2_tag(id, tag);
            if (n_tags >= 16) {
                osm_err_set(err, OSM_EUNSUPPORTED, "too many qcow2 disks (at most 16)");
                goto fail;
            }
            if (snap_qcow2_create(d->path, tag, err) != 0) {
                osm_err_prefix(err, "disk %s", d->id);
                goto fail;
            }
            snprintf(tags_made[n_tags], 80, "%s", tag);
            tag_images[n_tags++] = d->path;
            struct stat st;
            json_object_set_new(jd, "size", json_integer(stat(d->path, &st) == 0 ? st.st_size : 0));
            json_object_set_new(jd, "qcow2_snapshot", json_string(tag));
            continue;
        }
        json_t *jpd = prev_disk(jprev, d);
        if (check[i] && reuse_unchanged(&s, id, prev_id, jpd, d, &check[i], jd)) {
            reused++;
            continue;
        }
        struct snap_index prev, ix;
        load_prev_index(&s, prev_id, jprev, jpd, &prev);
        snap_index_init(&ix);
        int r = snapshot_disk(d, &s, &prev, workers, threads, &pr, &ix, &files_read, err);
        snap_index_free(&prev);
        char sha[65], digest[65];
        char *ip = index_path(&s, id, d->id);
        if (r == 0)
            r = snap_index_save(&ix, ip, sha, err);
        free(ip);
        if (r != 0) {
            snap_index_free(&ix);
            goto fail;
        }
        if (d->kind == OSM_DISK_TREE) {
            /* Only the next create's speed depends on it: an error is noted, not fatal. */
            struct osm_err serr = OSM_ERR_INIT;
            char *sp = side_path(&s, id, d->id);
            if (snap_same_save(&ix, sha, sp, &serr) != 0)
                osm_info("snapshot.side", "disk=%s no side file: %s", d->id, serr.msg);
            free(sp);
        }
        if (d->kind == OSM_DISK_TREE)
            snap_index_digest(&ix, digest);
        else
            snap_raw_digest(ix.e[0], digest);
        json_object_set_new(jd, "size", json_integer((json_int_t)snap_index_bytes(&ix)));
        json_object_set_new(jd, "entries", json_integer((json_int_t)ix.n));
        json_object_set_new(jd, "digest", json_string(digest));
        json_object_set_new(jd, "index_sha256", json_string(sha));
        snap_index_free(&ix);
    }
    /* Everything durable first, then the set turns ready. When no file was
     * read, every chunk the set refers to belongs to the previous ready set,
     * which was synced before it turned ready, and the indexes were written
     * with fsync: a syncfs would only wait for other writers of the
     * filesystem. (A qcow2 snapshot may share the filesystem: synced too.) */
    if (snap_store_finish_packs(&s, workers, threads, err) != 0)
        goto fail;
    if ((files_read || n_tags) && snap_store_sync(&s, err) != 0)
        goto fail;
    if (ahead && reused == inst->n_disks) {
        /* The record written ahead is this set.json (same helpers). */
        char *p = osm_path_join(setdir, "set.json");
        int r = rename(ahead, p);
        free(p);
        if (r != 0 || osm_fsync_dir(setdir) != 0) {
            osm_err_errno(err, "writing %s/set.json", setdir);
            goto fail;
        }
        json_object_set_new(j, "state", json_string("ready"));
        free(ahead);
        ahead = NULL;
    } else {
        if (ahead) {
            unlink(ahead);
            free(ahead);
            ahead = NULL;
        }
        if (set_state(&s, id, j, "ready", err) != 0)
            goto fail;
    }
    snprintf(id_out, 64, "%s", id);
    osm_info("snapshot.created", "set=%s disks=%zu", id, inst->n_disks);
    rc = 0;
    goto done;
fail: {
    /* Leave the store as it was: no chunks of ours, no set, no qcow2 tags. */
    struct osm_err ignore = OSM_ERR_INIT;
    snap_store_discard_new(workers, threads);
    for (int t = 0; t < n_tags; t++)
        snap_qcow2_delete(tag_images[t], tags_made[t], &ignore);
    osm_remove_tree(setdir, &ignore);
    osm_err_prefix(err, "snapshot of %s", inst->uri);
}
fail_nodir:
done:
    for (size_t i = 0; i < inst->n_disks; i++)
        snap_same_finish(check[i]);
    free(check);
    free(ahead); /* (on failure, gone with the set's directory) */
    if (set_lock >= 0)
        close(set_lock);
    json_decref(j);
    json_decref(jprev);
    free(prev_id);
    for (int t = 0; t < threads; t++)
        snap_worker_free(&workers[t]);
    free(setdir);
    snap_store_close(&s);
    return rc;
}

/* ---- chunk accounting ---- */

struct chunk_slot {
    unsigned char hash[32];
    uint32_t nsets;
    int32_t last_set, mark;
    int64_t csize; /* -1: not looked at yet */
    int used;
};

struct chunk_map {
    struct chunk_slot *slot;
    size_t cap, n;
};

static int chunk_used(const void *e)
{
    return ((const struct chunk_slot *)e)->used;
}

static size_t chunk_hash(const void *e, size_t cap)
{
    (void)cap;
    uint64_t h;
    memcpy(&h, ((const struct chunk_slot *)e)->hash, 8);
    return (size_t)h;
}

static struct chunk_slot *chunk_map_get(struct chunk_map *m, const unsigned char hash[32], int insert)
{
    if (insert)
        osm_probe_grow(&m->slot, &m->cap, m->n, sizeof *m->slot, 4096, chunk_used, chunk_hash);
    if (!m->cap)
        return NULL;
    uint64_t h;
    memcpy(&h, hash, 8);
    size_t j = (size_t)h & (m->cap - 1);
    while (m->slot[j].used) {
        if (memcmp(m->slot[j].hash, hash, 32) == 0)
            return &m->slot[j];
        j = (j + 1) & (m->cap - 1);
    }
    if (!insert)
        return NULL;
    struct chunk_slot *sl = &m->slot[j];
    memcpy(sl->hash, hash, 32);
    sl->used = 1;
    sl->last_set = -1;
    sl->mark = -1;
    sl->csize = -1;
    m->n++;
    return sl;
}

/* Calls fn for every chunk ref of every tree/raw disk of the set. */
static int for_each_ref(const struct snap_store *s, const char *id, json_t *j,
                        void (*fn)(void *ctx, const struct snap_ref *r, const struct snap_entry *e, const char *disk),
                        void *ctx, struct osm_err *err)
{
    size_t i;
    json_t *jd;
    json_array_foreach(json_object_get(j, "disks"), i, jd)
    {
        if (strcmp(jstr(jd, "kind"), "qcow2") == 0)
            continue;
        char *p = index_path(s, id, jstr(jd, "id"));
        struct snap_index ix;
        int r = snap_index_load(&ix, p, jstr(jd, "index_sha256"), err);
        free(p);
        if (r != 0) {
            osm_err_prefix(err, "snapshot set '%s' disk %s", id, jstr(jd, "id"));
            return -1;
        }
        for (size_t k = 0; k < ix.n; k++)
            for (uint32_t c = 0; c < ix.e[k]->n_refs; c++)
                fn(ctx, &ix.e[k]->refs[c], ix.e[k], jstr(jd, "id"));
        snap_index_free(&ix);
    }
    return 0;
}

struct count_ctx {
    struct chunk_map *m;
    int set;
};

static void count_ref(void *vctx, const struct snap_ref *r, const struct snap_entry *e, const char *disk)
{
    (void)e;
    (void)disk;
    struct count_ctx *c = vctx;
    struct chunk_slot *sl = chunk_map_get(c->m, r->hash, 1);
    if (sl->last_set != c->set) {
        sl->last_set = c->set;
        sl->nsets++;
    }
}

struct space_ctx {
    const struct snap_store *s;
    struct chunk_map *m;
    int set;
    uint64_t stored, exclusive;
};

static void space_ref(void *vctx, const struct snap_ref *r, const struct snap_entry *e, const char *disk)
{
    (void)e;
    (void)disk;
    struct space_ctx *c = vctx;
    struct chunk_slot *sl = chunk_map_get(c->m, r->hash, 0);
    if (!sl || sl->mark == c->set)
        return;
    sl->mark = c->set;
    if (sl->csize < 0)
        sl->csize = (int64_t)snap_chunk_stored(c->s, r->hash);
    c->stored += (uint64_t)sl->csize;
    if (sl->nsets == 1)
        c->exclusive += (uint64_t)sl->csize;
}

/* ---- list ---- */

static int cmp_info(const void *a, const void *b)
{
    return strcmp(((const struct osm_snap_info *)a)->id, ((const struct osm_snap_info *)b)->id);
}

static int set_lock_held(const struct snap_store *s, const char *id)
{
    char *p = osm_xasprintf("%s/sets/%s/lock", s->dir, id);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    free(p);
    if (fd < 0)
        return 0;
    int held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

static void fill_info(struct osm_snap_info *in, const char *id, json_t *j, const struct snap_store *s)
{
    memset(in, 0, sizeof *in);
    snprintf(in->id, sizeof in->id, "%s", id);
    in->label = osm_xstrdup(j ? jstr(j, "label") : "");
    in->instance = osm_xstrdup(j ? jstr(j, "instance") : "");
    snprintf(in->created, sizeof in->created, "%s", j ? jstr(j, "created") : "");
    const char *state = j ? jstr(j, "state") : "creating";
    if (strcmp(state, "creating") == 0 && !set_lock_held(s, id))
        state = "failed";
    snprintf(in->state, sizeof in->state, "%s", state);
    char *rp = osm_xasprintf("%s/sets/%s/restore.json", s->dir, id);
    in->restore_incomplete = osm_is_file(rp);
    free(rp);
    json_t *jds = j ? json_object_get(j, "disks") : NULL;
    in->n_disks = json_array_size(jds);
    in->disks = osm_xcalloc(in->n_disks ? in->n_disks : 1, sizeof *in->disks);
    for (size_t i = 0; i < in->n_disks; i++) {
        json_t *jd = json_array_get(jds, i);
        struct osm_snap_disk_info *d = &in->disks[i];
        snprintf(d->id, sizeof d->id, "%s", jstr(jd, "id"));
        snprintf(d->kind, sizeof d->kind, "%s", jstr(jd, "kind"));
        d->path = osm_xstrdup(jstr(jd, "path"));
        d->size = (uint64_t)json_integer_value(json_object_get(jd, "size"));
        d->entries = (uint64_t)json_integer_value(json_object_get(jd, "entries"));
        snprintf(d->digest, sizeof d->digest, "%s", jstr(jd, "digest"));
    }
}

void osm_snap_info_free(struct osm_snap_info *info)
{
    if (!info)
        return;
    free(info->label);
    free(info->instance);
    for (size_t i = 0; i < info->n_disks; i++)
        free(info->disks[i].path);
    free(info->disks);
}

void osm_snap_list_free(struct osm_snap_info *infos, size_t n)
{
    for (size_t i = 0; i < n; i++)
        osm_snap_info_free(&infos[i]);
    free(infos);
}

/* All sets in the store (any instance), with json (NULL when unreadable). */
struct set_row {
    char *id;
    json_t *j;
};

static size_t read_sets(const struct snap_store *s, struct set_row **out)
{
    char *sets = osm_path_join(s->dir, "sets");
    DIR *dir = opendir(sets);
    free(sets);
    size_t n = 0, cap = 0;
    struct set_row *rows = NULL;
    struct dirent *de;
    while (dir && (de = readdir(dir))) {
        if (de->d_name[0] == '.' || !valid_id(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            rows = osm_xrealloc(rows, cap * sizeof *rows);
        }
        struct osm_err e = OSM_ERR_INIT;
        rows[n].id = osm_xstrdup(de->d_name);
        rows[n].j = load_set_json(s, de->d_name, &e);
        n++;
    }
    if (dir)
        closedir(dir);
    *out = rows;
    return n;
}

static void free_sets(struct set_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].id);
        json_decref(rows[i].j);
    }
    free(rows);
}

int osm_snap_list(struct osm_instance *inst, const struct osm_snap_opts *opts, struct osm_snap_info **out,
                  size_t *n_out, struct osm_err *err)
{
    *out = NULL;
    *n_out = 0;
    struct snap_store s = {0};
    struct osm_err e2 = OSM_ERR_INIT;
    if (open_store(opts, NULL, 0, -1, &s, &e2) != 0) {
        snap_store_close(&s);
        if (e2.code == OSM_ENOTFOUND)
            return 0; /* no store yet: no sets */
        *err = e2;
        return -1;
    }
    struct set_row *rows;
    size_t n = read_sets(&s, &rows);
    struct chunk_map m = {0};
    for (size_t i = 0; i < n; i++) {
        struct count_ctx c = {&m, (int)i};
        struct osm_err ignore = OSM_ERR_INIT;
        if (rows[i].j)
            for_each_ref(&s, rows[i].id, rows[i].j, count_ref, &c, &ignore);
    }
    struct osm_snap_info *infos = osm_xcalloc(n ? n : 1, sizeof *infos);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].j && strcmp(jstr(rows[i].j, "instance"), inst->disks[0].path) != 0)
            continue;
        fill_info(&infos[k], rows[i].id, rows[i].j, &s);
        struct space_ctx c = {&s, &m, (int)i, 0, 0};
        struct osm_err ignore = OSM_ERR_INIT;
        if (rows[i].j)
            for_each_ref(&s, rows[i].id, rows[i].j, space_ref, &c, &ignore);
        infos[k].stored_bytes = c.stored;
        infos[k].exclusive_bytes = c.exclusive;
        k++;
    }
    qsort(infos, k, sizeof *infos, cmp_info);
    free(m.slot);
    free_sets(rows, n);
    snap_store_close(&s);
    *out = infos;
    *n_out = k;
    return 0;
}

/* ---- verify ---- */

struct vitem {
    struct snap_ref ref;
    char *path;
    const char *disk;
};

struct vlist {
    struct chunk_map seen;
    struct vitem *items;
    size_t n, cap;
    const struct snap_store *s;
    struct progress *pr;
};

static void collect_ref(void *vctx, const struct snap_ref *r, const struct snap_entry *e, const char *disk)
{
    struct vlist *v = vctx;
    struct chunk_slot *sl = chunk_map_get(&v->seen, r->hash, 1);
    if (sl->nsets++)
        return;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->items = osm_xrealloc(v->items, v->cap * sizeof *v->items);
    }
    v->items[v->n++] = (struct vitem){*r, osm_xstrdup(e->path), disk};
}

static int verify_one(void *vctx, struct snap_worker *w, size_t i, struct osm_err *err)
{
    struct vlist *v = vctx;
    struct vitem *it = &v->items[i];
    if (snap_chunk_get(v->s, w, it->ref.hash, it->ref.len, w->buf, err) != 0) {
        osm_err_prefix(err, "disk %s: file /%s (offset %llu)", it->disk, it->path, (unsigned long long)it->ref.off);
        return -1;
    }
    atomic_fetch_add(&v->pr->bytes, it->ref.len);
    atomic_fetch_add(&v->pr->files, 1);
    return 0;
}

static void verify_tick(void *vctx)
{
    progress_emit(((struct vlist *)vctx)->pr, 0);
}

/* Disk ids live in the json; keep them alive while the list refers to them. */
static int verify_set(const struct snap_store *s, const char *id, json_t *j, const struct osm_snap_opts *opts,
                      struct osm_err *err)
{
    struct progress pr = {.o = opts};
    struct vlist v = {.s = s, .pr = &pr};
    int rc = for_each_ref(s, id, j, collect_ref, &v, err);
    size_t i;
    json_t *jd;
    json_array_foreach(json_object_get(j, "disks"), i, jd)
    {
        if (rc != 0 || strcmp(jstr(jd, "kind"), "qcow2") != 0)
            continue;
        int has = snap_qcow2_has(jstr(jd, "path"), jstr(jd, "qcow2_snapshot"), err);
        if (has == 0)
            rc = osm_err_set(err, OSM_ECHECKSUM, "disk %s: image %s has no internal snapshot %s", jstr(jd, "id"),
                             jstr(jd, "path"), jstr(jd, "qcow2_snapshot"));
        else if (has < 0 || snap_qcow2_check(jstr(jd, "path"), err) != 0)
            rc = -1;
    }
    if (rc == 0) {
        uint64_t total = 0;
        for (size_t k = 0; k < v.n; k++)
            total += v.items[k].ref.len;
        progress_start(&pr, "verify", "", total, v.n);
        int threads = thread_count(opts);
        struct snap_worker workers[64];
        for (int t = 0; t < threads; t++)
            snap_worker_init(&workers[t], t);
        rc = snap_parallel(v.n, threads, workers, verify_one, &v, verify_tick, err);
        for (int t = 0; t < threads; t++)
            snap_worker_free(&workers[t]);
        progress_emit(&pr, 1);
    }
    for (size_t k = 0; k < v.n; k++)
        free(v.items[k].path);
    free(v.items);
    free(v.seen.slot);
    return rc;
}

int osm_snap_verify(struct osm_instance *inst, const char *id, const struct osm_snap_opts *opts,
                    struct osm_err *err)
{
    struct snap_store s = {0};
    json_t *j = NULL;
    int rc = -1;
    if (!(j = open_owned_set(opts, NULL, 0, inst, id, &s, err)))
        goto out;
    const char *state = jstr(j, "state");
    if (strcmp(state, "ready") != 0 && strcmp(state, "corrupt") != 0) {
        osm_err_set(err, OSM_EINPUT, "snapshot set '%s' is %s, not ready", id,
                    strcmp(state, "creating") == 0 && !set_lock_held(&s, id) ? "failed" : state);
        goto out;
    }
    rc = verify_set(&s, id, j, opts, err);
    if (rc != 0 && err->code == OSM_ECHECKSUM) {
        struct osm_err ignore = OSM_ERR_INIT;
        set_state(&s, id, j, "corrupt", &ignore);
    }
    if (rc == 0 && strcmp(state, "corrupt") == 0) /* repaired (e.g. chunk put back) */
        set_state(&s, id, j, "ready", err);
out:
    if (rc != 0)
        osm_err_prefix(err, "snapshot set '%s'", id);
    json_decref(j);
    snap_store_close(&s);
    return rc;
}

/* ---- restore ---- */

/* The syncfs of every tree disk after a restore, on its own thread. */
struct tree_sync {
    struct snap_tree_restore *trees;
    struct osm_disk **disks;
    size_t n;
    int rc;
    struct osm_err err;
};

static void *sync_trees(void *arg)
{
    struct tree_sync *t = arg;
    for (size_t i = 0; i < t->n && t->rc == 0; i++)
        if (t->disks[i]->kind == OSM_DISK_TREE)
            t->rc = snap_tree_sync(t->trees[i].root, t->disks[i]->id, &t->err);
    return NULL;
}

int osm_snap_restore(struct osm_instance *inst, const char *id, const struct osm_snap_opts *opts, int *digest_ok,
                     struct osm_err *err)
{
    if (digest_ok)
        *digest_ok = 0;
    struct snap_store s = {0};
    json_t *j = NULL;
    int rc = -1;
    size_t nd = 0;
    struct snap_index *ixs = NULL;
    struct snap_tree_restore *trees = NULL;
    struct snap_raw_restore *raws = NULL;
    struct osm_disk **disks = NULL;
    int threads = thread_count(opts);
    struct snap_worker workers[64];
    for (int t = 0; t < threads; t++)
        snap_worker_init(&workers[t], t);
    struct progress pr = {.o = opts};
    char *intent = NULL;

    if (!(j = open_owned_set(opts, inst, 1, inst, id, &s, err)))
        goto out;
    if (strcmp(jstr(j, "state"), "ready") != 0) {
        osm_err_set(err, OSM_EINPUT, "snapshot set '%s' is %s; only a ready set can be restored", id,
                    jstr(j, "state"));
        goto out;
    }
    json_t *jds = json_object_get(j, "disks");
    nd = json_array_size(jds);
    ixs = osm_xcalloc(nd ? nd : 1, sizeof *ixs);
    trees = osm_xcalloc(nd ? nd : 1, sizeof *trees);
    raws = osm_xcalloc(nd ? nd : 1, sizeof *raws);
    disks = osm_xcalloc(nd ? nd : 1, sizeof *disks);
    /* Phase 1, every disk: check, load, stage and verify. Nothing changes. */
    for (size_t i = 0; i < nd; i++) {
        json_t *jd = json_array_get(jds, i);
        snap_index_init(&ixs[i]);
        if (!(disks[i] = instance_disk(inst, jd, id, err)))
            goto fail;
        const struct osm_disk *d = disks[i];
        if (d->kind == OSM_DISK_QCOW2) {
            int has = snap_qcow2_has(d->path, jstr(jd, "qcow2_snapshot"), err);
            if (has == 0)
                osm_err_set(err, OSM_ECHECKSUM, "disk %s: image %s has no internal snapshot %s", d->id, d->path,
                            jstr(jd, "qcow2_snapshot"));
            if (has != 1)
                goto fail;
            continue;
        }
        char *ip = index_path(&s, id, d->id);
        int r = snap_index_load(&ixs[i], ip, jstr(jd, "index_sha256"), err);
        free(ip);
        if (r != 0)
            goto fail;
        if (d->kind == OSM_DISK_TREE) {
            trees[i] = (struct snap_tree_restore){.root = d->path, .disk_id = d->id, .ix = &ixs[i]};
            progress_start(&pr, "verify", d->id, snap_index_bytes(&ixs[i]), 0);
            if (snap_tree_stage(&trees[i], &s, workers, threads, &pr.bytes, &pr.files, err) != 0)
                goto fail;
        } else {
            if (ixs[i].n != 1) {
                osm_err_set(err, OSM_EINPUT, "disk %s: index of a raw image must have one entry", d->id);
                goto fail;
            }
            raws[i] = (struct snap_raw_restore){.path = d->path, .disk_id = d->id, .e = ixs[i].e[0]};
            progress_start(&pr, "verify", d->id, ixs[i].e[0]->size, 1);
            if (snap_raw_prepare(&raws[i], &s, &workers[0], &pr.bytes, err) != 0)
                goto fail;
        }
        progress_emit(&pr, 1);
    }
    /* Intent: a restore of this set is under way (list shows it until done). */
    intent = osm_xasprintf("%s/sets/%s/restore.json", s.dir, id);
    {
        char started[32], *text;
        now_iso(started);
        text = osm_xasprintf("{\"started\": \"%s\", \"pid\": %d}\n", started, (int)getpid());
        int r = osm_write_file_atomic(intent, text, strlen(text), 0600, err);
        free(text);
        if (r != 0)
            goto fail;
    }
    /* Phase 2, every disk: apply. */
    for (size_t i = 0; i < nd; i++) {
        json_t *jd = json_array_get(jds, i);
        const struct osm_disk *d = disks[i];
        progress_start(&pr, "restore", d->id, 0, 0);
        int r;
        if (d->kind == OSM_DISK_QCOW2)
            r = snap_qcow2_apply(d->path, jstr(jd, "qcow2_snapshot"), err);
        else if (d->kind == OSM_DISK_TREE)
            r = snap_tree_apply(&trees[i], workers, threads, err);
        else
            r = snap_raw_apply(&raws[i], &s, &workers[0], err);
        if (r != 0)
            goto out; /* keep the intent: run the restore again */
    }
    /* Check: the digest of each disk now equals the recorded one. It reads
     * what the page cache holds, so the tree disks are synced meanwhile. */
    struct tree_sync ts = {trees, disks, nd, 0, OSM_ERR_INIT};
    pthread_t sync_tid;
    int syncing = pthread_create(&sync_tid, NULL, sync_trees, &ts) == 0;
    if (!syncing)
        sync_trees(&ts);
    int all_ok = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *jd = json_array_get(jds, i);
        const struct osm_disk *d = disks[i];
        if (d->kind == OSM_DISK_QCOW2)
            continue;
        progress_start(&pr, "digest", d->id, 0, 0);
        char now[65];
        int r;
        if (d->kind == OSM_DISK_TREE) {
            r = snap_tree_digest(trees[i].root, &trees[i], now, err);
        } else {
            struct snap_entry e = {0};
            r = snap_file_chunks(d->path, &e, NULL, &workers[0], NULL, err);
            if (r == 0)
                snap_raw_digest(&e, now);
            free(e.refs);
        }
        if (r != 0) {
            all_ok = -1;
            break;
        }
        if (strcmp(now, jstr(jd, "digest")) != 0) {
            all_ok = 0;
            osm_err_set(err, OSM_ECHECKSUM, "disk %s (%s): digest after restore is %s, the set recorded %s", d->id,
                        d->path, now, jstr(jd, "digest"));
        }
        osm_info("snapshot.restore.digest", "set=%s disk=%s digest=%s ok=%d", id, d->id, now,
                 strcmp(now, jstr(jd, "digest")) == 0);
    }
    if (syncing)
        pthread_join(sync_tid, NULL);
    if (all_ok == 1 && ts.rc != 0) {
        *err = ts.err;
        all_ok = -1;
    }
    if (all_ok != 1)
        goto out;
    unlink(intent);
    if (digest_ok)
        *digest_ok = 1;
    rc = 0;
    goto out;
fail:
    for (size_t i = 0; i < nd; i++)
        snap_tree_unstage(&trees[i]);
    if (err->code == OSM_ECHECKSUM && j) {
        struct osm_err ignore = OSM_ERR_INIT;
        set_state(&s, id, j, "corrupt", &ignore);
        osm_err_prefix(err, "set is corrupt, nothing was changed");
    }
out:
    if (rc != 0)
        osm_err_prefix(err, "restore of snapshot set '%s'", id);
    for (size_t i = 0; i < nd; i++) {
        snap_tree_restore_free(&trees[i]);
        snap_raw_restore_free(&raws[i]);
        snap_index_free(&ixs[i]);
    }
    osm_free_all(ixs, trees, raws, disks, intent);
    for (int t = 0; t < threads; t++)
        snap_worker_free(&workers[t]);
    json_decref(j);
    snap_store_close(&s);
    return rc;
}

/* ---- delete and garbage collection ---- */

static void mark_ref(void *vctx, const struct snap_ref *r, const struct snap_entry *e, const char *disk)
{
    (void)e;
    (void)disk;
    chunk_map_get(vctx, r->hash, 1);
}

static int is_live(void *ctx, const unsigned char hash[32])
{
    return chunk_map_get(ctx, hash, 0) != NULL;
}

/* Give back the space of every chunk no set references (snap_gc.h).
 * Refuses when an index cannot be read: never delete what might be used. */
static int collect_garbage(const struct snap_store *s, uint64_t *freed, struct osm_err *err)
{
    struct set_row *rows;
    size_t n = read_sets(s, &rows);
    struct chunk_map m = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!rows[i].j) {
            /* A set dir without set.json: an interrupted create or delete,
             * which references nothing yet (or any more). */
            continue;
        }
        /* Failed creates and sets being deleted keep nothing alive. */
        const char *state = jstr(rows[i].j, "state");
        if (strcmp(state, "deleting") == 0 || (strcmp(state, "creating") == 0 && !set_lock_held(s, rows[i].id)))
            continue;
        rc = for_each_ref(s, rows[i].id, rows[i].j, mark_ref, &m, err);
    }
    free_sets(rows, n);
    if (rc == 0)
        rc = snap_gc(s, is_live, &m, freed, err);
    free(m.slot);
    return rc;
}

int osm_snap_delete(struct osm_instance *inst, const char *id, const struct osm_snap_opts *opts,
                    struct osm_err *err)
{
    if (check_set_id(id, err) != 0)
        return -1;
    struct snap_store s = {0};
    json_t *j = NULL;
    int rc = -1;
    char *setdir = NULL;
    if (open_store(opts, NULL, 0, 1, &s, err) != 0)
        goto out;
    setdir = snap_store_set_dir(&s, id);
    struct osm_err e2 = OSM_ERR_INIT;
    j = load_set_json(&s, id, &e2);
    if (!j && e2.code == OSM_ENOTFOUND) {
        *err = e2;
        goto out;
    }
    if (j) {
        if (check_owner(j, inst, id, err) != 0)
            goto out;
        if (set_state(&s, id, j, "deleting", err) != 0)
            goto out;
        size_t i;
        json_t *jd;
        json_array_foreach(json_object_get(j, "disks"), i, jd)
        {
            if (strcmp(jstr(jd, "kind"), "qcow2") != 0)
                continue;
            struct osm_err qe = OSM_ERR_INIT;
            int has = snap_qcow2_has(jstr(jd, "path"), jstr(jd, "qcow2_snapshot"), &qe);
            if (has == 1 && snap_qcow2_delete(jstr(jd, "path"), jstr(jd, "qcow2_snapshot"), err) != 0)
                goto out;
        }
    }
    if (osm_remove_tree(setdir, err) != 0)
        goto out;
    char *sets = osm_path_join(s.dir, "sets");
    osm_fsync_dir(sets);
    free(sets);
    uint64_t freed = 0;
    if (collect_garbage(&s, &freed, err) != 0) {
        osm_err_prefix(err, "set deleted, but chunks were not collected");
        goto out;
    }
    osm_info("snapshot.deleted", "set=%s freed_bytes=%llu", id, (unsigned long long)freed);
    rc = 0;
out:
    if (rc != 0)
        osm_err_prefix(err, "deleting snapshot set '%s'", id);
    free(setdir);
    json_decref(j);
    snap_store_close(&s);
    return rc;
}

/* ---- digest of a tree ---- */

int osm_snap_tree_digest(const char *path, char hex[65], struct osm_err *err)
{
    return snap_tree_digest(path, NULL, hex, err);
}
