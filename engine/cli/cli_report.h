/* cli_report: the commands' side of the reports that stay (report.h):
 * `assess`, `plan` and `migrate` call these once their run is over. A report
 * that cannot be written is a warning on stderr, never a failed command; a
 * written one is named on stderr (stdout stays the command's output) and,
 * for a task, in its history as a "report" event, which `osmig task show`
 * and GET /v1/tasks/ID both show. */
#ifndef OSM_CLI_REPORT_H
#define OSM_CLI_REPORT_H

#include <jansson.h>

#include "store.h"

/* An assess or plan run: `doc` is the family's document, `actions` the
 * plan's package changes when `doc` has none (NULL: none known). */
void osm_cli_report_assessment(const char *command, const char *instance, const char *target, const json_t *doc,
                               const json_t *actions, int inhibited);
/* A run of task `id` (finished or stopped) by `command` (migrate, retry,
 * rollback, resume): report_task.h; the report's directory goes into the
 * task's history. */
void osm_cli_report_task(struct osm_store *st, const char *id, const char *command);

#endif
