/* conn_limit.h: the API server's admission of connections, per client
 * address and in all. A connection past a limit is still accepted
 * (libmicrohttpd's own, harder limits sit above these) so that its request
 * can be answered 503 ServiceUnavailable, as docs/api.md says, and closed;
 * it is not counted, so it never keeps a client of another address out.
 * A client address is an IPv4 address, or an IPv6 /64 (a host picks any
 * address of its /64).
 * Thread-safe. */
#ifndef OSM_CONN_LIMIT_H
#define OSM_CONN_LIMIT_H

#include <sys/socket.h>

struct osm_conn_limit;

struct osm_conn_limit *osm_conn_limit_new(unsigned total, unsigned per_addr);
void osm_conn_limit_free(struct osm_conn_limit *cl);
/* A connection from `sa` opened: 1 admitted (counted until
 * osm_conn_limit_close with the same address), 0 over a limit (not
 * counted). */
int osm_conn_limit_open(struct osm_conn_limit *cl, const struct sockaddr *sa);
void osm_conn_limit_close(struct osm_conn_limit *cl, const struct sockaddr *sa);

#endif
