/* repomd_slices: cutting the parse of primary.xml into slices that run in
 * parallel.
 *
 A slice is the packages whose start tag begins at an offset in [lo, hi) of
 * the decompressed primary. Its stream is the document's prolog (up to the
 * first <package>), those packages, and "</metadata>": a well-formed
 * primary of its own; the slices of a document hold each package once, in
 * order. The tags are found textually ("<package" followed by a blank or
 * '>'), so a document that hides such text in a CDATA section or comment
 * can cut wrong: the caller checks that the slices hold as many packages as
 * <metadata packages="N"> says and parses the whole document otherwise.
 *
 * The layout puts every repository's parse work (its compressed primary's
 * size) on one line, in the order given, and cuts the line into one equal
 * segment per worker: a repository that spans a cut becomes several slices,
 * each worker runs the pieces of its segment in order. */
#ifndef OSM_REPOMD_SLICES_H
#define OSM_REPOMD_SLICES_H

#include <stdio.h>

/* A stream of the packages of the decompressed primary `in` (owned: closed
 * with the returned stream) that start in [lo, hi) (hi < 0: to the end),
 * or NULL. */
FILE *osm_slice_open(FILE *in, long long lo, long long hi);

/* The package count that <metadata packages="N"> announces in the
 * decompressed primary `in` (read from its start, not closed), or -1. */
long osm_slice_count(FILE *in);

struct osm_slice_repo {
    double size;     /* parse work: the compressed primary's size */
    long long bytes; /* decompressed size, or -1: the repository is not cut */
    double merge;    /* the work of merging its slices, as a share of size */
};

struct osm_slice {
    size_t repo;        /* index into the repositories given */
    long long lo, hi;   /* offsets; 0, -1 for the whole repository */
    int index, count; /* slice index within its repository, and how many */
    int worker;
};

/* Lay out `n` repositories on `workers` workers; slices smaller than
 * `min_share` of a segment are joined to their neighbour. Returns the
 * slices (sorted by worker, then in run order) and their count in *n_out. */
struct osm_slice *osm_slice_layout(const struct osm_slice_repo *repos, size_t n, int workers, double min_share,
                                   size_t *n_out);

/* A .gz file's decompressed stream without the CRC check (the caller has
 * checked the file's checksum), or NULL when not gzip or unreadable. A
 * corrupt stream reads as an error. */
FILE *osm_slice_gzopen(const char *path);

#endif
