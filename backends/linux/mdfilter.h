/* mdfilter: a stream over primary.xml without the elements a plan never
 * reads (descriptions, summaries, URLs, packagers, licenses, groups, build
 * hosts, source rpms). They are a fifth of the bytes and most of the text
 * libsolv would keep until the cache drops it, so the XML parser does less
 * work and the cold parse peaks lower. The filter is textual: an element is
 * skipped from its start tag to its end tag; self-closing ones pass. A
 * document the filter could misread (a CDATA section or comment holding
 * such a tag) fails to parse, and the caller parses it again unfiltered. */
#ifndef OSM_MDFILTER_H
#define OSM_MDFILTER_H

#include <stdio.h>

/* A read-only stream over `in` (owned: closed with the returned stream). */
FILE *osm_mdfilter_open(FILE *in);

/* What the metadata filters are built on: a read-only stream over `state`,
 * an allocated struct whose first member is the FILE * it reads; `read`
 * fills the caller's buffer from it. Closing the stream closes that FILE
 * and frees `state`; so does a failure to open (NULL). */
FILE *osm_md_stream_open(void *state, cookie_read_function_t *read);

#endif
