/* osm_cli: the `osmig` command line. One file per subcommand (cmd_*.c), each
 * exposing `int cmd_NAME(int argc, char **argv)` that returns the process exit
 * status: 0 success, 1 error, 2 usage error, 3 migration inhibited (assess).
 * argv[0] is the subcommand name. */
#ifndef OSM_CLI_H
#define OSM_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "osm_error.h"

#define OSM_EXIT_OK 0
#define OSM_EXIT_ERROR 1
#define OSM_EXIT_USAGE 2
#define OSM_EXIT_INHIBITED 3

int cmd_inspect(int argc, char **argv);
int cmd_assess(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_matrix(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_media(int argc, char **argv);
int cmd_tasks(int argc, char **argv);
int cmd_task(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_network(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_complete(int argc, char **argv);

/* The command table (main.c), in the order `osmig --help` lists it. */
struct osm_cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};
const struct osm_cli_command *osm_cli_commands(size_t *n);
/* `osmig --help`'s text. */
void osm_cli_print_usage(FILE *f);
/* "unknown command", with the most similar commands (cli_help.c); 2. */
int osm_cli_unknown_command(const char *name);

/* Print "osmig: error: MSG" to stderr and return the exit status for it. */
int osm_cli_fail(const struct osm_err *err);
/* Print a usage error and return 2. */
__attribute__((format(printf, 1, 2))) int osm_cli_usage(const char *fmt, ...);

/* The end of a getopt_long loop: for 'h' (--help) `usage` on stdout and
 * OSM_EXIT_OK, for anything else (an unknown option) on stderr and
 * OSM_EXIT_USAGE; the caller returns it. */
int osm_cli_getopt_end(int c, const char *usage);
/* A command made of subcommands (`osmig events import ...`): argv[1] names
 * one of `subs`, which runs with argv from there. None, --help or -h:
 * `usage` (on stderr and OSM_EXIT_USAGE when none); an unknown one: the
 * usage error listing the subcommands. */
struct osm_cli_subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
};
int osm_cli_subcommand(int argc, char **argv, const char *usage, const struct osm_cli_subcommand *subs, size_t n);
/* After getopt_long: 0 when exactly one INSTANCE (argv[optind]) and --to
 * are there, else the usage error saying which is missing. */
int osm_cli_instance_and_target(int argc, const char *target, const char *usage);

/* One argument of a command line, argv[*i]: --help/-h prints `usage` and
 * gives 1 (the caller returns it); --json, --yes/-y (when `yes` is not
 * NULL) and the valued options `names` (osm_cli_option) are taken:
 * OSM_CLI_TAKEN; a valued option without its value gives OSM_EXIT_USAGE;
 * anything else OSM_CLI_NOT_MINE. */
#define OSM_CLI_TAKEN (-1)
#define OSM_CLI_NOT_MINE (-2)
int osm_cli_arg(int argc, char **argv, int *i, const char *usage, int *json, int *yes, const char *const *names,
                const char **const *dst, size_t n);
/* argv[*i] as one of the options `names` that take a value ("--name VALUE"
 * or "--name=VALUE"): the value to *dst[k], *i past it; 1. 0: not one of
 * them. -1: its value is missing (usage error printed). */
int osm_cli_option(int argc, char **argv, int *i, const char *const *names, const char **const *dst, size_t n,
                   const char *usage);

/* The values of a repeatable option (--matrix, --events, --repo), in order;
 * the strings are argv's, only the array is owned. */
struct osm_cli_list {
    const char **v;
    size_t n;
};
void osm_cli_list_push(struct osm_cli_list *l, const char *s);

#endif
