/* lazy_mhd.h: libmicrohttpd (the API server), loaded on first use (osm_lazy.h). Include this
 * instead of the library's header; it names every function osmig calls. */
#ifndef OSM_LAZY_MHD_H
#define OSM_LAZY_MHD_H

#include <microhttpd.h>

#include "osm_lazy.h"

extern struct osm_lazy_lib osm_lazy_mhd;

#define MHD_add_response_header OSM_LAZY(osm_lazy_mhd, MHD_add_response_header)
#define MHD_create_response_from_buffer OSM_LAZY(osm_lazy_mhd, MHD_create_response_from_buffer)
#define MHD_destroy_response OSM_LAZY(osm_lazy_mhd, MHD_destroy_response)
#define MHD_get_connection_info OSM_LAZY(osm_lazy_mhd, MHD_get_connection_info)
#define MHD_get_connection_values OSM_LAZY(osm_lazy_mhd, MHD_get_connection_values)
#define MHD_get_daemon_info OSM_LAZY(osm_lazy_mhd, MHD_get_daemon_info)
#define MHD_is_feature_supported OSM_LAZY(osm_lazy_mhd, MHD_is_feature_supported)
#define MHD_lookup_connection_value OSM_LAZY(osm_lazy_mhd, MHD_lookup_connection_value)
#define MHD_queue_response OSM_LAZY(osm_lazy_mhd, MHD_queue_response)
#define MHD_set_connection_option OSM_LAZY(osm_lazy_mhd, MHD_set_connection_option)
#define MHD_start_daemon OSM_LAZY(osm_lazy_mhd, MHD_start_daemon)
#define MHD_stop_daemon OSM_LAZY(osm_lazy_mhd, MHD_stop_daemon)

#endif
