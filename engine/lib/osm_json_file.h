/* osm_json_file: a JSON document read from a file given by a user or an
 * operator (a matrix, package events, host-maintenance events, network
 * plans), and the check every reader of such a document makes of its
 * objects' members. The file must be regular and at most `max` bytes
 * (osm_read_regular_file); duplicate keys are refused; malformed JSON is
 * named by path, line and column, never by the parser's text (it quotes the
 * file). */
#ifndef OSM_JSON_FILE_H
#define OSM_JSON_FILE_H

#include <stddef.h>

#include <jansson.h>

#include "osm_error.h"

/* The document (a new reference), or NULL with `err` set. */
json_t *osm_json_load_file(const char *path, size_t max, struct osm_err *err);

/* The first member of object `o` (in the document's order) whose name is
 * not in `known` (NULL-terminated), or NULL when every one is known. The
 * caller words the error: each format names its own fields. */
const char *osm_json_unknown_member(const json_t *o, const char *const *known);

#endif
