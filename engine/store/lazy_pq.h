/* lazy_pq.h: libpq (the PostgreSQL store), loaded on first use (osm_lazy.h). Include this
 * instead of the library's header; it names every function osmig calls. */
#ifndef OSM_LAZY_PQ_H
#define OSM_LAZY_PQ_H

#include <libpq-fe.h>

#include "osm_lazy.h"

extern struct osm_lazy_lib osm_lazy_pq;

#define PQclear OSM_LAZY(osm_lazy_pq, PQclear)
#define PQcmdTuples OSM_LAZY(osm_lazy_pq, PQcmdTuples)
#define PQconnectdb OSM_LAZY(osm_lazy_pq, PQconnectdb)
#define PQerrorMessage OSM_LAZY(osm_lazy_pq, PQerrorMessage)
#define PQexec OSM_LAZY(osm_lazy_pq, PQexec)
#define PQexecParams OSM_LAZY(osm_lazy_pq, PQexecParams)
#define PQfinish OSM_LAZY(osm_lazy_pq, PQfinish)
#define PQgetisnull OSM_LAZY(osm_lazy_pq, PQgetisnull)
#define PQgetvalue OSM_LAZY(osm_lazy_pq, PQgetvalue)
#define PQntuples OSM_LAZY(osm_lazy_pq, PQntuples)
#define PQreset OSM_LAZY(osm_lazy_pq, PQreset)
#define PQresultErrorField OSM_LAZY(osm_lazy_pq, PQresultErrorField)
#define PQresultErrorMessage OSM_LAZY(osm_lazy_pq, PQresultErrorMessage)
#define PQresultStatus OSM_LAZY(osm_lazy_pq, PQresultStatus)
#define PQsetNoticeProcessor OSM_LAZY(osm_lazy_pq, PQsetNoticeProcessor)
#define PQstatus OSM_LAZY(osm_lazy_pq, PQstatus)
#define PQtransactionStatus OSM_LAZY(osm_lazy_pq, PQtransactionStatus)

#endif
