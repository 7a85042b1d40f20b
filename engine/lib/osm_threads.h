/* osm_threads: run one function over each item of an array, one thread per
 * item, and wait for them all. For a handful of long, independent jobs
 * (a repository each); an item whose thread cannot start runs on the
 * calling thread, so the work is done either way. */
#ifndef OSM_THREADS_H
#define OSM_THREADS_H

#include <stddef.h>

/* fn(items + i * size) for i in [0, n); returns when all have returned. */
void osm_each_in_thread(void *items, size_t n, size_t size, void *(*fn)(void *));

#endif
