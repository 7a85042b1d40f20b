/* power_steps: the generic steps that stop an instance cleanly and start it
 * again through its provider (stop, start: provider.h), for the kinds that
 * move an instance (network-migration, host-maintenance). Both are safe to
 * run again (a stopped instance stays stopped, a started one answers), and
 * each leaves an event in the task's history. */
#ifndef OSM_POWER_STEPS_H
#define OSM_POWER_STEPS_H

#include "osm_error.h"

struct osm_step_ctx;

int osm_step_stop(struct osm_step_ctx *ctx, struct osm_err *err);
int osm_step_start(struct osm_step_ctx *ctx, struct osm_err *err);

/* As steps of a kind's table. A failed stop changed no disk (the task then
 * fails, nothing to restore); from the start on, a failure rolls back. */
#define OSM_STEP_STOP {"stop", "stopping", osm_step_stop, NULL, 1, 0}
#define OSM_STEP_START {"start", "starting", osm_step_start, NULL, 1, 1}

#endif
