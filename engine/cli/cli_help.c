/* cli_help.c: `osmig help [COMMAND]`, `osmig version`, and what a mistyped
 * command gets: the commands within a small edit distance ("did you mean"),
 * as git does. A command's help is its own --help text, so that help, the
 * man page (scripts/gen-manpage.py reads the same text) and the completions
 * (cmd_complete.c) never disagree with the command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_cli.h"

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and transpositions of neighbours ("asess", "assses", "tsak") cost 1. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64)
        return 64;
    size_t d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[n][m];
}

int osm_cli_unknown_command(const char *name)
{
    size_t n;
    const struct osm_cli_command *cmds = osm_cli_commands(&n);
    /* Close enough: at most 2 edits, and fewer than half the word (so "ls"
     * is not "key"); a command the word begins is close too ("snap"). */
    size_t best = 3, len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(name, cmds[i].name);
        if (len >= 3 && strncmp(cmds[i].name, name, len) == 0)
            d = 1;
        if (d < best && d * 2 < (len > strlen(cmds[i].name) ? len : strlen(cmds[i].name)))
            best = d;
    }
    fprintf(stderr, "osmig: '%s' is not an osmig command. See 'osmig --help'.\n", name);
    if (best <= 2) {
        size_t shown = 0;
        for (size_t i = 0; i < n; i++) {
            size_t d = edit_distance(name, cmds[i].name);
            if (len >= 3 && strncmp(cmds[i].name, name, len) == 0)
                d = 1;
            if (d == best)
                fprintf(stderr, "%s\t%s\n", shown++ ? "" : "\nThe most similar command is\n", cmds[i].name);
        }
    }
    return OSM_EXIT_USAGE;
}

int cmd_help(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        osm_cli_print_usage(stdout);
        return OSM_EXIT_OK;
    }
    if (argc > 2)
        return osm_cli_usage("help takes one COMMAND (usage: osmig help COMMAND)");
    size_t n;
    const struct osm_cli_command *cmds = osm_cli_commands(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        if (cmds[i].fn == cmd_help) {
            osm_cli_print_usage(stdout);
            return OSM_EXIT_OK;
        }
        char *args[] = {argv[1], "--help", NULL};
        return cmds[i].fn(2, args);
    }
    return osm_cli_unknown_command(argv[1]);
}

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: osmig version\n  Print osmig's version (also: osmig --version).\n");
        return OSM_EXIT_OK;
    }
    (void)argv;
    printf("osmig %s\n", OSMIG_VERSION);
    return OSM_EXIT_OK;
}
