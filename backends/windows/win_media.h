/* win_media: the catalogue of Windows installation media and the choice of
 * the install.wim image that matches an instance.
 *
 * A medium is a directory holding sources/install.wim (or install.esd) plus
 * setup.exe (`describe` also reads a bare WIM/ESD file; `add` refuses a
 * medium without setup.exe, which a transit disk could not use). Registering reads every image's
 * properties with wimlib and stores them, so `list`/`show` and the pick never
 * reopen the media. The catalogue is STATE_DIR/media.json, rewritten
 * atomically under an flock on STATE_DIR/media.lock; a failed `add` leaves it
 * unchanged. STATE_DIR: --state-dir, else $OSMIG_STATE_DIR, else
 * /var/lib/osmig. */
#ifndef WIN_MEDIA_H
#define WIN_MEDIA_H

#include <jansson.h>

#include "osm_error.h"

/* Describe a medium (not stored): {"path","kind","wim","release","build","has_setup","volume_licence",
 * "languages":[],"size_bytes","images":[{index,name,edition_id,edition,
 * evaluation,installation_type,language,build,architecture}]}. */
int win_media_describe(const char *path, json_t **out, struct osm_err *err);
/* Describe PATH and add it under ID (NULL: "RELEASE-LANG", e.g. "2019-en-US").
 * An existing id is an error unless `replace`. *added gets the record. */
int win_media_add(const char *state_dir, const char *path, const char *id, int replace, json_t **added,
                  struct osm_err *err);
/* The catalogue's "media" array (a new reference); empty when none. */
int win_media_list(const char *state_dir, json_t **media, struct osm_err *err);
int win_media_get(const char *state_dir, const char *id, json_t **medium, struct osm_err *err);
/* The medium for RELEASE in LANGUAGE; an error naming `osmig media add` when none. */
int win_media_find(const char *state_dir, const char *release, const char *language, json_t **medium,
                   struct osm_err *err);
/* The one image of MEDIUM whose edition, installation type, default
 * language and build match; evaluation images never (Microsoft does not
 * upgrade to an evaluation copy: the error says so when one matched). None
 * or several: OSM_ENOTFOUND / OSM_EINPUT with every candidate listed. */
int win_media_pick(const json_t *medium, const char *edition, const char *installation_type, const char *language,
                   long build, int *index, struct osm_err *err);
/* The media of every hop of an assessment report (osm_windows_assess): for
 * each hop, the registered medium of the hop's release in the source's
 * language and the image of the hop's edition, the source's installation
 * type, and the hop's build: [{"hop","method":"setup","release","build",
 * "edition","media","media_path","image_index","image_name","edition_id",
 * "installation_type","language","setup","product_key"?,"volume_licence"}]
 * (volume_licence: the medium's sources/ei.cfg says [Channel] Volume); a licence
 * conversion hop needs no media: {"hop","method":"conversion","release",
 * "build","edition","product_key"}. Fails naming the first hop it cannot
 * serve. */
int win_media_plan(const char *state_dir, const json_t *report, json_t **plan, struct osm_err *err);
/* The state directory from an option (may be NULL). */
const char *win_media_state_dir(const char *opt);

#endif
