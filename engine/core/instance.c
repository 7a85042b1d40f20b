/* instance.c: URI -> provider, and facts with descriptor overrides. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "osm_buf.h"
#include "providers/provider.h"

static const struct osm_provider *const providers[] = {
    &osm_provider_dir,
    &osm_provider_qemu,
};

const struct osm_provider *osm_provider_at(size_t i)
{
    return i < sizeof providers / sizeof providers[0] ? providers[i] : NULL;
}

char *osm_provider_schemes(void)
{
    struct osm_buf b;
    osm_buf_init(&b);
    for (size_t i = 0; osm_provider_at(i); i++)
        osm_buf_addf(&b, "%s%s", i ? ", " : "", osm_provider_at(i)->scheme);
    return osm_buf_detach(&b);
}

int osm_instance_open(const char *uri, struct osm_instance **out, struct osm_err *err)
{
    *out = NULL;
    const char *colon = strchr(uri, ':');
    if (!colon)
        return osm_err_set(err, OSM_EUSAGE, "instance '%s': expected SCHEME:LOCATION, e.g. dir:/srv/roots/web01", uri);
    size_t n = (size_t)(colon - uri);
    const struct osm_provider *prov = NULL;
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
        if (strlen(providers[i]->scheme) == n && strncmp(providers[i]->scheme, uri, n) == 0)
            prov = providers[i];
    if (!prov) {
        char *known = osm_provider_schemes();
        osm_err_set(err, OSM_EUSAGE, "instance '%s': unknown provider '%.*s' (known: %s)", uri, (int)n, uri, known);
        free(known);
        return -1;
    }
    struct osm_instance *inst = osm_xcalloc(1, sizeof *inst);
    inst->uri = osm_xstrdup(uri);
    inst->provider = prov;
    if (prov->open(inst, colon + 1, err) != 0) {
        osm_instance_close(inst);
        return -1;
    }
    *out = inst;
    return 0;
}

int osm_instance_canonical_uri(const char *uri, char **out, struct osm_err *err)
{
    struct osm_instance *inst = NULL;
    *out = NULL;
    if (osm_instance_open(uri, &inst, err) != 0)
        return -1;
    *out = osm_xstrdup(inst->uri);
    osm_instance_close(inst);
    return 0;
}

size_t osm_instance_names(const struct osm_instance *inst, char ***out)
{
    size_t n = inst->n_disks + (inst->descriptor_path ? 1 : 0), k = 0;
    char **v = osm_xcalloc(n + 1, sizeof *v);
    if (inst->descriptor_path)
        v[k++] = osm_xasprintf("%s:%s", inst->provider->scheme, inst->descriptor_path);
    for (size_t i = 0; i < inst->n_disks; i++)
        v[k++] = osm_xasprintf("%s:%s", inst->provider->scheme, inst->disks[i].path);
    *out = v;
    return k;
}

void osm_instance_names_free(char **names, size_t n)
{
    osm_free_strv(names, n);
}

void osm_instance_close(struct osm_instance *inst)
{
    if (!inst)
        return;
    if (inst->provider && inst->provider->close)
        inst->provider->close(inst);
    for (size_t i = 0; i < inst->n_disks; i++) {
        free(inst->disks[i].id);
        free(inst->disks[i].path);
    }
    free(inst->disks);
    json_decref((json_t *)inst->descriptor);
    osm_free_all(inst->descriptor_path, inst->root, inst->name, inst->uri, inst);
}

static int parse_time(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    struct tm tm = {0};
    const char *end = strptime(json_string_value(v), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || (*end && strcmp(end, "Z") != 0))
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

int osm_instance_facts(struct osm_instance *inst, struct osm_facts *out, struct osm_err *err)
{
    memset(out, 0, sizeof *out);
    out->vcpus = -1;
    out->memory_bytes = -1;
    out->system_disk_free_bytes = -1;
    out->system_disk_size_bytes = -1;
    if (!inst->provider->facts)
        return osm_err_set(err, OSM_EUNSUPPORTED, "instance %s: provider gives no facts", inst->uri);
    if (inst->provider->facts(inst, out, err) != 0)
        return -1;
    json_t *f = inst->descriptor ? json_object_get((json_t *)inst->descriptor, "facts") : NULL;
    if (!f)
        return 0;
    const char *key;
    json_t *v;
    json_object_foreach(f, key, v)
    {
        int bad = 0;
        if (strcmp(key, "vcpus") == 0 && json_is_integer(v))
            out->vcpus = (int)json_integer_value(v);
        else if (strcmp(key, "memory_mib") == 0 && json_is_integer(v))
            out->memory_bytes = json_integer_value(v) * 1048576;
        else if (strcmp(key, "system_disk_free_mib") == 0 && json_is_integer(v))
            out->system_disk_free_bytes = json_integer_value(v) * 1048576;
        else if (strcmp(key, "system_disk_size_mib") == 0 && json_is_integer(v))
            out->system_disk_size_bytes = json_integer_value(v) * 1048576;
        else if (strcmp(key, "region") == 0 && json_is_string(v))
            snprintf(out->region, sizeof out->region, "%s", json_string_value(v));
        else if (strcmp(key, "zone") == 0 && json_is_string(v))
            snprintf(out->zone, sizeof out->zone, "%s", json_string_value(v));
        else if (strcmp(key, "authorized") == 0 && json_is_boolean(v))
            out->authorized = json_is_true(v);
        else if (strcmp(key, "heartbeat") == 0)
            bad = parse_time(v, &out->heartbeat) != 0;
        else
            bad = 1;
        if (bad)
            return osm_err_set(err, OSM_EINPUT,
                               "instance descriptor %s: facts.%s: unknown key or wrong type (known: vcpus, memory_mib, "
                               "system_disk_free_mib, system_disk_size_mib, region, zone, heartbeat "
                               "(RFC 3339 UTC or unix time), authorized)",
                               inst->descriptor_path, key);
    }
    return 0;
}

/* ---- snapshot sets, through the provider ---- */

static int no_sets(struct osm_instance *inst, struct osm_err *err)
{
    return osm_err_set(err, OSM_EUNSUPPORTED, "instance %s: its provider (%s) cannot snapshot its disks", inst->uri,
                       inst->provider->scheme);
}

int osm_instance_snapshot_create(struct osm_instance *inst, const char *label, const struct osm_snap_opts *o,
                                 char id_out[64], struct osm_err *err)
{
    return inst->provider->snapshot_create ? inst->provider->snapshot_create(inst, label, o, id_out, err)
                                           : no_sets(inst, err);
}

int osm_instance_snapshot_list(struct osm_instance *inst, const struct osm_snap_opts *o, struct osm_snap_info **out,
                               size_t *n_out, struct osm_err *err)
{
    return inst->provider->snapshot_list ? inst->provider->snapshot_list(inst, o, out, n_out, err)
                                         : no_sets(inst, err);
}

void osm_instance_snapshot_list_free(struct osm_instance *inst, struct osm_snap_info *infos, size_t n)
{
    if (inst->provider->snapshot_list_free)
        inst->provider->snapshot_list_free(infos, n);
}

int osm_instance_snapshot_verify(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o,
                                 struct osm_err *err)
{
    return inst->provider->snapshot_verify ? inst->provider->snapshot_verify(inst, id, o, err) : no_sets(inst, err);
}

int osm_instance_snapshot_revert(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o,
                                 int *digest_ok, struct osm_err *err)
{
    return inst->provider->snapshot_revert ? inst->provider->snapshot_revert(inst, id, o, digest_ok, err)
                                           : no_sets(inst, err);
}

int osm_instance_snapshot_delete(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o,
                                 struct osm_err *err)
{
    return inst->provider->snapshot_delete ? inst->provider->snapshot_delete(inst, id, o, err) : no_sets(inst, err);
}
