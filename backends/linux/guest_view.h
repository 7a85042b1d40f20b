/* guest_view: what the Linux family reads of a root (the release files, the
 * rpm database, the repository files), copied out of an instance that has
 * no root on this host (a qemu: guest) through its provider's run and
 * copy_out, into a private directory (0700) that then serves as the root for
 * inspect and assess. Read-only use: the copy is taken while the guest runs.
 * What the copy leaves out (every other file: symlinked directories, for
 * one) is not seen by what reads it. */
#ifndef OSM_GUEST_VIEW_H
#define OSM_GUEST_VIEW_H

#include "osm_error.h"
#include "provider.h"

/* The view's directory (caller passes it to osm_guest_view_close), or NULL
 * and err: an instance whose provider can neither run nor copy out. */
char *osm_guest_view_open(struct osm_instance *inst, struct osm_err *err);
/* Remove the view and free its path. */
void osm_guest_view_close(char *dir);

#endif
