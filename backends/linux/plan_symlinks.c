/* plan_symlinks.c: directories the target's packages own that are symlinks
 * in the root. rpm installs a file through a symlinked directory, so the
 * files land where the link points: CentOS 7 ships
 * /usr/share/doc/redhat-release -> centos-release, RHEL 8's redhat-release
 * has its documents in /usr/share/doc/redhat-release, and they would end up
 * in /usr/share/doc/centos-release. Each such directory is a warning and an
 * entry of plan.json symlinked_dirs, so that migrate can make it a real
 * directory first.
 *
 * File lists do not say which entries are directories (libsolv drops the
 * type), so a directory is any path with files of the target under it. A
 * path that a target package lists itself and an installed package of the
 * same name owns too (filesystem's /lib64 -> usr/lib64) stays what it was:
 * not reported. Paths are looked at inside the root with lstat, parents
 * first, never following a link (not against the host either). */
#include <solv/dataiterator.h>
#include <solv/knownid.h>
#include <solv/repo.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_buf.h"
#include "plan_priv.h"

struct owned_dir {
    char *path;
    Id owner; /* a target package with files under it */
};

static int cmp_dir(const void *a, const void *b)
{
    const struct owned_dir *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->owner > y->owner) - (x->owner < y->owner);
}

static void push_dir(struct owned_dir **v, size_t *n, size_t *cap, const char *path, size_t len, Id owner)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        *v = osm_xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = (struct owned_dir){osm_xasprintf("%.*s", (int)len, path), owner};
}

/* Sort, keep the first of each path (the lowest owner id: stable). */
static void unique(struct owned_dir *v, size_t *n)
{
    if (!*n)
        return; /* no files at all: v is NULL */
    qsort(v, *n, sizeof *v, cmp_dir);
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        if (k && strcmp(v[k - 1].path, v[i].path) == 0) {
            free(v[i].path);
            continue;
        }
        v[k++] = v[i];
    }
    *n = k;
}

/* Every directory with files of the plan's target packages under it. */
static struct owned_dir *target_dirs(const struct osm_plan *plan, size_t *out_n)
{
    Pool *pool = plan->sys->pool;
    struct owned_dir *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < plan->n_actions; i++) {
        Id p = plan->actions[i].to;
        if (!p)
            continue;
        Dataiterator di;
        dataiterator_init(&di, pool, pool->solvables[p].repo, p, SOLVABLE_FILELIST, 0, SEARCH_FILES);
        while (dataiterator_step(&di)) {
            const char *slash = strrchr(di.kv.str, '/');
            if (slash && slash != di.kv.str)
                push_dir(&v, &n, &cap, di.kv.str, (size_t)(slash - di.kv.str), p);
        }
        dataiterator_free(&di);
    }
    unique(v, &n);
    /* The parents of each directory, which the lstat walk needs first. */
    size_t leaves = n;
    for (size_t i = 0; i < leaves; i++)
        for (const char *s = strchr(v[i].path + 1, '/'); s; s = strchr(s + 1, '/'))
            push_dir(&v, &n, &cap, v[i].path, (size_t)(s - v[i].path), v[i].owner);
    unique(v, &n);
    *out_n = n;
    return v;
}

/* A package of `repo` (of that name, when name is not 0) listing path. */
static Id lister(const struct osm_plan *plan, Repo *repo, Id solvid, const char *path, Id name)
{
    Pool *pool = plan->sys->pool;
    Id found = 0;
    Dataiterator di;
    dataiterator_init(&di, pool, repo, solvid, SOLVABLE_FILELIST, path, SEARCH_STRING | SEARCH_FILES);
    while (!found && dataiterator_step(&di))
        if (!name || pool->solvables[di.solvid].name == name)
            found = di.solvid;
    dataiterator_free(&di);
    return found;
}

/* Does a target package ship the path itself, as the installed package of
 * the same name does (the link stays a link)? */
static int link_kept(const struct osm_plan *plan, const char *path)
{
    Pool *pool = plan->sys->pool;
    for (size_t i = 0; i < plan->n_actions; i++) {
        Id p = plan->actions[i].to;
        if (p && lister(plan, pool->solvables[p].repo, p, path, 0) &&
            lister(plan, plan->sys->installed, 0, path, pool->solvables[p].name))
            return 1;
    }
    return 0;
}

static void add_symlinked(struct osm_plan *plan, const char *path, const char *target, Id owner)
{
    plan->symlinked_dirs =
        osm_xrealloc(plan->symlinked_dirs, (plan->n_symlinked_dirs + 1) * sizeof *plan->symlinked_dirs);
    struct osm_symlinked_dir *d = &plan->symlinked_dirs[plan->n_symlinked_dirs++];
    Pool *pool = plan->sys->pool;
    Id src = lister(plan, plan->sys->installed, 0, path, 0);
    d->path = osm_xstrdup(path);
    d->target = osm_xstrdup(target);
    d->owner = osm_xstrdup(pool_solvid2str(pool, owner));
    d->source_owner = src ? osm_xstrdup(pool_solvid2str(pool, src)) : NULL;
}

/* lstat root+path: 1 a symlink (its text in *target), 0 anything else. */
static int is_symlink(const char *root, const char *path, char **target)
{
    char *full = osm_xasprintf("%s%s", root, path);
    struct stat st;
    int link = lstat(full, &st) == 0 && S_ISLNK(st.st_mode);
    if (link) {
        char buf[4096];
        ssize_t len = readlink(full, buf, sizeof buf - 1);
        *target = osm_xasprintf("%.*s", len < 0 ? 0 : (int)len, buf);
    }
    free(full);
    return link;
}

static int under(const char *path, const char *dir)
{
    size_t l = strlen(dir);
    return strncmp(path, dir, l) == 0 && path[l] == '/';
}

/* Is the path below one of the symlinks found so far? Then lstat would
 * follow that link: what is under it is the link target's business. */
static int below_link(const char *path, char **links, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (under(path, links[i]))
            return 1;
    return 0;
}

void osm_plan_check_symlinks(struct osm_plan *plan)
{
    size_t n = 0, n_links = 0;
    struct owned_dir *dirs = target_dirs(plan, &n);
    char **links = osm_xcalloc(n + 1, sizeof *links);
    for (size_t i = 0; i < n; i++) {
        char *target = NULL;
        if (below_link(dirs[i].path, links, n_links) || !is_symlink(plan->sys->root, dirs[i].path, &target))
            continue;
        links[n_links++] = dirs[i].path;
        if (!link_kept(plan, dirs[i].path))
            add_symlinked(plan, dirs[i].path, target, dirs[i].owner);
        free(target);
    }
    for (size_t i = 0; i < n; i++)
        free(dirs[i].path);
    free(dirs);
    free(links);
    if (!plan->n_symlinked_dirs)
        return;
    struct osm_finding *f = osm_plan_add_finding(
        plan, "symlinked-directories", 0,
        "The migration makes each link that a package of the source owns a real directory before the "
        "transaction; check the links no package owns (made by hand): the target's files will land where they "
        "point.",
        "Directories of the target's packages are symlinks in the root: their files would land where the links "
        "point");
    for (size_t i = 0; i < plan->n_symlinked_dirs; i++) {
        const struct osm_symlinked_dir *d = &plan->symlinked_dirs[i];
        osm_finding_add_item(f, "%s -> %s (a directory of %s; the link is %s)", d->path, d->target, d->owner,
                             d->source_owner ? d->source_owner : "no package's");
    }
}
