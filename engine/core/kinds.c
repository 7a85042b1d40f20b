/* kinds.c: see kind.h. The kinds this program knows; tests register more. */
#include "kind.h"

#include <stdlib.h>
#include <string.h>

#include "host_maintenance.h"
#include "net_migration.h"
#include "os_migration.h"

#define MAX_KINDS 16
static const struct osm_task_kind *kinds[MAX_KINDS] = {&osm_os_migration_kind, &osm_host_maintenance_kind,
                                                       &osm_net_migration_kind};
static size_t n_kinds = 3;

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
