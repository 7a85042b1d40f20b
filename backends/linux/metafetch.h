/* metafetch: fetch one repository metadata file (file://, http://, https://)
 * into a local path with libcurl: written to a temporary file and renamed
 * into place, retried with backoff on transient failures. */
#ifndef OSM_METAFETCH_H
#define OSM_METAFETCH_H

#include "osm_error.h"

int osm_metafetch(const char *url, const char *dest, struct osm_err *err);

#endif
