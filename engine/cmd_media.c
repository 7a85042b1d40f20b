/* cmd_media.c: `osmig media` (being built; see the issue tracker). */
#include <stdio.h>

#include "osm_cli.h"

int cmd_media(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "osmig: 'media' is not available in this build yet\n");
    return OSM_EXIT_ERROR;
}
