/* plan_priv.h: what the plan's files share (compute, findings, output). */
#ifndef OSM_PLAN_PRIV_H
#define OSM_PLAN_PRIV_H

#include <solv/solver.h>
#include <solv/transaction.h>

#include "plan.h"

/* Why a package is in a job: by solvable name id; the first reason wins. */
struct osm_reasons {
    Id *names;
    char **texts;
    size_t n;
};
void osm_reason_set(struct osm_reasons *r, Id name, const char *text);
const char *osm_reason_get(const struct osm_reasons *r, Id name);

void osm_plan_add_action(struct osm_plan *plan, enum osm_action_kind kind, Id from, Id to, const char *reason);
/* Does a target repository ship a package of this name (any arch)? */
int osm_plan_name_in_targets(Pool *pool, Id name);
/* The target package of the installed package's name and a compatible arch
 * (the same, or noarch on either side) with the highest version, or 0: a
 * package whose name the target ships only for another arch has no
 * counterpart (x86_64 -> i686 is never an upgrade). */
Id osm_plan_counterpart(Pool *pool, Id installed);
/* Removals of the source distribution's packages: listed, and the
 * essential ones inhibit unless allowed (plan_removals.c). */
void osm_plan_check_removals(struct osm_plan *plan);
/* --allow-erase names an installed package, else an error. */
int osm_plan_set_allowed(struct osm_plan *plan, const struct osm_plan_opts *o, struct osm_err *err);
/* Directories of the target packages that are symlinks in the root
 * (plan_symlinks.c); needs the targets' file lists. */
void osm_plan_check_symlinks(struct osm_plan *plan);
/* The solver's transaction -> actions (plan_actions.c). */
void osm_plan_collect_actions(struct osm_plan *plan, Solver *solv, Transaction *trans, const struct osm_reasons *why);

__attribute__((format(printf, 5, 6))) struct osm_finding *osm_plan_add_finding(struct osm_plan *plan, const char *id,
                                                                               int inhibitor, const char *remediation,
                                                                               const char *fmt, ...);
/* One item of the finding's list, printf-style. */
__attribute__((format(printf, 2, 3))) void osm_finding_add_item(struct osm_finding *f, const char *fmt, ...);
/* Findings that look at the system and the resolved actions. */
void osm_plan_check_system(struct osm_plan *plan);
void osm_plan_check_actions(struct osm_plan *plan);
/* Is this installed package from the source distribution's own vendors? */
int osm_plan_is_distro_package(const struct osm_plan *plan, Id p);

#endif
