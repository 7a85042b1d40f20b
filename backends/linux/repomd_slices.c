/* repomd_slices.c: see repomd_slices.h. */
#include "repomd_slices.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mdfilter.h"
#include "osm_buf.h"

#define TAG "<package"
#define TAG_LEN 8

struct slicer {
    FILE *in;
    long long lo, hi; /* packages that start at offsets [lo, hi); hi < 0: to the end */
    long long off;    /* offset of buf[start] in the document */
    int in_pkg;       /* 0 in the prolog, then 1 + in range */
    int eof, done;
    const char *tail; /* what is left to emit of "</metadata>" */
    size_t start, len; /* pending input: buf[start, len) */
    char buf[65536];
};

static const char closing[] = "</metadata>\n";

static int in_range(const struct slicer *s)
{
    return s->in_pkg != 1;
}

static void refill(struct slicer *s)
{
    if (s->start)
        memmove(s->buf, s->buf + s->start, s->len - s->start);
    s->len -= s->start;
    s->start = 0;
    size_t got = fread(s->buf + s->len, 1, sizeof s->buf - s->len, s->in);
    s->len += got;
    if (got == 0)
        s->eof = 1;
}

/* Consume buf[start, upto): copy it out when in range. Returns the bytes
 * written to out (at most room); start advances by what was consumed. */
static size_t consume(struct slicer *s, size_t upto, char *out, size_t room)
{
    size_t k = upto - s->start;
    if (!in_range(s)) {
        s->start = upto;
        s->off += (long long)k;
        return 0;
    }
    if (k > room)
        k = room;
    memcpy(out, s->buf + s->start, k);
    s->start += k;
    s->off += (long long)k;
    return k;
}

static ssize_t slicer_read(void *cookie, char *out, size_t size)
{
    struct slicer *s = cookie;
    size_t n = 0;
    while (n < size) {
        if (s->tail) {
            size_t k = strlen(s->tail);
            if (k > size - n)
                k = size - n;
            memcpy(out + n, s->tail, k);
            n += k;
            s->tail = s->tail[k] ? s->tail + k : NULL;
            continue;
        }
        if (s->done)
            break;
        if (s->len - s->start <= TAG_LEN && !s->eof) {
            refill(s);
            continue;
        }
        if (s->start == s->len) { /* end of input */
            s->done = 1;
            continue;
        }
        const char *b = s->buf + s->start;
        size_t avail = s->len - s->start;
        if (s->in_pkg == 1 && s->off + (long long)avail <= s->lo) { /* before the range: no tag to look for */
            s->start = s->len;
            s->off += (long long)avail;
            continue;
        }
        if (s->in_pkg == 1 && s->off < s->lo) {
            size_t skip = (size_t)(s->lo - s->off);
            s->start += skip;
            s->off += (long long)skip;
            continue;
        }
        const char *p = memmem(b, avail, TAG, TAG_LEN);
        if (!p) {
            /* Keep what could be the start of the tag, unless at the end. */
            size_t upto = s->eof ? s->len : s->len - (TAG_LEN - 1);
            if (upto <= s->start) {
                refill(s);
                continue;
            }
            n += consume(s, upto, out + n, size - n);
            continue;
        }
        size_t at = (size_t)(p - s->buf);
        if (at > s->start) {
            n += consume(s, at, out + n, size - n);
            continue;
        }
        /* A "<package" at start: a package starts when a blank or '>'
         * follows ("<packager>" does not). */
        if (at + TAG_LEN == s->len && !s->eof) {
            refill(s);
            continue;
        }
        char c = at + TAG_LEN < s->len ? s->buf[at + TAG_LEN] : 0;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '>') {
            if (s->hi >= 0 && s->off >= s->hi) {
                s->done = 1;
                s->tail = closing;
                continue;
            }
            s->in_pkg = s->off >= s->lo ? 2 : 1;
        }
        n += consume(s, at + 1, out + n, size - n); /* the '<', then on */
    }
    if (n == 0 && ferror(s->in))
        return -1;
    return (ssize_t)n;
}

FILE *osm_slice_open(FILE *in, long long lo, long long hi)
{
    struct slicer *s = osm_xcalloc(1, sizeof *s);
    s->in = in;
    s->lo = lo;
    s->hi = hi;
    return osm_md_stream_open(s, slicer_read);
}

long osm_slice_count(FILE *in)
{
    char head[8192];
    size_t n = fread(head, 1, sizeof head - 1, in);
    head[n] = 0;
    const char *m = strstr(head, "<metadata");
    if (!m)
        return -1;
    const char *gt = strchr(m, '>');
    const char *a = strstr(m, " packages=");
    if (!gt || !a || a > gt)
        return -1;
    a += strlen(" packages=");
    if (*a != '"' && *a != '\'')
        return -1;
    char *e;
    long v = strtol(a + 1, &e, 10);
    if (e == a + 1 || *e != *a || v < 0)
        return -1;
    return v;
}

/* The worker whose segment holds position x. */
static int worker_at(double x, double seg, int workers)
{
    int w = (int)(x / seg);
    return w < 0 ? 0 : w >= workers ? workers - 1 : w;
}

/* Where a repository [start, start + size) is cut by the segment ends,
 * leaving no piece smaller than min of a segment. */
static int cuts_in(double start, double size, double seg, int workers, double min, double *cuts, int max)
{
    int nc = 0;
    double last = start, stop = start + size;
    for (int w = 1; w < workers && nc < max; w++) {
        double c = w * seg;
        if (c <= start || c - last < min * seg)
            continue;
        if (stop - c < min * seg)
            break;
        cuts[nc++] = c;
        last = c;
    }
    return nc;
}

struct osm_slice *osm_slice_layout(const struct osm_slice_repo *repos, size_t n, int workers, double min_share,
                                   size_t *n_out)
{
    if (workers < 1)
        workers = 1;
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += repos[i].size > 0 ? repos[i].size : 0;
    /* A repository larger than a segment will be cut: its merge is work too. */
    double seg0 = total > 0 ? total / workers : 1, with_merges = total;
    for (size_t i = 0; i < n; i++)
        if (repos[i].bytes > 0 && workers > 1 && repos[i].size > seg0)
            with_merges += repos[i].size * repos[i].merge;
    double seg = with_merges > 0 ? with_merges / workers : 1;
    size_t cap = n + (size_t)workers * 2 + 2, count = 0;
    struct osm_slice *out = osm_xcalloc(cap, sizeof *out);
    double pos = 0;
    for (size_t i = 0; i < n; i++) {
        double size = repos[i].size > 0 ? repos[i].size : 0;
        double cuts[64];
        int nc = 0;
        if (repos[i].bytes > 0 && workers > 1 && size > seg0) {
            /* The merge runs on the worker of slice 0: put it first. */
            double merged = pos + size * repos[i].merge;
            nc = cuts_in(merged, size, seg, workers, min_share, cuts, 64);
            if (nc > 0)
                pos = merged;
        } else if (repos[i].bytes > 0 && workers > 1) {
            nc = cuts_in(pos, size, seg, workers, min_share, cuts, 64);
        }
        double start = pos, prev = start;
        pos += size;
        long long prev_off = 0;
        int first_idx = (int)count;
        for (int k = 0; k <= nc; k++) {
            double c = k < nc ? cuts[k] : pos;
            long long off = k < nc ? (long long)((c - start) / size * (double)repos[i].bytes) : -1;
            if (k < nc && (off <= prev_off || off >= repos[i].bytes))
                continue;
            if (count == cap)
                out = osm_xrealloc(out, (cap *= 2) * sizeof *out);
            out[count++] = (struct osm_slice){.repo = i, .lo = prev_off, .hi = off,
                                              .worker = worker_at((prev + c) / 2, seg, workers)};
            prev_off = off;
            prev = c;
        }
        for (int k = first_idx; k < (int)count; k++) {
            out[k].index = k - first_idx;
            out[k].count = (int)count - first_idx;
        }
    }
    /* By worker, keeping the line's order within a worker. */
    for (size_t a = 1; a < count; a++) {
        struct osm_slice v = out[a];
        size_t b = a;
        while (b > 0 && out[b - 1].worker > v.worker) {
            out[b] = out[b - 1];
            b--;
        }
        out[b] = v;
    }
    *n_out = count;
    return out;
}

/* --- gzip without its CRC ------------------------------------------------ */

struct gzr {
    FILE *in;
    z_stream z;
    int end; /* 1: no more members, 2: error */
    unsigned char buf[65536];
};

/* Read a member's header at the file position; 0 ok, 1 end of file, -1 bad. */
static int gzr_header(FILE *in)
{
    int c1 = getc(in);
    if (c1 == EOF)
        return 1;
    int c2 = getc(in), cm = getc(in), flg = getc(in);
    if (c1 != 0x1f || c2 != 0x8b || cm != 8 || flg == EOF)
        return -1;
    for (int i = 0; i < 6; i++)
        if (getc(in) == EOF)
            return -1;
    if (flg & 4) {
        int lo = getc(in), hi = getc(in);
        if (hi == EOF || fseek(in, lo | hi << 8, SEEK_CUR) != 0)
            return -1;
    }
    for (int f = 8; f <= 16; f *= 2) {
        if (!(flg & f))
            continue;
        int c;
        while ((c = getc(in)) != EOF && c != 0)
            ;
        if (c == EOF)
            return -1;
    }
    if ((flg & 2) && (getc(in) == EOF || getc(in) == EOF))
        return -1;
    return 0;
}

static ssize_t gzr_read(void *cookie, char *out, size_t size)
{
    struct gzr *g = cookie;
    if (g->end == 2)
        return -1;
    g->z.next_out = (unsigned char *)out;
    g->z.avail_out = size > UINT_MAX ? UINT_MAX : (unsigned)size;
    while (g->z.avail_out > 0 && !g->end) {
        if (g->z.avail_in == 0) {
            size_t n = fread(g->buf, 1, sizeof g->buf, g->in);
            if (n == 0) {
                g->end = 2; /* truncated */
                break;
            }
            g->z.next_in = g->buf;
            g->z.avail_in = (unsigned)n;
        }
        int r = inflate(&g->z, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            /* Past the trailer (CRC and size) to the next member, if any. */
            long at = ftell(g->in) - (long)g->z.avail_in + 8;
            g->z.avail_in = 0;
            int h = at >= 0 && fseek(g->in, at, SEEK_SET) == 0 ? gzr_header(g->in) : -1;
            g->end = h == 1 ? 1 : h < 0 ? 2 : 0;
            if (h == 0)
                inflateReset(&g->z);
        } else if (r != Z_OK && r != Z_BUF_ERROR) {
            g->end = 2;
        }
    }
    size_t n = size - g->z.avail_out;
    if (n == 0 && g->end == 2)
        return -1;
    return (ssize_t)n;
}

static int gzr_close(void *cookie)
{
    struct gzr *g = cookie;
    inflateEnd(&g->z);
    int r = fclose(g->in);
    free(g);
    return r;
}

FILE *osm_slice_gzopen(const char *path)
{
    FILE *in = fopen(path, "re");
    if (!in)
        return NULL;
    struct gzr *g = osm_xcalloc(1, sizeof *g);
    g->in = in;
    if (gzr_header(in) != 0 || inflateInit2(&g->z, -MAX_WBITS) != Z_OK) {
        fclose(in);
        free(g);
        return NULL;
    }
    cookie_io_functions_t io = {.read = gzr_read, .close = gzr_close};
    FILE *fp = fopencookie(g, "r", io);
    if (!fp)
        gzr_close(g);
    return fp;
}
