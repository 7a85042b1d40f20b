/* api_client: the CLI's side of the fleet API (docs/api.md): signed HTTP
 * requests to an `osmig serve`.
 *
 * Credentials come from, in this order: the --key-id/--key-secret options,
 * the OSMIG_ACCESS_KEY_ID / OSMIG_ACCESS_KEY_SECRET environment, or the file
 * $HOME/.config/osmig/credentials ("key_id=...\nsecret=...\n"), which must
 * be readable by its owner only (a group- or world-readable file is refused:
 * the secret would be exposed). Every request is signed with osm_acs3_sign()
 * over the Host header the client itself sends, so the server checks the
 * same bytes. A response of 4xx/5xx becomes an error carrying the server's
 * code and message ("409 Conflict.TaskState: ..."); a network failure names
 * the URL. One client keeps its connection open across requests. */
#ifndef OSM_API_CLIENT_H
#define OSM_API_CLIENT_H

#include <jansson.h>

#include "osm_error.h"

struct osm_api_creds {
    char *key_id;
    char *secret;
};

/* Resolve credentials; key_id/secret are the options (NULL when absent).
 * Each source gives both halves or neither: one half alone is an error
 * naming the missing one (mixing sources would pair an id with another
 * key's secret). */
int osm_api_creds_resolve(const char *key_id, const char *secret, struct osm_api_creds *out, struct osm_err *err);
/* Read a credentials file (mode checked). OSM_ENOTFOUND when absent. */
int osm_api_creds_read_file(const char *path, struct osm_api_creds *out, struct osm_err *err);
void osm_api_creds_free(struct osm_api_creds *c);

struct osm_api_client;

/* `url`: http[s]://HOST[:PORT][/BASE]. Bad URLs are OSM_EINPUT errors. */
int osm_api_client_open(const char *url, const struct osm_api_creds *creds, struct osm_api_client **out,
                        struct osm_err *err);
void osm_api_client_close(struct osm_api_client *c);
const char *osm_api_client_url(const struct osm_api_client *c);

/* Send METHOD PATH[?QUERY] with `body` (NULL: none) and wait for the answer.
 * 0 on a 2xx status: *status set, *resp the parsed JSON body (NULL when the
 * body was empty; caller decrefs). -1 otherwise: err says why; for an error
 * answer *status is the HTTP status and osm_api_client_error_code() the
 * server's code, for a network failure *status is 0. `query` is already
 * percent-encoded (osm_api_query_add builds it). */
int osm_api_request(struct osm_api_client *c, const char *method, const char *path, const char *query,
                    const json_t *body, int *status, json_t **resp, struct osm_err *err);
/* The code of the last error answer ("Forbidden.Role"), "" when none. */
const char *osm_api_client_error_code(const struct osm_api_client *c);

/* Append "name=value" (RFC 3986 encoded, '&'-separated) to a query string
 * being built in *q (NULL or malloc'd; realloc'd). */
void osm_api_query_add(char **q, const char *name, const char *value);
/* Percent-encode a path segment (caller frees). */
char *osm_api_escape(const char *s);

/* The server to talk to: `opt` (--server) or $OSMIG_SERVER; NULL: local. */
const char *osm_api_server(const char *opt);

#endif
