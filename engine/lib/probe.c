/* probe.c: see osm_probe.h. */
#include "osm_probe.h"

#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"

void osm_probe_grow(void *slots, size_t *cap, size_t n, size_t size, size_t first, int (*used)(const void *elem),
                    size_t (*hash)(const void *elem, size_t cap))
{
    if (n * 2 < *cap)
        return;
    char **old = slots;
    size_t ncap = *cap ? *cap * 2 : first;
    char *ns = osm_xcalloc(ncap, size);
    for (size_t i = 0; i < *cap; i++) {
        const char *e = *old + i * size;
        if (!used(e))
            continue;
        size_t j = hash(e, ncap) & (ncap - 1);
        while (used(ns + j * size))
            j = (j + 1) & (ncap - 1);
        memcpy(ns + j * size, e, size);
    }
    free(*old);
    *old = ns;
    *cap = ncap;
}
