/* cmd_matrix.c */
#include <stdio.h>

#include "osm_cli.h"

int cmd_matrix(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return OSM_EXIT_ERROR;
}
