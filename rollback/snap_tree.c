/* snap_tree.c: see snap_tree.h.
 *
 * Restore runs in two phases so that a corrupt set never half-applies:
 *  1. stage: every regular file whose current content differs is written
 *     into DISK/.osmig-restore-staging/N from verified chunks (a file whose
 *     content already matches is kept and not rewritten);
 *  2. apply: extra paths are removed, directories created, staged files
 *     renamed into place, links and special files recreated, then owner,
 *     mode, xattrs (ACLs, capabilities, SELinux labels) and times set —
 *     directories last and deepest first so their mtimes stick.
 * Every step of apply checks the current state before acting, so running a
 * killed restore again converges to the same tree. */
#include "snap_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_probe.h"
#include "snap_io.h"

/* ---- walk ---- */

/* Hardlink groups: the first path seen of each (dev, ino) with nlink > 1.
 * The paths are the entries' own (they live in the index's arena). */
struct inode_slot {
    uint64_t dev, ino;
    const char *path;
};
struct inode_map {
    struct inode_slot *slot;
    size_t cap, n;
};

static size_t inode_hash(uint64_t dev, uint64_t ino, size_t cap)
{
    uint64_t h = (ino * 0x9E3779B97F4A7C15ull) ^ (dev * 0xC2B2AE3D27D4EB4Full);
    return (size_t)(h >> 17) & (cap - 1);
}

/* The slot of (dev, ino): its path is the first path seen, or NULL when the
 * inode is new (the caller then stores the path before the next call). */
static int inode_used(const void *e)
{
    return ((const struct inode_slot *)e)->path != NULL;
}

static size_t inode_slot_hash(const void *e, size_t cap)
{
    const struct inode_slot *s = e;
    return inode_hash(s->dev, s->ino, cap);
}

static const char **inode_slot(struct inode_map *m, uint64_t dev, uint64_t ino)
{
    osm_probe_grow(&m->slot, &m->cap, m->n, sizeof *m->slot, 256, inode_used, inode_slot_hash);
    size_t j = inode_hash(dev, ino, m->cap);
    while (m->slot[j].path) {
        if (m->slot[j].dev == dev && m->slot[j].ino == ino)
            return &m->slot[j].path;
        j = (j + 1) & (m->cap - 1);
    }
    m->slot[j].dev = dev;
    m->slot[j].ino = ino;
    m->n++;
    return &m->slot[j].path;
}

static int cmp_xattr(const void *a, const void *b)
{
    return strcmp(((const struct snap_xattr *)a)->name, ((const struct snap_xattr *)b)->name);
}

/* Into the index's arena. By path: only entries that are new or changed
 * since the previous set get here. */
static int read_xattrs(const char *abs, struct snap_arena *a, struct snap_entry *e, struct osm_err *err)
{
    char stackbuf[1024];
    char *names = stackbuf;
    ssize_t n = llistxattr(abs, names, sizeof stackbuf);
    if (n < 0 && errno == ERANGE) {
        n = llistxattr(abs, NULL, 0);
        if (n > 0) {
            names = osm_xmalloc((size_t)n);
            n = llistxattr(abs, names, (size_t)n);
        }
    }
    if (n < 0) {
        int e = errno;
        if (names != stackbuf)
            free(names);
        errno = e;
        if (errno == ENOTSUP)
            return 0;
        return osm_err_errno(err, "listing xattrs of %s", abs);
    }
    uint32_t count = 0;
    for (char *p = names; p < names + n; p += strlen(p) + 1)
        count++;
    e->xattrs = count ? snap_arena_alloc(a, count * sizeof *e->xattrs) : NULL;
    for (char *p = names; p < names + n; p += strlen(p) + 1) {
        ssize_t vn = lgetxattr(abs, p, NULL, 0);
        if (vn < 0) {
            if (errno == ENODATA)
                continue;
            osm_err_errno(err, "reading xattr %s of %s", p, abs);
            if (names != stackbuf)
                free(names);
            return -1;
        }
        unsigned char *v = snap_arena_alloc(a, vn ? (size_t)vn : 1);
        vn = lgetxattr(abs, p, v, (size_t)vn);
        if (vn < 0)
            continue;
        e->xattrs[e->n_xattrs++] = (struct snap_xattr){snap_arena_strdup(a, p), v, (uint32_t)vn};
    }
    if (names != stackbuf)
        free(names);
    if (e->n_xattrs > 1)
        qsort(e->xattrs, e->n_xattrs, sizeof *e->xattrs, cmp_xattr);
    return 0;
}

static int64_t ts_ns(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void fill_stat(struct snap_entry *e, const struct stat *st)
{
    e->mode = st->st_mode;
    e->uid = st->st_uid;
    e->gid = st->st_gid;
    e->atime_ns = ts_ns(st->st_atim);
    e->mtime_ns = ts_ns(st->st_mtim);
    e->ctime_ns = ts_ns(st->st_ctim);
    e->ino = st->st_ino;
    e->dev = st->st_dev;
    e->rdev = st->st_rdev;
    e->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
}

static uint8_t type_of(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG: return SNAP_FILE;
    case S_IFDIR: return SNAP_DIR;
    case S_IFLNK: return SNAP_SYMLINK;
    case S_IFCHR: return SNAP_CHR;
    case S_IFBLK: return SNAP_BLK;
    case S_IFIFO: return SNAP_FIFO;
    case S_IFSOCK: return SNAP_SOCK;
    default: return 0;
    }
}

/* The walk works relative to directory descriptors (fstatat, readlinkat,
 * openat on one name): a full path costs a lookup of every component per
 * entry. `abs` and `rel` are kept up to date for messages, xattrs and the
 * index. The names of every directory on the current path are stacked in
 * `names` (offsets in `offs`), so listing a directory allocates nothing.
 * Every directory on the current path keeps its descriptor open, down to
 * FD_DEPTH levels; deeper ones (rare) are walked by full path, so that a deep
 * tree cannot run the process out of descriptors. */
#define FD_DEPTH 64

struct walk {
    dev_t root_dev;
    int fd_depth; /* directory descriptors held */
    struct snap_index *ix;
    struct inode_map inodes;
    struct osm_buf abs, rel, names;
    size_t *offs, n_offs, cap_offs;
    /* The previous set's index, in walk order, and where the walk is in it:
     * an unchanged tree is found in the same order, so the next entry is
     * almost always the one looked for. `order` (indexes sorted by path) is
     * built at the first miss. */
    struct snap_index *prev;
    size_t cursor;
    uint32_t *order;
    char *dbuf; /* getdents64 */
};

#define DIRENT_BUF ((size_t)32 << 10)

static int cmp_name_off(const void *a, const void *b, void *base)
{
    return strcmp((const char *)base + *(const size_t *)a, (const char *)base + *(const size_t *)b);
}

static int cmp_prev_path(const void *a, const void *b, void *ix)
{
    struct snap_entry **e = ((struct snap_index *)ix)->e;
    return strcmp(e[*(const uint32_t *)a]->path, e[*(const uint32_t *)b]->path);
}

static struct snap_entry *prev_lookup(struct walk *w, const char *rel)
{
    struct snap_index *p = w->prev;
    if (!p || !p->n)
        return NULL;
    if (w->cursor < p->n && strcmp(p->e[w->cursor]->path, rel) == 0)
        return p->e[w->cursor++];
    if (!w->order) {
        w->order = osm_xmalloc(p->n * sizeof *w->order);
        for (size_t i = 0; i < p->n; i++)
            w->order[i] = (uint32_t)i;
        qsort_r(w->order, p->n, sizeof *w->order, cmp_prev_path, p);
    }
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p->e[w->order[mid]]->path, rel);
        if (c == 0) {
            w->cursor = (size_t)w->order[mid] + 1;
            return p->e[w->order[mid]];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Opens a directory to list it without moving its atime (the snapshot must
 * not change what it records, and an unchanged tree must stat the same on
 * the next create: snap_same.h); O_NOATIME needs ownership or CAP_FOWNER,
 * else the directory is opened as usual. */
static int open_dir_at(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd;
}

/* Lists the directory open as `dfd` (-1: opens w->abs for the listing only)
 * onto the name stack, sorted; `first` receives where its names start.
 * getdents64 straight into one buffer: no DIR per directory. */
static int list_dir_at(struct walk *w, int dfd, int at_root, size_t *first, struct osm_err *err)
{
    int fd = dfd >= 0 ? dfd : open_dir_at(AT_FDCWD, w->abs.s);
    if (fd < 0)
        return osm_err_errno(err, "reading directory %s", w->abs.s);
    if (!w->dbuf)
        w->dbuf = osm_xmalloc(DIRENT_BUF);
    *first = w->n_offs;
    int rc = 0;
    for (;;) {
        ssize_t n = getdents64(fd, w->dbuf, DIRENT_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = osm_err_errno(err, "reading directory %s", w->abs.s);
            break;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            const struct dirent64 *de = (const struct dirent64 *)(w->dbuf + off);
            off += de->d_reclen;
            const char *nm = de->d_name;
            if ((nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))) ||
                (at_root && strcmp(nm, SNAP_STAGING_NAME) == 0))
                continue;
            if (w->n_offs == w->cap_offs) {
                w->cap_offs = w->cap_offs ? w->cap_offs * 2 : 1024;
                w->offs = osm_xrealloc(w->offs, w->cap_offs * sizeof *w->offs);
            }
            w->offs[w->n_offs++] = w->names.len;
            osm_buf_add(&w->names, nm, strlen(nm) + 1);
        }
    }
    if (dfd < 0)
        close(fd);
    if (rc == 0 && w->n_offs > *first + 1)
        qsort_r(w->offs + *first, w->n_offs - *first, sizeof *w->offs, cmp_name_off, w->names.s);
    return rc;
}

static int walk_entry(struct walk *w, int dfd, const char *name, const struct stat *st, struct osm_err *err);

/* Walks the children of the directory w->abs, open as `dfd` (taken over;
 * -1: by full path). */
static int walk_dir(struct walk *w, int dfd, struct osm_err *err)
{
    size_t first = w->n_offs;
    size_t names_len = w->names.len;
    if (list_dir_at(w, dfd, w->rel.len == 0, &first, err) != 0) {
        if (dfd >= 0)
            close(dfd);
        w->n_offs = first;
        w->names.len = names_len;
        w->names.s[names_len] = '\0';
        return -1;
    }
    int at = dfd >= 0 ? dfd : AT_FDCWD;
    if (dfd >= 0)
        w->fd_depth++;
    size_t last = w->n_offs, abs_len = w->abs.len, rel_len = w->rel.len;
    int rc = 0;
    for (size_t i = first; i < last && rc == 0; i++) {
        w->abs.len = abs_len;
        w->abs.s[abs_len] = '\0';
        osm_buf_addc(&w->abs, '/');
        osm_buf_adds(&w->abs, w->names.s + w->offs[i]);
        w->rel.len = rel_len;
        w->rel.s[rel_len] = '\0';
        if (rel_len)
            osm_buf_addc(&w->rel, '/');
        osm_buf_adds(&w->rel, w->names.s + w->offs[i]);
        /* The name stack may move when a subdirectory grows it: no pointer
         * into it is kept across walk_entry. */
        const char *name = dfd >= 0 ? w->names.s + w->offs[i] : w->abs.s;
        struct stat st;
        if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) /* vanished while we walked: not part of the snapshot */
                rc = osm_err_errno(err, "%s", w->abs.s);
        } else {
            rc = walk_entry(w, at, name, &st, err);
        }
    }
    if (dfd >= 0) {
        close(dfd);
        w->fd_depth--;
    }
    w->n_offs = first;
    w->names.len = names_len;
    w->names.s[names_len] = '\0';
    w->abs.len = abs_len;
    w->abs.s[abs_len] = '\0';
    w->rel.len = rel_len;
    w->rel.s[rel_len] = '\0';
    return rc;
}

/* `name` is relative to `dfd` (the full path when dfd is AT_FDCWD). */
static int walk_entry(struct walk *w, int dfd, const char *name, const struct stat *st, struct osm_err *err)
{
    struct snap_arena *a = &w->ix->arena;
    const char *rel = w->rel.s;
    const char **first = NULL;
    if (!S_ISDIR(st->st_mode) && st->st_nlink > 1)
        first = inode_slot(&w->inodes, st->st_dev, st->st_ino);
    struct snap_entry *p = prev_lookup(w, rel);
    uint8_t type = type_of(st->st_mode);
    if (!type)
        return osm_err_set(err, OSM_EUNSUPPORTED, "%s: unsupported file type", w->abs.s);
    struct snap_entry *e;
    if (first && *first) {
        e = snap_index_add(w->ix);
        e->path = p ? p->path : snap_arena_strndup(a, rel, w->rel.len);
        fill_stat(e, st);
        e->type = SNAP_HARDLINK;
        e->link = (char *)*first;
        e->size = 0;
        return 0;
    }
    if (p && p->type == type && p->ino == (uint64_t)st->st_ino && p->dev == (uint64_t)st->st_dev &&
        p->ctime_ns == ts_ns(st->st_ctim) && p->mtime_ns == ts_ns(st->st_mtim) &&
        p->size == (S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0)) {
        /* Unchanged since the previous set: take its entry as it is, with its
         * xattrs, link target and chunk list. ctime moves on every change of
         * content, owner, mode, xattrs (so ACLs, capabilities and SELinux
         * labels too) and link count, and nothing can set it back: the same
         * inode with the same ctime has the same xattrs, and a symlink's
         * target cannot change without a new inode. */
        e = p;
        fill_stat(e, st);
        e->reused = 1;
        e->action = 0;
        snap_index_push(w->ix, e);
    } else {
        e = snap_index_add(w->ix);
        e->path = p ? p->path : snap_arena_strndup(a, rel, w->rel.len);
        fill_stat(e, st);
        e->type = type;
        if (type == SNAP_SYMLINK) {
            size_t cap = (size_t)st->st_size + 1 > 256 ? (size_t)st->st_size + 1 : 256;
            char *t = snap_arena_alloc(a, cap + 1);
            ssize_t n = readlinkat(dfd, name, t, cap);
            if (n < 0)
                return osm_err_errno(err, "reading symlink %s", w->abs.s);
            t[n] = '\0';
            e->link = t;
            /* Reading a link moves its atime (there is no O_NOATIME for
             * it): record the atime it has now, which the next create sees. */
            struct stat now;
            if (fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == st->st_ino &&
                ts_ns(now.st_ctim) == e->ctime_ns)
                e->atime_ns = ts_ns(now.st_atim);
        }
        if (read_xattrs(w->abs.s, a, e, err) != 0)
            return -1;
    }
    if (first)
        *first = e->path;
    if (type == SNAP_DIR && st->st_dev == w->root_dev) {
        int fd = -1;
        if (w->fd_depth < FD_DEPTH) {
            fd = open_dir_at(dfd, name);
            if (fd < 0 && errno != EMFILE && errno != ENFILE)
                return osm_err_errno(err, "reading directory %s", w->abs.s);
        }
        return walk_dir(w, fd, err); /* -1: too deep, or out of descriptors: by path */
    }
    return 0;
}

int snap_walk(const char *root, struct snap_index *ix, struct snap_index *prev, struct osm_err *err)
{
    struct walk w = {.ix = ix, .prev = prev};
    osm_buf_init(&w.abs);
    osm_buf_init(&w.rel);
    osm_buf_init(&w.names);
    osm_buf_adds(&w.abs, root);
    while (w.abs.len > 1 && w.abs.s[w.abs.len - 1] == '/')
        w.abs.s[--w.abs.len] = '\0';
    if (prev && prev->n > ix->cap) {
        ix->cap = prev->n + prev->n / 16;
        ix->e = osm_xrealloc(ix->e, ix->cap * sizeof *ix->e);
    }
    struct stat st;
    int rc;
    if (lstat(w.abs.s, &st) != 0)
        rc = osm_err_errno(err, "%s", root);
    else if (!S_ISDIR(st.st_mode))
        rc = osm_err_set(err, OSM_EINPUT, "%s is not a directory", root);
    else {
        w.root_dev = st.st_dev;
        rc = walk_entry(&w, AT_FDCWD, w.abs.s, &st, err);
    }
    if (prev) {
        /* Entries taken over point into prev's arena: it moves into ix. */
        snap_arena_adopt(&ix->arena, &prev->arena);
        for (size_t i = 0; i < prev->n; i++)
            if (!prev->e[i]->reused)
                snap_entry_release(prev->e[i]);
        free(prev->e);
        snap_index_init(prev);
    }
    free(w.order);
    free(w.dbuf);
    free(w.offs);
    osm_buf_free(&w.abs);
    osm_buf_free(&w.rel);
    osm_buf_free(&w.names);
    free(w.inodes.slot);
    return rc;
}

char *snap_entry_abs(const char *root, const struct snap_entry *e)
{
    return e->path[0] ? osm_xasprintf("%s/%s", root, e->path) : osm_xstrdup(root);
}

/* ---- content ---- */

static int open_read(const char *abs)
{
    int fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    return fd;
}

int snap_file_chunks(const char *abs, struct snap_entry *e, const struct snap_store *store, struct snap_worker *w,
                     _Atomic uint64_t *bytes_done, struct osm_err *err)
{
    int fd = open_read(abs);
    if (fd < 0)
        return osm_err_errno(err, "reading %s", abs);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return osm_err_errno(err, "%s", abs);
    }
    uint64_t size = S_ISBLK(st.st_mode) ? (uint64_t)lseek(fd, 0, SEEK_END) : (uint64_t)st.st_size;
    int sparse = S_ISREG(st.st_mode) && (uint64_t)st.st_blocks * 512 < size;
    snap_entry_release(e);
    e->refs = NULL;
    e->n_refs = 0;
    e->refs_heap = 1;
    size_t cap = 0;
    uint64_t pos = 0;
    int rc = 0;
    while (pos < size) {
        uint64_t start = pos, end = size;
        if (sparse) {
            off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
            if (d < 0)
                break; /* ENXIO: only a hole remains */
            off_t h = lseek(fd, d, SEEK_HOLE);
            start = (uint64_t)d;
            end = h < 0 ? size : (uint64_t)h;
        }
        for (uint64_t off = start; off < end;) {
            size_t want = end - off > SNAP_CHUNK_SIZE ? SNAP_CHUNK_SIZE : (size_t)(end - off);
            ssize_t got = snap_pread_full(fd, w->buf, want, (off_t)off);
            if (got < 0) {
                rc = osm_err_errno(err, "reading %s", abs);
                goto out;
            }
            if (got == 0) { /* shrank while we read: record what is there */
                size = off;
                break;
            }
            if (e->n_refs == cap) {
                cap = cap ? cap * 2 : 4;
                e->refs = osm_xrealloc(e->refs, cap * sizeof *e->refs);
            }
            struct snap_ref *r = &e->refs[e->n_refs++];
            r->off = off;
            r->len = (uint32_t)got;
            snap_sha256(w, w->buf, (size_t)got, r->hash);
            if (store && snap_chunk_put(store, w, w->buf, (size_t)got, r->hash, err) != 0) {
                osm_err_prefix(err, "storing %s", abs);
                rc = -1;
                goto out;
            }
            if (bytes_done)
                atomic_fetch_add(bytes_done, (uint64_t)got);
            off += (uint64_t)got;
            if ((size_t)got < want) {
                size = off;
                break;
            }
        }
        pos = end;
    }
    e->size = size;
    if (S_ISREG(st.st_mode)) {
        e->mtime_ns = ts_ns(st.st_mtim);
        e->ctime_ns = ts_ns(st.st_ctim);
    }
out:
    close(fd);
    return rc;
}

int snap_file_matches(const char *abs, const struct snap_entry *e, struct snap_worker *w)
{
    int fd = open_read(abs);
    if (fd < 0)
        return 0;
    struct stat st;
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == e->size;
    uint64_t pos = 0;
    for (uint32_t i = 0; ok && i <= e->n_refs; i++) {
        uint64_t gap_end = i < e->n_refs ? e->refs[i].off : e->size;
        if (gap_end > pos) { /* must be a hole now too */
            off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
            if (d >= 0 && (uint64_t)d < gap_end)
                ok = 0;
        }
        if (!ok || i == e->n_refs)
            break;
        const struct snap_ref *r = &e->refs[i];
        unsigned char md[32];
        if (snap_pread_full(fd, w->buf, r->len, (off_t)r->off) != (ssize_t)r->len)
            ok = 0;
        else {
            snap_sha256(w, w->buf, r->len, md);
            ok = memcmp(md, r->hash, 32) == 0;
        }
        pos = r->off + r->len;
    }
    close(fd);
    return ok;
}

/* ---- restore: stage ---- */

/* Staged files are spread over STAGE_DIRS subdirectories: tens of thousands
 * of names in one directory make every create and rename search it. Work
 * is handed out by runs of entries of one directory, and a run's files are
 * staged in one subdirectory, so that two workers seldom wait for the same
 * directory's lock (in staging, and when renaming into place). */
#define STAGE_DIRS 64

static char *staged_path(const struct snap_tree_restore *r, size_t i)
{
    return osm_xasprintf("%s/%02x/%zu", r->staging, r->stage_sub[i], i);
}

/* Where entry `ei` of missing subtree k is built: STAGING/t/K/REST. */
static char *fresh_path(const struct snap_tree_restore *r, size_t ei)
{
    int32_t k = r->fresh[ei];
    const char *top = r->ix->e[r->fresh_root[k]]->path, *p = r->ix->e[ei]->path;
    size_t n = strlen(top);
    return p[n] ? osm_xasprintf("%s/t/%d/%s", r->staging, (int)k, p + n + 1) : osm_xasprintf("%s/t/%d", r->staging, (int)k);
}

/* Marks the directories missing from the disk (and everything under them),
 * in index order: a parent comes before its children. */
static void find_fresh(struct snap_tree_restore *r)
{
    size_t n = r->ix->n;
    r->fresh_root = osm_xmalloc((n ? n : 1) * (sizeof *r->fresh_root + sizeof *r->fresh));
    r->fresh = (int32_t *)(r->fresh_root + (n ? n : 1));
    r->n_fresh = 0;
    size_t *stack = osm_xmalloc((n ? n : 1) * sizeof *stack), depth = 0; /* directories on the current path */
    for (size_t i = 0; i < n; i++) {
        const struct snap_entry *e = r->ix->e[i];
        size_t len = strlen(e->path);
        while (depth) {
            const char *dp = r->ix->e[stack[depth - 1]]->path;
            size_t dl = strlen(dp);
            if (dl < len && memcmp(dp, e->path, dl) == 0 && e->path[dl] == '/')
                break;
            depth--;
        }
        int32_t parent = depth ? r->fresh[stack[depth - 1]] : -1;
        r->fresh[i] = parent;
        if (e->type != SNAP_DIR || !e->path[0])
            continue;
        if (parent < 0) {
            char *abs = snap_entry_abs(r->root, e);
            struct stat st;
            if (lstat(abs, &st) != 0 && errno == ENOENT) {
                r->fresh[i] = (int32_t)r->n_fresh;
                r->fresh_root[r->n_fresh++] = i;
            }
            free(abs);
        }
        stack[depth++] = i;
    }
    free(stack);
}

void snap_tree_restore_free(struct snap_tree_restore *r)
{
    free(r->sorted);
    free(r->stage_sub);
    free(r->staging);
    free(r->fresh_root); /* and fresh, in the same block */
}

static int same_parent(const char *a, const char *b)
{
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    size_t na = sa ? (size_t)(sa - a) : 0, nb = sb ? (size_t)(sb - b) : 0;
    return na == nb && memcmp(a, b, na) == 0;
}

/* Splits items (entry pointers via `at`) into runs of one parent directory:
 * returns the run starts (and n+1 as the last). */
static size_t *runs_by_parent(size_t n, const char *(*at)(void *ctx, size_t i), void *ctx, size_t *n_runs)
{
    size_t *start = osm_xmalloc((n + 1) * sizeof *start);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || !same_parent(at(ctx, i - 1), at(ctx, i)))
            start[k++] = i;
    start[k] = n;
    *n_runs = k;
    return start;
}

static int set_xattrs_fd(int fd, const char *what, const struct snap_entry *e, struct osm_err *err);

/* Owner, mode, xattrs and times of a staged file, through its descriptor
 * (no path lookups), on the worker that wrote it; rename keeps them. */
static int set_meta_fd(int fd, const char *what, const struct snap_entry *e, int owned, struct osm_err *err)
{
    if (!owned && fchown(fd, e->uid, e->gid) != 0)
        return osm_err_errno(err, "chown %s", what);
    if (fchmod(fd, e->mode & 07777) != 0)
        return osm_err_errno(err, "chmod %s", what);
    if (set_xattrs_fd(fd, what, e, err) != 0)
        return -1;
    struct timespec ts[2] = {{e->atime_ns / 1000000000, e->atime_ns % 1000000000},
                             {e->mtime_ns / 1000000000, e->mtime_ns % 1000000000}};
    if (futimens(fd, ts) != 0)
        return osm_err_errno(err, "setting times of %s", what);
    return 0;
}

struct stage_ctx {
    struct snap_tree_restore *r;
    const struct snap_store *s;
    struct snap_entry **files;
    size_t *entry_no; /* per file: its entry number */
    uint32_t *nlinks;
    _Atomic uint64_t *bytes_done, *files_done;
    size_t *runs;
};

static int stage_one(void *vctx, struct snap_worker *w, size_t i, struct osm_err *err)
{
    struct stage_ctx *c = vctx;
    struct snap_entry *e = c->files[i];
    int fresh = c->r->fresh[c->entry_no[i]] >= 0; /* in a missing subtree: nothing to compare */
    if (!fresh) {
        char *abs = snap_entry_abs(c->r->root, e);
        struct stat st;
        int keep = lstat(abs, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == e->size &&
                   st.st_nlink == c->nlinks[i] && snap_file_matches(abs, e, w);
        free(abs);
        if (keep) {
            e->action = SNAP_ACT_KEEP;
            atomic_fetch_add(c->files_done, 1);
            atomic_fetch_add(c->bytes_done, e->size);
            return 0;
        }
    }
    char *tmp = fresh ? fresh_path(c->r, c->entry_no[i]) : staged_path(c->r, i);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        osm_err_errno(err, "disk %s: staging %s", c->r->disk_id, tmp);
        free(tmp);
        return -1;
    }
    for (uint32_t k = 0; k < e->n_refs; k++) {
        const struct snap_ref *r = &e->refs[k];
        if (snap_chunk_get(c->s, w, r->hash, r->len, w->buf, err) != 0) {
            osm_err_prefix(err, "disk %s: file /%s (offset %llu)", c->r->disk_id, e->path,
                           (unsigned long long)r->off);
            close(fd);
            free(tmp);
            return -1;
        }
        if (snap_pwrite_all(fd, w->buf, r->len, (off_t)r->off) != 0) {
            osm_err_errno(err, "disk %s: writing %s", c->r->disk_id, tmp);
            close(fd);
            free(tmp);
            return -1;
        }
        atomic_fetch_add(c->bytes_done, r->len);
    }
    /* Only a file that ends in a hole (or is empty) needs its size set. */
    int tail_hole = e->n_refs == 0 || e->refs[e->n_refs - 1].off + e->refs[e->n_refs - 1].len != e->size;
    if ((tail_hole && e->size && ftruncate(fd, (off_t)e->size) != 0)) {
        osm_err_errno(err, "disk %s: writing %s", c->r->disk_id, tmp);
        close(fd);
        free(tmp);
        return -1;
    }
    /* A new file is already owned by its creator: chown only another owner. */
    int owned = c->r->new_owner_known && e->uid == c->r->new_uid && e->gid == c->r->new_gid;
    if (set_meta_fd(fd, tmp, e, owned, err) != 0) {
        osm_err_prefix(err, "disk %s: file /%s", c->r->disk_id, e->path);
        close(fd);
        free(tmp);
        return -1;
    }
    if (close(fd) != 0) {
        osm_err_errno(err, "disk %s: writing %s", c->r->disk_id, tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    e->action = fresh ? SNAP_ACT_FRESH : SNAP_ACT_STAGED;
    atomic_fetch_add(c->files_done, 1);
    return 0;
}

static int stage_run(void *vctx, struct snap_worker *w, size_t k, struct osm_err *err)
{
    struct stage_ctx *c = vctx;
    for (size_t i = c->runs[k]; i < c->runs[k + 1]; i++)
        if (stage_one(c, w, i, err) != 0)
            return -1;
    return 0;
}

static const char *file_path_at(void *ctx, size_t i)
{
    return ((struct snap_entry **)ctx)[i]->path;
}

int snap_tree_stage(struct snap_tree_restore *r, const struct snap_store *s, struct snap_worker *workers,
                    int threads, _Atomic uint64_t *bytes_done, _Atomic uint64_t *files_done, struct osm_err *err)
{
    r->staging = osm_xasprintf("%s/%s", r->root, SNAP_STAGING_NAME);
    struct stat rst;
    if (lstat(r->root, &rst) != 0)
        return osm_err_errno(err, "disk %s: %s", r->disk_id, r->root);
    r->root_times[0] = rst.st_atim;
    r->root_times[1] = rst.st_mtim;
    if (osm_remove_tree(r->staging, err) != 0)
        return -1;
    if (mkdir(r->staging, 0700) != 0)
        return osm_err_errno(err, "disk %s: creating %s", r->disk_id, r->staging);
    for (int i = 0; i < STAGE_DIRS; i++) {
        char *sub = osm_xasprintf("%s/%02x", r->staging, i);
        struct stat sst;
        int mr = mkdir(sub, 0700);
        /* Files created in a directory without the set-group-id bit get
         * their creator's owner and group: the directory's own. */
        if (mr == 0 && i == 0 && lstat(sub, &sst) == 0 && !(sst.st_mode & S_ISGID)) {
            r->new_owner_known = 1;
            r->new_uid = sst.st_uid;
            r->new_gid = sst.st_gid;
        }
        free(sub);
        if (mr != 0)
            return osm_err_errno(err, "disk %s: creating %s", r->disk_id, r->staging);
    }
    r->sorted = snap_index_sorted(r->ix);
    /* Missing directories are built in STAGING/t, parents first. */
    find_fresh(r);
    if (r->n_fresh) {
        char *t = osm_xasprintf("%s/t", r->staging);
        int mr = mkdir(t, 0700);
        free(t);
        if (mr != 0)
            return osm_err_errno(err, "disk %s: creating %s/t", r->disk_id, r->staging);
    }
    for (size_t i = 0; i < r->ix->n; i++) {
        if (r->fresh[i] < 0 || r->ix->e[i]->type != SNAP_DIR)
            continue;
        char *d = fresh_path(r, i);
        int mr = mkdir(d, 0700);
        if (mr != 0)
            osm_err_errno(err, "disk %s: creating %s", r->disk_id, d);
        free(d);
        if (mr != 0)
            return -1;
    }
    /* Staged files are named by their position in `files`, which is the
     * order of the index: the same on every run. */
    struct snap_entry **files = osm_xmalloc((r->ix->n ? r->ix->n : 1) * sizeof *files);
    size_t *entry_no = osm_xmalloc((r->ix->n ? r->ix->n : 1) * sizeof *entry_no);
    uint32_t *nlinks = osm_xcalloc(r->ix->n ? r->ix->n : 1, sizeof *nlinks);
    size_t nf = 0;
    for (size_t i = 0; i < r->ix->n; i++) {
        r->ix->e[i]->action = SNAP_ACT_NONE;
        if (r->ix->e[i]->type == SNAP_FILE) {
            entry_no[nf] = i;
            files[nf++] = r->ix->e[i];
        }
    }
    /* Expected link counts: a kept file must not stay linked elsewhere. */
    for (size_t i = 0; i < nf; i++)
        files[i]->action = (int)i; /* temporary: position */
    for (size_t i = 0; i < nf; i++)
        nlinks[i] = 1;
    for (size_t i = 0; i < r->ix->n; i++) {
        struct snap_entry *e = r->ix->e[i];
        if (e->type != SNAP_HARDLINK)
            continue;
        struct snap_entry *t = snap_index_find(r->sorted, r->ix->n, e->link);
        if (t && t->type == SNAP_FILE)
            nlinks[t->action]++;
    }
    for (size_t i = 0; i < nf; i++)
        files[i]->action = SNAP_ACT_NONE;
    size_t n_runs;
    size_t *runs = runs_by_parent(nf, file_path_at, files, &n_runs);
    free(r->stage_sub);
    r->stage_sub = osm_xmalloc(nf ? nf : 1);
    for (size_t k = 0; k < n_runs; k++)
        for (size_t i = runs[k]; i < runs[k + 1]; i++)
            r->stage_sub[i] = (unsigned char)(k % STAGE_DIRS);
    struct stage_ctx c = {r, s, files, entry_no, nlinks, bytes_done, files_done, runs};
    int rc = snap_parallel(n_runs, threads, workers, stage_run, &c, NULL, err);
    free(runs);
    free(files);
    free(entry_no);
    free(nlinks);
    return rc;
}

void snap_tree_unstage(struct snap_tree_restore *r)
{
    if (r->staging) {
        struct osm_err e = OSM_ERR_INIT;
        osm_remove_tree(r->staging, &e);
        /* Creating and removing the staging directory touched the root's
         * times; a refused restore must leave the disk as it found it. */
        if (r->root_times[1].tv_sec || r->root_times[1].tv_nsec)
            utimensat(AT_FDCWD, r->root, r->root_times, AT_SYMLINK_NOFOLLOW);
    }
}

/* ---- restore: apply ---- */

/* The names in directory `abs` (without . and .., and without the restore
 * staging directory when `at_root`); NULL with errno set when it cannot be
 * read. The caller frees the names and the array. */
static char **list_dir(const char *abs, int at_root, size_t *count)
{
    DIR *d = opendir(abs);
    if (!d)
        return NULL;
    char **names = osm_xmalloc(32 * sizeof *names);
    size_t n = 0, cap = 32;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (at_root && strcmp(de->d_name, SNAP_STAGING_NAME) == 0)
            continue;
        if (n == cap) {
            cap *= 2;
            names = osm_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = osm_xstrdup(de->d_name);
    }
    closedir(d);
    *count = n;
    return names;
}

static int is_dir_type(uint8_t t)
{
    return t == SNAP_DIR;
}

static int prune(struct snap_tree_restore *r, const char *abs, const char *rel, dev_t dev, struct osm_err *err)
{
    size_t n;
    char **names = list_dir(abs, !rel[0], &n);
    if (!names)
        return osm_err_errno(err, "disk %s: reading directory %s", r->disk_id, abs);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            char *cabs = osm_xasprintf("%s/%s", abs, names[i]);
            char *crel = rel[0] ? osm_xasprintf("%s/%s", rel, names[i]) : osm_xstrdup(names[i]);
            struct stat st;
            if (lstat(cabs, &st) == 0) {
                struct snap_entry *e = snap_index_find(r->sorted, r->ix->n, crel);
                int want_dir = e && is_dir_type(e->type);
                if (!e || want_dir != !!S_ISDIR(st.st_mode)) {
                    if (S_ISDIR(st.st_mode) && st.st_dev != dev)
                        rc = osm_err_set(err, OSM_EFAIL,
                                         "disk %s: %s is a mount point that the snapshot does not have; "
                                         "unmount it first",
                                         r->disk_id, cabs);
                    else if (S_ISDIR(st.st_mode))
                        rc = osm_remove_tree(cabs, err);
                    else if (unlink(cabs) != 0 && errno != ENOENT)
                        rc = osm_err_errno(err, "disk %s: removing %s", r->disk_id, cabs);
                } else if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
                    rc = prune(r, cabs, crel, dev, err);
                }
            }
            free(cabs);
            free(crel);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* Makes the xattrs of a file equal to e's: by path (`fd` -1) or by
 * descriptor. */
static int sync_xattrs(int fd, const char *abs, const struct snap_entry *e, struct osm_err *err)
{
    char names[65536];
    ssize_t n = fd >= 0 ? flistxattr(fd, names, sizeof names) : llistxattr(abs, names, sizeof names);
    if (n < 0 && errno != ENOTSUP)
        return osm_err_errno(err, "listing xattrs of %s", abs);
    for (char *p = names; n > 0 && p < names + n; p += strlen(p) + 1) {
        int keep = 0;
        for (uint32_t i = 0; i < e->n_xattrs && !keep; i++)
            keep = strcmp(e->xattrs[i].name, p) == 0;
        if (!keep && (fd >= 0 ? fremovexattr(fd, p) : lremovexattr(abs, p)) != 0 && errno != ENODATA)
            return osm_err_errno(err, "removing xattr %s of %s", p, abs);
    }
    for (uint32_t i = 0; i < e->n_xattrs; i++) {
        const struct snap_xattr *x = &e->xattrs[i];
        unsigned char cur[4096];
        ssize_t cn = x->len > sizeof cur ? -1
                     : fd >= 0           ? fgetxattr(fd, x->name, cur, sizeof cur)
                                         : lgetxattr(abs, x->name, cur, sizeof cur);
        if (cn == (ssize_t)x->len && memcmp(cur, x->value, x->len) == 0)
            continue;
        if ((fd >= 0 ? fsetxattr(fd, x->name, x->value, x->len, 0) : lsetxattr(abs, x->name, x->value, x->len, 0)) !=
            0)
            return osm_err_errno(err, "setting xattr %s of %s", x->name, abs);
    }
    return 0;
}

static int set_xattrs(const char *abs, const struct snap_entry *e, struct osm_err *err)
{
    return sync_xattrs(-1, abs, e, err);
}

static int set_xattrs_fd(int fd, const char *what, const struct snap_entry *e, struct osm_err *err)
{
    return sync_xattrs(fd, what, e, err);
}

/* Owner first (chown clears set-id bits and capabilities), then mode, then
 * xattrs, then times (every other change touches ctime only). */
static int set_meta(const char *abs, const struct snap_entry *e, struct osm_err *err)
{
    if (lchown(abs, e->uid, e->gid) != 0)
        return osm_err_errno(err, "chown %s", abs);
    if (e->type != SNAP_SYMLINK && chmod(abs, e->mode & 07777) != 0)
        return osm_err_errno(err, "chmod %s", abs);
    if (set_xattrs(abs, e, err) != 0)
        return -1;
    struct timespec ts[2] = {{e->atime_ns / 1000000000, e->atime_ns % 1000000000},
                             {e->mtime_ns / 1000000000, e->mtime_ns % 1000000000}};
    if (utimensat(AT_FDCWD, abs, ts, AT_SYMLINK_NOFOLLOW) != 0)
        return osm_err_errno(err, "setting times of %s", abs);
    return 0;
}

static int place(struct snap_tree_restore *r, size_t idx_in_files, struct snap_entry *e, const char *abs,
                 struct osm_err *err)
{
    if (e->type == SNAP_FILE && e->action == SNAP_ACT_STAGED) {
        /* The common case of a restore: no need to look first. */
        char *tmp = staged_path(r, idx_in_files);
        int rc = 0;
        if (rename(tmp, abs) != 0) {
            struct stat st;
            /* Already moved by a previous, interrupted apply? */
            if (!(errno == ENOENT && lstat(abs, &st) == 0 && S_ISREG(st.st_mode)))
                rc = osm_err_errno(err, "moving restored file into %s", abs);
        }
        free(tmp);
        return rc;
    }
    struct stat st;
    int exists = lstat(abs, &st) == 0;
    switch (e->type) {
    case SNAP_DIR:
        if (!exists && mkdir(abs, 0700) != 0)
            return osm_err_errno(err, "mkdir %s", abs);
        return 0;
    case SNAP_FILE:
        if (e->action == SNAP_ACT_KEEP || e->action == SNAP_ACT_FRESH)
            return 0;
        return osm_err_set(err, OSM_EFAIL, "internal: %s was not staged", abs);
    case SNAP_SYMLINK: {
        if (exists && S_ISLNK(st.st_mode)) {
            char cur[4096];
            ssize_t n = readlink(abs, cur, sizeof cur - 1);
            if (n >= 0 && (cur[n] = '\0', strcmp(cur, e->link) == 0))
                return 0;
        }
        if (exists && unlink(abs) != 0)
            return osm_err_errno(err, "removing %s", abs);
        if (symlink(e->link, abs) != 0)
            return osm_err_errno(err, "symlink %s", abs);
        return 0;
    }
    case SNAP_HARDLINK: {
        char *target = osm_xasprintf("%s/%s", r->root, e->link);
        struct stat tst;
        int rc = 0;
        if (lstat(target, &tst) != 0)
            rc = osm_err_errno(err, "hardlink target %s", target);
        else if (!(exists && st.st_ino == tst.st_ino && st.st_dev == tst.st_dev)) {
            if (exists && unlink(abs) != 0)
                rc = osm_err_errno(err, "removing %s", abs);
            else if (link(target, abs) != 0)
                rc = osm_err_errno(err, "link %s -> %s", abs, target);
        }
        free(target);
        return rc;
    }
    default: /* device nodes, FIFOs, sockets */
        if (exists && (st.st_mode & S_IFMT) == (e->mode & S_IFMT) && st.st_rdev == e->rdev)
            return 0;
        if (exists && unlink(abs) != 0)
            return osm_err_errno(err, "removing %s", abs);
        if (mknod(abs, (e->mode & S_IFMT) | 0600, (dev_t)e->rdev) != 0)
            return osm_err_errno(err, "mknod %s", abs);
        return 0;
    }
}

/* Phase 2's parallel step: every entry that is not a directory or a
 * hardlink, once all directories exist. */
struct apply_ctx {
    struct snap_tree_restore *r;
    size_t *items; /* entry numbers */
    size_t *file_no; /* per entry: its position among the files (staged name) */
    size_t *runs;
};

static int apply_one(struct apply_ctx *c, size_t i, struct osm_err *err)
{
    struct snap_entry *e = c->r->ix->e[c->items[i]];
    char *abs = snap_entry_abs(c->r->root, e);
    int rc = place(c->r, c->file_no[c->items[i]], e, abs, err);
    /* A staged file got its metadata when it was written. */
    if (rc == 0 && !(e->type == SNAP_FILE && e->action == SNAP_ACT_STAGED))
        rc = set_meta(abs, e, err);
    free(abs);
    return rc;
}

static int apply_run(void *vctx, struct snap_worker *w, size_t k, struct osm_err *err)
{
    (void)w;
    struct apply_ctx *c = vctx;
    for (size_t i = c->runs[k]; i < c->runs[k + 1]; i++)
        if (apply_one(c, i, err) != 0)
            return -1;
    return 0;
}

static const char *item_path_at(void *vctx, size_t i)
{
    struct apply_ctx *c = vctx;
    return c->r->ix->e[c->items[i]]->path;
}

int snap_tree_apply(struct snap_tree_restore *r, struct snap_worker *workers, int threads, struct osm_err *err)
{
    struct stat rst;
    if (lstat(r->root, &rst) != 0)
        return osm_err_errno(err, "disk %s: %s", r->disk_id, r->root);
    if (prune(r, r->root, "", rst.st_dev, err) != 0)
        return -1;
    size_t n = r->ix->n;
    size_t *file_no = osm_xmalloc((n ? n : 1) * sizeof *file_no);
    size_t *items = osm_xmalloc((n ? n : 1) * sizeof *items);
    size_t n_items = 0, fi = 0;
    int rc = 0;
    /* Directories first, in index order (parents before children), on one
     * thread; then files, symlinks and special files on every worker (they
     * only need their directory); then hardlinks (they need their target). */
    for (size_t i = 0; i < n; i++) {
        struct snap_entry *e = r->ix->e[i];
        file_no[i] = fi;
        if (e->type == SNAP_FILE)
            fi++;
        if (e->type == SNAP_DIR) {
            if (rc == 0 && r->fresh[i] < 0) {
                char *abs = snap_entry_abs(r->root, e);
                rc = place(r, 0, e, abs, err);
                free(abs);
            } else if (rc == 0 && r->fresh_root[r->fresh[i]] == i) {
                /* A missing subtree, built in staging: one rename. */
                char *from = fresh_path(r, i), *abs = snap_entry_abs(r->root, e);
                if (rename(from, abs) != 0)
                    rc = osm_err_errno(err, "moving restored directory %s into %s", from, abs);
                free(from);
                free(abs);
            }
        } else if (e->type != SNAP_HARDLINK && !(e->type == SNAP_FILE && e->action == SNAP_ACT_FRESH))
            items[n_items++] = i;
    }
    if (rc == 0) {
        struct apply_ctx c = {r, items, file_no, NULL};
        size_t n_runs;
        c.runs = runs_by_parent(n_items, item_path_at, &c, &n_runs);
        rc = snap_parallel(n_runs, threads, workers, apply_run, &c, NULL, err);
        free(c.runs);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct snap_entry *e = r->ix->e[i];
        if (e->type != SNAP_HARDLINK)
            continue;
        char *abs = snap_entry_abs(r->root, e);
        rc = place(r, 0, e, abs, err);
        free(abs);
    }
    free(items);
    free(file_no);
    if (rc == 0 && osm_remove_tree(r->staging, err) != 0) /* empty subdirectories by now */
        rc = -1;
    /* Directories' metadata last (their children changed their mtimes),
     * deepest first (a directory made unsearchable does not block its
     * children's). */
    for (size_t i = n; i-- > 0 && rc == 0;) {
        struct snap_entry *e = r->ix->e[i];
        if (e->type != SNAP_DIR)
            continue;
        char *abs = snap_entry_abs(r->root, e);
        rc = set_meta(abs, e, err);
        free(abs);
    }
    if (rc != 0) {
        osm_err_prefix(err, "disk %s", r->disk_id);
        return -1;
    }
    return 0;
}

int snap_tree_sync(const char *root, const char *disk_id, struct osm_err *err)
{
    int rc = 0;
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (syncfs(fd) != 0)
            rc = osm_err_errno(err, "disk %s: syncing %s", disk_id, root);
        close(fd);
    }
    return rc;
}

int snap_tree_digest(const char *root, const struct snap_tree_restore *r, char hex[65], struct osm_err *err)
{
    struct snap_index now;
    snap_index_init(&now);
    struct snap_worker w;
    snap_worker_init(&w, 0);
    int rc = snap_walk(root, &now, NULL, err);
    for (size_t i = 0; i < now.n && rc == 0; i++) {
        struct snap_entry *e = now.e[i];
        if (e->type != SNAP_FILE)
            continue;
        struct snap_entry *was = r && r->sorted ? snap_index_find(r->sorted, r->ix->n, e->path) : NULL;
        if (was && was->type == SNAP_FILE && was->size == e->size &&
            (was->action == SNAP_ACT_KEEP || was->action == SNAP_ACT_STAGED || was->action == SNAP_ACT_FRESH)) {
            snap_entry_set_refs(&now, e, was->refs, was->n_refs);
        } else {
            char *abs = snap_entry_abs(root, e);
            rc = snap_file_chunks(abs, e, NULL, &w, NULL, err);
            free(abs);
        }
    }
    if (rc == 0)
        snap_index_digest(&now, hex);
    snap_worker_free(&w);
    snap_index_free(&now);
    return rc;
}
