/* repofiles: the yum/dnf repository definitions of a root
 * (/etc/yum.repos.d/ *.repo, INI format), as the package manager would read
 * them: a section is a repository, "enabled" defaults to 1. */
#ifndef OSM_REPOFILES_H
#define OSM_REPOFILES_H

#include <stddef.h>

#include "osm_error.h"

struct osm_repofile_entry {
    char *id;
    char *name;
    char *baseurl;    /* first baseurl, or NULL */
    char *mirrorlist; /* or metalink, or NULL */
    char *file;       /* guest path of the .repo file */
    int enabled;
    int gpgcheck;
};

struct osm_repofile_list {
    struct osm_repofile_entry *v;
    size_t n;
};

/* A root without /etc/yum.repos.d has no repositories (not an error). A
 * malformed line is skipped, as yum does, but logged. */
int osm_repofiles_read(const char *root, struct osm_repofile_list *out, struct osm_err *err);
void osm_repofiles_free(struct osm_repofile_list *l);

#endif
