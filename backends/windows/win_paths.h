/* win_paths: the Windows migration matrix (matrices/windows/windows.json:
 * releases, upgrade paths, languages, architectures, limits, regions) and
 * the planner that finds the hops from a source to a target.
 *
 * Releases are short ids ("2008r2", "2012r2", "2016", "2019", "2022"),
 * editions lower-case ("standard", "datacenter", "enterprise"). A target is
 * written RELEASE[-EDITION] ("2019", "2019-datacenter"). The planner does a
 * breadth-first search over the path table, so 2008r2 -> 2019 comes out as
 * the two upgrades 2008r2 -> 2012r2 -> 2019, to be run one after the other. */
#ifndef WIN_PATHS_H
#define WIN_PATHS_H

#include <jansson.h>

#include "osm_error.h"

/* Load the matrix: FILE, or $OSMIG_MATRIX_DIR/windows/windows.json, or the
 * source tree's, or the installed one. Validates its shape. */
json_t *win_matrix_load(const char *file, struct osm_err *err);
/* The release id whose builds include BUILD, or NULL. */
const char *win_release_of_build(const json_t *matrix, long build);
/* The display name of region ID ("China (Hangzhou)"), or NULL when the
 * matrix does not list it. */
const char *win_region_name(const json_t *matrix, const char *id);
/* Release record {"id","name","build",...} or NULL. */
const json_t *win_release(const json_t *matrix, const char *id);
/* "ServerDatacenterEval" -> "datacenter" (into out), *eval = 1. -1 if unknown. */
int win_edition_of_id(const char *edition_id, char out[32], int *eval);
/* Parse "2019-datacenter[-core|-desktop]" into parts ("" when absent). */
int win_parse_target(const char *target, char release[16], char edition[32], char type[16], struct osm_err *err);
/* Hops from (release, edition) to (to_release, to_edition or "" for any):
 * *hops receives a JSON array of {"from":{release,edition},"to":{release,
 * edition},"build":N,"transitional":bool,"method":"setup"|"conversion",
 * "setup":"windows8"|"windows10" (setup hops), "product_key" (the target
 * edition's KMS client setup key, when the matrix has one)}. Returns 0, or 1 when no path
 * exists (then *hops is NULL and `reachable` names what is reachable). */
int win_plan_hops(const json_t *matrix, const char *release, const char *edition, const char *to_release,
                  const char *to_edition, json_t **hops, char **reachable);

#endif
