/* cmd_media.c: `osmig media`: the catalogue of Windows installation media
 * (add, list, show), the image pick, and building a transit disk. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_cli.h"
#include "osm_fs.h"
#include "win_media.h"
#include "win_transit.h"

static const char usage_text[] =
    "usage: osmig media [--state-dir DIR] add PATH [--id ID] [--replace] [--json]\n"
    "       osmig media [--state-dir DIR] list [--json]\n"
    "       osmig media [--state-dir DIR] show ID [--json]\n"
    "       osmig media [--state-dir DIR] pick ID --edition E --type 'Server'|'Server Core' --language L [--build N]\n"
    "       osmig media [--state-dir DIR] transit ID|DIR OUT [--fat32] [--swm-part-mib N] [--qcow2]\n"
    "PATH: a directory holding sources/install.wim (or install.esd), or the WIM itself.\n"
    "The catalogue is DIR/media.json; DIR: --state-dir, $OSMIG_STATE_DIR, /var/lib/osmig.\n";

struct args {
    const char *state_dir, *id, *edition, *type, *language;
    long build;
    int replace, json, fat32, qcow2;
    long swm_mib;
    const char *pos[3];
    int npos;
};

static int parse(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof *a);
    a->build = -1;
    const struct {
        const char *name;
        const char **val; /* an option with a value */
        int *flag;        /* or a flag */
        long *num;        /* or a positive number */
    } opts[] = {
        {"--state-dir", &a->state_dir, NULL, NULL}, {"--id", &a->id, NULL, NULL},
        {"--edition", &a->edition, NULL, NULL},     {"--type", &a->type, NULL, NULL},
        {"--language", &a->language, NULL, NULL},   {"--build", NULL, NULL, &a->build},
        {"--swm-part-mib", NULL, NULL, &a->swm_mib}, {"--replace", NULL, &a->replace, NULL},
        {"--json", NULL, &a->json, NULL},           {"--fat32", NULL, &a->fat32, NULL},
        {"--qcow2", NULL, &a->qcow2, NULL},
    };
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(usage_text, stdout);
            return 1;
        }
        size_t k = 0;
        while (k < sizeof opts / sizeof *opts && strcmp(s, opts[k].name) != 0)
            k++;
        if (k == sizeof opts / sizeof *opts) {
            if (s[0] == '-' && s[1])
                return osm_cli_usage("media: unknown option '%s'", s);
            if (a->npos >= 3)
                return osm_cli_usage("media: unexpected argument '%s'", s);
            a->pos[a->npos++] = s;
            continue;
        }
        if (opts[k].flag) {
            *opts[k].flag = 1;
            continue;
        }
        if (i + 1 >= argc)
            return osm_cli_usage("%s needs a value", s);
        const char *v = argv[++i];
        if (opts[k].val) {
            *opts[k].val = v;
            continue;
        }
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n <= 0)
            return osm_cli_usage("%s '%s': expected a positive number", s, v);
        *opts[k].num = n;
    }
    return 0;
}

static void print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    puts(s);
    free(s);
}

static const char *js(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "?";
}

static void print_medium(const json_t *m)
{
    printf("id:        %s\nrelease:   %s (build %lld)\nlanguages:", js(m, "id"), js(m, "release"),
           (long long)json_integer_value(json_object_get(m, "build")));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(m, "languages"), i, v) printf(" %s", json_string_value(v));
    printf("\npath:      %s (%s%s)\nwim:       %s (%.2f GiB)\nimages:\n", js(m, "path"), js(m, "kind"),
           json_is_true(json_object_get(m, "has_setup")) ? ", with setup.exe" : "", js(m, "wim"),
           (double)json_integer_value(json_object_get(m, "size_bytes")) / (1 << 30));
    json_array_foreach(json_object_get(m, "images"), i, v) {
        printf("  %2lld  %-22s %-12s %-7s %s%s\n", (long long)json_integer_value(json_object_get(v, "index")),
               js(v, "edition_id"), js(v, "installation_type"), js(v, "language"), js(v, "name"),
               json_is_true(json_object_get(v, "evaluation")) ? " [evaluation]" : "");
    }
}

int cmd_media(int argc, char **argv)
{
    struct args a;
    int pr = parse(argc, argv, &a);
    if (pr == 1)
        return OSM_EXIT_OK;
    if (pr)
        return pr;
    if (a.npos < 1) {
        fputs(usage_text, stderr);
        return OSM_EXIT_USAGE;
    }
    const char *verb = a.pos[0];
    struct osm_err err = OSM_ERR_INIT;
    json_t *j = NULL;
    if (!strcmp(verb, "add")) {
        if (a.npos != 2)
            return osm_cli_usage("media add: expected PATH");
        if (win_media_add(a.state_dir, a.pos[1], a.id, a.replace, &j, &err) != 0)
            return osm_cli_fail(&err);
        if (a.json)
            print_json(j);
        else
            printf("registered media '%s': Windows Server %s, %zu images\n", js(j, "id"), js(j, "release"),
                   json_array_size(json_object_get(j, "images")));
    } else if (!strcmp(verb, "list")) {
        if (a.npos != 1)
            return osm_cli_usage("media list takes no arguments");
        if (win_media_list(a.state_dir, &j, &err) != 0)
            return osm_cli_fail(&err);
        if (a.json) {
            print_json(j);
        } else {
            printf("%-20s %-8s %-7s %-10s %-6s %s\n", "ID", "RELEASE", "BUILD", "LANGUAGES", "IMAGES", "PATH");
            size_t i;
            json_t *m;
            json_array_foreach(j, i, m) {
                printf("%-20s %-8s %-7lld %-10s %-6zu %s\n", js(m, "id"), js(m, "release"),
                       (long long)json_integer_value(json_object_get(m, "build")),
                       json_string_value(json_array_get(json_object_get(m, "languages"), 0))
                           ? json_string_value(json_array_get(json_object_get(m, "languages"), 0))
                           : "?",
                       json_array_size(json_object_get(m, "images")), js(m, "path"));
            }
        }
    } else if (!strcmp(verb, "show")) {
        if (a.npos != 2)
            return osm_cli_usage("media show: expected ID");
        if (win_media_get(a.state_dir, a.pos[1], &j, &err) != 0)
            return osm_cli_fail(&err);
        if (a.json)
            print_json(j);
        else
            print_medium(j);
    } else if (!strcmp(verb, "pick")) {
        if (a.npos != 2 || !a.edition || !a.type || !a.language)
            return osm_cli_usage("media pick: expected ID --edition E --type T --language L");
        if (win_media_get(a.state_dir, a.pos[1], &j, &err) != 0)
            return osm_cli_fail(&err);
        long build = a.build > 0 ? a.build : (long)json_integer_value(json_object_get(j, "build"));
        int index;
        if (win_media_pick(j, a.edition, a.type, a.language, build, &index, &err) != 0) {
            json_decref(j);
            return osm_cli_fail(&err);
        }
        printf("%d\n", index);
    } else if (!strcmp(verb, "transit")) {
        if (a.npos != 3)
            return osm_cli_usage("media transit: expected ID|DIR OUT");
        const char *dir = a.pos[1];
        if (!osm_is_dir(dir)) {
            if (win_media_get(a.state_dir, a.pos[1], &j, &err) != 0)
                return osm_cli_fail(&err);
            dir = js(j, "path");
        }
        struct win_transit_opts o = {
            .media_dir = dir, .out = a.pos[2], .fs = a.fat32 ? WIN_TRANSIT_FAT32 : WIN_TRANSIT_NTFS,
            .format = a.qcow2 ? WIN_TRANSIT_QCOW2 : WIN_TRANSIT_RAW, .swm_part_bytes = (uint64_t)a.swm_mib << 20};
        int r = win_transit_build(&o, &err);
        if (r < 0) {
            json_decref(j);
            return osm_cli_fail(&err);
        }
        printf("%s transit disk '%s'\n", r == 1 ? "already built:" : "built", a.pos[2]);
    } else {
        return osm_cli_usage("media: unknown action '%s' (add, list, show, pick, transit)", verb);
    }
    json_decref(j);
    return OSM_EXIT_OK;
}
