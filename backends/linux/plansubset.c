/* plansubset.c: see plansubset.h. */
#include "plansubset.h"

#include <solv/bitmap.h>
#include <solv/knownid.h>
#include <dirent.h>
#include <solv/repodata.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_hash.h"
#include "osm_log.h"
#include "solvcache.h"

int osm_subset_enabled(void)
{
    const char *v = getenv("OSMIG_PLAN_SUBSET");
    return !v || strcmp(v, "0") != 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void osm_subset_key(char out[65], const char *installed_key, const char *const *repo_idents, size_t n_repos,
                    const char *const *names, size_t n_names)
{
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_addf(&b, "osmig-plan-subset 1\nlibsolv %d\ninstalled %s\n", LIBSOLV_VERSION, installed_key);
    for (size_t i = 0; i < n_repos; i++)
        osm_buf_addf(&b, "repo %s\n", repo_idents[i]);
    const char **sorted = osm_xcalloc(n_names + 1, sizeof *sorted);
    memcpy(sorted, names, n_names * sizeof *sorted);
    qsort(sorted, n_names, sizeof *sorted, cmp_str);
    for (size_t i = 0; i < n_names; i++)
        if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0)
            osm_buf_addf(&b, "name %s\n", sorted[i]);
    free(sorted);
    osm_sha256_hex(b.s, b.len, out);
    osm_buf_free(&b);
}

static char *subset_path(const char *cache_root, const char *key, size_t i)
{
    char *name = osm_xasprintf("subsets/%.40s-%zu.solv", key, i);
    char *path = osm_path_join(cache_root, name);
    free(name);
    return path;
}

int osm_subset_load(Pool *pool, const char *cache_root, const char *key, const char *const *repo_ids, size_t n,
                    Repo **out)
{
    for (size_t i = 0; i < n; i++) {
        char *path = subset_path(cache_root, key, i);
        int there = osm_is_file(path);
        free(path);
        if (!there)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char *path = subset_path(cache_root, key, i);
        out[i] = repo_create(pool, repo_ids[i]);
        int r = osm_solvcache_read(out[i], path);
        free(path);
        if (r != 0) {
            for (size_t k = 0; k <= i; k++)
                repo_free(out[k], 1);
            return -1;
        }
    }
    return 0;
}

static void push(Pool *pool, Map *in, Queue *todo, Id p)
{
    if (MAPTST(in, p))
        return;
    if (pool->considered && !MAPTST(pool->considered, p) && pool->solvables[p].repo != pool->installed)
        return;
    MAPSET(in, p);
    queue_push(todo, p);
}

static void push_providers(Pool *pool, Map *in, Queue *todo, Id dep)
{
    if (ISRELDEP(dep)) {
        Reldep *rd = GETRELDEP(pool, dep);
        switch (rd->flags) {
        case REL_AND:
        case REL_OR:
        case REL_WITH:
        case REL_WITHOUT:
        case REL_COND:
        case REL_UNLESS:
        case REL_ELSE:
            /* Every operand of a rich dependency, whatever its role. */
            push_providers(pool, in, todo, rd->name);
            push_providers(pool, in, todo, rd->evr);
            return;
        default:
            break;
        }
    }
    Id p, pp;
    FOR_PROVIDES(p, pp, dep)
    push(pool, in, todo, p);
}

static void reach(Pool *pool, const Id *names, size_t n_names, Map *in)
{
    Repo *installed = pool->installed;
    Queue todo;
    queue_init(&todo);
    map_init(in, pool->nsolvables);
    Id p, pp;
    Solvable *s;
    if (installed) {
        FOR_REPO_SOLVABLES(installed, p, s)
        {
            push(pool, in, &todo, p);
            Id q;
            FOR_PROVIDES(q, pp, s->name)
            push(pool, in, &todo, q);
        }
        /* Whatever obsoletes an installed package may replace it. */
        FOR_POOL_SOLVABLES(p)
        {
            s = pool->solvables + p;
            if (s->repo == installed || !s->obsoletes)
                continue;
            for (Id *obsp = s->repo->idarraydata + s->obsoletes; *obsp; obsp++) {
                Id q;
                int hit = 0;
                FOR_PROVIDES(q, pp, *obsp)
                hit |= pool->solvables[q].repo == installed;
                if (hit) {
                    push(pool, in, &todo, p);
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < n_names; i++)
        FOR_PROVIDES(p, pp, names[i])
    push(pool, in, &todo, p);
    for (int i = 0; i < todo.count; i++) {
        s = pool->solvables + todo.elements[i];
        if (!s->requires)
            continue;
        for (Id *dp = s->repo->idarraydata + s->requires; *dp; dp++)
            if (*dp != SOLVABLE_PREREQMARKER)
                push_providers(pool, in, &todo, *dp);
    }
    queue_free(&todo);
}

/* A cache that keeps every plan's subset would grow without bound on a
 * host that plans many instances: keep the newest files only. */
#define KEEP_FILES 128

struct aged {
    char *path;
    struct timespec mtime;
};

static int cmp_newest_first(const void *a, const void *b)
{
    const struct aged *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
    return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : x->mtime.tv_nsec > y->mtime.tv_nsec ? -1 : 0;
}

static void prune_old(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct aged *v = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".solv") != 0)
            continue;
        char *path = osm_path_join(dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) {
            free(path);
            continue;
        }
        v = osm_xrealloc(v, (n + 1) * sizeof *v);
        v[n++] = (struct aged){path, st.st_mtim};
    }
    closedir(d);
    if (n > KEEP_FILES) {
        qsort(v, n, sizeof *v, cmp_newest_first);
        for (size_t i = KEEP_FILES; i < n; i++)
            unlink(v[i].path);
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
}

/* Free the solvables of `repo` outside `in`, in runs. */
static void cut(Pool *pool, Repo *repo, const Map *in)
{
    Id p = repo->start;
    while (p < repo->end) {
        if (pool->solvables[p].repo != repo || MAPTST(in, p)) {
            p++;
            continue;
        }
        Id q = p;
        while (q < repo->end && pool->solvables[q].repo == repo && !MAPTST(in, q))
            q++;
        repo_free_solvable_block(repo, p, q - p, 0);
        p = q;
    }
}

int osm_subset_write(Pool *pool, Repo **repos, size_t n, const Id *names, size_t n_names, const Id *keep,
                     size_t n_keep, const char *cache_root, const char *key)
{
    Map in;
    reach(pool, names, n_names, &in);
    for (size_t i = 0; i < n_keep; i++)
        if (keep[i] && !MAPTST(&in, keep[i])) {
            /* A hole in the reach: never cache a subset that would plan differently. */
            osm_warn("plan.subset.incomplete", "package=%s", pool_solvid2str(pool, keep[i]));
            map_free(&in);
            return -1;
        }
    int kept = 0;
    for (size_t i = 0; i < n; i++) {
        cut(pool, repos[i], &in);
        kept += repos[i]->nsolvables;
    }
    map_free(&in);
    /* Record the file provides the subset needs: loading it then skips the
     * search through its file lists. */
    Queue added;
    queue_init(&added);
    pool_addfileprovides_queue(pool, &added, NULL);
    pool_createwhatprovides(pool);
    char *dir = osm_path_join(cache_root, "subsets");
    int rc = osm_mkdir_p(dir, 0755, NULL);
    for (size_t i = 0; i < n && rc == 0; i++) {
        /* The main repodata (as libdnf does): a new one would have to
         * cover the solvables too. */
        Repodata *data = repos[i]->nrepodata > 1 ? repo_id2repodata(repos[i], 1) : repo_add_repodata(repos[i], 0);
        repodata_set_idarray(data, SOLVID_META, REPOSITORY_ADDEDFILEPROVIDES, &added);
        repodata_internalize(data);
        char *path = subset_path(cache_root, key, i);
        osm_solvcache_write(repos[i], path);
        free(path);
    }
    queue_free(&added);
    if (rc == 0)
        prune_old(dir);
    free(dir);
    osm_debug("plan.subset.write", "key=%.16s packages=%d", key, kept);
    return rc;
}
