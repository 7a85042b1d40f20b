/* cmd_inspect.c */
#include <stdio.h>

#include "osm_cli.h"

int cmd_inspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return OSM_EXIT_ERROR;
}
