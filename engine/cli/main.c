/* main.c: `osmig` entry point: global options, then dispatch to cmd_*.c. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_config.h"
#include "families.h"
#include "os_migration.h"
#include "osm_buf.h"
#include "osm_cli.h"
#include "osm_log.h"

static const struct osm_cli_command commands[] = {
    {"inspect", cmd_inspect, "show what osmig sees on an instance (OS, architecture, packages, repositories)"},
    {"assess", cmd_assess, "check whether an instance can migrate to a target; exit 3 when inhibited"},
    {"migrate", cmd_migrate, "migrate an instance to a target: snapshot, stage, upgrade, verify; roll back on failure"},
    {"plan", cmd_plan, "compute the full migration transaction and write it as JSON"},
    {"matrix", cmd_matrix, "list the supported migration paths"},
    {"snapshot", cmd_snapshot, "create, list, verify, restore and delete snapshot sets of an instance"},
    {"media", cmd_media, "register and list Windows installation media"},
    {"tasks", cmd_tasks, "list every task, newest first"},
    {"task", cmd_task, "show a task: state, phase, progress, snapshot set, history, cause"},
    {"cancel", cmd_cancel, "cancel a task that has not changed its instance yet"},
    {"retry", cmd_retry, "run a failed, rolled back, cancelled or expired task again"},
    {"rollback", cmd_rollback, "restore a succeeded task's instance, or run a failed rollback again"},
    {"resume", cmd_resume, "continue every task an engine left unfinished"},
    {"serve", cmd_serve, "serve the fleet API and run the tasks of its jobs (docs/api.md)"},
    {"network", cmd_network, "verify a network migration plan (classic network to a VPC) and plan its vSwitches"},
    {"events", cmd_events, "import scheduled host-maintenance events as tasks; reschedule them before their latest time"},
    {"key", cmd_key, "create, list, disable, expire, rotate and delete the fleet API's access keys"},
    {"jobs", cmd_jobs, "create, list, show, pause, resume and cancel fleet jobs"},
    {"help", cmd_help, "describe a command: osmig help COMMAND"},
    {"version", cmd_version, "print osmig's version"},
};

const struct osm_cli_command *osm_cli_commands(size_t *n)
{
    *n = sizeof commands / sizeof commands[0];
    return commands;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: osmig [--verbose] [--state-dir DIR] [--no-auto-resume] [--report-dir DIR]\n"
               "             [--config FILE] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'osmig help COMMAND' (or 'osmig COMMAND --help') describes a command.\n");
}

void osm_cli_print_usage(FILE *f)
{
    usage(f);
}

int osm_cli_fail(const struct osm_err *err)
{
    fprintf(stderr, "osmig: error: %s\n", err->msg[0] ? err->msg : "unknown error");
    return osm_err_exit_status(err);
}

int osm_cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("osmig: usage error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return OSM_EXIT_USAGE;
}

int osm_cli_getopt_end(int c, const char *usage)
{
    fputs(usage, c == 'h' ? stdout : stderr);
    return c == 'h' ? OSM_EXIT_OK : OSM_EXIT_USAGE;
}

int osm_cli_subcommand(int argc, char **argv, const char *usage, const struct osm_cli_subcommand *subs, size_t n)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? OSM_EXIT_USAGE : OSM_EXIT_OK;
    }
    struct osm_buf names;
    osm_buf_init(&names);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], subs[i].name) == 0) {
            osm_buf_free(&names);
            return subs[i].fn(argc - 1, argv + 1);
        }
        osm_buf_addf(&names, "%s%s", i ? ", " : "", subs[i].name);
    }
    int rc = osm_cli_usage("%s: unknown subcommand '%s' (%s)", argv[0], argv[1], names.s);
    osm_buf_free(&names);
    return rc;
}

int osm_cli_instance_and_target(int argc, const char *target, const char *usage)
{
    if (optind + 1 == argc && target)
        return 0;
    fputs(usage, stderr);
    return osm_cli_usage(!target ? "--to TARGET is required" : "exactly one INSTANCE is required");
}

int osm_cli_arg(int argc, char **argv, int *i, const char *usage, int *json, int *yes, const char *const *names,
                const char **const *dst, size_t n)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        printf("usage: %s\n", usage);
        return 1;
    }
    if (strcmp(arg, "--json") == 0)
        return *json = 1, OSM_CLI_TAKEN;
    if (yes && (strcmp(arg, "--yes") == 0 || strcmp(arg, "-y") == 0))
        return *yes = 1, OSM_CLI_TAKEN;
    int m = osm_cli_option(argc, argv, i, names, dst, n, usage);
    return m < 0 ? OSM_EXIT_USAGE : m ? OSM_CLI_TAKEN : OSM_CLI_NOT_MINE;
}

int osm_cli_option(int argc, char **argv, int *i, const char *const *names, const char **const *dst, size_t n,
                   const char *usage)
{
    const char *arg = argv[*i];
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(names[k]);
        if (strcmp(arg, names[k]) == 0) {
            if (++*i >= argc) {
                osm_cli_usage("%s needs a value (usage: %s)", names[k], usage);
                return -1;
            }
            *dst[k] = argv[*i];
            return 1;
        }
        if (strncmp(arg, names[k], len) == 0 && arg[len] == '=') {
            *dst[k] = arg + len + 1;
            return 1;
        }
    }
    return 0;
}

void osm_cli_list_push(struct osm_cli_list *l, const char *s)
{
    l->v = osm_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = s;
}

int main(int argc, char **argv)
{
    osm_log_init_from_env();
    /* Every command that may run a task (migrate, resume, retry, rollback,
     * serve, the background resumer) runs os-migrations of these families. */
    struct osm_err reg = OSM_ERR_INIT;
    if (osm_os_migration_use(osm_families, &reg) != 0)
        return osm_cli_fail(&reg);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            osm_log_set_level(OSM_LOG_INFO);
        } else if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc) {
            /* Global form of every task command's --state-dir. */
            setenv("OSMIG_STATE_DIR", argv[++i], 1);
        } else if (strncmp(argv[i], "--state-dir=", 12) == 0) {
            setenv("OSMIG_STATE_DIR", argv[i] + 12, 1);
        } else if (strcmp(argv[i], "--no-auto-resume") == 0) {
            /* Global form of OSMIG_NO_AUTO_RESUME=1 (cli_tasks.h). */
            setenv("OSMIG_NO_AUTO_RESUME", "1", 1);
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            setenv("OSMIG_CONFIG", argv[++i], 1); /* instead of /etc/osmig/osmig.conf */
        } else if (strcmp(argv[i], "--report-dir") == 0 && i + 1 < argc) {
            setenv("OSMIG_REPORT_DIR", argv[++i], 1); /* where assess, plan and migrate leave reports */
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            return cmd_version(1, argv + i);
        } else {
            usage(stderr);
            return osm_cli_usage("unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc) {
        usage(stderr);
        return OSM_EXIT_USAGE;
    }
    if (osm_cli_config_init(argv[i], &reg) != 0)
        return osm_cli_fail(&reg);
    if (strcmp(argv[i], "__complete") == 0) /* for the shell completions; not listed */
        return cmd_complete(argc - i, argv + i);
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (strcmp(argv[i], commands[c].name) == 0)
            return commands[c].fn(argc - i, argv + i);
    return osm_cli_unknown_command(argv[i]);
}
