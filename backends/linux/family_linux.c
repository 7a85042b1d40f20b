/* family_linux.c: the Linux family (rpm systems) for the table of families
 * (engine/core/family.h). */
#include "family_linux.h"

#include <pthread.h>
#include <stdlib.h>

#include "boot_setup.h"
#include "boots.h"
#include "guest_view.h"
#include "matrix.h"
#include "migration_linux.h"
#include "osm_buf.h"
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

/* The Linux family reads a root tree on this host (os-release, the rpmdb,
 * the repo files). An instance reached only through its agent (qemu:) is
 * read through a guest view: those files copied out into a private
 * directory (guest_view.h). *view is what to close after. */
static const char *root_of(struct osm_instance *inst, char **view, struct osm_err *err)
{
    *view = NULL;
    if (inst->root)
        return inst->root;
    *view = osm_guest_view_open(inst, err);
    return *view;
}

static int inspect(struct osm_instance *inst, json_t **facts, FILE *text, struct osm_err *err)
{
    struct osm_linux_system sys;
    char *view;
    const char *root = root_of(inst, &view, err);
    if (!root || osm_linux_system_open(root, osm_cache_dir(), &sys, err) != 0) {
        osm_guest_view_close(view);
        return -1;
    }
    *facts = osm_linux_system_json(&sys);
    if (view) /* the view is gone after this: say how the facts were read instead */
        json_object_set_new(*facts, "root", json_pack("{s:s}", "read_through", "the guest agent (a copy of the "
                                                      "release files, the rpm database and the repository files)"));
    if (text)
        osm_linux_system_print(text, &sys);
    osm_linux_system_close(&sys);
    osm_guest_view_close(view);
    return 0;
}

static int assess(struct osm_instance *inst, const struct osm_facts *facts, const struct osm_assess_request *rq,
                  json_t **doc, FILE *text, struct osm_err *err)
{
    struct osm_linux_system sys;
    char *view;
    const char *root = root_of(inst, &view, err);
    if (!root || osm_linux_system_open(root, osm_cache_dir(), &sys, err) != 0) {
        osm_err_prefix(err, "inspecting %s", inst->uri);
        osm_guest_view_close(view);
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
    /* The boots a migration of this instance would make (boots.h). */
    json_t *boots = NULL;
    if (osm_boots_plan(inst->descriptor, inst->descriptor_path, &boots, err) == 0 &&
        osm_plan_compute(&sys, &po, &plan, err) == 0) {
        struct osm_txn_place bpl = {.root = inst->root, .guest = inst->root ? NULL : inst};
        osm_boot_assess(&plan, &bpl);
        *doc = rq->full_plan ? osm_plan_json(&plan, inst->uri) : osm_assess_json(&plan, inst->uri);
        json_object_set(*doc, "boots", boots);
        if (rq->plan && !rq->full_plan) {
            *rq->plan = osm_plan_json(&plan, inst->uri);
            json_object_set(*rq->plan, "boots", boots);
        }
        if (text && !rq->full_plan)
            osm_assess_print(text, &plan, inst->uri);
        rc = osm_plan_inhibited(&plan) ? 1 : 0;
        osm_plan_free(&plan);
    }
    json_decref(boots);
    osm_linux_system_close(&sys);
    osm_guest_view_close(view);
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

static json_t *strarr(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static char *joined(char **v, size_t n, const char *sep)
{
    struct osm_buf b;
    osm_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        osm_buf_addf(&b, "%s%s", i ? sep : "", v[i]);
    return osm_buf_detach(&b);
}

static json_t *path_json(const struct osm_matrix *m, const struct osm_path *p)
{
    const struct osm_target *t = osm_matrix_target(m, p->to);
    const struct osm_source_os *s = osm_matrix_source(m, p->from_id);
    json_t *o = json_object();
    json_object_set_new(o, "from", json_string(p->from_id));
    json_object_set_new(o, "from_name", json_string(s ? s->name : p->from_id));
    json_object_set_new(o, "versions", strarr(p->versions, p->n_versions));
    json_object_set_new(o, "to", json_string(p->to));
    json_object_set_new(o, "to_name", json_string(t->name));
    json_object_set_new(o, "arches", strarr(p->arches, p->n_arches));
    json_object_set_new(o, "regions", p->n_regions ? strarr(p->regions, p->n_regions) : json_null());
    json_object_set_new(o, "trial_only", json_boolean(p->trial_only));
    json_object_set_new(o, "note", p->note ? json_string(p->note) : json_null());
    return o;
}

static void path_print(FILE *f, const struct osm_matrix *m, const struct osm_path *p)
{
    const struct osm_target *t = osm_matrix_target(m, p->to);
    const struct osm_source_os *s = osm_matrix_source(m, p->from_id);
    char *vers = joined(p->versions, p->n_versions, ",");
    char *arches = joined(p->arches, p->n_arches, ",");
    char *to = osm_xasprintf("%s (%s)", t->name, t->id);
    fprintf(f, "%-26s %-9s %-38s %-16s %s\n", s ? s->name : p->from_id, vers, to, arches,
            p->trial_only ? "trial only" : "");
    free(vers);
    free(arches);
    free(to);
}

static int matrix(const char *const *files, size_t n, json_t **paths, FILE *text, struct osm_err *err)
{
    struct osm_matrix m;
    if (osm_matrix_load(&m, files, n, err) != 0)
        return -1;
    *paths = json_array();
    if (text)
        fprintf(text, "%-26s %-9s %-38s %-16s %s\n", "FROM", "VERSIONS", "TO", "ARCHES", "NOTES");
    for (size_t i = 0; i < m.n_paths; i++) {
        json_array_append_new(*paths, path_json(&m, &m.paths[i]));
        if (text)
            path_print(text, &m, &m.paths[i]);
    }
    osm_matrix_free(&m);
    return 0;
}

const struct osm_family osm_family_linux = {
    .name = "linux",
    .detect = detect,
    .inspect = inspect,
    .assess = assess,
    .matrix = matrix,
    .knows_target = knows_target,
    .migration = &osm_linux_migration,
};
