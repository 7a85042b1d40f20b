/* plan_actions.c: the solver's transaction as plan actions (plan.h), each
 * target package in one action and each installed package in one. */
#include <solv/evr.h>
#include <solv/policy.h>
#include <solv/rules.h>
#include <solv/solvable.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "plan_priv.h"

static char *decision_reason(Solver *solv, Id p, const char *fallback)
{
    Pool *pool = solv->pool;
    Id info = 0;
    int reason = solver_describe_decision(solv, p, &info);
    if ((reason == SOLVER_REASON_UNIT_RULE || reason == SOLVER_REASON_RESOLVE) && info > 0) {
        Id from = 0, to = 0, dep = 0;
        SolverRuleinfo type = solver_ruleinfo(solv, info, &from, &to, &dep);
        if (type == SOLVER_RULE_PKG_REQUIRES && from)
            return osm_xasprintf("required by %s (%s)", pool_solvid2str(pool, from), pool_dep2str(pool, dep));
        if ((type == SOLVER_RULE_PKG_CONFLICTS || type == SOLVER_RULE_PKG_OBSOLETES ||
             type == SOLVER_RULE_PKG_IMPLICIT_OBSOLETES || type == SOLVER_RULE_PKG_INSTALLED_OBSOLETES) &&
            from)
            return osm_xasprintf("%s", solver_ruleinfo2str(solv, type, from, to, dep));
    }
    if (reason == SOLVER_REASON_WEAKDEP)
        return osm_xstrdup("recommended by an installed package");
    if (reason == SOLVER_REASON_CLEANDEPS_ERASE)
        return osm_xstrdup("no longer needed by any package");
    return osm_xstrdup(fallback);
}

static int same_name(Pool *pool, Id a, Id b)
{
    return pool->solvables[a].name == pool->solvables[b].name;
}

static int compatible_arch(Pool *pool, Id a, Id b)
{
    Id aa = pool->solvables[a].arch, ba = pool->solvables[b].arch;
    return aa == ba || aa == ARCH_NOARCH || ba == ARCH_NOARCH;
}

Id osm_plan_counterpart(Pool *pool, Id installed)
{
    Solvable *s = pool->solvables + installed;
    Id best = 0, p, pp;
    FOR_PROVIDES(p, pp, s->name)
    {
        Solvable *t = pool->solvables + p;
        if (t->name != s->name || t->repo == pool->installed || (pool->considered && !MAPTST(pool->considered, p)) ||
            !compatible_arch(pool, installed, p))
            continue;
        if (!best || pool_evrcmp(pool, t->evr, pool->solvables[best].evr, EVRCMP_COMPARE) > 0)
            best = p;
    }
    return best;
}

/* How well new package p describes installed package from: the same name
 * and arch best, then the same name (with yum's obsoletes both halves of a
 * split obsolete the old name, and the same-name half upgrades it). */
static int kinship(Pool *pool, Id from, Id p)
{
    if (!same_name(pool, from, p))
        return 0;
    return pool->solvables[from].arch == pool->solvables[p].arch ? 2 : 1;
}

/* Which new package describes each installed package it replaces: the
 * closest kin, else the first that obsoletes it. `owner` is indexed by
 * solvable id. */
static Id *assign_owners(Pool *pool, Transaction *trans)
{
    Id *owner = osm_xcalloc((size_t)pool->nsolvables + 1, sizeof *owner);
    Queue obs;
    queue_init(&obs);
    for (int i = 0; i < trans->steps.count; i++) {
        Id p = trans->steps.elements[i];
        if (pool->solvables[p].repo == pool->installed)
            continue;
        queue_empty(&obs);
        transaction_all_obs_pkgs(trans, p, &obs);
        for (int k = 0; k < obs.count; k++) {
            Id from = obs.elements[k];
            if (!owner[from] || kinship(pool, from, p) > kinship(pool, from, owner[from]))
                owner[from] = p;
        }
    }
    queue_free(&obs);
    return owner;
}

/* An installed package that the transaction erases outright. */
static void erase_action(struct osm_plan *plan, Solver *solv, Transaction *trans, Id p, const struct osm_reasons *why)
{
    Id type = transaction_type(trans, p,
                               SOLVER_TRANSACTION_SHOW_ACTIVE | SOLVER_TRANSACTION_SHOW_ALL |
                                   SOLVER_TRANSACTION_SHOW_OBSOLETES);
    if (type != SOLVER_TRANSACTION_ERASE)
        return; /* replaced: the new package's action describes it */
    const char *r = osm_reason_get(why, plan->sys->pool->solvables[p].name);
    char *dr = r ? NULL : decision_reason(solv, p, "erased to resolve dependencies");
    osm_plan_add_action(plan, OSM_ACT_ERASE, p, 0, r ? r : dr);
    free(dr);
}

static char *obsoletes_text(Pool *pool, Id by, Id from)
{
    return osm_xasprintf("%s obsoletes %s in the target", pool_id2str(pool, pool->solvables[by].name),
                         pool_id2str(pool, pool->solvables[from].name));
}

/* A new package: an install, or an upgrade/downgrade/replace of the first
 * package it owns; the others it owns (a merge) go as erases that name it. */
static void new_package_actions(struct osm_plan *plan, Solver *solv, Id p, const Queue *obs, const Id *owner,
                                const struct osm_reasons *why, const char *dup_reason)
{
    Pool *pool = plan->sys->pool;
    Solvable *s = pool->solvables + p;
    const char *r = osm_reason_get(why, s->name);
    Id main = 0;
    for (int k = 0; k < obs->count; k++)
        if (owner[obs->elements[k]] == p && (!main || kinship(pool, obs->elements[k], p) > kinship(pool, main, p)))
            main = obs->elements[k];
    if (!main) {
        /* A split: the old package is upgraded by its own name. */
        char *ob = obs->count ? obsoletes_text(pool, p, obs->elements[0]) : NULL;
        char *text = r    ? osm_xstrdup(r)
                     : ob ? osm_xasprintf("split from %s (%s)",
                                          pool_id2str(pool, pool->solvables[obs->elements[0]].name), ob)
                          : decision_reason(solv, p, "new dependency of the target");
        osm_plan_add_action(plan, OSM_ACT_INSTALL, 0, p, text);
        free(ob);
        free(text);
        return;
    }
    if (same_name(pool, main, p)) {
        int cmp = pool_evrcmp(pool, s->evr, pool->solvables[main].evr, EVRCMP_COMPARE);
        osm_plan_add_action(plan, cmp < 0 ? OSM_ACT_DOWNGRADE : OSM_ACT_UPGRADE, main, p, r ? r : dup_reason);
    } else {
        const char *fr = osm_reason_get(why, pool->solvables[main].name);
        char *text = fr ? osm_xstrdup(fr) : obsoletes_text(pool, p, main);
        osm_plan_add_action(plan, OSM_ACT_REPLACE, main, p, text);
        free(text);
    }
    for (int k = 0; k < obs->count; k++) {
        Id from = obs->elements[k];
        if (from == main || owner[from] != p)
            continue;
        const char *fr = osm_reason_get(why, pool->solvables[from].name);
        char *ob = obsoletes_text(pool, p, from);
        char *text = fr                        ? osm_xstrdup(fr)
                     : same_name(pool, from, p) ? osm_xasprintf("replaced by %s (the same name, another architecture)",
                                                                 pool_solvid2str(pool, p))
                                                : osm_xasprintf("merged into %s (%s)", pool_solvid2str(pool, p), ob);
        osm_plan_add_action(plan, OSM_ACT_ERASE, from, 0, text);
        free(ob);
        free(text);
    }
}

/* Why the transaction leaves an installed package alone: true to what the
 * target has. */
static char *keep_reason(const struct osm_plan *plan, Id p)
{
    Pool *pool = plan->sys->pool;
    Solvable *s = pool->solvables + p;
    if (!osm_plan_is_distro_package(plan, p)) {
        const char *vendor = solvable_lookup_str(s, SOLVABLE_VENDOR);
        return osm_xasprintf("third-party package (vendor %s) %s: kept", vendor ? vendor : "unknown",
                             osm_plan_counterpart(pool, p) ? "left as it is" : "with no counterpart in the target");
    }
    Id t = osm_plan_counterpart(pool, p);
    if (!t)
        return osm_xstrdup(osm_plan_name_in_targets(pool, s->name)
                               ? "kept: the target has this name only for another architecture"
                               : "kept: no counterpart in the target");
    if (pool->solvables[t].evr == s->evr)
        return osm_xstrdup("already at the target's version");
    if (!plan->resolved)
        return osm_xasprintf("not changed because the target package set cannot be resolved (see the unresolvable "
                             "inhibitor); the target has %s",
                             pool_solvid2str(pool, t));
    return osm_xasprintf("kept by the solver; the target has %s", pool_solvid2str(pool, t));
}

void osm_plan_collect_actions(struct osm_plan *plan, Solver *solv, Transaction *trans, const struct osm_reasons *why)
{
    Pool *pool = plan->sys->pool;
    Repo *installed = plan->sys->installed;
    char *dup_reason = osm_xasprintf("distribution upgrade to %s", plan->target->name);
    Id *owner = assign_owners(pool, trans);
    Map touched;
    map_init(&touched, pool->nsolvables);
    Queue obs;
    queue_init(&obs);
    for (int i = 0; i < trans->steps.count; i++) {
        Id p = trans->steps.elements[i];
        MAPSET(&touched, p);
        if (pool->solvables[p].repo == installed) {
            erase_action(plan, solv, trans, p, why);
            continue;
        }
        queue_empty(&obs);
        transaction_all_obs_pkgs(trans, p, &obs);
        for (int k = 0; k < obs.count; k++)
            MAPSET(&touched, obs.elements[k]);
        new_package_actions(plan, solv, p, &obs, owner, why, dup_reason);
    }
    queue_free(&obs);
    Id p;
    Solvable *s;
    FOR_REPO_SOLVABLES(installed, p, s)
    {
        if (MAPTST(&touched, p))
            continue;
        char *text = keep_reason(plan, p);
        osm_plan_add_action(plan, OSM_ACT_KEEP, p, 0, text);
        free(text);
    }
    map_free(&touched);
    free(owner);
    free(dup_reason);
}
