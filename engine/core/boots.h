/* boots: the boots of an os-migration as data, as Leapp's upgrade has them
 * (a boot into the upgrade phase, then a boot into the target).
 *
 * The list is a JSON array, in the order the boots happen; each boot is
 *   {"name": "reboot-2", "phase": "into-target", "kernel": "target", "limit_s": 600}
 * phase   where in the migration it runs: "before-upgrade" (after the
 *         stage, before the transaction) or "into-target" (after the
 *         transaction; the family readies the target's kernel first)
 * kernel  what must run after it: "running" (the kernel that ran before the
 *         migration) or "target" (the release the family's boot setup
 *         chose, noted "target_kernel"); unchecked where the provider does
 *         not tell the running kernel (a root tree)
 * limit_s how long the instance may take to come back, in seconds
 *
 * The limit of a boot is, first found: the instance descriptor's
 * "boot_limits" by the boot's name, then by its phase
 * ({"into-target": 900}); the descriptor's "boot_timeout_s" (every boot);
 * the phase's default (before-upgrade 300 s, into-target 600 s: the first
 * boot of a new kernel may do more). docs/qemu.md.
 *
 * The os-migration notes the list on its task at precheck ("boots"); the
 * Linux family's plan and assessment carry it too. */
#ifndef OSM_BOOTS_H
#define OSM_BOOTS_H

#include <jansson.h>

#include "osm_error.h"

#define OSM_BOOT_BEFORE_UPGRADE "before-upgrade"
#define OSM_BOOT_INTO_TARGET "into-target"
#define OSM_BOOT_KERNEL_RUNNING "running"
#define OSM_BOOT_KERNEL_TARGET "target"
#define OSM_BOOT_LIMIT_MAX 86400

/* The boots of an os-migration of an instance with this descriptor (a JSON
 * object, or NULL: none; `where` names it in errors). 0 with the list in
 * *boots (caller decrefs); -1 with err naming the descriptor, the key and
 * the value when a limit is malformed (not whole seconds 1..86400, or a
 * boot_limits key that is neither a boot's name nor a phase). */
int osm_boots_plan(const json_t *descriptor, const char *where, json_t **boots, struct osm_err *err);
/* A list as noted on a task, checked: 0 with *boots (caller decrefs), -1
 * with err naming what is wrong in it. */
int osm_boots_parse(const char *text, json_t **boots, struct osm_err *err);
/* For a person, one line: "reboot-1 (before-upgrade: the running kernel,
 * within 300 s), ...". Caller frees. */
char *osm_boots_describe(const json_t *boots);

#endif
