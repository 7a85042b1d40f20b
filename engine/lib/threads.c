#include "osm_threads.h"

#include <pthread.h>
#include <stdlib.h>

#include "osm_buf.h"

void osm_each_in_thread(void *items, size_t n, size_t size, void *(*fn)(void *))
{
    pthread_t *threads = osm_xcalloc(n + 1, sizeof *threads);
    char *started = osm_xcalloc(n + 1, 1);
    for (size_t i = 0; i < n; i++) {
        void *item = (char *)items + i * size;
        started[i] = pthread_create(&threads[i], NULL, fn, item) == 0;
        if (!started[i])
            fn(item);
    }
    for (size_t i = 0; i < n; i++)
        if (started[i])
            pthread_join(threads[i], NULL);
    free(threads);
    free(started);
}
