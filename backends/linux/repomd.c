/* repomd.c: see repomd.h. */
#include "repomd.h"

#include <solv/chksum.h>
#include <solv/dataiterator.h>
#include <solv/knownid.h>
#include <solv/repo_repomdxml.h>
#include <solv/repo_rpmmd.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>
#include <solv/repodata.h>
#include <solv/solv_xfopen.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdfilter.h"
#include "metafetch.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_hash.h"
#include "osm_log.h"
#include "solvcache.h"

struct md_file {
    char *location;     /* relative to baseurl */
    char chktype[16];   /* sha256 ... */
    char chksum[129];   /* hex */
};

static char *repo_cache_dir(const struct osm_repo_src *src, const char *cache_root)
{
    char hex[65];
    osm_sha256_hex(src->baseurl, strlen(src->baseurl), hex);
    char *name = osm_xasprintf("repos/%s-%.12s", src->id, hex);
    char *dir = osm_path_join(cache_root, name);
    free(name);
    return dir;
}

static char *join_url(const char *base, const char *rel)
{
    size_t n = strlen(base);
    return osm_xasprintf("%s%s%s", base, (n && base[n - 1] == '/') ? "" : "/", rel);
}

/* Find the data file of `type` in a parsed repomd.xml. */
static int repomd_find(Repo *mdrepo, const char *type, struct md_file *out)
{
    Pool *pool = mdrepo->pool;
    Dataiterator di;
    int found = 0;
    dataiterator_init(&di, pool, mdrepo, SOLVID_META, REPOSITORY_REPOMD_TYPE, type, SEARCH_STRING);
    dataiterator_prepend_keyname(&di, REPOSITORY_REPOMD);
    if (dataiterator_step(&di)) {
        dataiterator_setpos_parent(&di);
        const char *loc = pool_lookup_str(pool, SOLVID_POS, REPOSITORY_REPOMD_LOCATION);
        Id chktype = 0;
        const unsigned char *chk = pool_lookup_bin_checksum(pool, SOLVID_POS, REPOSITORY_REPOMD_CHECKSUM, &chktype);
        if (loc && chk && chktype) {
            out->location = osm_xstrdup(loc);
            snprintf(out->chktype, sizeof out->chktype, "%s", solv_chksum_type2str(chktype));
            snprintf(out->chksum, sizeof out->chksum, "%s", pool_bin2hex(pool, chk, solv_chksum_len(chktype)));
            found = 1;
        }
    }
    dataiterator_free(&di);
    return found;
}

/* repomd.xml files fetched by this process: fetched once per run, so that the
 * parallel preparation and the load that follows see the same metadata. */
static pthread_mutex_t fetched_lock = PTHREAD_MUTEX_INITIALIZER;
static char **fetched;
static size_t n_fetched;

static int fetched_before(const char *dest)
{
    pthread_mutex_lock(&fetched_lock);
    int found = 0;
    for (size_t i = 0; i < n_fetched && !found; i++)
        found = strcmp(fetched[i], dest) == 0;
    pthread_mutex_unlock(&fetched_lock);
    return found;
}

static void remember_fetched(const char *dest)
{
    pthread_mutex_lock(&fetched_lock);
    fetched = osm_xrealloc(fetched, (n_fetched + 1) * sizeof *fetched);
    fetched[n_fetched++] = osm_xstrdup(dest);
    pthread_mutex_unlock(&fetched_lock);
}

struct md_set {
    struct md_file primary, filelists, modules;
};

static void md_set_free(struct md_set *m)
{
    free(m->primary.location);
    free(m->filelists.location);
    free(m->modules.location);
}

/* Fetch repomd.xml and find the files we need in it. */
static int read_repomd(const struct osm_repo_src *src, const char *dir, struct md_set *md, struct osm_err *err)
{
    char *url = join_url(src->baseurl, "repodata/repomd.xml");
    char *dest = osm_path_join(dir, "repomd.xml");
    int rc = -1;
    if (!fetched_before(dest)) {
        if (osm_metafetch(url, dest, err) != 0) {
            osm_err_prefix(err, "repository '%s'", src->id);
            goto out;
        }
        remember_fetched(dest);
    }
    FILE *fp = fopen(dest, "re");
    if (!fp) {
        osm_err_errno(err, "repository '%s': %s", src->id, dest);
        goto out;
    }
    Pool *mp = pool_create();
    Repo *mr = repo_create(mp, "repomd");
    int r = repo_add_repomdxml(mr, fp, 0);
    fclose(fp);
    if (r != 0) {
        osm_err_set(err, OSM_EINPUT, "repository '%s': %s: malformed repomd.xml: %s", src->id, url, pool_errstr(mp));
    } else if (!repomd_find(mr, "primary", &md->primary)) {
        osm_err_set(err, OSM_EINPUT, "repository '%s': %s lists no primary metadata with a checksum", src->id, url);
    } else {
        repomd_find(mr, "filelists", &md->filelists);
        repomd_find(mr, "modules", &md->modules);
        rc = 0;
    }
    pool_free(mp);
out:
    free(url);
    free(dest);
    return rc;
}

/* Make sure the local copy of a data file exists and matches its checksum. */
static char *fetch_checked(const struct osm_repo_src *src, const char *dir, const struct md_file *f,
                           struct osm_err *err)
{
    const char *base = strrchr(f->location, '/');
    base = base ? base + 1 : f->location;
    char *dest = osm_path_join(dir, base);
    char hex[129];
    if (osm_is_file(dest) && osm_hash_file(f->chktype, dest, hex, NULL) == 0 && strcmp(hex, f->chksum) == 0)
        return dest;
    char *url = join_url(src->baseurl, f->location);
    if (osm_metafetch(url, dest, err) != 0) {
        osm_err_prefix(err, "repository '%s'", src->id);
        goto fail;
    }
    if (osm_hash_file(f->chktype, dest, hex, err) != 0)
        goto fail;
    if (strcmp(hex, f->chksum) != 0) {
        osm_err_set(err, OSM_ECHECKSUM, "repository '%s': %s: checksum mismatch: repomd.xml says %s %s, the file has %s",
                    src->id, url, f->chktype, f->chksum, hex);
        unlink(dest);
        goto fail;
    }
    free(url);
    return dest;
fail:
    free(url);
    free(dest);
    return NULL;
}

/* A thread that decompresses and filters a file into a socket, so that the
 * XML parser (the larger half of the work) runs beside it on another core. */
struct feed {
    FILE *in;
    int fd;
    pthread_t thread;
};

static void *feed_run(void *arg)
{
    struct feed *f = arg;
    char local[65536];
    size_t n;
    while ((n = fread(local, 1, sizeof local, f->in)) > 0) {
        size_t off = 0;
        while (off < n) {
            /* MSG_NOSIGNAL: a parser that stops early closes its end. */
            ssize_t w = send(f->fd, local + off, n - off, MSG_NOSIGNAL);
            if (w <= 0)
                goto done;
            off += (size_t)w;
        }
    }
done:
    close(f->fd);
    return NULL;
}

/* The read end of a feed of `in`, or NULL (then `in` is untouched). */
static FILE *feed_open(struct feed *f, FILE *in)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return NULL;
    FILE *rd = fdopen(sv[0], "r");
    if (!rd) {
        close(sv[0]);
        close(sv[1]);
        return NULL;
    }
    f->in = in;
    f->fd = sv[1];
    if (pthread_create(&f->thread, NULL, feed_run, f) != 0) {
        fclose(rd);
        close(sv[1]);
        return NULL;
    }
    return rd;
}

/* Close the read end, wait for the thread, close the source. */
static void feed_close(struct feed *f, FILE *rd)
{
    fclose(rd);
    pthread_join(f->thread, NULL);
    fclose(f->in);
}

static int parse_into(Repo *repo, const struct osm_repo_src *src, const char *path, int flags, struct osm_err *err)
{
    FILE *fp = solv_xfopen(path, "r");
    if (!fp)
        return osm_err_errno(err, "repository '%s': %s", src->id, path);
    int r = -1;
    if (!(flags & REPO_EXTEND_SOLVABLES)) {
        /* primary: without the texts nothing reads (mdfilter.h). */
        FILE *filtered = osm_mdfilter_open(fp);
        if (!filtered)
            return osm_err_errno(err, "repository '%s': %s", src->id, path);
        struct feed feed;
        FILE *rd = feed_open(&feed, filtered);
        r = repo_add_rpmmd(repo, rd ? rd : filtered, NULL, flags | REPO_NO_INTERNALIZE);
        if (rd)
            feed_close(&feed, rd);
        else
            fclose(filtered);
        if (r == 0)
            return 0;
        osm_debug("repo.unfiltered", "repo=%s file=%s", src->id, path);
        repo_empty(repo, 1);
        if (!(fp = solv_xfopen(path, "r")))
            return osm_err_errno(err, "repository '%s': %s", src->id, path);
    }
    r = repo_add_rpmmd(repo, fp, NULL, flags | REPO_NO_INTERNALIZE);
    fclose(fp);
    if (r != 0)
        return osm_err_set(err, OSM_EINPUT, "repository '%s': %s: malformed metadata: %s", src->id, path,
                           pool_errstr(repo->pool));
    return 0;
}

enum load_mode {
    LOAD_PRIMARY,    /* load primary (from the cache, else parse and cache) */
    LOAD_FILELISTS,  /* add filelists to a repo loaded before */
    ENSURE_CACHED,   /* only make sure the primary cache file exists */
};

static int load(Repo *repo, const struct osm_repo_src *src, const char *cache_root, int with_filelists,
                enum load_mode mode, struct osm_err *err)
{
    char *dir = repo_cache_dir(src, cache_root);
    struct md_set md = {0};
    struct md_file primary, filelists;
    char *solv = NULL, *ppath = NULL, *fpath = NULL;
    int rc = -1;
    if (osm_mkdir_p(dir, 0755, err) != 0)
        goto out;
    if (read_repomd(src, dir, &md, err) != 0)
        goto out;
    primary = md.primary;
    filelists = md.filelists;
    if (with_filelists && !filelists.location) {
        with_filelists = 0; /* a repo without filelists: primary's file subset is all there is */
    }
    solv = with_filelists ? osm_xasprintf("%s/primary-%.40s-fl-%.40s.v2.solv", dir, primary.chksum, filelists.chksum)
                          : osm_xasprintf("%s/primary-%.40s.v2.solv", dir, primary.chksum);
    if (mode == ENSURE_CACHED && osm_is_file(solv)) {
        rc = 0;
        goto out;
    }
    if (mode != LOAD_FILELISTS) {
        if (mode == LOAD_PRIMARY && osm_solvcache_read(repo, solv) == 0) {
            osm_debug("repo.cache", "repo=%s hit=1 packages=%d", src->id, repo->nsolvables);
            rc = 0;
            goto out;
        }
        if (!(ppath = fetch_checked(src, dir, &primary, err)))
            goto out;
        if (parse_into(repo, src, ppath, 0, err) != 0)
            goto out;
    }
    if (with_filelists) {
        if (!(fpath = fetch_checked(src, dir, &filelists, err)))
            goto out;
        if (parse_into(repo, src, fpath, REPO_EXTEND_SOLVABLES, err) != 0)
            goto out;
    }
    repo_internalize(repo);
    osm_solvcache_write(repo, solv);
    /* Swap the parsed data for the trimmed cache: the texts the cache drops
     * would otherwise stay in memory for the rest of the run. */
    if (mode != ENSURE_CACHED && osm_is_file(solv)) {
        repo_empty(repo, 1);
        if (osm_solvcache_read(repo, solv) != 0) {
            osm_err_set(err, OSM_EIO, "repository '%s': cannot read back its cache %s", src->id, solv);
            goto out;
        }
    }
    osm_debug("repo.load", "repo=%s packages=%d filelists=%d", src->id, repo->nsolvables, with_filelists);
    rc = 0;
out:
    md_set_free(&md);
    free(solv);
    free(ppath);
    free(fpath);
    free(dir);
    return rc;
}

struct prepare_job {
    const struct osm_repo_src *src;
    const char *cache_root;
    struct osm_err err;
    int rc;
};

static void *prepare_one(void *arg)
{
    struct prepare_job *job = arg;
    Pool *pool = pool_create();
    pool_setdisttype(pool, DISTTYPE_RPM);
    Repo *repo = repo_create(pool, job->src->id);
    job->rc = load(repo, job->src, job->cache_root, 0, ENSURE_CACHED, &job->err);
    pool_free(pool);
    return NULL;
}

int osm_repomd_prepare(const struct osm_repo_src *srcs, size_t n, const char *cache_root, struct osm_err *err)
{
    /* libsolv grows arrays of megabytes by realloc while parsing; glibc's
     * default raises its mmap threshold after the first such block is freed
     * and then serves them from the heap, where they stay as fragments for
     * the rest of the run. A fixed threshold keeps them mapped, so a freed
     * parse returns its memory (a cold plan peaks about 15% lower). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    /* One thread per repository, each with its own pool (libsolv pools are
     * independent): parsing is the cold path's cost and repositories are
     * independent, so a machine with several cores parses them at once. */
    struct prepare_job *jobs = osm_xcalloc(n, sizeof *jobs);
    pthread_t *threads = osm_xcalloc(n, sizeof *threads);
    int *started = osm_xcalloc(n, sizeof *started);
    for (size_t i = 0; i < n; i++) {
        jobs[i].src = &srcs[i];
        jobs[i].cache_root = cache_root;
        started[i] = pthread_create(&threads[i], NULL, prepare_one, &jobs[i]) == 0;
        if (!started[i])
            prepare_one(&jobs[i]);
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        if (jobs[i].rc != 0 && rc == 0) {
            *err = jobs[i].err;
            rc = -1;
        }
    }
    free(jobs);
    free(threads);
    free(started);
    return rc;
}

int osm_repomd_load(Pool *pool, const struct osm_repo_src *src, const char *cache_root, int with_filelists,
                    Repo **out, struct osm_err *err)
{
    Repo *repo = repo_create(pool, src->id);
    if (load(repo, src, cache_root, with_filelists, LOAD_PRIMARY, err) != 0) {
        repo_free(repo, 1);
        *out = NULL;
        return -1;
    }
    *out = repo;
    return 0;
}

int osm_repomd_add_filelists(Repo *repo, const struct osm_repo_src *src, const char *cache_root, struct osm_err *err)
{
    return load(repo, src, cache_root, 1, LOAD_FILELISTS, err);
}

int osm_repomd_describe(const struct osm_repo_src *src, const char *cache_root, struct osm_repomd_meta *out,
                        struct osm_err *err)
{
    memset(out, 0, sizeof *out);
    char *dir = repo_cache_dir(src, cache_root);
    struct md_set md = {0};
    int rc = -1;
    if (osm_mkdir_p(dir, 0755, err) != 0 || read_repomd(src, dir, &md, err) != 0)
        goto out;
    out->ident = osm_xasprintf("%s|%s|primary=%s:%s|filelists=%s:%s|modules=%s:%s", src->id, src->baseurl,
                               md.primary.chktype, md.primary.chksum, md.filelists.chktype, md.filelists.chksum,
                               md.modules.chktype, md.modules.chksum);
    if (md.modules.location) {
        out->modules_compact = osm_xasprintf("%s/modules-%.40s.v1.txt", dir, md.modules.chksum);
        if (!(out->modules = fetch_checked(src, dir, &md.modules, err)))
            goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        osm_repomd_meta_free(out);
    md_set_free(&md);
    free(dir);
    return rc;
}

void osm_repomd_meta_free(struct osm_repomd_meta *m)
{
    free(m->ident);
    free(m->modules);
    free(m->modules_compact);
    memset(m, 0, sizeof *m);
}
