/* cli_config.c: the configuration file for the commands (cli_config.h). */
#include "cli_config.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "osm_fs.h"

/* One per process, kept until exit: the lists hand out its strings. */
static struct osm_config config;
static char **site_matrices;
static size_t n_site_matrices;

int osm_cli_config_init(const char *command, struct osm_err *err)
{
    int explicit_path;
    const char *path = osm_config_path(&explicit_path);
    if (osm_config_load(path, explicit_path, &config, err) != 0) {
        if (strcmp(command, "help") == 0 || strcmp(command, "version") == 0 || strcmp(command, "__complete") == 0)
            return 0;
        return -1;
    }
    osm_config_apply_env(&config);
    return 0;
}

const struct osm_config *osm_cli_config(void)
{
    return &config;
}

void osm_cli_config_repos(struct osm_cli_list *repos)
{
    if (repos->n)
        return;
    for (size_t i = 0; i < config.n_repos; i++)
        osm_cli_list_push(repos, config.repos[i]);
}

int osm_cli_config_matrices(struct osm_cli_list *matrix, struct osm_err *err)
{
    if (!site_matrices) {
        char *dir = NULL;
        if (config.matrix_dir) {
            dir = osm_xstrdup(config.matrix_dir);
        } else {
            const char *path = osm_config_path(NULL);
            if (!path)
                return 0;
            char *d = osm_xstrdup(path);
            dir = osm_path_join(dirname(d), "matrices.d");
            free(d);
        }
        char **names = NULL;
        size_t n = 0;
        if (osm_is_dir(dir) && osm_dir_names(dir, ".json", &names, &n, err) != 0) {
            osm_err_prefix(err, "site matrices (matrix_dir of %s)", config.path ? config.path : "the configuration");
            free(dir);
            return -1;
        }
        site_matrices = osm_xcalloc(n + 1, sizeof *site_matrices);
        for (size_t i = 0; i < n; i++)
            site_matrices[n_site_matrices++] = osm_path_join(dir, names[i]);
        osm_free_strv(names, n);
        free(dir);
    }
    for (size_t i = 0; i < n_site_matrices; i++)
        osm_cli_list_push(matrix, site_matrices[i]);
    return 0;
}

int osm_cli_config_sources(struct osm_cli_list *repos, struct osm_cli_list *matrix)
{
    struct osm_err err = OSM_ERR_INIT;
    osm_cli_config_repos(repos);
    return osm_cli_config_matrices(matrix, &err) != 0 ? osm_cli_fail(&err) : 0;
}
