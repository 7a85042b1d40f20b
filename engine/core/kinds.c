/* kinds.c: see kind.h. */
#include "kind.h"

#include <stdlib.h>
#include <string.h>

static struct osm_step os_migration_steps[] = {
    /* Prechecks only read facts. */
    {"precheck", "prechecking", NULL, NULL, 1, 0},
    /* A snapshot set is created once; its check finds the set and verifies it. */
    {"snapshot", "snapshotting", NULL, NULL, 0, 0},
    /* Staging resumes downloads and checks digests: safe to repeat. */
    {"stage", "staging", NULL, NULL, 1, 1},
    /* A reboot must not be repeated blindly: the check compares boot ids. */
    {"reboot-1", "rebooting", NULL, NULL, 0, 1},
    /* The rpm transaction: the check compares the rpmdb with the plan. */
    {"upgrade", "upgrading", NULL, NULL, 0, 1},
    {"reboot-2", "rebooting", NULL, NULL, 0, 1},
    {"verify", "verifying", NULL, NULL, 1, 0},
};

static struct osm_task_kind os_migration = {
    OSM_KIND_OS_MIGRATION,
    os_migration_steps,
    sizeof os_migration_steps / sizeof os_migration_steps[0],
    {"rollback", "rolling_back", NULL, NULL, 1, 1},
};

#define MAX_KINDS 16
static const struct osm_task_kind *kinds[MAX_KINDS] = {&os_migration};
static size_t n_kinds = 1;

void osm_task_kind_register(const struct osm_task_kind *kind)
{
    for (size_t i = 0; i < n_kinds; i++)
        if (strcmp(kinds[i]->name, kind->name) == 0) {
            kinds[i] = kind;
            return;
        }
    if (n_kinds < MAX_KINDS)
        kinds[n_kinds++] = kind;
    else
        abort(); /* a programming error: raise MAX_KINDS */
}

const struct osm_task_kind *osm_task_kind_find(const char *name)
{
    for (size_t i = 0; name && i < n_kinds; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

int osm_os_migration_provide(const char *step, osm_step_fn run, osm_step_check_fn check, struct osm_err *err)
{
    struct osm_step *s = NULL;
    if (strcmp(step, os_migration.rollback.name) == 0)
        s = &os_migration.rollback;
    for (size_t i = 0; !s && i < os_migration.n_steps; i++)
        if (strcmp(os_migration_steps[i].name, step) == 0)
            s = &os_migration_steps[i];
    if (!s)
        return osm_err_set(err, OSM_EUSAGE, "os-migration has no step '%s'", step);
    if (!s->idempotent && !check)
        return osm_err_set(err, OSM_EUSAGE, "os-migration step '%s' is not idempotent: it needs a check function", step);
    s->run = run;
    s->check = check;
    return 0;
}
