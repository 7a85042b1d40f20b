/* json_file.c: see osm_json_file.h. */
#include "osm_json_file.h"

#include <string.h>

#include "osm_buf.h"
#include "osm_fs.h"

json_t *osm_json_load_file(const char *path, size_t max, struct osm_err *err)
{
    struct osm_buf data;
    osm_buf_init(&data);
    if (osm_read_regular_file(path, max, &data, err) != 0) {
        osm_buf_free(&data);
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(data.s ? data.s : "", data.len, JSON_REJECT_DUPLICATES, &jerr);
    osm_buf_free(&data);
    if (!doc)
        osm_err_set(err, OSM_EINPUT, "%s: line %d column %d: malformed JSON", path, jerr.line, jerr.column);
    return doc;
}

const char *osm_json_unknown_member(const json_t *o, const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        size_t i = 0;
        while (known[i] && strcmp(known[i], key) != 0)
            i++;
        if (!known[i])
            return key;
    }
    return NULL;
}
