/* win_hive: read values out of an offline registry hive (hivex), with every
 * missing or odd value explained in words instead of crashing.
 *
 * Paths are '\'-separated and relative to the hive root
 * ("Microsoft\Windows NT\CurrentVersion"); lookups are case-insensitive like
 * Windows'. The getters append a sentence to `warnings` (a JSON array, may be
 * NULL) when the value is missing or has an unexpected type or content, and
 * return a "not found" result. */
#ifndef WIN_HIVE_H
#define WIN_HIVE_H

#include <jansson.h>
#include <stdint.h>

#include "osm_error.h"

struct win_hive;

struct win_hive *win_hive_open(const char *path, const char *label, struct osm_err *err);
void win_hive_close(struct win_hive *h);
/* 1 when the key exists. */
int win_hive_has_key(struct win_hive *h, const char *key);
/* REG_SZ / REG_EXPAND_SZ as UTF-8 (caller frees); a REG_DWORD is rendered in
 * decimal with a warning. NULL when missing. */
char *win_hive_string(struct win_hive *h, const char *key, const char *value, json_t *warnings);
/* REG_DWORD; a numeric string is accepted with a warning. -1 when missing. */
int64_t win_hive_dword(struct win_hive *h, const char *key, const char *value, json_t *warnings);
/* REG_MULTI_SZ as a JSON array of strings; NULL when missing. */
json_t *win_hive_multi(struct win_hive *h, const char *key, const char *value, json_t *warnings);
/* Names of the subkeys of KEY as a JSON array (empty when missing). */
json_t *win_hive_subkeys(struct win_hive *h, const char *key);
/* 1 when VALUE exists under KEY (any type). */
int win_hive_has_value(struct win_hive *h, const char *key, const char *value);

#endif
