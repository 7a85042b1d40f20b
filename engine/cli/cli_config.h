/* cli_config: the configuration file (engine/lib/osm_config.h) for the
 * commands. main() loads it once, before a command runs, and the
 * environment gets what it sets (the command line still wins); assess,
 * plan, migrate and matrix take its local mirrors and site matrices. */
#ifndef OSM_CLI_CONFIG_H
#define OSM_CLI_CONFIG_H

#include "osm_cli.h"
#include "osm_config.h"

/* Load the file for `command`: an error in it fails every command but
 * help, version and the completions (so that one can still read how to fix
 * it). */
int osm_cli_config_init(const char *command, struct osm_err *err);
/* The file's settings (all NULL when there is no file). */
const struct osm_config *osm_cli_config(void);
/* Its repos appended to `repos`, unless the command line named one. */
void osm_cli_config_repos(struct osm_cli_list *repos);
/* The site matrices (matrix_dir's *.json, sorted) appended to `matrix`;
 * -1 with err naming the directory when it cannot be read. */
int osm_cli_config_matrices(struct osm_cli_list *matrix, struct osm_err *err);
/* Both, for the commands that read packages (assess, plan, migrate): 0, or
 * the error printed and its exit status. */
int osm_cli_config_sources(struct osm_cli_list *repos, struct osm_cli_list *matrix);

#endif
