/* family_windows.c: Windows Server as an OS family for the table of families
 * (engine/core/family.h): detected, inspected, assessed (with the media each
 * hop would use), and migrated (migration_windows.h). */
#include "family_windows.h"

#include <string.h>

#include "migration_windows.h"
#include "osm_windows.h"
#include "win_media.h"
#include "win_paths.h"

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
    /* the registered media ($OSMIG_STATE_DIR, else /var/lib/osmig) */
    r = osm_windows_assess_media(*doc, win_media_state_dir(NULL));
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

/* A target is a release some path of the matrix leads to, with an edition
 * it offers when one is given ("2019", "2019-datacenter"). */
static int knows_target(const char *target, const char *const *files, size_t n, struct osm_err *err)
{
    (void)files;
    (void)n;
    char rel[16], ed[32], type[16];
    struct osm_err perr = OSM_ERR_INIT;
    if (win_parse_target(target, rel, ed, type, &perr) != 0)
        return 0;
    json_t *m = win_matrix_load(NULL, err);
    if (!m)
        return -1;
    int known = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(m, "paths"), i, p) {
        const json_t *to = json_object_get(p, "to");
        known |= strcmp(json_string_value(json_object_get(to, "release")), rel) == 0 &&
                 (!ed[0] || strcmp(json_string_value(json_object_get(to, "edition")), ed) == 0);
    }
    json_decref(m);
    return known;
}

const struct osm_family osm_family_windows = {
    .name = "windows",
    .detect = osm_windows_is_root,
    .inspect = inspect,
    .assess = assess,
    .matrix = matrix,
    .knows_target = knows_target,
    .migration = &osm_windows_migration,
};
