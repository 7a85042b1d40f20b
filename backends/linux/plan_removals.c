/* plan_removals.c: what the migration takes away is said. Every package of
 * the source distribution that goes, or stays without a counterpart, is
 * listed with why; erasing what keeps the machine reachable, bootable or
 * maintainable inhibits until a repository provides it or the user accepts
 * the removal (--allow-erase NAME). */
#include <fnmatch.h>
#include <solv/solvable.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "plan_priv.h"

/* Packages whose loss cuts the machine off. Entries of one group stand in
 * for each other (EL8 replaces yum by dnf; NetworkManager reads the
 * network-scripts' ifcfg files); NULL: the name itself must stay. */
static const struct essential {
    const char *glob;
    const char *group;
    const char *what;
} essentials[] = {
    {"openssh-server", NULL, "remote access over SSH"},
    {"kernel", "kernel", "the kernel"},
    {"kernel-core", "kernel", "the kernel"},
    {"grub2*", NULL, "the bootloader"},
    {"shim*", NULL, "the bootloader (Secure Boot)"},
    {"initscripts", "network", "the network configuration"},
    {"network-scripts", "network", "the network configuration"},
    {"NetworkManager", "network", "the network configuration"},
    {"rpm", NULL, "the package manager"},
    {"yum", "front-end", "the package manager front-end (yum/dnf)"},
    {"dnf", "front-end", "the package manager front-end (yum/dnf)"},
};
#define N_ESSENTIALS (sizeof essentials / sizeof essentials[0])

static const struct essential *essential_of(const char *name)
{
    for (size_t i = 0; i < N_ESSENTIALS; i++)
        if (fnmatch(essentials[i].glob, name, 0) == 0)
            return &essentials[i];
    return NULL;
}

static const char *action_name(Pool *pool, const struct osm_action *a)
{
    return pool_id2str(pool, pool->solvables[a->to ? a->to : a->from].name);
}

/* Is a package of this name (or of its group) on the system after the plan? */
static int present_after(const struct osm_plan *plan, const struct essential *e, const char *name)
{
    Pool *pool = plan->sys->pool;
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_action *a = &plan->actions[i];
        if (!a->to && a->kind != OSM_ACT_KEEP)
            continue;
        const char *n = action_name(pool, a);
        const struct essential *o = e->group ? essential_of(n) : NULL;
        if (strcmp(n, name) == 0 || (o && o->group && strcmp(o->group, e->group) == 0))
            return 1;
    }
    return 0;
}

static int allowed(const struct osm_plan *plan, const char *name)
{
    for (size_t i = 0; i < plan->n_allow_erase; i++)
        if (strcmp(plan->allow_erase[i], name) == 0)
            return 1;
    return 0;
}

int osm_plan_set_allowed(struct osm_plan *plan, const struct osm_plan_opts *o, struct osm_err *err)
{
    Pool *pool = plan->sys->pool;
    for (size_t i = 0; i < o->n_allow_erase; i++) {
        const char *name = o->allow_erase[i];
        Id id = pool_str2id(pool, name, 0), p;
        Solvable *s;
        int found = 0;
        FOR_REPO_SOLVABLES(plan->sys->installed, p, s)
        found |= id && s->name == id;
        if (!found)
            return osm_err_set(err, OSM_EUSAGE, "--allow-erase '%s': no installed package has that name", name);
        if (allowed(plan, name))
            continue;
        plan->allow_erase = osm_xrealloc(plan->allow_erase, (plan->n_allow_erase + 1) * sizeof *plan->allow_erase);
        plan->allow_erase[plan->n_allow_erase++] = osm_xstrdup(name);
    }
    return 0;
}

struct finding_text {
    const char *id;
    int inhibitor;
    const char *remediation, *summary;
};

static const struct finding_text removed_text = {
    "removed-packages", 0,
    "Check that nothing on the machine needs these packages; add a repository that provides them (--repo ID=URL) "
    "to keep them.",
    "Packages of the source distribution are erased, or kept with no counterpart in the target"};
static const struct finding_text essential_text = {
    "essential-removal", 1,
    "Add a repository that provides each listed package (--repo ID=URL), or accept the removal with --allow-erase "
    "NAME (repeatable).",
    "Packages that keep the machine reachable, bootable or maintainable would be erased"};

/* The pass's one finding of `t` (made on its first item) gets an item for
 * `a`: the name of the package `a` removes. */
static const char *start_item(struct osm_plan *plan, struct osm_finding **f, const struct finding_text *t,
                              const struct osm_action *a)
{
    if (!*f)
        *f = osm_plan_add_finding(plan, t->id, t->inhibitor, t->remediation, t->summary);
    return action_name(plan->sys->pool, a);
}

/* "NEVRA: erased (why)" in the list of removals. */
static void list_removal(struct osm_plan *plan, struct osm_finding **f, const struct osm_action *a, const char *what)
{
    const char *name = start_item(plan, f, &removed_text, a);
    osm_finding_add_item(*f, "%s: %s (%s)%s", pool_solvid2str(plan->sys->pool, a->from), what, a->reason,
                         allowed(plan, name) ? "; accepted with --allow-erase" : "");
}

static void inhibit_removal(struct osm_plan *plan, struct osm_finding **f, const struct osm_action *a,
                            const struct essential *e)
{
    const char *name = start_item(plan, f, &essential_text, a);
    const char *none = strcmp(e->group ? e->group : "", "front-end") == 0
                           ? "the migrated system would have no package manager front-end"
                           : "nothing in the target takes its place";
    osm_finding_add_item(*f, "%s: %s: %s (remedy: a repository that provides %s, or --allow-erase %s)",
                         pool_solvid2str(plan->sys->pool, a->from), e->what, none, name, name);
}

void osm_plan_check_removals(struct osm_plan *plan)
{
    Pool *pool = plan->sys->pool;
    /* One finding per pass: adding a finding moves the others. */
    struct osm_finding *removed = NULL, *essential = NULL;
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_action *a = &plan->actions[i];
        if (a->kind == OSM_ACT_KEEP && osm_plan_is_distro_package(plan, a->from) &&
            !osm_plan_counterpart(pool, a->from))
            list_removal(plan, &removed, a, "kept");
        if (a->kind == OSM_ACT_ERASE && osm_plan_is_distro_package(plan, a->from))
            list_removal(plan, &removed, a, "erased");
    }
    for (size_t i = 0; i < plan->n_actions; i++) {
        const struct osm_action *a = &plan->actions[i];
        if (a->kind != OSM_ACT_ERASE)
            continue;
        const char *name = action_name(pool, a);
        const struct essential *e = essential_of(name);
        if (e && !allowed(plan, name) && !present_after(plan, e, name))
            inhibit_removal(plan, &essential, a, e);
    }
}
