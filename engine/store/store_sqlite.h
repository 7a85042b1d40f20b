/* store_sqlite: SQLite-specific entry points beyond store.h, for tests and
 * tools: open a store migrated only up to an older schema version, the latest
 * version, and the raw sqlite3 handle. */
#ifndef OSM_STORE_SQLITE_H
#define OSM_STORE_SQLITE_H

#include "store.h"

int osm_store_sqlite_open_at_version(const char *db_path, int version, struct osm_store **out, struct osm_err *err);
int osm_store_sqlite_schema_latest(void);
/* The sqlite3 * behind a SQLite store; NULL for other stores. */
void *osm_store_sqlite_handle(struct osm_store *st);

#endif
