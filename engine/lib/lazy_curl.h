/* lazy_curl.h: libcurl, loaded on first use (osm_lazy.h). Include this
 * instead of the library's header; it names every function osmig calls. */
#ifndef OSM_LAZY_CURL_H
#define OSM_LAZY_CURL_H

/* The calls go through pointers of the declared types; curl's type-check
 * macros would stand in the way. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "osm_lazy.h"

/* curl.h defines these two as macros of themselves. */
#undef curl_easy_setopt
#undef curl_easy_getinfo

extern struct osm_lazy_lib osm_lazy_curl;

#define curl_easy_cleanup OSM_LAZY(osm_lazy_curl, curl_easy_cleanup)
#define curl_easy_getinfo OSM_LAZY(osm_lazy_curl, curl_easy_getinfo)
#define curl_easy_init OSM_LAZY(osm_lazy_curl, curl_easy_init)
#define curl_easy_perform OSM_LAZY(osm_lazy_curl, curl_easy_perform)
#define curl_easy_reset OSM_LAZY(osm_lazy_curl, curl_easy_reset)
#define curl_easy_setopt OSM_LAZY(osm_lazy_curl, curl_easy_setopt)
#define curl_easy_strerror OSM_LAZY(osm_lazy_curl, curl_easy_strerror)
#define curl_easy_unescape OSM_LAZY(osm_lazy_curl, curl_easy_unescape)
#define curl_free OSM_LAZY(osm_lazy_curl, curl_free)
#define curl_global_init OSM_LAZY(osm_lazy_curl, curl_global_init)
#define curl_multi_add_handle OSM_LAZY(osm_lazy_curl, curl_multi_add_handle)
#define curl_multi_cleanup OSM_LAZY(osm_lazy_curl, curl_multi_cleanup)
#define curl_multi_info_read OSM_LAZY(osm_lazy_curl, curl_multi_info_read)
#define curl_multi_init OSM_LAZY(osm_lazy_curl, curl_multi_init)
#define curl_multi_perform OSM_LAZY(osm_lazy_curl, curl_multi_perform)
#define curl_multi_poll OSM_LAZY(osm_lazy_curl, curl_multi_poll)
#define curl_multi_remove_handle OSM_LAZY(osm_lazy_curl, curl_multi_remove_handle)
#define curl_slist_append OSM_LAZY(osm_lazy_curl, curl_slist_append)
#define curl_slist_free_all OSM_LAZY(osm_lazy_curl, curl_slist_free_all)
#define curl_url OSM_LAZY(osm_lazy_curl, curl_url)
#define curl_url_cleanup OSM_LAZY(osm_lazy_curl, curl_url_cleanup)
#define curl_url_get OSM_LAZY(osm_lazy_curl, curl_url_get)
#define curl_url_set OSM_LAZY(osm_lazy_curl, curl_url_set)
#define curl_url_strerror OSM_LAZY(osm_lazy_curl, curl_url_strerror)

#endif
