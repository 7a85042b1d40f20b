/* boots.c: see boots.h. */
#include "boots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"

/* The default list: one boot per phase, each phase's default limit. */
static const struct {
    const char *name, *phase, *kernel;
    int limit_s;
} defaults[] = {
    {"reboot-1", OSM_BOOT_BEFORE_UPGRADE, OSM_BOOT_KERNEL_RUNNING, 300},
    {"reboot-2", OSM_BOOT_INTO_TARGET, OSM_BOOT_KERNEL_TARGET, 600},
};
#define N_DEFAULTS (sizeof defaults / sizeof defaults[0])

/* A limit as the descriptor gives it: whole seconds 1..OSM_BOOT_LIMIT_MAX. */
static int limit_value(const json_t *v, const char *where, const char *key, int *out, struct osm_err *err)
{
    json_int_t s = json_is_integer(v) ? json_integer_value(v) : 0;
    if (s < 1 || s > OSM_BOOT_LIMIT_MAX) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        osm_err_set(err, OSM_EINPUT, "%s: %s is %s: a boot's time limit must be whole seconds, 1 to %d", where, key,
                    text ? text : "?", OSM_BOOT_LIMIT_MAX);
        free(text);
        return -1;
    }
    *out = (int)s;
    return 0;
}

static int known_name(const char *k)
{
    for (size_t i = 0; i < N_DEFAULTS; i++)
        if (strcmp(k, defaults[i].name) == 0 || strcmp(k, defaults[i].phase) == 0)
            return 1;
    return 0;
}

int osm_boots_plan(const json_t *descriptor, const char *where, json_t **boots, struct osm_err *err)
{
    *boots = NULL;
    char w[400];
    snprintf(w, sizeof w, "instance descriptor %s", where ? where : "");
    where = w;
    const json_t *d = json_is_object(descriptor) ? descriptor : NULL;
    const json_t *per = d ? json_object_get(d, "boot_limits") : NULL;
    const json_t *all = d ? json_object_get(d, "boot_timeout_s") : NULL;
    int every = 0;
    if (all && limit_value(all, where, "boot_timeout_s", &every, err) != 0)
        return -1;
    if (per && !json_is_object(per))
        return osm_err_set(err, OSM_EINPUT,
                           "%s: boot_limits must be an object of seconds by boot or phase ({\"%s\": 900})", where,
                           OSM_BOOT_INTO_TARGET);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)per, k, v)
    {
        char key[160];
        snprintf(key, sizeof key, "boot_limits.%s", k);
        int ignored;
        if (!known_name(k))
            return osm_err_set(err, OSM_EINPUT, "%s: %s: no boot or phase of that name (%s, %s; %s, %s)", where,
                               key, defaults[0].name, defaults[1].name, OSM_BOOT_BEFORE_UPGRADE,
                               OSM_BOOT_INTO_TARGET);
        if (limit_value(v, where, key, &ignored, err) != 0)
            return -1;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < N_DEFAULTS; i++) {
        const json_t *by_name = per ? json_object_get(per, defaults[i].name) : NULL;
        const json_t *by_phase = per ? json_object_get(per, defaults[i].phase) : NULL;
        json_int_t limit = by_name    ? json_integer_value(by_name)
                           : by_phase ? json_integer_value(by_phase)
                           : every    ? every
                                      : defaults[i].limit_s;
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I}", "name", defaults[i].name, "phase",
                                           defaults[i].phase, "kernel", defaults[i].kernel, "limit_s", limit));
    }
    *boots = a;
    return 0;
}

/* Why the list (each boot well formed) cannot run, or NULL; *at: the
 * 1-based boot at fault (0: the list). */
static const char *list_fault(const json_t *a, size_t *at)
{
    size_t n = json_array_size(a), into = 0;
    *at = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *b = json_array_get(a, i);
        const char *name = json_string_value(json_object_get(b, "name"));
        int target = strcmp(json_string_value(json_object_get(b, "phase")), OSM_BOOT_INTO_TARGET) == 0;
        *at = i + 1;
        if (!target && into)
            return "a boot before the upgrade comes after a boot into the target";
        into += target;
        for (size_t k = 0; k < i; k++)
            if (strcmp(name, json_string_value(json_object_get(json_array_get(a, k), "name"))) == 0)
                return "two boots have the same name";
    }
    *at = 0;
    return into ? NULL : "no boot into the target";
}

int osm_boots_parse(const char *text, json_t **boots, struct osm_err *err)
{
    json_error_t je;
    json_t *a = text ? json_loads(text, 0, &je) : NULL;
    *boots = NULL;
    if (!json_is_array(a)) {
        json_decref(a);
        return osm_err_set(err, OSM_EINPUT, "the task's list of boots is not a JSON array");
    }
    size_t i;
    json_t *b;
    json_array_foreach(a, i, b)
    {
        const char *name = json_string_value(json_object_get(b, "name"));
        const char *phase = json_string_value(json_object_get(b, "phase"));
        const char *kernel = json_string_value(json_object_get(b, "kernel"));
        json_int_t limit = json_integer_value(json_object_get(b, "limit_s"));
        const char *bad = !name || !*name || strlen(name) > 40                               ? "name"
                          : !phase || (strcmp(phase, OSM_BOOT_BEFORE_UPGRADE) != 0 &&
                                       strcmp(phase, OSM_BOOT_INTO_TARGET) != 0)             ? "phase"
                          : !kernel || (strcmp(kernel, OSM_BOOT_KERNEL_RUNNING) != 0 &&
                                        strcmp(kernel, OSM_BOOT_KERNEL_TARGET) != 0)         ? "kernel"
                          : limit < 1 || limit > OSM_BOOT_LIMIT_MAX                          ? "limit_s"
                                                                                             : NULL;
        if (bad) {
            json_decref(a);
            return osm_err_set(err, OSM_EINPUT, "the task's list of boots: boot %zu: its %s is missing or unknown",
                               i + 1, bad);
        }
    }
    /* The list as a whole: a boot is found by its name (boot_done), the
     * phases run in order, and without a boot into the target the family's
     * boot setup would never run. */
    const char *why = list_fault(a, &i);
    if (why) {
        json_decref(a);
        if (i)
            return osm_err_set(err, OSM_EINPUT, "the task's list of boots: boot %zu: %s", i, why);
        return osm_err_set(err, OSM_EINPUT, "the task's list of boots: %s", why);
    }
    *boots = a;
    return 0;
}

char *osm_boots_describe(const json_t *boots)
{
    struct osm_buf b;
    osm_buf_init(&b);
    size_t i;
    const json_t *x;
    json_array_foreach(boots, i, x)
    {
        const char *kernel = json_string_value(json_object_get(x, "kernel"));
        osm_buf_addf(&b, "%s%s (%s: %s, within %lld s)", i ? ", " : "",
                     json_string_value(json_object_get(x, "name")), json_string_value(json_object_get(x, "phase")),
                     kernel && strcmp(kernel, OSM_BOOT_KERNEL_TARGET) == 0 ? "the target's kernel"
                                                                           : "the kernel that runs now",
                     (long long)json_integer_value(json_object_get(x, "limit_s")));
    }
    return osm_buf_detach(&b);
}
