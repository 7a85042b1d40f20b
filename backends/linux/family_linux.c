/* family_linux.c: the Linux family (rpm systems) for the table of families
 * (engine/core/family.h). */
#include "family_linux.h"

#include <pthread.h>
#include <stdlib.h>

#include "matrix.h"
#include "migration_linux.h"
#include "osm_fs.h"
#include "osm_paths.h"
#include "plan.h"
#include "system.h"

static int detect(const char *root)
{
    static const char *const marks[] = {"etc/os-release", "usr/lib/os-release", "etc/redhat-release"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        char *p = osm_path_join(root, marks[i]);
        int yes = osm_is_file(p);
        free(p);
        if (yes)
            return 1;
    }
    return 0;
}

static int inspect(struct osm_instance *inst, json_t **facts, FILE *text, struct osm_err *err)
{
    struct osm_linux_system sys;
    if (osm_linux_system_open(inst->root, osm_cache_dir(), &sys, err) != 0)
        return -1;
    *facts = osm_linux_system_json(&sys);
    if (text)
        osm_linux_system_print(text, &sys);
    osm_linux_system_close(&sys);
    return 0;
}

static int assess(struct osm_instance *inst, const struct osm_facts *facts, const struct osm_assess_request *rq,
                  json_t **doc, FILE *text, struct osm_err *err)
{
    struct osm_linux_system sys;
    if (osm_linux_system_open(inst->root, osm_cache_dir(), &sys, err) != 0) {
        osm_err_prefix(err, "inspecting %s", inst->uri);
        return -1;
    }
    struct osm_plan_opts po = {
        .target = rq->target,
        .matrix_files = rq->matrix_files, .n_matrix_files = rq->n_matrix_files,
        .event_files = rq->event_files, .n_event_files = rq->n_event_files,
        .repo_overrides = rq->repo_overrides, .n_repo_overrides = rq->n_repo_overrides,
        .cache_dir = osm_cache_dir(),
        .region = facts && facts->region[0] ? facts->region : NULL,
        .allow_erase = rq->allow_erase, .n_allow_erase = rq->n_allow_erase,
    };
    struct osm_plan plan;
    int rc = -1;
    if (osm_plan_compute(&sys, &po, &plan, err) == 0) {
        *doc = rq->full_plan ? osm_plan_json(&plan, inst->uri) : osm_assess_json(&plan, inst->uri);
        if (text && !rq->full_plan)
            osm_assess_print(text, &plan, inst->uri);
        rc = osm_plan_inhibited(&plan) ? 1 : 0;
        osm_plan_free(&plan);
    }
    osm_linux_system_close(&sys);
    return rc;
}

/* The default matrix (no extra files) is loaded once per process and shared
 * read-only: the fleet asks for every job, and parsing it each time cost a
 * quarter of a job's create. A change of the matrix files takes effect when
 * the process restarts, like the rest of its configuration. */
static struct osm_matrix default_matrix;
static int default_matrix_rc = -1;
static struct osm_err default_matrix_err = OSM_ERR_INIT;
static pthread_once_t default_matrix_once = PTHREAD_ONCE_INIT;

static void load_default_matrix(void)
{
    default_matrix_rc = osm_matrix_load(&default_matrix, NULL, 0, &default_matrix_err);
}

static int knows_target(const char *target, const char *const *files, size_t n, struct osm_err *err)
{
    if (n == 0) {
        pthread_once(&default_matrix_once, load_default_matrix);
        if (default_matrix_rc != 0) {
            *err = default_matrix_err;
            return -1;
        }
        return osm_matrix_target(&default_matrix, target) != NULL;
    }
    struct osm_matrix m;
    if (osm_matrix_load(&m, files, n, err) != 0)
        return -1;
    int known = osm_matrix_target(&m, target) != NULL;
    osm_matrix_free(&m);
    return known;
}

const struct osm_family osm_family_linux = {
    .name = "linux",
    .detect = detect,
    .inspect = inspect,
    .assess = assess,
    .knows_target = knows_target,
    .migration = &osm_linux_migration,
};
