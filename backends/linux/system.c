/* system.c: see system.h. */
#include "system.h"

#include <solv/poolarch.h>
#include <solv/solvable.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"

/* The architecture of the system is that of its packages: the most common
 * non-noarch architecture, preferring 64-bit over its 32-bit multilib
 * companions (an x86_64 system with a few i686 libraries is x86_64). */
static void detect_arch(struct osm_linux_system *sys)
{
    Pool *pool = sys->pool;
    Id p;
    Solvable *s;
    int x86_64 = 0, aarch64 = 0, i686 = 0, other = 0;
    Id other_arch = 0;
    FOR_REPO_SOLVABLES(sys->installed, p, s)
    {
        const char *a = pool_id2str(pool, s->arch);
        if (strcmp(a, "x86_64") == 0)
            x86_64++;
        else if (strcmp(a, "aarch64") == 0)
            aarch64++;
        else if (strcmp(a, "i686") == 0 || strcmp(a, "i586") == 0 || strcmp(a, "i386") == 0)
            i686++;
        else if (strcmp(a, "noarch") != 0) {
            other++;
            other_arch = s->arch;
        }
    }
    const char *arch = "noarch";
    if (x86_64)
        arch = "x86_64";
    else if (aarch64)
        arch = "aarch64";
    else if (i686)
        arch = "i686";
    else if (other)
        arch = pool_id2str(pool, other_arch);
    snprintf(sys->arch, sizeof sys->arch, "%s", arch);
}

int osm_linux_system_open(const char *root, const char *cache_dir, struct osm_linux_system *sys, struct osm_err *err)
{
    memset(sys, 0, sizeof *sys);
    sys->root = osm_xstrdup(root);
    if (osm_osrelease_read(root, &sys->os, err) != 0)
        goto fail;
    sys->pool = pool_create();
    /* Debian builds libsolv with several semantics and defaults to Debian's
     * (arch "all", dpkg version order); these are rpm systems. */
    pool_setdisttype(sys->pool, DISTTYPE_RPM);
    if (osm_rpmdb_load(sys->pool, root, cache_dir, &sys->installed, &sys->db, err) != 0)
        goto fail;
    detect_arch(sys);
    pool_setarch(sys->pool, sys->arch);
    if (osm_repofiles_read(root, &sys->repos, err) != 0)
        goto fail;
    return 0;
fail:
    osm_linux_system_close(sys);
    return -1;
}

void osm_linux_system_close(struct osm_linux_system *sys)
{
    if (sys->pool)
        pool_free(sys->pool);
    osm_repofiles_free(&sys->repos);
    free(sys->root);
    memset(sys, 0, sizeof *sys);
}

static int cmp_solvable_name(const void *a, const void *b, void *dp)
{
    Pool *pool = dp;
    Solvable *sa = pool->solvables + *(const Id *)a, *sb = pool->solvables + *(const Id *)b;
    int r = strcmp(pool_id2str(pool, sa->name), pool_id2str(pool, sb->name));
    if (r)
        return r;
    return strcmp(pool_id2str(pool, sa->arch), pool_id2str(pool, sb->arch));
}

static Id *sorted_installed(const struct osm_linux_system *sys, int *n)
{
    Id *ids = osm_xcalloc((size_t)sys->installed->nsolvables + 1, sizeof *ids);
    Id p;
    Solvable *s;
    int k = 0;
    FOR_REPO_SOLVABLES(sys->installed, p, s)
    ids[k++] = p;
    qsort_r(ids, (size_t)k, sizeof *ids, cmp_solvable_name, sys->pool);
    *n = k;
    return ids;
}

json_t *osm_linux_system_json(const struct osm_linux_system *sys)
{
    Pool *pool = sys->pool;
    json_t *o = json_object();
    json_object_set_new(o, "root", json_string(sys->root));
    json_object_set_new(o, "family", json_string("linux"));
    json_t *os = json_object();
    json_object_set_new(os, "id", json_string(sys->os.id));
    json_object_set_new(os, "name", json_string(sys->os.name));
    json_object_set_new(os, "version_id", json_string(sys->os.version_id));
    json_object_set_new(os, "version", json_string(sys->os.full_version));
    json_object_set_new(os, "major", json_integer(sys->os.major));
    json_object_set_new(os, "minor", json_integer(sys->os.minor));
    if (sys->os.platform_id[0])
        json_object_set_new(os, "platform_id", json_string(sys->os.platform_id));
    json_object_set_new(o, "os", os);
    json_object_set_new(o, "arch", json_string(sys->arch));
    json_t *db = json_object();
    json_object_set_new(db, "path", json_string(sys->db.dbpath));
    json_object_set_new(db, "backend", json_string(sys->db.backend));
    json_object_set_new(o, "rpmdb", db);
    json_t *pkgs = json_array();
    int n;
    Id *ids = sorted_installed(sys, &n);
    for (int i = 0; i < n; i++) {
        Solvable *s = pool->solvables + ids[i];
        json_t *pk = json_object();
        const char *evr = pool_id2str(pool, s->evr);
        /* libsolv keeps "E:V-R"; show the parts as rpm -q --qf does. */
        const char *colon = strchr(evr, ':');
        const char *vr = colon ? colon + 1 : evr;
        const char *dash = strrchr(vr, '-');
        json_object_set_new(pk, "name", json_string(pool_id2str(pool, s->name)));
        json_object_set_new(pk, "epoch", json_integer(colon ? strtol(evr, NULL, 10) : 0));
        json_object_set_new(pk, "version", dash ? json_stringn(vr, (size_t)(dash - vr)) : json_string(vr));
        json_object_set_new(pk, "release", json_string(dash ? dash + 1 : ""));
        json_object_set_new(pk, "arch", json_string(pool_id2str(pool, s->arch)));
        const char *vendor = solvable_lookup_str(s, SOLVABLE_VENDOR);
        json_object_set_new(pk, "vendor", vendor ? json_string(vendor) : json_null());
        json_array_append_new(pkgs, pk);
    }
    free(ids);
    json_object_set_new(o, "packages", pkgs);
    json_t *repos = json_array();
    for (size_t i = 0; i < sys->repos.n; i++) {
        const struct osm_repofile_entry *r = &sys->repos.v[i];
        json_t *ro = json_object();
        json_object_set_new(ro, "id", json_string(r->id));
        json_object_set_new(ro, "name", r->name ? json_string(r->name) : json_null());
        json_object_set_new(ro, "enabled", json_boolean(r->enabled));
        json_object_set_new(ro, "baseurl", r->baseurl ? json_string(r->baseurl) : json_null());
        json_object_set_new(ro, "mirrorlist", r->mirrorlist ? json_string(r->mirrorlist) : json_null());
        json_object_set_new(ro, "file", json_string(r->file));
        json_array_append_new(repos, ro);
    }
    json_object_set_new(o, "repositories", repos);
    return o;
}

void osm_linux_system_print(FILE *f, const struct osm_linux_system *sys)
{
    Pool *pool = sys->pool;
    fprintf(f, "Root:          %s\n", sys->root);
    fprintf(f, "OS:            %s (id %s, version %s)\n", sys->os.name, sys->os.id, sys->os.full_version);
    fprintf(f, "Architecture:  %s\n", sys->arch);
    fprintf(f, "rpm database:  %s (%s)\n", sys->db.dbpath, sys->db.backend);
    int n;
    Id *ids = sorted_installed(sys, &n);
    fprintf(f, "Packages:      %d installed\n", n);
    for (int i = 0; i < n; i++) {
        Solvable *s = pool->solvables + ids[i];
        const char *vendor = solvable_lookup_str(s, SOLVABLE_VENDOR);
        fprintf(f, "  %-50s %s\n", pool_solvable2str(pool, s), vendor ? vendor : "(no vendor)");
    }
    free(ids);
    int enabled = 0;
    for (size_t i = 0; i < sys->repos.n; i++)
        enabled += sys->repos.v[i].enabled;
    fprintf(f, "Repositories:  %d enabled, %zu defined\n", enabled, sys->repos.n);
    for (size_t i = 0; i < sys->repos.n; i++) {
        const struct osm_repofile_entry *r = &sys->repos.v[i];
        fprintf(f, "  %-24s %-8s %s\n", r->id, r->enabled ? "enabled" : "disabled",
               r->baseurl ? r->baseurl : (r->mirrorlist ? r->mirrorlist : ""));
    }
}
