/* plan_findings.c: inhibitors and warnings, each with a stable id and a
 * one-line remediation (see plan.h). */
#include <solv/evr.h>
#include <solv/solvable.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "plan_priv.h"

int osm_plan_is_distro_package(const struct osm_plan *plan, Id p)
{
    Pool *pool = plan->sys->pool;
    const char *vendor = solvable_lookup_str(pool->solvables + p, SOLVABLE_VENDOR);
    if (!vendor)
        return 0;
    const struct osm_source_os *src = osm_matrix_source(&plan->matrix, plan->sys->os.id);
    if (!src)
        return 1; /* an unknown source distribution: nothing to compare against, so no false alarms */
    for (size_t i = 0; i < src->n_vendors; i++)
        if (strncmp(vendor, src->vendors[i], strlen(src->vendors[i])) == 0)
            return 1;
    return 0;
}

static void check_path(struct osm_plan *plan)
{
    const struct osm_linux_system *sys = plan->sys;
    if (plan->path) {
        if (plan->path->trial_only)
            osm_plan_add_finding(plan, "trial-only", 0,
                                 "Use this path to test; keep the snapshot set until the system is verified.",
                                 "The path %s %s -> %s is offered for trial only%s%s", sys->os.id,
                                 sys->os.full_version, plan->target->name, plan->path->note ? ": " : "",
                                 plan->path->note ? plan->path->note : "");
        return;
    }
    struct osm_finding *f = osm_plan_add_finding(
        plan, "no-path", 1, "Choose one of the listed targets, or add a path with --matrix FILE.",
        "No migration path from %s %s (%s) to %s", sys->os.id, sys->os.full_version, sys->arch, plan->target->name);
    for (size_t i = 0; i < plan->matrix.n_paths; i++) {
        const struct osm_path *p = &plan->matrix.paths[i];
        if (strcmp(p->from_id, sys->os.id) != 0)
            continue;
        struct osm_buf b;
        osm_buf_init(&b);
        osm_buf_addf(&b, "%s ", p->from_id);
        for (size_t k = 0; k < p->n_versions; k++)
            osm_buf_addf(&b, "%s%s", k ? "/" : "", p->versions[k]);
        osm_buf_addf(&b, " -> %s (", p->to);
        for (size_t k = 0; k < p->n_arches; k++)
            osm_buf_addf(&b, "%s%s", k ? ", " : "", p->arches[k]);
        osm_buf_addf(&b, ")%s", p->trial_only ? ", trial only" : "");
        osm_finding_add_item(f, "%s", b.s);
        osm_buf_free(&b);
    }
    if (!f->n_items)
        osm_finding_add_item(f, "(no path starts from this distribution)");
}

static int is_32bit_x86(const char *arch)
{
    return strcmp(arch, "i686") == 0 || strcmp(arch, "i586") == 0 || strcmp(arch, "i486") == 0 ||
           strcmp(arch, "i386") == 0;
}

void osm_plan_check_system(struct osm_plan *plan)
{
    const struct osm_linux_system *sys = plan->sys;
    Pool *pool = sys->pool;
    check_path(plan);

    struct osm_finding *i686 = NULL, *third = NULL;
    Id p;
    Solvable *s;
    FOR_REPO_SOLVABLES(sys->installed, p, s)
    {
        if (is_32bit_x86(pool_id2str(pool, s->arch))) {
            if (!i686)
                i686 = osm_plan_add_finding(plan, "i686-packages", 1,
                                            "Remove the 32-bit packages (rpm -e or yum remove) or replace them with "
                                            "their 64-bit builds, then assess again.",
                                            "32-bit x86 packages are installed; the target provides none");
            osm_finding_add_item(i686, "%s", pool_solvable2str(pool, s));
        }
        if (!osm_plan_is_distro_package(plan, p)) {
            if (!third)
                third = osm_plan_add_finding(plan, "third-party-packages", 0,
                                             "Make sure each vendor supports the target; update or remove their "
                                             "packages after the migration if not.",
                                             "Packages from vendors outside the source distribution are installed");
            const char *vendor = solvable_lookup_str(s, SOLVABLE_VENDOR);
            osm_finding_add_item(third, "%s (vendor: %s)", pool_solvable2str(pool, s), vendor ? vendor : "none");
        }
    }
    struct osm_finding *epel = NULL;
    for (size_t i = 0; i < sys->repos.n; i++) {
        const struct osm_repofile_entry *r = &sys->repos.v[i];
        if (!r->enabled || !strstr(r->id, "epel-modular"))
            continue;
        if (!epel)
            epel = osm_plan_add_finding(plan, "epel-modular", 0,
                                        "Disable the epel-modular repository (yum-config-manager --disable "
                                        "epel-modular) before migrating.",
                                        "An epel-modular repository is enabled; it cannot be installed after the "
                                        "migration");
        osm_finding_add_item(epel, "%s (%s)", r->id, r->file);
    }
    for (size_t i = 0; i < plan->target->n_warnings; i++) {
        const struct osm_note *n = &plan->target->warnings[i];
        osm_plan_add_finding(plan, n->id, 0, n->remediation, "%s", n->message);
    }
}

/* MySQL and MariaDB cannot read their data files after a downgrade. */
static int is_database_server(const char *name)
{
    static const char *const names[] = {"mariadb-server", "mysql-server", "mysql-community-server", "MariaDB-server",
                                        "mariadb-galera-server", "percona-server-server", NULL};
    for (const char *const *n = names; *n; n++)
        if (strcmp(*n, name) == 0)
            return 1;
    return 0;
}

/* Compare upstream versions only ("10.3.39" vs "5.5.68"): releases and
 * epochs say nothing about the on-disk format. */
static int version_lower(Pool *pool, Id to_evr, Id from_evr)
{
    char *a = osm_xstrdup(pool_id2str(pool, to_evr)), *b = osm_xstrdup(pool_id2str(pool, from_evr));
    char *va = strchr(a, ':') ? strchr(a, ':') + 1 : a, *vb = strchr(b, ':') ? strchr(b, ':') + 1 : b;
    char *da = strrchr(va, '-'), *db = strrchr(vb, '-');
    if (da)
        *da = '\0';
    if (db)
        *db = '\0';
    int r = pool_evrcmp_str(pool, va, vb, EVRCMP_COMPARE) < 0;
    free(a);
    free(b);
    return r;
}

void osm_plan_check_actions(struct osm_plan *plan)
{
    Pool *pool = plan->sys->pool;
    struct osm_finding *f = NULL;
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_action *a = &plan->actions[i];
        if (!a->from || !a->to)
            continue;
        Solvable *from = pool->solvables + a->from, *to = pool->solvables + a->to;
        if (!is_database_server(pool_id2str(pool, from->name)) || !version_lower(pool, to->evr, from->evr))
            continue;
        if (!f)
            f = osm_plan_add_finding(plan, "mysql-downgrade", 1,
                                     "Upgrade the database server to a version the target ships (or newer), or dump "
                                     "the databases and remove the server before migrating.",
                                     "A MySQL/MariaDB server would go to a lower version, which cannot read its data");
        osm_finding_add_item(f, "%s -> %s", pool_solvable2str(pool, from), pool_solvable2str(pool, to));
    }
}
