/* store_pg: PostgreSQL-specific entry points beyond store.h (the driver is
 * sql_pg.c), for several engine workers sharing one fleet: open by URL,
 * the schema's latest version, the URL without its password, and, for
 * tests, the connection, raw SQL and emptying a test server. */
#ifndef OSM_STORE_PG_H
#define OSM_STORE_PG_H

#include <stddef.h>

#include "store.h"

/* Open the store at a postgresql:// or postgres:// URL, creating or
 * migrating the schema. A schema newer than this program is refused. */
int osm_store_pg_open(const char *url, struct osm_store **out, struct osm_err *err);
int osm_store_pg_schema_latest(void);
/* `url` with its password removed (user:password@ and password=...), for
 * messages. Caller frees. */
char *osm_store_pg_redact(const char *url);
/* The PGconn * behind a PostgreSQL store; NULL for other stores. */
void *osm_store_pg_handle(struct osm_store *st);

/* For tests. Run one SQL text on the store's connection: 0 when it
 * succeeded, -1 with the server's message in `msg`. */
int osm_store_pg_exec_raw(struct osm_store *st, const char *sql, char *msg, size_t size);
/* Empty the database at `url` (a test server's) of osmig's data: with
 * `drop`, its tables and functions too, so that the next open creates the
 * schema; else the rows only (faster), when the schema is the latest. */
int osm_store_pg_reset(const char *url, int drop, struct osm_err *err);

#endif
