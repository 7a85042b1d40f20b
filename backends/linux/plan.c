/* plan.c: compute the migration transaction (see plan.h).
 *
 * Why a distribution upgrade and not "newest of the same name": the target
 * is another distribution, so packages change vendor, arch (noarch <-> arch)
 * and sometimes go down in version; SOLVER_DISTUPGRADE allows all of that and
 * obsoletes do the renames the packagers declared. What packagers did not
 * declare comes from the package events (Leapp's PES data and ours): they
 * become explicit install and erase jobs, each remembered as the reason. */
#include <solv/bitmap.h>
#include <solv/evr.h>
#include <solv/poolarch.h>
#include <solv/policy.h>
#include <solv/problems.h>
#include <solv/rules.h>
#include <solv/selection.h>
#include <solv/solvable.h>
#include <solv/solver.h>
#include <solv/transaction.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "modules.h"
#include "osm_config.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_log.h"
#include "plan_priv.h"
#include "plansubset.h"
#include "repomd.h"

void osm_reason_set(struct osm_reasons *r, Id name, const char *text)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->names[i] == name)
            return; /* the first reason wins: it is the most specific */
    r->names = osm_xrealloc(r->names, (r->n + 1) * sizeof *r->names);
    r->texts = osm_xrealloc(r->texts, (r->n + 1) * sizeof *r->texts);
    r->names[r->n] = name;
    r->texts[r->n] = osm_xstrdup(text);
    r->n++;
}

const char *osm_reason_get(const struct osm_reasons *r, Id name)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->names[i] == name)
            return r->texts[i];
    return NULL;
}

static void reasons_free(struct osm_reasons *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->texts[i]);
    free(r->names);
    free(r->texts);
}

struct osm_finding *osm_plan_add_finding(struct osm_plan *plan, const char *id, int inhibitor, const char *remediation,
                                         const char *fmt, ...)
{
    plan->findings = osm_xrealloc(plan->findings, (plan->n_findings + 1) * sizeof *plan->findings);
    struct osm_finding *f = &plan->findings[plan->n_findings++];
    memset(f, 0, sizeof *f);
    f->id = osm_xstrdup(id);
    f->inhibitor = inhibitor;
    f->remediation = osm_xstrdup(remediation);
    va_list ap;
    va_start(ap, fmt);
    f->summary = osm_xvasprintf(fmt, ap);
    va_end(ap);
    return f;
}

void osm_finding_add_item(struct osm_finding *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    f->items = osm_xrealloc(f->items, (f->n_items + 1) * sizeof *f->items);
    f->items[f->n_items++] = osm_xvasprintf(fmt, ap);
    va_end(ap);
}

void osm_plan_add_action(struct osm_plan *plan, enum osm_action_kind kind, Id from, Id to, const char *reason)
{
    plan->actions = osm_xrealloc(plan->actions, (plan->n_actions + 1) * sizeof *plan->actions);
    plan->actions[plan->n_actions++] = (struct osm_action){kind, from, to, osm_xstrdup(reason)};
}

/* --repo ID=URL overrides, else the target's repositories. */
static int collect_repos(struct osm_plan *plan, const struct osm_plan_opts *o, struct osm_err *err)
{
    const struct osm_target *t = plan->target;
    if (o->n_repo_overrides) {
        plan->repos = osm_xcalloc(o->n_repo_overrides, sizeof *plan->repos);
        for (size_t i = 0; i < o->n_repo_overrides; i++) {
            const char *spec = o->repo_overrides[i];
            const char *eq = strchr(spec, '=');
            if (!eq || eq == spec || !eq[1])
                return osm_err_set(err, OSM_EUSAGE, "--repo '%s': expected ID=URL", spec);
            const char *url = eq + 1;
            if (strncmp(url, "file://", 7) != 0 && strncmp(url, "http://", 7) != 0 &&
                strncmp(url, "https://", 8) != 0)
                return osm_err_set(err, OSM_EUSAGE, "--repo '%s': the URL must start with file://, http:// or https://",
                                   spec);
            char *id = osm_xasprintf("%.*s", (int)(eq - spec), spec);
            if (!osm_name_is_plain(id, 64)) {
                osm_err_set(err, OSM_EUSAGE,
                            "--repo: repository id '%s' is not a plain name (1 to 64 of A-Z a-z 0-9 . _ + : -, "
                            "not starting with '.' or '-'): it names a directory of the cache",
                            id);
                free(id);
                return -1;
            }
            struct osm_plan_repo *r = &plan->repos[plan->n_repos++];
            r->id = id;
            r->baseurl = osm_expand_repo_vars(url, plan->sys->arch, t->version ? t->version : "");
            /* A local mirror is signed by the target's keys. */
            const struct osm_repo_def *def = t->n_repos ? &t->repos[0] : NULL;
            for (size_t k = 0; k < t->n_repos; k++)
                if (strcmp(t->repos[k].id, r->id) == 0)
                    def = &t->repos[k];
            r->gpgcheck = def ? def->gpgcheck : 1;
            if (def && def->n_gpgkeys) {
                r->gpgkeys = osm_xcalloc(def->n_gpgkeys, sizeof *r->gpgkeys);
                for (size_t k = 0; k < def->n_gpgkeys; k++)
                    r->gpgkeys[r->n_gpgkeys++] = osm_xstrdup(def->gpgkeys[k]);
            }
        }
        return 0;
    }
    for (size_t i = 0; i < t->n_repos; i++)
        if (!osm_name_is_plain(t->repos[i].id, 64))
            return osm_err_set(err, OSM_EINPUT,
                               "target %s: repository id '%s' is not a plain name (1 to 64 of A-Z a-z 0-9 . _ + : -, "
                               "not starting with '.' or '-'): it names a directory of the cache",
                               t->id, t->repos[i].id);
    plan->repos = osm_xcalloc(t->n_repos, sizeof *plan->repos);
    for (size_t i = 0; i < t->n_repos; i++) {
        struct osm_plan_repo *r = &plan->repos[plan->n_repos++];
        r->id = osm_xstrdup(t->repos[i].id);
        r->baseurl = osm_expand_repo_vars(t->repos[i].baseurl, plan->sys->arch, t->version ? t->version : "");
        r->gpgcheck = t->repos[i].gpgcheck;
        r->gpgkeys = osm_xcalloc(t->repos[i].n_gpgkeys + 1, sizeof *r->gpgkeys);
        for (size_t k = 0; k < t->repos[i].n_gpgkeys; k++)
            r->gpgkeys[r->n_gpgkeys++] = osm_xstrdup(t->repos[i].gpgkeys[k]);
    }
    return 0;
}

/* The whole of every repository, with its file lists: primary's file
 * subset leaves file dependencies unprovided (RHEL 8's platform-python needs
 * /usr/libexec/platform-python, which only CentOS 7's python, erased by the
 * upgrade, provides from the installed side), and the symlinked-directory
 * check needs every directory of the target's packages. dnf loads them too. */
static int load_full(struct osm_plan *plan, const struct osm_plan_opts *o, struct osm_err *err)
{
    Pool *pool = plan->sys->pool;
    for (size_t i = 0; i < plan->n_repos; i++) {
        struct osm_plan_repo *r = &plan->repos[i];
        struct osm_repo_src src = {r->id, r->baseurl};
        if (osm_repomd_load(pool, &src, o->cache_dir, 0, &r->repo, err) != 0 ||
            osm_repomd_add_filelists(r->repo, &src, o->cache_dir, err) != 0)
            return -1;
        r->repo->appdata = r;
    }
    pool_addfileprovides(pool);
    pool_createwhatprovides(pool);
    return 0;
}

/* The subset of an earlier plan of the same installed set, metadata and
 * names (plansubset.h), when there is one. */
static int load_subset(struct osm_plan *plan, const struct osm_plan_opts *o)
{
    Pool *pool = plan->sys->pool;
    const char **ids = osm_xcalloc(plan->n_repos + 1, sizeof *ids);
    Repo **repos = osm_xcalloc(plan->n_repos + 1, sizeof *repos);
    for (size_t i = 0; i < plan->n_repos; i++)
        ids[i] = plan->repos[i].id;
    int rc = osm_subset_load(pool, o->cache_dir, plan->subset_key, ids, plan->n_repos, repos);
    if (rc == 0) {
        for (size_t i = 0; i < plan->n_repos; i++) {
            plan->repos[i].repo = repos[i];
            repos[i]->appdata = &plan->repos[i];
        }
        pool_addfileprovides(pool);
        pool_createwhatprovides(pool);
        osm_debug("plan.subset.hit", "key=%.16s", plan->subset_key);
    }
    free(ids);
    free(repos);
    return rc;
}

static int load_repos(struct osm_plan *plan, const struct osm_plan_opts *o, const char *const *names, size_t n_names,
                      struct osm_err *err)
{
    Pool *pool = plan->sys->pool;
    struct osm_repo_src *srcs = osm_xcalloc(plan->n_repos + 1, sizeof *srcs);
    for (size_t i = 0; i < plan->n_repos; i++)
        srcs[i] = (struct osm_repo_src){plan->repos[i].id, plan->repos[i].baseurl};
    int prepared = osm_repomd_prepare(srcs, plan->n_repos, o->cache_dir, err);
    free(srcs);
    if (prepared != 0)
        return -1;
    struct osm_repomd_meta *meta = osm_xcalloc(plan->n_repos + 1, sizeof *meta);
    const char **idents = osm_xcalloc(plan->n_repos + 1, sizeof *idents);
    int rc = -1;
    for (size_t i = 0; i < plan->n_repos; i++) {
        struct osm_repo_src src = {plan->repos[i].id, plan->repos[i].baseurl};
        if (osm_repomd_describe(&src, o->cache_dir, &meta[i], err) != 0)
            goto out;
        idents[i] = meta[i].ident;
        if (meta[i].modules && osm_modules_read(&plan->modules, meta[i].modules, meta[i].modules_compact, err) != 0) {
            osm_err_prefix(err, "repository '%s'", plan->repos[i].id);
            goto out;
        }
    }
    if (osm_subset_enabled() && plan->sys->db.key[0]) {
        osm_subset_key(plan->subset_key, plan->sys->db.key, idents, plan->n_repos, names, n_names);
        plan->subset_hit = load_subset(plan, o) == 0;
    }
    if (!plan->subset_hit && load_full(plan, o, err) != 0)
        goto out;
    if (plan->modules.n) {
        int hidden = osm_modules_apply(&plan->modules, pool, &plan->stream_of, &plan->considered);
        pool->considered = &plan->considered;
        osm_debug("plan.modules", "streams=%zu hidden=%d", plan->modules.n, hidden);
    }
    rc = 0;
out:
    for (size_t i = 0; i < plan->n_repos; i++)
        osm_repomd_meta_free(&meta[i]);
    free(meta);
    free(idents);
    return rc;
}

int osm_plan_name_in_targets(Pool *pool, Id name)
{
    Id p, pp;
    FOR_PROVIDES(p, pp, name)
    {
        Solvable *s = pool->solvables + p;
        if (s->name == name && s->repo != pool->installed && (!pool->considered || MAPTST(pool->considered, p)))
            return 1;
    }
    return 0;
}

/* Is any of the comma-separated names shipped by the target? */
static int any_in_targets(Pool *pool, const char *names)
{
    char *copy = osm_xstrdup(names), *save = NULL;
    int found = 0;
    for (char *n = strtok_r(copy, ",", &save); n && !found; n = strtok_r(NULL, ",", &save)) {
        while (*n == ' ')
            n++;
        Id id = pool_str2id(pool, n, 0);
        found = id && osm_plan_name_in_targets(pool, id);
    }
    free(copy);
    return found;
}

static Id installed_by_name(Pool *pool, Id name)
{
    Id p;
    Solvable *s;
    FOR_REPO_SOLVABLES(pool->installed, p, s)
    if (s->name == name)
        return p;
    return 0;
}

/* The job `how` on every package named `name`, for the reason `text`
 * (freed here). */
static void job_name(Queue *job, struct osm_reasons *why, Id how, Id name, char *text)
{
    osm_reason_set(why, name, text);
    free(text);
    queue_push2(job, how | SOLVER_SOLVABLE_NAME, name);
}

/* Package events, replayed on the installed names (no repository needed). */
static int load_events(struct osm_plan *plan, const struct osm_plan_opts *o, struct osm_eventset *events,
                       struct osm_event_result *res, struct osm_err *err)
{
    Pool *pool = plan->sys->pool;
    const struct osm_target *t = plan->target;
    for (size_t i = 0; i < t->n_events; i++) {
        if (!osm_is_file(t->events[i])) {
            osm_debug("events.missing", "file=%s", t->events[i]);
            continue;
        }
        if (osm_events_load_file(events, t->events[i], err) != 0)
            return -1;
    }
    for (size_t i = 0; i < o->n_event_files; i++)
        if (osm_events_load_file(events, o->event_files[i], err) != 0)
            return -1;
    if (!events->n)
        return 0;
    /* The names of the installed distribution packages, once each: as in
     * Leapp, events change the source distribution's packages only, and a
     * third-party package stays (a vendor's own ntp is not erased for
     * chrony). */
    size_t n = 0;
    const char **names = osm_xcalloc((size_t)plan->sys->installed->nsolvables + 1, sizeof *names);
    Map seen;
    map_init(&seen, pool->ss.nstrings);
    Id p;
    Solvable *s;
    FOR_REPO_SOLVABLES(plan->sys->installed, p, s)
    {
        if (MAPTST(&seen, s->name) || !osm_plan_is_distro_package(plan, p))
            continue;
        MAPSET(&seen, s->name);
        names[n++] = pool_id2str(pool, s->name);
    }
    map_free(&seen);
    int minor = plan->sys->os.minor >= 0 ? plan->sys->os.minor : 0;
    int rc = osm_events_apply(events, names, n, plan->sys->os.major, minor, t->el_major, t->el_minor, plan->sys->arch,
                              res, err);
    free(names);
    return rc;
}

/* Package events -> jobs. */
static void apply_events(struct osm_plan *plan, const struct osm_event_result *res, Queue *job, struct osm_reasons *why)
{
    Pool *pool = plan->sys->pool;
    struct osm_finding *deprecated = NULL, *missing = NULL;
    for (size_t i = 0; i < res->n; i++) {
        const struct osm_event_change *c = &res->changes[i];
        Id name = pool_str2id(pool, c->name, 1);
        char *text;
        switch (c->kind) {
        case OSM_CHANGE_REMOVE:
            if (!installed_by_name(pool, name))
                break;
            /* A replacement the target does not ship must not cost the
             * package: leave it to the distribution upgrade (the missing
             * replacement is reported as event-package-missing). */
            if (c->related && !any_in_targets(pool, c->related))
                break;
            text = c->related ? osm_xasprintf("%s by %s (event %s): %s -> %s", osm_event_action_name(c->event->action),
                                              "package event", c->event->origin, c->name, c->related)
                              : osm_xasprintf("removed in the target (event %s)", c->event->origin);
            /* A removal whose replacement obsoletes the package needs no job;
             * an explicit erase makes the event hold even when it does not. */
            job_name(job, why, SOLVER_ERASE, name, text);
            break;
        case OSM_CHANGE_INSTALL:
            if (!osm_plan_name_in_targets(pool, name)) {
                if (!missing)
                    missing = osm_plan_add_finding(
                        plan, "event-package-missing", 0,
                        "Check that the target repositories are complete (all of BaseOS/AppStream or os/updates).",
                        "Package events ask for packages that the target repositories do not provide");
                osm_finding_add_item(missing, "%s (event %s)", c->name, c->event->origin);
                break;
            }
            text = c->related ? osm_xasprintf("%s of %s (event %s)", osm_event_action_name(c->event->action),
                                              c->related, c->event->origin)
                              : osm_xasprintf("brought in by event %s", c->event->origin);
            job_name(job, why, SOLVER_INSTALL, name, text);
            break;
        case OSM_CHANGE_DEPRECATED:
            if (!deprecated)
                deprecated = osm_plan_add_finding(plan, "deprecated-packages", 0,
                                                  "Plan to replace these packages: they may be dropped in the next "
                                                  "major release of the target.",
                                                  "Installed packages are deprecated in the target");
            osm_finding_add_item(deprecated, "%s", c->name);
            break;
        }
    }
}

/* The names the plan asks the target about besides the installed ones: the
 * events' packages and the release packages. They key the subset. */
static size_t asked_names(const struct osm_plan *plan, const struct osm_event_result *res, char ***out)
{
    char **v = NULL;
    size_t n = 0;
#define ADD_NAME(str)                                      \
    do {                                                   \
        v = osm_xrealloc(v, (n + 1) * sizeof *v);          \
        v[n++] = osm_xstrdup(str);                         \
    } while (0)
    for (size_t i = 0; i < res->n; i++) {
        const struct osm_event_change *c = &res->changes[i];
        ADD_NAME(c->name);
        if (!c->related)
            continue;
        char *copy = osm_xstrdup(c->related), *save = NULL;
        for (char *nm = strtok_r(copy, ",", &save); nm; nm = strtok_r(NULL, ",", &save)) {
            while (*nm == ' ')
                nm++;
            ADD_NAME(nm);
        }
        free(copy);
    }
    if (plan->target->release_package)
        ADD_NAME(plan->target->release_package);
    const struct osm_source_os *src = osm_matrix_source(&plan->matrix, plan->sys->os.id);
    if (src && src->release_package)
        ADD_NAME(src->release_package);
#undef ADD_NAME
    *out = v;
    return n;
}

/* Keep the part of the targets this plan reached for the next plan. */
static void write_subset(struct osm_plan *plan, const struct osm_plan_opts *o, char **names, size_t n_names)
{
    Pool *pool = plan->sys->pool;
    Id *ids = osm_xcalloc(n_names + 1, sizeof *ids);
    size_t n_ids = 0;
    for (size_t i = 0; i < n_names; i++)
        if ((ids[n_ids] = pool_str2id(pool, names[i], 0)) != 0)
            n_ids++;
    Id *keep = osm_xcalloc(2 * plan->n_actions + 1, sizeof *keep);
    for (size_t i = 0; i < plan->n_actions; i++) {
        keep[2 * i] = plan->actions[i].from;
        keep[2 * i + 1] = plan->actions[i].to;
    }
    Repo **repos = osm_xcalloc(plan->n_repos + 1, sizeof *repos);
    for (size_t i = 0; i < plan->n_repos; i++)
        repos[i] = plan->repos[i].repo;
    osm_subset_write(pool, repos, plan->n_repos, ids, n_ids, keep, 2 * plan->n_actions, o->cache_dir,
                     plan->subset_key);
    free(repos);
    free(keep);
    free(ids);
}

/* Release package: the source's goes, the target's comes. */
static void release_jobs(struct osm_plan *plan, Queue *job, struct osm_reasons *why)
{
    Pool *pool = plan->sys->pool;
    const struct osm_target *t = plan->target;
    if (!t->release_package)
        return;
    Id tname = pool_str2id(pool, t->release_package, 1);
    if (osm_plan_name_in_targets(pool, tname)) {
        job_name(job, why, SOLVER_INSTALL, tname, osm_xasprintf("release package of %s", t->name));
    }
    const struct osm_source_os *src = osm_matrix_source(&plan->matrix, plan->sys->os.id);
    if (src && src->release_package && strcmp(src->release_package, t->release_package) != 0) {
        Id sname = pool_str2id(pool, src->release_package, 1);
        if (installed_by_name(pool, sname)) {
            job_name(job, why, SOLVER_ERASE, sname,
                     osm_xasprintf("release package of %s, replaced by %s", src->name, t->release_package));
        }
    }
}

/* Installed packages that some target package obsoletes: the solver
 * replaces them, so they are not orphans. */
static void obsoleted_by_target(Pool *pool, Map *out)
{
    map_init(out, pool->nsolvables);
    Id p;
    Solvable *s;
    FOR_POOL_SOLVABLES(p)
    {
        s = pool->solvables + p;
        if (s->repo == pool->installed || !s->obsoletes || (pool->considered && !MAPTST(pool->considered, p)))
            continue;
        Id *obsp = s->repo->idarraydata + s->obsoletes, obs;
        while ((obs = *obsp++)) {
            Id q, qq;
            FOR_PROVIDES(q, qq, obs)
            {
                if (pool->solvables[q].repo == pool->installed && pool_match_nevr(pool, pool->solvables + q, obs))
                    MAPSET(out, q);
            }
        }
    }
}

/* Does another installed package of p's name have a counterpart? Then the
 * name is upgraded and p (glibc.i686 beside glibc.x86_64) goes with it. */
static int name_upgraded(Pool *pool, Id p)
{
    Id q;
    Solvable *s;
    FOR_REPO_SOLVABLES(pool->installed, q, s)
    if (q != p && s->name == pool->solvables[p].name && osm_plan_counterpart(pool, q))
        return 1;
    return 0;
}

/* Installed distribution packages that the target does not have (not for
 * their arch either) go; third-party ones stay (the keep action says so). */
static void orphan_jobs(struct osm_plan *plan, Queue *job, struct osm_reasons *why)
{
    Pool *pool = plan->sys->pool;
    Map obsoleted;
    obsoleted_by_target(pool, &obsoleted);
    Id p;
    Solvable *s;
    FOR_REPO_SOLVABLES(plan->sys->installed, p, s)
    {
        if (osm_reason_get(why, s->name) || osm_plan_counterpart(pool, p) || MAPTST(&obsoleted, p) ||
            !osm_plan_is_distro_package(plan, p) || name_upgraded(pool, p))
            continue;
        osm_reason_set(why, s->name,
                       osm_plan_name_in_targets(pool, s->name)
                           ? "not available in the target for this architecture (only for others): a package of "
                             "the source distribution with no counterpart"
                           : "not available in the target: a package of the source distribution with no counterpart");
        /* Weak: when something that stays still needs it, it stays too. */
        queue_push2(job, SOLVER_ERASE | SOLVER_SOLVABLE | SOLVER_WEAK, p);
    }
    map_free(&obsoleted);
}

static void sizes(struct osm_plan *plan)
{
    Pool *pool = plan->sys->pool;
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_action *a = &plan->actions[i];
        if (a->to) {
            plan->download_size += (int64_t)solvable_lookup_num(pool->solvables + a->to, SOLVABLE_DOWNLOADSIZE, 0);
            plan->installed_size_delta += (int64_t)solvable_lookup_num(pool->solvables + a->to, SOLVABLE_INSTALLSIZE, 0);
        }
        if (a->from && a->kind != OSM_ACT_KEEP)
            plan->installed_size_delta -=
                (int64_t)solvable_lookup_num(pool->solvables + a->from, SOLVABLE_INSTALLSIZE, 0);
    }
}

static void report_problems(struct osm_plan *plan, Solver *solv, int nprob)
{
    struct osm_finding *f = osm_plan_add_finding(
        plan, "unresolvable", 1,
        "Fix the dependency problems listed (remove or replace the packages involved, or add the repository that "
        "provides what is missing with --repo), then assess again.",
        "The target package set cannot be resolved: %d dependency problem%s", nprob, nprob == 1 ? "" : "s");
    for (Id problem = 1; problem <= nprob; problem++) {
        struct osm_buf b;
        osm_buf_init(&b);
        osm_buf_adds(&b, solver_problem2str(solv, problem));
        /* Each solution is a new solve: offer them for the first problems
         * only, which is what a person reads anyway. */
        Id solution = 0;
        int ns = 0, max_solutions = problem <= 8 ? 2 : 0;
        while (ns < max_solutions && (solution = solver_next_solution(solv, problem, solution)) != 0) {
            osm_buf_addf(&b, "%s solution %d:", ns ? ";" : " —", ns + 1);
            Id element = 0, p, rp;
            int first = 1;
            while ((element = solver_next_solutionelement(solv, problem, solution, element, &p, &rp)) != 0) {
                osm_buf_addf(&b, "%s %s", first ? "" : ",", solver_solutionelement2str(solv, p, rp));
                first = 0;
            }
            ns++;
        }
        osm_finding_add_item(f, "%s", b.s);
        osm_buf_free(&b);
    }
}

static int compute(struct osm_linux_system *sys, const struct osm_plan_opts *o, struct osm_plan *plan,
                   struct osm_err *err);

int osm_plan_compute(struct osm_linux_system *sys, const struct osm_plan_opts *o, struct osm_plan *plan,
                     struct osm_err *err)
{
    if (compute(sys, o, plan, err) == 0)
        return 0;
    osm_plan_free(plan);
    return -1;
}

static int compute(struct osm_linux_system *sys, const struct osm_plan_opts *o, struct osm_plan *plan,
                   struct osm_err *err)
{
    memset(plan, 0, sizeof *plan);
    plan->sys = sys;
    if (osm_matrix_load(&plan->matrix, o->matrix_files, o->n_matrix_files, err) != 0)
        return -1;
    plan->target = osm_matrix_target(&plan->matrix, o->target);
    if (!plan->target) {
        struct osm_buf b;
        osm_buf_init(&b);
        for (size_t i = 0; i < plan->matrix.n_targets; i++)
            osm_buf_addf(&b, "%s%s", i ? ", " : "", plan->matrix.targets[i].id);
        osm_err_set(err, OSM_EUSAGE, "unknown target '%s' (known: %s)", o->target, b.s);
        osm_buf_free(&b);
        return -1;
    }
    plan->path =
        osm_matrix_find_path(&plan->matrix, sys->os.id, sys->os.major, sys->os.minor, sys->arch, plan->target->id);
    osm_plan_check_system(plan);
    if (plan->path && o->region && plan->path->n_regions) {
        int ok = 0;
        for (size_t i = 0; i < plan->path->n_regions; i++)
            ok |= strcmp(plan->path->regions[i], o->region) == 0;
        if (!ok)
            osm_plan_add_finding(plan, "region-unsupported", 1,
                                 "Migrate in a region where the path is offered, or move the instance first.",
                                 "The path to %s is not offered in region %s", plan->target->name, o->region);
    }
    Queue job;
    queue_init(&job);
    struct osm_reasons why = {0};
    struct osm_eventset events = {0};
    struct osm_event_result res = {0};
    char **names = NULL;
    size_t n_names = 0;
    int rc = -1;
    if (osm_plan_set_allowed(plan, o, err) != 0 || collect_repos(plan, o, err) != 0 ||
        load_events(plan, o, &events, &res, err) != 0)
        goto out;
    n_names = asked_names(plan, &res, &names);
    if (load_repos(plan, o, (const char *const *)names, n_names, err) != 0) {
        if (err->code == OSM_ENET) /* offline: say where a local mirror is named */
            osm_config_offline_hint(err);
        goto out;
    }
    Pool *pool = sys->pool; /* whatprovides is ready: load_repos prepared it */
    apply_events(plan, &res, &job, &why);
    release_jobs(plan, &job, &why);
    orphan_jobs(plan, &job, &why);
    queue_push2(&job, SOLVER_DISTUPGRADE | SOLVER_SOLVABLE_ALL, 0);

    Solver *solv = solver_create(pool);
    solver_set_flag(solv, SOLVER_FLAG_ALLOW_VENDORCHANGE, 1);
    /* noarch <-> arch changes stay allowed (libsolv never counts them);
     * x86_64 -> i686 is never what a migration wants. */
    solver_set_flag(solv, SOLVER_FLAG_ALLOW_ARCHCHANGE, 0);
    solver_set_flag(solv, SOLVER_FLAG_DUP_ALLOW_ARCHCHANGE, 0);
    solver_set_flag(solv, SOLVER_FLAG_ALLOW_DOWNGRADE, 1);
    solver_set_flag(solv, SOLVER_FLAG_IGNORE_RECOMMENDED, 1);
    solver_set_flag(solv, SOLVER_FLAG_YUM_OBSOLETES, 1);
    int nprob = solver_solve(solv, &job);
    plan->resolved = nprob == 0;
    if (nprob)
        report_problems(plan, solv, nprob);
    Transaction *trans = solver_create_transaction(solv);
    osm_plan_collect_actions(plan, solv, trans, &why);
    transaction_free(trans);
    solver_free(solv);
    sizes(plan);
    osm_plan_check_actions(plan);
    osm_plan_check_removals(plan);
    osm_plan_check_symlinks(plan);
    if (plan->subset_key[0] && !plan->subset_hit)
        write_subset(plan, o, names, n_names);
    rc = 0;
out:
    osm_free_strv(names, n_names);
    osm_event_result_free(&res);
    osm_eventset_free(&events);
    reasons_free(&why);
    queue_free(&job);
    return rc;
}

void osm_plan_free(struct osm_plan *plan)
{
    for (size_t i = 0; i < plan->n_actions; i++)
        free(plan->actions[i].reason);
    free(plan->actions);
    for (size_t i = 0; i < plan->n_findings; i++) {
        struct osm_finding *f = &plan->findings[i];
        osm_free_all(f->id, f->summary, f->remediation);
        osm_free_strv(f->items, f->n_items);
    }
    free(plan->findings);
    for (size_t i = 0; i < plan->n_repos; i++) {
        osm_free_all(plan->repos[i].id, plan->repos[i].baseurl);
        osm_free_strv(plan->repos[i].gpgkeys, plan->repos[i].n_gpgkeys);
    }
    free(plan->repos);
    osm_free_strv(plan->allow_erase, plan->n_allow_erase);
    for (size_t i = 0; i < plan->n_symlinked_dirs; i++) {
        osm_free_all(plan->symlinked_dirs[i].path, plan->symlinked_dirs[i].target, plan->symlinked_dirs[i].owner,
                     plan->symlinked_dirs[i].source_owner);
    }
    free(plan->symlinked_dirs);
    if (plan->sys && plan->sys->pool && plan->sys->pool->considered == &plan->considered)
        plan->sys->pool->considered = NULL;
    map_free(&plan->considered);
    free(plan->stream_of);
    osm_modules_free(&plan->modules);
    osm_matrix_free(&plan->matrix);
    memset(plan, 0, sizeof *plan);
}

int osm_plan_inhibited(const struct osm_plan *plan)
{
    for (size_t i = 0; i < plan->n_findings; i++)
        if (plan->findings[i].inhibitor)
            return 1;
    return 0;
}
