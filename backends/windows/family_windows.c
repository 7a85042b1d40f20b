/* family_windows.c: Windows Server as an OS family for the table of families
 * (engine/core/family.h): detected, inspected and assessed; not migrated yet
 * (no migration steps: an os-migration task of a Windows root ends at its
 * precheck saying so). */
#include "family_windows.h"

#include "osm_windows.h"

static int inspect(struct osm_instance *inst, json_t **facts, FILE *text, struct osm_err *err)
{
    if (osm_windows_inspect(inst->root, facts, err) != 0)
        return -1;
    if (text)
        osm_windows_print_facts(text, *facts);
    return 0;
}

/* The "plan" of a Windows migration is its report (media and transit disk
 * come at migration). */
static int assess(struct osm_instance *inst, const struct osm_facts *facts, const struct osm_assess_request *rq,
                  json_t **doc, FILE *text, struct osm_err *err)
{
    int r = osm_windows_assess(inst->root, facts, rq->target, doc, err);
    if (r < 0) {
        osm_err_prefix(err, "assessing %s", inst->uri);
        return -1;
    }
    json_object_set_new(*doc, "instance", json_string(inst->uri));
    if (text)
        osm_windows_print_report(text, *doc);
    return r;
}

/* The Windows paths of matrices/windows (extra matrix files are Linux's). */
static int matrix(const char *const *files, size_t n, json_t **paths, FILE *text, struct osm_err *err)
{
    (void)files;
    (void)n;
    if (osm_windows_matrix_paths(paths, err) != 0)
        return -1;
    if (text) {
        fprintf(text, "\nWindows Server:\n");
        osm_windows_print_paths(text, *paths);
    }
    return 0;
}

const struct osm_family osm_family_windows = {
    .name = "windows",
    .detect = osm_windows_is_root,
    .inspect = inspect,
    .assess = assess,
    .matrix = matrix,
    .knows_target = NULL,
    .migration = NULL,
};
