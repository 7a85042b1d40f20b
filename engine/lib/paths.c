/* paths.c: see osm_paths.h. */
#include "osm_paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char cache_dir[4096];
static const char *override;

void osm_set_cache_dir(const char *dir)
{
    override = dir;
}

const char *osm_cache_dir(void)
{
    if (override)
        return override;
    const char *env = getenv("OSMIG_CACHE_DIR");
    if (env && *env)
        return env;
    if (geteuid() == 0)
        return "/var/cache/osmig";
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(cache_dir, sizeof cache_dir, "%s/osmig", xdg);
    else
        snprintf(cache_dir, sizeof cache_dir, "%s/.cache/osmig", home ? home : "/tmp");
    return cache_dir;
}
