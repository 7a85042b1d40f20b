/* plan_priv.h: what the plan's files share (compute, findings, output). */
#ifndef OSM_PLAN_PRIV_H
#define OSM_PLAN_PRIV_H

#include "plan.h"

__attribute__((format(printf, 5, 6))) struct osm_finding *osm_plan_add_finding(struct osm_plan *plan, const char *id,
                                                                               int inhibitor, const char *remediation,
                                                                               const char *fmt, ...);
void osm_finding_add_item(struct osm_finding *f, const char *item);
/* Findings that look at the system and the resolved actions. */
void osm_plan_check_system(struct osm_plan *plan);
void osm_plan_check_actions(struct osm_plan *plan);
/* Is this installed package from the source distribution's own vendors? */
int osm_plan_is_distro_package(const struct osm_plan *plan, Id p);

#endif
