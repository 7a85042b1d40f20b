/* lazy.c: see osm_lazy.h. */
#include "osm_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *soname, const char *name, const char *why)
{
    fprintf(stderr, "osmig: cannot load %s%s%s: %s (is its Debian package installed? see scripts/install-deps.sh)\n",
            soname, name ? " symbol " : "", name ? name : "", why ? why : "unknown error");
    exit(1);
}

void *osm_lazy_sym(struct osm_lazy_lib *lib, const char *name)
{
    /* One thread loads each library; the others wait for its handle. */
    pthread_mutex_lock(&lock);
    if (!lib->handle && !(lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL)))
        fail(lib->soname, NULL, dlerror());
    dlerror();
    void *p = dlsym(lib->handle, name);
    if (!p)
        fail(lib->soname, name, dlerror());
    pthread_mutex_unlock(&lock);
    return p;
}

struct osm_lazy_lib osm_lazy_curl = {OSM_SONAME_CURL, NULL};
struct osm_lazy_lib osm_lazy_pq = {OSM_SONAME_PQ, NULL};
struct osm_lazy_lib osm_lazy_mhd = {OSM_SONAME_MHD, NULL};
