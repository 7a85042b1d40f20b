/* report: the reports an admin looks at afterwards, as Leapp leaves
 * /var/log/leapp/leapp-report.{txt,json}. Every `osmig assess`, `plan` and
 * `migrate` run leaves three files in REPORT_DIR/INSTANCE/RUN/:
 *
 *   osmig-report.json  the findings with their stable ids, severity
 *                      ("inhibitor" | "warning"), summary, remediation, the
 *                      items as the assessment words them and the packages,
 *                      files and facts involved ("related"); the package
 *                      changes; for a migration the task, its steps and log
 *   osmig-report.txt   the same for a person, every item (no truncation)
 *   osmig-report.html  one self-contained page (no external resource):
 *                      inhibitors, then warnings, then the package changes
 *                      as a table with a filter box
 *
 * REPORT_DIR is $OSMIG_REPORT_DIR (set by `--report-dir` and the
 * configuration file), else /var/log/osmig. INSTANCE is a plain name made
 * from the instance's canonical URI and a hash of it; RUN is the UTC time,
 * the command (and a task's id), unique within INSTANCE. The run directory
 * appears whole or not at all (written under a temporary name, renamed),
 * and INSTANCE/latest, a symlink replaced by rename, names the newest run.
 * After each write the instance's older runs are pruned: the newest
 * $OSMIG_REPORT_KEEP runs are kept (report_keep; default 50), and none older
 * than $OSMIG_REPORT_KEEP_DAYS days (report_keep_days; default 0: no
 * age limit), by the time in the run's name; the run `latest` names is
 * never removed, so it never dangles.
 * The renderers are pure: the same report JSON gives the same bytes. */
#ifndef OSM_REPORT_H
#define OSM_REPORT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "osm_error.h"

#define OSM_REPORT_DEFAULT_DIR "/var/log/osmig"
#define OSM_REPORT_DEFAULT_KEEP 50
#define OSM_REPORT_DEFAULT_KEEP_DAYS 0

/* What a report is made of; every pointer is borrowed. */
struct osm_report_input {
    const char *command;        /* "assess", "plan", "migrate" */
    const char *instance;       /* canonical URI */
    const char *target;         /* the target asked for */
    int64_t created;            /* unix time of the run */
    /* An assessment or plan document (backends): source, target,
     * inhibitors, warnings, summary, and with a plan its actions. NULL when
     * the run never got that far (a migration refused before its precheck). */
    const json_t *assessment;
    const json_t *actions;      /* the package changes when `assessment` has none; NULL: none known */
    int inhibited;              /* assess / plan: 1 when an inhibitor stops the migration */
    /* migrate: the task as osm_task_to_json_full gives it (state, error,
     * journal), and the path of its log; NULL otherwise. */
    const json_t *task;
    const char *log_path;
};

/* The report's JSON (osmig-report.json's content; caller decrefs). */
json_t *osm_report_build(const struct osm_report_input *in);
/* osmig-report.txt and osmig-report.html of a report built above. */
void osm_report_print_text(FILE *f, const json_t *report);
void osm_report_print_html(FILE *f, const json_t *report);

/* REPORT_DIR as configured (caller frees). */
char *osm_report_base_dir(void);
/* The plain directory name of an instance under REPORT_DIR (caller frees). */
char *osm_report_instance_name(const char *instance_uri);
/* Write the three files of `report` for its instance under `base`; the run
 * directory's path in *run_dir (caller frees; may be NULL). Nothing is left
 * behind on failure: -1 with err naming the path. */
int osm_report_write(const char *base, const json_t *report, char **run_dir, struct osm_err *err);

#endif
