/* host_maintenance: the host-maintenance task kind, one task per scheduled
 * host-maintenance event (engine/sched/host_events.h, docs/host-events.md),
 * after ../shared/seeds/physical-server-migration-notice.md.
 *
 *   precheck  the seed's preparation: 500 MiB free on the system disk (an
 *             error), server security software on the instance (a warning
 *             event), and a provider that can move the instance off its
 *             physical server; every problem named at once. Changes nothing.
 *
 * No provider can move an instance yet (the QEMU provider, issue 19's second
 * part, will), so a task ends `failed` at precheck, saying so; the move, the
 * restart and the checks after it (file system, IP, MAC) come with it. */
#ifndef OSM_HOST_MAINTENANCE_H
#define OSM_HOST_MAINTENANCE_H

#include "kind.h"

extern const struct osm_task_kind osm_host_maintenance_kind;

#endif
