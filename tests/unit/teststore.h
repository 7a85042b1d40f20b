/* teststore.h: what the cmocka tests over a task store share (include after
 * <cmocka.h> and "store.h").
 *
 *   osm_test_has_event(st, task, type, words)  the task's history holds an
 *       event of `type` whose message contains `words` (NULL: any)
 *   osm_test_task_for(t, instance, target)  an os-migration task of
 *       `instance` (target may be NULL), for osm_store_create_job
 *   osm_test_create_one(st, job_id, instance, target, err)  a job of one such
 *       task (job_id NULL: the store picks it): 0 or -1 */
#ifndef OSM_TESTSTORE_H
#define OSM_TESTSTORE_H

#include <stdio.h>
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

static inline void osm_test_task_for(struct osm_task *t, const char *instance, const char *target)
{
    osm_task_init(t);
    strcpy(t->kind, OSM_KIND_OS_MIGRATION);
    t->instance = osm_xstrdup(instance);
    t->target = target ? osm_xstrdup(target) : NULL;
}

static inline int osm_test_create_one(struct osm_store *st, const char *job_id, const char *instance,
                                      const char *target, struct osm_err *err)
{
    struct osm_job job;
    osm_job_init(&job);
    if (job_id)
        snprintf(job.id, sizeof job.id, "%s", job_id);
    struct osm_task t;
    osm_test_task_for(&t, instance, target);
    int rc = osm_store_create_job(st, &job, &t, 1, err);
    osm_task_free(&t);
    osm_job_free(&job);
    return rc;
}

#endif
