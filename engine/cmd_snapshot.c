/* cmd_snapshot.c: `osmig snapshot` (being built; see the issue tracker). */
#include <stdio.h>

#include "osm_cli.h"

int cmd_snapshot(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "osmig: 'snapshot' is not available in this build yet\n");
    return OSM_EXIT_ERROR;
}
