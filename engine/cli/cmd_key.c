/* cmd_key.c: `osmig key create|list|delete|disable|enable|expire|rotate`:
 * the fleet API's access keys (keys.h). create and rotate print the secret
 * once (or write it to a new 0600 file with --output); the store keeps it
 * only sealed. Each change is in the key's audit trail as done by
 * "local:USER". */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api_auth.h"
#include "cli_tasks.h"
#include "osm_time.h"
#include "keys.h"
#include "osm_cli.h"
#include "osm_fs.h"

static const char usage[] =
    "osmig key create --role viewer|operator|admin [--scope PATTERN] [--output FILE] [--json]\n"
    "       osmig key list [--json]\n"
    "       osmig key delete|disable|enable ID\n"
    "       osmig key expire ID TIME|never     (TIME: 2027-01-31T00:00:00Z, or 'now')\n"
    "       osmig key rotate ID [--output FILE] [--json]\n"
    "options: --state-dir DIR, --store LOCATION (a state directory or a postgresql:// URL),\n"
    "         --master-key FILE (default STATE_DIR/master.key, made on the first create),\n"
    "         --output FILE: write key_id= and secret= to FILE, a new file of mode 0600";

/* The subcommands: how many operands each takes. */
static const struct {
    const char *name;
    int operands;
} subs[] = {{"create", 0}, {"list", 0}, {"delete", 1}, {"disable", 1}, {"enable", 1}, {"expire", 2}, {"rotate", 1}};

struct key_args {
    const char *sub, *id, *when, *role, *scope, *state_dir, *store, *master_key, *output;
    int json, operands;
};

/* 0 go on, 1 help printed, 2 usage error printed. */
static int parse(int argc, char **argv, struct key_args *a)
{
    memset(a, 0, sizeof *a);
    const char *opt_names[] = {"--role", "--scope", "--state-dir", "--store", "--master-key", "--output"};
    const char **opt_dst[] = {&a->role, &a->scope, &a->state_dir, &a->store, &a->master_key, &a->output};
    int want = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int f = osm_cli_arg(argc, argv, &i, usage, &a->json, NULL, opt_names, opt_dst,
                            sizeof opt_names / sizeof opt_names[0]);
        if (f == OSM_CLI_TAKEN)
            continue;
        if (f != OSM_CLI_NOT_MINE)
            return f;
        if (arg[0] == '-' && strcmp(arg, "-") != 0)
            return osm_cli_usage("key: unknown option '%s' (usage: %s)", arg, usage);
        if (!a->sub) {
            for (size_t s = 0; s < sizeof subs / sizeof subs[0] && !a->sub; s++)
                if (strcmp(arg, subs[s].name) == 0)
                    a->sub = subs[s].name, want = subs[s].operands;
            if (!a->sub)
                return osm_cli_usage("key: unknown subcommand '%s' (usage: %s)", arg, usage);
        } else if (a->operands < want) {
            *(a->operands++ == 0 ? &a->id : &a->when) = arg;
        } else {
            return osm_cli_usage("key %s: unexpected argument '%s' (usage: %s)", a->sub, arg, usage);
        }
    }
    if (!a->sub)
        return osm_cli_usage("key needs a subcommand: create, list, delete, disable, enable, expire or rotate "
                             "(usage: %s)", usage);
    int create = strcmp(a->sub, "create") == 0;
    if (create && !a->role)
        return osm_cli_usage("key create needs --role viewer, operator or admin");
    if (!create && (a->role || a->scope))
        return osm_cli_usage("key %s: --role and --scope are for key create", a->sub);
    if (a->output && !create && strcmp(a->sub, "rotate") != 0)
        return osm_cli_usage("key %s: --output is for key create and key rotate", a->sub);
    if (a->operands < want)
        return osm_cli_usage("key %s needs a key id%s (usage: %s)", a->sub, want > 1 ? " and a time" : "", usage);
    return 0;
}

static json_t *key_json(const struct osm_key *k)
{
    char t[32], e[32];
    return json_pack("{s:s, s:s, s:o, s:s, s:b, s:o}", "key_id", k->id, "role", k->role ? k->role : "", "scope",
                     k->scope ? json_string(k->scope) : json_null(), "created", osm_time_iso(k->created, t),
                     "disabled", k->disabled, "expires",
                     k->expires > 0 ? json_string(osm_time_iso(k->expires, e)) : json_null());
}

static json_t *key_item(const void *keys, size_t i)
{
    return key_json((const struct osm_key *)keys + i);
}

/* The credentials (the CLI client's file format) to a new file of mode
 * 0600, or to stdout. A file that exists is not overwritten. */
static int put_secret(const struct key_args *a, const char *id, const char *secret, struct osm_err *err)
{
    if (!a->output) {
        printf("key_id=%s\nsecret=%s\n", id, secret);
        return 0;
    }
    int fd = open(a->output, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return osm_err_errno(err, "--output %s%s", a->output, errno == EEXIST ? " (it exists; not overwritten)" : "");
    char *text = osm_xasprintf("key_id=%s\nsecret=%s\n", id, secret);
    size_t len = strlen(text);
    /* The mode asked for, whatever the umask left. */
    int rc = fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
    if (rc != 0)
        osm_err_errno(err, "--output %s", a->output);
    OPENSSL_cleanse(text, len);
    free(text);
    close(fd);
    if (rc != 0)
        unlink(a->output);
    return rc;
}

/* After create or rotate: the secret where it goes, the key as JSON or a
 * note. */
static int show_new_secret(const struct key_args *a, const char *id, const char *role, const char *scope,
                           char *secret, const char *what)
{
    struct osm_err err = OSM_ERR_INIT;
    int rc = OSM_EXIT_OK;
    if (a->json && !a->output) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "key_id", id, "secret", secret, "role", role, "scope",
                              scope ? json_string(scope) : json_null());
        osm_cli_print_json(o);
        json_decref(o);
    } else if (put_secret(a, id, secret, &err) != 0) {
        rc = osm_cli_fail(&err);
    } else if (a->json) {
        json_t *o = json_pack("{s:s, s:s, s:o, s:s}", "key_id", id, "role", role, "scope",
                              scope ? json_string(scope) : json_null(), "output", a->output);
        osm_cli_print_json(o);
        json_decref(o);
    }
    if (rc == OSM_EXIT_OK)
        fprintf(stderr, "osmig: %s %s key %s%s%s; its secret is %s\n", what, role, id,
                scope ? " for instances matching " : "", scope ? scope : "",
                a->output ? "in the new file (mode 0600) given by --output" : "shown only this once");
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    return rc;
}

/* --output names a file that exists: said and refused (the exit status)
 * before the key changes, so that no key has a secret nobody holds. */
static int output_taken(const struct key_args *a)
{
    if (!a->output || access(a->output, F_OK) != 0)
        return 0;
    struct osm_err err = OSM_ERR_INIT;
    osm_err_set(&err, OSM_EUSAGE, "--output %s exists; it is not overwritten (a secret goes to a new file)", a->output);
    return osm_cli_fail(&err);
}

static int create(struct osm_store *st, const char *mk, const struct key_args *a)
{
    struct osm_err err = OSM_ERR_INIT;
    char id[64];
    char *secret;
    int taken = output_taken(a);
    if (taken)
        return taken;
    if (osm_key_create(st, mk, a->role, a->scope, id, &secret, &err) != 0)
        return osm_cli_fail(&err);
    osm_store_audit_add(st, id, "created", osm_cli_actor(), a->role, &err);
    return show_new_secret(a, id, a->role, a->scope, secret, "created");
}

static int rotate(struct osm_store *st, const char *mk, const struct key_args *a)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_key k;
    if (osm_store_get_key(st, a->id, &k, &err) != 0)
        return osm_cli_fail(&err);
    char *secret;
    int taken = output_taken(a);
    if (taken || osm_key_rotate(st, mk, a->id, &secret, &err) != 0) {
        osm_key_free(&k);
        return taken ? taken : osm_cli_fail(&err);
    }
    osm_store_audit_add(st, a->id, "rotated", osm_cli_actor(), NULL, &err);
    int rc = show_new_secret(a, k.id, k.role, k.scope, secret, "rotated");
    osm_key_free(&k);
    return rc;
}

static int list(struct osm_store *st, const struct key_args *a)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_key *keys;
    size_t n;
    if (osm_store_list_keys(st, &keys, &n, &err) != 0)
        return osm_cli_fail(&err);
    int64_t now = osm_store_now();
    if (a->json) {
        osm_cli_print_list("keys", keys, n, key_item);
    } else if (n == 0) {
        printf("no keys in %s\n", st->location);
    } else {
        printf("%-23s %-8s %-20s %-8s %-20s %s\n", "ID", "ROLE", "CREATED", "STATE", "EXPIRES", "SCOPE");
        for (size_t i = 0; i < n; i++) {
            char t[32], e[32];
            const struct osm_key *k = &keys[i];
            const char *state = k->disabled ? "disabled" : k->expires > 0 && now >= k->expires ? "expired" : "enabled";
            printf("%-23s %-8s %-20s %-8s %-20s %s\n", k->id, k->role ? k->role : "-", osm_time_iso(k->created, t),
                   state, k->expires > 0 ? osm_time_iso(k->expires, e) : "never", k->scope ? k->scope : "*");
        }
    }
    osm_key_list_free(keys, n);
    return OSM_EXIT_OK;
}

/* "2027-01-31T00:00:00Z", "now" or "never" (0). */
static int parse_when(const char *s, int64_t *out)
{
    if (strcmp(s, "never") == 0) {
        *out = 0;
        return 0;
    }
    if (strcmp(s, "now") == 0) {
        *out = osm_store_now();
        return 0;
    }
    return osm_time_parse(s, out);
}

/* delete, disable, enable, expire. */
static int change(struct osm_store *st, const struct key_args *a)
{
    struct osm_err err = OSM_ERR_INIT;
    int64_t when = -1;
    if (a->when && parse_when(a->when, &when) != 0)
        return osm_cli_usage("key expire: '%s' is not a time like 2027-01-31T00:00:00Z, 'now' or 'never'", a->when);
    const char *sub = a->sub;
    int rc = strcmp(sub, "delete") == 0 ? osm_store_delete_key(st, a->id, &err)
             : strcmp(sub, "expire") == 0 ? osm_key_set_state(st, a->id, -1, when, &err)
                                          : osm_key_set_state(st, a->id, strcmp(sub, "disable") == 0, -1, &err);
    if (rc != 0)
        return osm_cli_fail(&err);
    char t[32];
    const char *detail = when > 0 ? osm_time_iso(when, t) : when == 0 ? "never" : NULL;
    const char *action = strcmp(sub, "delete") == 0 ? "deleted" : strcmp(sub, "expire") == 0 ? "expires"
                         : strcmp(sub, "disable") == 0 ? "disabled" : "enabled";
    osm_store_audit_add(st, a->id, action, osm_cli_actor(), detail, &err);
    if (strcmp(sub, "expire") == 0)
        printf("key %s expires %s\n", a->id, detail);
    else
        printf("%s key %s\n", action, a->id);
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
        /* Nothing but create makes a store where there is none. */
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
    if (strcmp(a.sub, "create") == 0)
        rc = create(st, mk, &a);
    else if (strcmp(a.sub, "rotate") == 0)
        rc = rotate(st, mk, &a);
    else if (strcmp(a.sub, "list") == 0)
        rc = list(st, &a);
    else
        rc = change(st, &a);
    osm_store_close(st);
    free(dir);
    free(mk);
    return rc;
}
