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

int osm_families_matrix(const struct osm_family *const *table, const char *const *files, size_t n, json_t **paths,
                        FILE *text, struct osm_err *err)
{
    json_t *all = json_array();
    for (size_t i = 0; table && table[i]; i++) {
        const struct osm_family *f = table[i];
        json_t *mine = NULL;
        if (!f->matrix)
            continue;
        if (f->matrix(files, n, &mine, text, err) != 0) {
            json_decref(all);
            *paths = NULL;
            return -1;
        }
        size_t k;
        json_t *p;
        json_array_foreach(mine, k, p)
        {
            json_object_set_new(p, "family", json_string(f->name));
            json_array_append(all, p);
        }
        json_decref(mine);
    }
    *paths = all;
    return 0;
}
