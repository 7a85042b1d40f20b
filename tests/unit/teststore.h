/* teststore.h: what the cmocka tests over a task store share (include after
 * <cmocka.h> and "store.h").
 *
 *   osm_test_has_event(st, task, type, words)  the task's history holds an
 *       event of `type` whose message contains `words` (NULL: any) */
#ifndef OSM_TESTSTORE_H
#define OSM_TESTSTORE_H

#include <string.h>

static inline int osm_test_has_event(struct osm_store *st, const char *task, const char *type, const char *words)
{
    struct osm_task_event *ev;
    size_t n;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_store_list_events(st, task, &ev, &n, &err), 0);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found |= strcmp(ev[i].type, type) == 0 && (!words || (ev[i].message && strstr(ev[i].message, words)));
    osm_task_events_free(ev, n);
    return found;
}

#endif
