/* repomd_slices: cutting the parse of primary.xml into slices that run in
 * parallel.
 *
 * A slice is a contiguous range [first, end) of a primary's packages. Its
 * stream is the document's prolog (up to the first <package>), the packages
 * of the range, and "</metadata>": a well-formed primary of its own. The
 * boundaries are found textually ("<package" followed by a blank or '>'), so
 * a document that hides such text in a CDATA section or comment can cut
 * wrong; the caller checks that each slice holds end - first packages and
 * parses the whole document otherwise.
 *
 * The layout puts every repository's parse work (its compressed primary's
 * size) on one line, in the order given, and cuts the line into one equal
 * segment per worker: a repository that spans a cut becomes several slices,
 * each worker runs the pieces of its segment in order. */
#ifndef OSM_REPOMD_SLICES_H
#define OSM_REPOMD_SLICES_H

#include <stdio.h>

/* A stream of the packages [first, end) of the decompressed primary `in`
 * (owned: closed with the returned stream), or NULL. */
FILE *osm_slice_open(FILE *in, long first, long end);

/* The package count that <metadata packages="N"> announces in the
 * decompressed primary `in` (read from its start, not closed), or -1. */
long osm_slice_count(FILE *in);

struct osm_slice_repo {
    double size;   /* parse work: the compressed primary's size */
    long packages; /* count of packages, or -1: the repository is not cut */
};

struct osm_slice {
    size_t repo;      /* index into the repositories given */
    long first, end;  /* package range; 0, -1 for the whole repository */
    int index, count; /* slice index within its repository, and how many */
    int worker;
};

/* Lay out `n` repositories on `workers` workers; slices smaller than
 * `min_share` of a segment are joined to their neighbour. Returns the
 * slices (sorted by worker, then in run order) and their count in *n_out. */
struct osm_slice *osm_slice_layout(const struct osm_slice_repo *repos, size_t n, int workers, double min_share,
                                   size_t *n_out);

#endif
