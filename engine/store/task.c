/* task.c: see task.h. */
#include "task.h"

#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"

static const char *const state_names[OSM_TASK_N_STATES] = {
    [OSM_TASK_SUBMITTED] = "submitted",
    [OSM_TASK_SCHEDULED] = "scheduled",
    [OSM_TASK_RUNNING] = "running",
    [OSM_TASK_ROLLING_BACK] = "rolling_back",
    [OSM_TASK_SUCCEEDED] = "succeeded",
    [OSM_TASK_FAILED] = "failed",
    [OSM_TASK_ROLLED_BACK] = "rolled_back",
    [OSM_TASK_ROLLBACK_FAILED] = "rollback_failed",
    [OSM_TASK_CANCELLED] = "cancelled",
    [OSM_TASK_EXPIRED] = "expired",
};

const char *osm_task_state_name(enum osm_task_state s)
{
    return (unsigned)s < OSM_TASK_N_STATES ? state_names[s] : "unknown";
}

int osm_task_state_parse(const char *name)
{
    for (int i = 0; name && i < OSM_TASK_N_STATES; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

int osm_task_state_finished(enum osm_task_state s)
{
    return s == OSM_TASK_SUCCEEDED || s == OSM_TASK_FAILED || s == OSM_TASK_ROLLED_BACK ||
           s == OSM_TASK_ROLLBACK_FAILED || s == OSM_TASK_CANCELLED || s == OSM_TASK_EXPIRED;
}

int osm_task_state_holds_instance(enum osm_task_state s)
{
    return !osm_task_state_finished(s) || s == OSM_TASK_ROLLBACK_FAILED;
}

void osm_task_init(struct osm_task *t)
{
    memset(t, 0, sizeof *t);
    t->state = OSM_TASK_SUBMITTED;
    strcpy(t->phase, "submitted");
}

#define TASK_STRINGS(X) X(instance) X(target) X(progress_msg) X(window) X(snapshot_set) \
    X(error_code) X(cause) X(job_id) X(options) X(data) X(owner)

void osm_task_free(struct osm_task *t)
{
#define FREE_ONE(f) free(t->f);
    TASK_STRINGS(FREE_ONE)
#undef FREE_ONE
    osm_task_init(t);
}

void osm_task_copy(struct osm_task *dst, const struct osm_task *src)
{
    *dst = *src;
#define DUP_ONE(f) dst->f = src->f ? osm_xstrdup(src->f) : NULL;
    TASK_STRINGS(DUP_ONE)
#undef DUP_ONE
}

void osm_task_set_str(char **field, const char *value)
{
    char *copy = value ? osm_xstrdup(value) : NULL;
    free(*field);
    *field = copy;
}
