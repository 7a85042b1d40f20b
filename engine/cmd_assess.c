/* cmd_assess.c */
#include <stdio.h>

#include "osm_cli.h"

int cmd_assess(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return OSM_EXIT_ERROR;
}
int cmd_plan(int argc, char **argv) { return cmd_assess(argc, argv); }
