/* syslinux_cfg: the text of a syslinux/extlinux configuration (syslinux.cfg,
 * extlinux.conf): its entries read, and a new default entry written into it.
 *
 * Read: every LABEL with its KERNEL (or LINUX), INITRD (or APPEND's
 * initrd=) and APPEND; keywords in any case, '#' comments. The default is
 * the label DEFAULT names, else the one marked MENU DEFAULT, else the first.
 * Write: the text with an entry LABEL for KERNEL and INITRD, the APPEND of
 * the current default carried over, placed before the first label and made
 * the DEFAULT; an entry of the same label is replaced, MENU DEFAULT marks
 * are dropped, every other line is kept as it was. Paths are the file's
 * own (relative to the partition syslinux boots from). */
#ifndef OSM_SYSLINUX_CFG_H
#define OSM_SYSLINUX_CFG_H

#include <stddef.h>

#include "osm_error.h"

struct osm_sl_entry {
    char *label, *kernel, *initrd, *append; /* NULL when the entry has none */
};

struct osm_sl_cfg {
    struct osm_sl_entry *entries;
    size_t n;
    size_t def; /* index of the default entry (valid when n > 0) */
};

/* -1 and err (naming `what` and the line) when the text has no LABEL or its
 * DEFAULT names no label. */
int osm_syslinux_parse(const char *text, const char *what, struct osm_sl_cfg *cfg, struct osm_err *err);
void osm_syslinux_free(struct osm_sl_cfg *cfg);

/* The new text (caller frees), or NULL and err (as parse). */
char *osm_syslinux_set_default(const char *text, const char *what, const char *label, const char *kernel,
                               const char *initrd, struct osm_err *err);

#endif
