/* host_maintenance: the host-maintenance task kind, one task per scheduled
 * host-maintenance event (engine/sched/host_events.h, docs/host-events.md),
 * after ../shared/seeds/physical-server-migration-notice.md.
 *
 *   precheck  the seed's preparation: 500 MiB free on the system disk (an
 *             error), server security software on the instance (a warning
 *             event), and a provider that can move the instance off its
 *             physical server (stop, start, run: qemu:; dir: cannot, and the
 *             task ends `failed` saying so); every problem named at once.
 *             Notes the first NIC's IP and MAC. Changes nothing.
 *   snapshot  the generic set of every disk (the seed: "Create a snapshot")
 *   stop      a clean shutdown on the "physical server" (for qemu:, its QEMU)
 *   start     a new one: the seed's restart on another host
 *   aftermath the seed's "What to do next": the root file system checked
 *             through the agent (mounted read-write, state clean), what
 *             changed: IP, MAC (licence codes bound to it), as events
 *   rollback  the set restored on every disk, started again. */
#ifndef OSM_HOST_MAINTENANCE_H
#define OSM_HOST_MAINTENANCE_H

#include "kind.h"

extern const struct osm_task_kind osm_host_maintenance_kind;

#endif
