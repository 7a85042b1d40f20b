/* cmd_key.c: `osmig key create|list|delete`: the fleet API's access keys
 * (keys.h). create prints the secret once; the store keeps it only sealed. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_auth.h"
#include "cli_tasks.h"
#include "osm_time.h"
#include "keys.h"
#include "osm_cli.h"
#include "osm_fs.h"

static const char usage[] =
    "osmig key create --role viewer|operator|admin [--scope PATTERN] [--json]\n"
    "       osmig key list [--json]\n"
    "       osmig key delete ID\n"
    "options: --state-dir DIR, --store LOCATION (a state directory or a postgresql:// URL),\n"
    "         --master-key FILE (default STATE_DIR/master.key, made on the first create)";

struct key_args {
    const char *sub, *id, *role, *scope, *state_dir, *store, *master_key;
    int json;
};

/* 0 go on, 1 help printed, 2 usage error printed. */
static int parse(int argc, char **argv, struct key_args *a)
{
    memset(a, 0, sizeof *a);
    struct {
        const char *name;
        const char **dst;
    } valued[] = {{"--role", &a->role},          {"--scope", &a->scope}, {"--state-dir", &a->state_dir},
                  {"--store", &a->store},        {"--master-key", &a->master_key}};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            printf("usage: %s\n", usage);
            return 1;
        }
        if (strcmp(arg, "--json") == 0) {
            a->json = 1;
            continue;
        }
        int matched = 0;
        for (size_t v = 0; v < sizeof valued / sizeof valued[0] && !matched; v++) {
            size_t n = strlen(valued[v].name);
            if (strcmp(arg, valued[v].name) == 0) {
                if (++i >= argc)
                    return osm_cli_usage("key: %s needs a value (usage: %s)", arg, usage);
                *valued[v].dst = argv[i];
                matched = 1;
            } else if (strncmp(arg, valued[v].name, n) == 0 && arg[n] == '=') {
                *valued[v].dst = arg + n + 1;
                matched = 1;
            }
        }
        if (matched)
            continue;
        if (arg[0] == '-')
            return osm_cli_usage("key: unknown option '%s' (usage: %s)", arg, usage);
        if (!a->sub)
            a->sub = arg;
        else if (!a->id && strcmp(a->sub, "delete") == 0)
            a->id = arg;
        else
            return osm_cli_usage("key %s: unexpected argument '%s' (usage: %s)", a->sub, arg, usage);
    }
    if (!a->sub)
        return osm_cli_usage("key needs a subcommand: create, list or delete (usage: %s)", usage);
    int create = strcmp(a->sub, "create") == 0, del = strcmp(a->sub, "delete") == 0;
    if (!create && !del && strcmp(a->sub, "list") != 0)
        return osm_cli_usage("key: unknown subcommand '%s' (usage: %s)", a->sub, usage);
    if (create && !a->role)
        return osm_cli_usage("key create needs --role viewer, operator or admin");
    if (!create && (a->role || a->scope))
        return osm_cli_usage("key %s: --role and --scope are for key create", a->sub);
    if (del && !a->id)
        return osm_cli_usage("key delete needs a key id");
    return 0;
}

static json_t *key_json(const struct osm_key *k)
{
    char t[32];
    return json_pack("{s:s, s:s, s:o, s:s, s:b}", "key_id", k->id, "role", k->role ? k->role : "", "scope",
                     k->scope ? json_string(k->scope) : json_null(), "created", osm_time_iso(k->created, t),
                     "disabled", k->disabled);
}

static int create(struct osm_store *st, const char *mk, const struct key_args *a)
{
    struct osm_err err = OSM_ERR_INIT;
    char id[64];
    char *secret;
    if (osm_key_create(st, mk, a->role, a->scope, id, &secret, &err) != 0)
        return osm_cli_fail(&err);
    if (a->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "key_id", id, "secret", secret, "role", a->role, "scope",
                              a->scope ? json_string(a->scope) : json_null());
        osm_cli_print_json(o);
        json_decref(o);
    } else {
        /* The credentials file format of the CLI client: redirect it there. */
        printf("key_id=%s\nsecret=%s\n", id, secret);
    }
    fprintf(stderr, "osmig: created %s key %s%s%s; its secret is shown only this once\n", a->role, id,
            a->scope ? " for instances matching " : "", a->scope ? a->scope : "");
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    return OSM_EXIT_OK;
}

static int list(struct osm_store *st, const struct key_args *a)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_key *keys;
    size_t n;
    if (osm_store_list_keys(st, &keys, &n, &err) != 0)
        return osm_cli_fail(&err);
    if (a->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, key_json(&keys[i]));
        json_t *o = json_pack("{s:o}", "keys", arr);
        osm_cli_print_json(o);
        json_decref(o);
    } else if (n == 0) {
        printf("no keys in %s\n", st->location);
    } else {
        printf("%-23s %-8s %-20s %-8s %s\n", "ID", "ROLE", "CREATED", "STATE", "SCOPE");
        for (size_t i = 0; i < n; i++) {
            char t[32];
            printf("%-23s %-8s %-20s %-8s %s\n", keys[i].id, keys[i].role ? keys[i].role : "-",
                   osm_time_iso(keys[i].created, t), keys[i].disabled ? "disabled" : "enabled",
                   keys[i].scope ? keys[i].scope : "*");
        }
    }
    osm_key_list_free(keys, n);
    return OSM_EXIT_OK;
}

int cmd_key(int argc, char **argv)
{
    struct key_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc == 1 ? OSM_EXIT_OK : rc;
    struct osm_err err = OSM_ERR_INIT;
    /* A --store that is a directory is also where the master key lives. */
    int store_is_url = a.store && strstr(a.store, "://");
    const char *state_dir = a.state_dir ? a.state_dir : (a.store && !store_is_url ? a.store : NULL);
    char *dir = osm_store_state_dir(state_dir);
    char *mk = osm_master_key_path(dir, a.master_key);
    const char *location = a.store ? a.store : dir;
    if (strcmp(a.sub, "create") != 0 && !store_is_url) {
        /* Listing or deleting creates no store where there is none. */
        char *db = osm_path_join(location, "state.db");
        int exists = osm_is_file(db);
        free(db);
        if (!exists) {
            if (strcmp(a.sub, "list") == 0) {
                if (a.json)
                    puts("{\n  \"keys\": []\n}");
                else
                    printf("no keys: no store in %s\n", location);
                rc = OSM_EXIT_OK;
            } else {
                osm_err_set(&err, OSM_ENOTFOUND, "no key '%s': no store in %s", a.id, location);
                rc = osm_cli_fail(&err);
            }
            free(dir);
            free(mk);
            return rc;
        }
    }
    struct osm_store *st;
    if (osm_store_open_location(location, &st, &err) != 0) {
        free(dir);
        free(mk);
        return osm_cli_fail(&err);
    }
    if (strcmp(a.sub, "create") == 0) {
        rc = create(st, mk, &a);
    } else if (strcmp(a.sub, "list") == 0) {
        rc = list(st, &a);
    } else if (osm_store_delete_key(st, a.id, &err) != 0) {
        rc = osm_cli_fail(&err);
    } else {
        printf("deleted key %s\n", a.id);
        rc = OSM_EXIT_OK;
    }
    osm_store_close(st);
    free(dir);
    free(mk);
    return rc;
}
