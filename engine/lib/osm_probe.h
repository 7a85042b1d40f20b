/* osm_probe.h: the growth step of open-addressing tables (linear probing,
 * power-of-two capacity, an all-zero element is empty). Each table keeps its
 * own element type, hash and lookup; they share this rehash. */
#ifndef OSM_PROBE_H
#define OSM_PROBE_H

#include <stddef.h>

/* When `n` reaches half of *cap, replace *slots (elements of `size` bytes)
 * by a zeroed array of twice the capacity (`first` when empty) and place
 * every element for which used() is true at hash(elem, newcap) & (newcap-1),
 * probing linearly. */
void osm_probe_grow(void *slots, size_t *cap, size_t n, size_t size, size_t first, int (*used)(const void *elem),
                    size_t (*hash)(const void *elem, size_t cap));

#endif
