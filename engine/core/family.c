/* family.c: see family.h. */
#include "family.h"

#include <string.h>

const struct osm_family *osm_family_detect(const struct osm_family *const *table, const char *root)
{
    for (size_t i = 0; table && table[i]; i++)
        if (root && table[i]->detect && table[i]->detect(root))
            return table[i];
    return table ? table[0] : NULL;
}

const struct osm_family *osm_family_find(const struct osm_family *const *table, const char *name)
{
    for (size_t i = 0; name && table && table[i]; i++)
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
    return NULL;
}
