/* repomd.c: see repomd.h.
 *
 * The cold path's cost is parsing primary.xml (XML parsing alone was 64% of
 * a cold plan's instructions), and one repository's primary can be several
 * times another's (CentOS Stream 9: AppStream 3.6 MB gz, BaseOS 1.1 MB), so
 * one thread per repository leaves cores idle behind the largest. Preparing
 * therefore lays all repositories' parse work on one line, cuts it into one
 * segment per online CPU (repomd_slices.h), and runs one worker per segment:
 * a repository that spans a cut is parsed as slices (by decompressed offset,
 * each slice in its own pool, the later ones written as .solv into memory),
 * then the worker of its first slice loads the others in order behind it and
 * writes the repository's one cache file as before; package order, and so
 * every plan, are those of a whole parse (tests/linux/slices_same_plan.py).
 * A slice that fails to parse, or slices that miss packages, make that
 * repository parse whole, which gives the error of the whole file.
 * Workers: the online CPUs; OSMIG_PARSE_SLICES=1 keeps one thread per
 * repository, N > 1 forces N workers and slices even for small metadata.
 * Cost: a cold CentOS Stream 9 plan takes 9.5 G instructions instead of
 * 8.5 G unsliced, but its longest chain on 2 cores drops by about a fifth
 * (8.8 G before the gzip stream was read without its CRC). */
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
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdfilter.h"
#include "repomd_slices.h"
#include "metafetch.h"
#include "osm_buf.h"
#include "osm_threads.h"
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
    /* The id is a path component: only a plain name (plan.c refuses others). */
    char *name = osm_xasprintf("repos/%s-%.12s", osm_name_is_plain(src->id, 64) ? src->id : "unnamed", hex);
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

/* Parse a primary stream (owned: closed here) into `repo`, without its
 * texts, decompression and filtering beside the parser (feed). */
static int parse_filtered(Repo *repo, FILE *fp)
{
    /* primary: without the texts nothing reads (mdfilter.h). */
    FILE *filtered = osm_mdfilter_open(fp);
    if (!filtered)
        return -1;
    struct feed feed;
    FILE *rd = feed_open(&feed, filtered);
    int r = repo_add_rpmmd(repo, rd ? rd : filtered, NULL, REPO_NO_INTERNALIZE);
    if (rd)
        feed_close(&feed, rd);
    else
        fclose(filtered);
    return r;
}

/* A decompressed stream of a checked file: gzip without its redundant CRC
 * (a tenth of the cold parse's decompression), anything else as libsolv
 * opens it. */
static FILE *open_checked(const char *path)
{
    FILE *fp = osm_slice_gzopen(path);
    return fp ? fp : solv_xfopen(path, "r");
}

static int parse_into(Repo *repo, const struct osm_repo_src *src, const char *path, int flags, struct osm_err *err)
{
    FILE *fp = (flags & REPO_EXTEND_SOLVABLES) ? solv_xfopen(path, "r") : open_checked(path);
    if (!fp)
        return osm_err_errno(err, "repository '%s': %s", src->id, path);
    int r = -1;
    if (!(flags & REPO_EXTEND_SOLVABLES)) {
        if (parse_filtered(repo, fp) == 0)
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
    osm_free_all(solv, ppath, fpath, dir);
    return rc;
}

/* --- preparing the caches: one thread per repository, or slices ---------- */

/* A repository to prepare: what its cache lacks, and, when its primary is
 * cut into slices, the slices' results until they are merged. */
struct prep {
    const struct osm_repo_src *src;
    const char *cache_root;
    char *solv;  /* cache file to write; NULL when it exists */
    char *ppath; /* checked local primary */
    long packages;     /* <metadata packages="N">, or -1 */
    long long bytes;   /* decompressed size, or -1: not cut */
    double size;
    int rc;
    struct osm_err err;
    /* slices */
    int n_slices, n_done, failed;
    long counted; /* packages the slices hold */
    char **blobs; /* .solv of slices 1.. in memory */
    size_t *blob_len;
    Pool *pool0; /* slice 0, parsed into the repository that is written */
    Repo *repo0;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

/* The decompressed size a gzip file states in its trailer, or -1 (not gzip:
 * it is then parsed whole). Only an estimate for where to cut. */
static long long gzip_size(const char *path)
{
    size_t l = strlen(path);
    if (l < 3 || strcmp(path + l - 3, ".gz") != 0)
        return -1;
    FILE *fp = fopen(path, "re");
    unsigned char t[4];
    long long v = -1;
    if (fp && fseek(fp, -4, SEEK_END) == 0 && fread(t, 1, 4, fp) == 4)
        v = (long long)t[0] | (long long)t[1] << 8 | (long long)t[2] << 16 | (long long)t[3] << 24;
    if (fp)
        fclose(fp);
    return v > 0 ? v : -1;
}

/* Fetch and check primary when the cache file is missing; find its package
 * count for cutting it (-1: not to be cut). */
static int locate(struct prep *p)
{
    char *dir = repo_cache_dir(p->src, p->cache_root);
    struct md_set md = {0};
    int rc = -1;
    p->packages = -1;
    if (osm_mkdir_p(dir, 0755, &p->err) != 0 || read_repomd(p->src, dir, &md, &p->err) != 0)
        goto out;
    char *solv = osm_xasprintf("%s/primary-%.40s.v2.solv", dir, md.primary.chksum);
    if (osm_is_file(solv)) {
        free(solv);
        rc = 0;
        goto out;
    }
    p->solv = solv;
    if (!(p->ppath = fetch_checked(p->src, dir, &md.primary, &p->err)))
        goto out;
    struct stat st;
    p->size = stat(p->ppath, &st) == 0 ? (double)st.st_size : 0;
    p->bytes = -1;
    FILE *fp = solv_xfopen(p->ppath, "r");
    if (fp) {
        p->packages = osm_slice_count(fp);
        fclose(fp);
    }
    p->bytes = p->packages > 1 ? gzip_size(p->ppath) : -1;
    rc = 0;
out:
    md_set_free(&md);
    free(dir);
    return rc;
}

static void *locate_run(void *arg)
{
    struct prep *p = arg;
    p->rc = locate(p);
    return NULL;
}

/* Parse the whole primary and write the cache (also the fallback of a cut
 * repository whose slices failed: it gives the error of the whole file). */
static int prepare_whole(struct prep *p)
{
    Pool *pool = pool_create();
    pool_setdisttype(pool, DISTTYPE_RPM);
    Repo *repo = repo_create(pool, p->src->id);
    int rc = parse_into(repo, p->src, p->ppath, 0, &p->err);
    if (rc == 0) {
        repo_internalize(repo);
        osm_solvcache_write(repo, p->solv);
    }
    pool_free(pool);
    return rc;
}

/* Parse one slice; slice 0 keeps its pool for the merge, the others leave
 * their .solv in memory. */
static void run_slice(struct prep *p, const struct osm_slice *sl)
{
    Pool *pool = pool_create();
    pool_setdisttype(pool, DISTTYPE_RPM);
    Repo *repo = repo_create(pool, p->src->id);
    int ok = 0;
    char *blob = NULL;
    size_t len = 0;
    FILE *fp = open_checked(p->ppath);
    FILE *in = fp ? osm_slice_open(fp, sl->lo, sl->hi) : NULL;
    if (in && parse_filtered(repo, in) == 0) {
        repo_internalize(repo);
        ok = 1;
        if (sl->index > 0) {
            FILE *mem = open_memstream(&blob, &len);
            ok = mem && repo_write(repo, mem) == 0;
            ok &= mem && fclose(mem) == 0;
        }
    }
    if (!ok)
        osm_debug("repo.slice_failed", "repo=%s slice=%d from=%lld to=%lld", p->src->id, sl->index, sl->lo, sl->hi);
    pthread_mutex_lock(&p->lock);
    if (!ok)
        p->failed = 1;
    else
        p->counted += repo->nsolvables;
    if (sl->index == 0 && ok) {
        p->pool0 = pool;
        p->repo0 = repo;
        pool = NULL;
    } else if (sl->index > 0) {
        p->blobs[sl->index] = ok ? blob : NULL;
        p->blob_len[sl->index] = len;
        if (!ok)
            free(blob);
    }
    p->n_done++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    if (pool)
        pool_free(pool);
}

/* Once every slice is parsed: load slices 1.. in order behind slice 0 and
 * write the repository's cache file; parse the whole file if one failed. */
static void merge_slices(struct prep *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->n_done < p->n_slices)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    int ok = !p->failed && p->repo0 && p->counted == p->packages;
    for (int k = 1; k < p->n_slices; k++) {
        if (ok) {
            FILE *mem = fmemopen(p->blobs[k], p->blob_len[k], "r");
            ok = mem && repo_add_solv(p->repo0, mem, 0) == 0;
            if (mem)
                fclose(mem);
        }
        free(p->blobs[k]);
        p->blobs[k] = NULL;
    }
    if (ok) {
        osm_solvcache_write(p->repo0, p->solv);
        osm_debug("repo.sliced", "repo=%s slices=%d packages=%d", p->src->id, p->n_slices, p->repo0->nsolvables);
    }
    if (p->pool0)
        pool_free(p->pool0);
    p->pool0 = NULL;
    p->repo0 = NULL;
    if (!ok) {
        osm_debug("repo.slices_fallback", "repo=%s", p->src->id);
        p->rc = prepare_whole(p);
    }
}

struct worker {
    struct prep *preps;
    const struct osm_slice *slices;
    size_t n_slices;
    int id;
    pthread_t thread;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    for (size_t i = 0; i < w->n_slices; i++) {
        const struct osm_slice *sl = &w->slices[i];
        if (sl->worker != w->id)
            continue;
        struct prep *p = &w->preps[sl->repo];
        if (sl->count == 1)
            p->rc = prepare_whole(p);
        else
            run_slice(p, sl);
    }
    /* Merges last: they wait only for slices, and slices never wait. */
    for (size_t i = 0; i < w->n_slices; i++) {
        const struct osm_slice *sl = &w->slices[i];
        if (sl->worker == w->id && sl->count > 1 && sl->index == 0)
            merge_slices(&w->preps[sl->repo]);
    }
    return NULL;
}

/* Workers to cut parsing into: OSMIG_PARSE_SLICES=N forces N (1: one
 * thread per repository, no slices); otherwise the online CPUs. (Slices
 * cost about a tenth more CPU: on a machine whose cores other processes
 * keep busy they gain nothing and lose a little; measured, that loss was
 * smaller than the gain when a core is only partly busy.) */
static int slice_workers(int *forced)
{
    const char *e = getenv("OSMIG_PARSE_SLICES");
    *forced = 0;
    if (e && *e) {
        int v = atoi(e);
        if (v >= 1) {
            *forced = 1;
            return v > 64 ? 64 : v;
        }
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* Parse what the located repositories lack, cut into slices over workers. */
static void prepare_sliced(struct prep *preps, size_t n, int workers, int forced)
{
    struct osm_slice_repo *sr = osm_xcalloc(n + 1, sizeof *sr);
    size_t *order = osm_xcalloc(n + 1, sizeof *order);
    size_t m = 0;
    double total = 0;
    for (size_t i = 0; i < n; i++)
        if (preps[i].rc == 0 && preps[i].solv && preps[i].ppath)
            order[m++] = i, total += preps[i].size;
    /* Largest first on the line: its first slice, whose worker merges, is
     * then the shortest piece of that worker's work. */
    for (size_t a = 1; a < m; a++)
        for (size_t b = a; b > 0 && preps[order[b]].size > preps[order[b - 1]].size; b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    /* Small metadata is not worth the threads, unless slices are forced. */
    if (!forced && total < 256 * 1024)
        workers = 1;
    for (size_t i = 0; i < m; i++)
        sr[i] = (struct osm_slice_repo){preps[order[i]].size, workers > 1 ? preps[order[i]].bytes : -1, 0.1};
    size_t ns = 0;
    struct osm_slice *slices = osm_slice_layout(sr, m, workers, forced ? 0.0 : 0.1, &ns);
    for (size_t i = 0; i < ns; i++) {
        slices[i].repo = order[slices[i].repo];
        struct prep *p = &preps[slices[i].repo];
        if (slices[i].count > 1 && !p->blobs) {
            p->n_slices = slices[i].count;
            p->blobs = osm_xcalloc((size_t)p->n_slices, sizeof *p->blobs);
            p->blob_len = osm_xcalloc((size_t)p->n_slices, sizeof *p->blob_len);
            pthread_mutex_init(&p->lock, NULL);
            pthread_cond_init(&p->cond, NULL);
        }
    }
    int used = 0;
    for (size_t i = 0; i < ns; i++)
        used = slices[i].worker + 1 > used ? slices[i].worker + 1 : used;
    struct worker *ws = osm_xcalloc((size_t)used + 1, sizeof *ws);
    for (int w = 0; w < used; w++) {
        ws[w] = (struct worker){.preps = preps, .slices = slices, .n_slices = ns, .id = w};
        /* Worker 0 runs on this thread; a worker that cannot start too. */
        if (w > 0 && pthread_create(&ws[w].thread, NULL, worker_run, &ws[w]) != 0)
            ws[w].id = -1;
    }
    if (used > 0)
        worker_run(&ws[0]);
    for (int w = 1; w < used; w++) {
        if (ws[w].id < 0) {
            ws[w].id = w;
            worker_run(&ws[w]);
        } else {
            pthread_join(ws[w].thread, NULL);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (preps[i].blobs) {
            free(preps[i].blobs);
            free(preps[i].blob_len);
            pthread_mutex_destroy(&preps[i].lock);
            pthread_cond_destroy(&preps[i].cond);
        }
    }
    osm_free_all(ws, slices, sr, order);
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

/* One thread per repository, each parsing its whole primary. */
static int prepare_per_repo(const struct osm_repo_src *srcs, size_t n, const char *cache_root, struct osm_err *err)
{
    struct prepare_job *jobs = osm_xcalloc(n + 1, sizeof *jobs);
    for (size_t i = 0; i < n; i++)
        jobs[i] = (struct prepare_job){.src = &srcs[i], .cache_root = cache_root};
    osm_each_in_thread(jobs, n, sizeof *jobs, prepare_one);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].rc != 0 && rc == 0) {
            *err = jobs[i].err;
            rc = -1;
        }
    }
    free(jobs);
    return rc;
}

int osm_repomd_prepare(const struct osm_repo_src *srcs, size_t n, const char *cache_root, struct osm_err *err)
{
    /* libsolv grows arrays of megabytes by realloc while parsing; glibc's
     * default raises its mmap threshold after the first such block is freed
     * and then serves them from the heap, where they stay as fragments for
     * the rest of the run. A fixed threshold keeps them mapped, so a freed
     * parse returns its memory (a cold plan peaks about 15% lower). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    int forced;
    int workers = slice_workers(&forced);
    if (workers == 1)
        return prepare_per_repo(srcs, n, cache_root, err);
    /* Find what is missing (fetching, one thread per repository), then cut
     * the parse work into slices over the workers. */
    struct prep *preps = osm_xcalloc(n + 1, sizeof *preps);
    for (size_t i = 0; i < n; i++) {
        preps[i].src = &srcs[i];
        preps[i].cache_root = cache_root;
    }
    osm_each_in_thread(preps, n, sizeof *preps, locate_run);
    prepare_sliced(preps, n, workers, forced);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (preps[i].rc != 0 && rc == 0) {
            *err = preps[i].err;
            rc = -1;
        }
        free(preps[i].solv);
        free(preps[i].ppath);
    }
    free(preps);
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
