/* win_fixture.h: the Windows test fixtures (real hives, real WIMs) built by
 * make-fixtures.sh into $OSMIG_FIXTURE_CACHE/windows, once per script change. */
#ifndef WIN_FIXTURE_H
#define WIN_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "osm_buf.h"
#include "osm_run.h"

static char win_fixture_root[2048];

/* 0 ready, 77 skip (no real data), 1 failure. */
static inline int win_fixture_build(void)
{
    const char *src = getenv("OSMIG_SOURCE_DIR"), *cache = getenv("OSMIG_FIXTURE_CACHE");
    if (!src || !cache) {
        fprintf(stderr, "OSMIG_SOURCE_DIR and OSMIG_FIXTURE_CACHE must be set (run under ctest)\n");
        return 1;
    }
    char *script = osm_xasprintf("%s/tests/windows/make-fixtures.sh", src);
    snprintf(win_fixture_root, sizeof win_fixture_root, "%s/windows", cache);
    const char *argv[] = {"bash", script, win_fixture_root, NULL};
    struct osm_run_opts ro = {.pass_through = 1};
    struct osm_err err = OSM_ERR_INIT;
    int st = osm_run(argv, &ro, &err);
    free(script);
    if (st == 77)
        return 77;
    if (st != 0) {
        fprintf(stderr, "make-fixtures.sh failed (%d) %s\n", st, err.msg);
        return 1;
    }
    return 0;
}

/* "roots/NAME" etc. under the fixture directory; static buffer. */
static inline const char *win_fixture(const char *rel)
{
    static char buf[8][4096];
    static int n;
    char *b = buf[n++ % 8];
    snprintf(b, 4096, "%s/%s", win_fixture_root, rel);
    return b;
}

#endif
