/* repomd_slices.c: see repomd_slices.h. */
#include "repomd_slices.h"

#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"

#define TAG "<package"
#define TAG_LEN 8

struct slicer {
    FILE *in;
    long first, end;
    long idx; /* index of the package being read; -1 in the prolog */
    int eof, done;
    const char *tail; /* what is left to emit of "</metadata>" */
    size_t start, len; /* pending input: buf[start, len) */
    char buf[65536];
};

static const char closing[] = "</metadata>\n";

static int in_range(const struct slicer *s)
{
    return s->idx < 0 || (s->idx >= s->first && s->idx < s->end);
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
        return 0;
    }
    if (k > room)
        k = room;
    memcpy(out, s->buf + s->start, k);
    s->start += k;
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
            s->idx++;
            if (s->idx >= s->end) {
                s->done = 1;
                s->tail = closing;
                continue;
            }
        }
        n += consume(s, at + 1, out + n, size - n); /* the '<', then on */
    }
    if (n == 0 && ferror(s->in))
        return -1;
    return (ssize_t)n;
}

static int slicer_close(void *cookie)
{
    struct slicer *s = cookie;
    int r = fclose(s->in);
    free(s);
    return r;
}

FILE *osm_slice_open(FILE *in, long first, long end)
{
    struct slicer *s = osm_xcalloc(1, sizeof *s);
    s->in = in;
    s->first = first;
    s->end = end;
    s->idx = -1;
    cookie_io_functions_t io = {.read = slicer_read, .close = slicer_close};
    FILE *fp = fopencookie(s, "r", io);
    if (!fp) {
        fclose(in);
        free(s);
    }
    return fp;
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

struct osm_slice *osm_slice_layout(const struct osm_slice_repo *repos, size_t n, int workers, double min_share,
                                   size_t *n_out)
{
    if (workers < 1)
        workers = 1;
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += repos[i].size > 0 ? repos[i].size : 0;
    double seg = total > 0 ? total / workers : 1;
    size_t cap = n + (size_t)workers * 2 + 2, count = 0;
    struct osm_slice *out = osm_xcalloc(cap, sizeof *out);
    double pos = 0;
    for (size_t i = 0; i < n; i++) {
        double size = repos[i].size > 0 ? repos[i].size : 0, start = pos, stop = pos + size;
        pos = stop;
        /* Cuts: the segment ends strictly inside the repository, leaving no
         * piece smaller than min_share of a segment. */
        double cuts[64];
        int nc = 0;
        if (repos[i].packages >= 2) {
            double last = start;
            for (int w = 1; w < workers && nc < 63; w++) {
                double c = w * seg;
                if (c - last < min_share * seg || c <= start)
                    continue;
                if (stop - c < min_share * seg)
                    break;
                cuts[nc++] = c;
                last = c;
            }
        }
        long prev_pkg = 0;
        double prev = start;
        int first_idx = (int)count;
        for (int k = 0; k <= nc; k++) {
            double c = k < nc ? cuts[k] : stop;
            long pkg = k < nc ? (long)((c - start) / size * (double)repos[i].packages + 0.5) : repos[i].packages;
            if (k < nc && (pkg <= prev_pkg || pkg >= repos[i].packages))
                continue; /* too few packages to cut here */
            if (count == cap)
                out = osm_xrealloc(out, (cap *= 2) * sizeof *out);
            out[count] = (struct osm_slice){.repo = i, .first = prev_pkg, .end = k < nc ? pkg : repos[i].packages,
                                            .worker = worker_at((prev + c) / 2, seg, workers)};
            count++;
            prev_pkg = pkg;
            prev = c;
        }
        int slices = (int)count - first_idx;
        for (int k = first_idx; k < (int)count; k++) {
            out[k].index = k - first_idx;
            out[k].count = slices;
            if (slices == 1) {
                out[k].first = 0;
                out[k].end = -1;
            }
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
