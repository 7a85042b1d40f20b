/* osm_windows: the Windows backend's entry points for the CLI and the engine.
 *
 * A Windows root is the content of C: on this host (a dir: instance). Every
 * function here only reads the root; none changes it.
 *   osm_windows_is_root   1 when ROOT/Windows/System32/config/SOFTWARE exists
 *                         (case-insensitively), 0 otherwise.
 *   osm_windows_inspect   the facts read from the SOFTWARE and SYSTEM hives and
 *                         the volume, as a JSON object (schema: docs/windows.md).
 *                         Missing or odd registry values become "warnings" in
 *                         the object; only an unreadable hive is an error.
 *   osm_windows_assess    prechecks + upgrade path for TARGET ("2019",
 *                         "2019-datacenter", ...): a JSON report with
 *                         "inhibitors" (stable ids, each with fact, limit and
 *                         remedy), "hops" and "inhibited". Returns 1 when
 *                         inhibited, 0 when not, -1 on error.
 * The other steps (media, transit disk, setup script, following setup) live
 * in win_*.h. */
#ifndef OSM_WINDOWS_H
#define OSM_WINDOWS_H

#include <jansson.h>
#include <stdio.h>

#include "osm_error.h"
#include "provider.h"

int osm_windows_is_root(const char *root);
int osm_windows_inspect(const char *root, json_t **out, struct osm_err *err);
void osm_windows_print_facts(FILE *f, const json_t *facts);
int osm_windows_assess(const char *root, const struct osm_facts *facts, const char *target, json_t **report,
                       struct osm_err *err);
/* Same, from facts already inspected (the engine keeps them in the task). */
int osm_windows_assess_facts(const json_t *winfacts, const struct osm_facts *facts, const char *target,
                             json_t **report, struct osm_err *err);
/* The media of every hop (win_media_plan) added to a report that is not
 * inhibited, as "media" (the chosen image: index, name, EditionID,
 * installation type, language); when no registered medium offers a hop's
 * language, edition or installation type, the inhibitor windows_media.
 * Returns 1 when the report is inhibited, 0 when not. */
int osm_windows_assess_media(json_t *report, const char *state_dir);
void osm_windows_print_report(FILE *f, const json_t *report);
/* The Windows paths of matrices/windows for `osmig matrix`: a JSON array of
 * {"id" (the target `--to` takes: "2019-datacenter"),"from","editions":[],"to","to_edition","transitional","languages":[],
 * "architectures":[]} (release names spelled out), and a table for humans. */
int osm_windows_matrix_paths(json_t **paths, struct osm_err *err);
void osm_windows_print_paths(FILE *f, const json_t *paths);

#endif
