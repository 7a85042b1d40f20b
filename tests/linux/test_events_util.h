/* test_events_util.h: small helpers shared by the package-event tests:
 * a scratch directory, writing an events file into it, and finding a
 * change in a result. */
#ifndef TEST_EVENTS_UTIL_H
#define TEST_EVENTS_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "osm_fs.h"

static char ev_tmpdir[256];

__attribute__((unused)) static int ev_setup(void **state)
{
    (void)state;
    snprintf(ev_tmpdir, sizeof ev_tmpdir, "/tmp/osmig-events-XXXXXX");
    return mkdtemp(ev_tmpdir) ? 0 : -1;
}

__attribute__((unused)) static int ev_teardown(void **state)
{
    (void)state;
    return osm_remove_tree(ev_tmpdir, NULL);
}

/* Write `text` to NAME in the scratch directory; returns the path (static). */
__attribute__((unused)) static const char *ev_write(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", ev_tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
    return path;
}

/* The change of `kind` for `name`, or NULL. */
__attribute__((unused)) static const struct osm_event_change *ev_find(const struct osm_event_result *res, enum osm_change_kind kind,
                                              const char *name)
{
    for (size_t i = 0; i < res->n; i++)
        if (res->changes[i].kind == kind && strcmp(res->changes[i].name, name) == 0)
            return &res->changes[i];
    return NULL;
}

#endif
