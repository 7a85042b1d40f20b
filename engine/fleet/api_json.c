/* api_json.c: strict readers of request JSON. Every refusal names the field
 * ("instances[2].target") in the error's `field` and at the start of its
 * message, so a client can point at what to fix. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api_priv.h"
#include "osm_buf.h"
#include "osm_json_file.h"
#include "osm_time.h"

char *apij_path(const char *base, const char *member)
{
    return base && *base ? osm_xasprintf("%s.%s", base, member) : osm_xstrdup(member);
}

char *apij_index(const char *base, size_t i)
{
    return osm_xasprintf("%s[%zu]", base ? base : "", i);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

json_t *apij_body(struct api_req *rq, int empty_ok)
{
    size_t len = rq->body.len;
    const char *s = rq->body.s;
    int blank = 1;
    for (size_t i = 0; i < len && blank; i++)
        blank = isspace((unsigned char)s[i]) != 0;
    if (blank) {
        if (empty_ok)
            return json_object();
        api_fail(rq, 400, "MissingParameter", NULL, "the request needs a JSON object body");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        api_fail(rq, 400, "InvalidJSON", NULL, "malformed JSON at line %d, column %d: %s", je.line, je.column,
                 je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        api_fail(rq, 400, "InvalidParameter", NULL, "the body must be a JSON object, not %s", type_name(j));
        json_decref(j);
        return NULL;
    }
    return j;
}

int apij_only(struct api_req *rq, json_t *obj, const char *base, const char *const *allowed)
{
    const char *key = osm_json_unknown_member(obj, allowed);
    if (!key)
        return 0;
    char *f = apij_path(base, key);
    struct osm_buf names;
    osm_buf_init(&names);
    for (size_t i = 0; allowed[i]; i++)
        osm_buf_addf(&names, "%s%s", i ? ", " : "", allowed[i]);
    api_fail(rq, 400, "UnknownField", f, "%s: unknown member (known: %s)", f, names.s);
    osm_buf_free(&names);
    free(f);
    return -1;
}

int apij_string(struct api_req *rq, json_t *obj, const char *base, const char *name, int required, size_t max_len,
                const char **out)
{
    *out = NULL;
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        char *f = apij_path(base, name);
        api_fail(rq, 400, "MissingParameter", f, "%s is required", f);
        free(f);
        return -1;
    }
    char *f = apij_path(base, name);
    int rc = 0;
    if (!json_is_string(v))
        rc = api_fail(rq, 400, "InvalidParameter", f, "%s must be a string, not %s", f, type_name(v));
    else if (json_string_length(v) == 0 && required)
        rc = api_fail(rq, 400, "InvalidParameter", f, "%s must not be empty", f);
    else if (max_len && json_string_length(v) > max_len)
        rc = api_fail(rq, 400, "InvalidParameter", f, "%s is longer than %zu characters", f, max_len);
    else if (strlen(json_string_value(v)) != json_string_length(v))
        rc = api_fail(rq, 400, "InvalidParameter", f, "%s must not contain NUL characters", f);
    else
        *out = json_string_value(v);
    free(f);
    return rc;
}

int apij_bool(struct api_req *rq, json_t *obj, const char *base, const char *name, int *out)
{
    json_t *v = json_object_get(obj, name);
    if (!v) {
        *out = -1;
        return 0;
    }
    if (!json_is_boolean(v)) {
        char *f = apij_path(base, name);
        api_fail(rq, 400, "InvalidParameter", f, "%s must be true or false, not %s", f, type_name(v));
        free(f);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int apij_parse_rfc3339(const char *s, int64_t *out)
{
    return osm_time_parse(s, out);
}

int apij_parse_time_text(const char *s, int64_t *out)
{
    if (*s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 12) {
        *out = strtoll(s, NULL, 10);
        return 0;
    }
    return apij_parse_rfc3339(s, out);
}

int apij_time(struct api_req *rq, json_t *obj, const char *base, const char *name, int64_t *out, int *present)
{
    *out = 0;
    if (present)
        *present = 0;
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v))
        return 0;
    char *f = apij_path(base, name);
    int rc = 0;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0 || json_integer_value(v) > 253402300799LL)
            rc = api_fail(rq, 400, "InvalidParameter.Time", f, "%s: %lld is not a unix time", f,
                          (long long)json_integer_value(v));
        else
            *out = json_integer_value(v);
    } else if (json_is_string(v)) {
        if (apij_parse_rfc3339(json_string_value(v), out) != 0)
            rc = api_fail(rq, 400, "InvalidParameter.Time", f,
                          "%s: '%s' is not an RFC 3339 time (e.g. 2026-11-23T02:00:00Z)", f, json_string_value(v));
    } else {
        rc = api_fail(rq, 400, "InvalidParameter.Time", f, "%s must be an RFC 3339 string or unix seconds, not %s", f,
                      type_name(v));
    }
    if (rc == 0 && present)
        *present = 1;
    free(f);
    return rc;
}

int apij_string_array(struct api_req *rq, json_t *obj, const char *base, const char *name, size_t max_items,
                      const char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v))
        return 0;
    char *f = apij_path(base, name);
    if (!json_is_array(v)) {
        api_fail(rq, 400, "InvalidParameter", f, "%s must be an array of strings, not %s", f, type_name(v));
        free(f);
        return -1;
    }
    if (max_items && json_array_size(v) > max_items) {
        api_fail(rq, 400, "InvalidParameter", f, "%s has more than %zu items", f, max_items);
        free(f);
        return -1;
    }
    const char **a = osm_xcalloc(json_array_size(v) + 1, sizeof *a);
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || json_string_length(e) == 0 ||
            strlen(json_string_value(e)) != json_string_length(e)) {
            char *fi = apij_index(f, i);
            api_fail(rq, 400, "InvalidParameter", fi, "%s must be a non-empty string, not %s", fi,
                     json_is_string(e) ? "an empty one" : type_name(e));
            free(fi);
            free(f);
            free(a);
            return -1;
        }
        a[i] = json_string_value(e);
    }
    free(f);
    *out = a;
    *n = json_array_size(v);
    return 0;
}

char *apij_member_of_message(const char *msg)
{
    size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz_.[]0123456789");
    if (n == 0 || msg[n] != ':')
        return NULL;
    char *m = osm_xmalloc(n + 1);
    memcpy(m, msg, n);
    m[n] = '\0';
    return m;
}

json_t *apij_body_no_query(struct api_req *rq, int empty_ok)
{
    static const char *const none[] = {NULL};
    return api_query_check(rq, none) ? NULL : apij_body(rq, empty_ok);
}

int apij_no_body(struct api_req *rq)
{
    static const char *const none[] = {NULL};
    json_t *b = apij_body_no_query(rq, 1);
    if (!b)
        return -1;
    int rc = apij_only(rq, b, NULL, none);
    json_decref(b);
    return rc;
}
