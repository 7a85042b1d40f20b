/* mdfilter.c: see mdfilter.h. */
#include "mdfilter.h"

#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"

static const char *const skipped[] = {"description", "summary",   "url",           "packager",
                                      "rpm:license", "rpm:group", "rpm:buildhost", "rpm:sourcerpm"};
#define N_SKIPPED (sizeof skipped / sizeof skipped[0])
#define LOOKAHEAD 32 /* > "<rpm:sourcerpm" plus the character after it */

struct mdf {
    FILE *in;
    size_t start, end; /* pending input: buf[start, end) */
    int eof;
    int skip; /* 1 + index in skipped[] of the element being skipped, or 0 */
    char buf[65536];
};

/* Keep the pending bytes and read more behind them. */
static void fill(struct mdf *f)
{
    if (f->start)
        memmove(f->buf, f->buf + f->start, f->end - f->start);
    f->end -= f->start;
    f->start = 0;
    if (f->end == sizeof f->buf)
        return; /* full: the caller decides with what it has */
    size_t got = fread(f->buf + f->end, 1, sizeof f->buf - f->end, f->in);
    f->end += got;
    if (got == 0)
        f->eof = 1;
}

/* Does a skipped element start at buf[start] ('<')? Returns 1 + its index,
 * 0 when not, -1 when more input is needed to tell. Sets *open_len to the
 * length of the start tag. */
static int starts_skipped(struct mdf *f, size_t *open_len)
{
    const char *p = f->buf + f->start + 1;
    size_t avail = f->end - f->start - 1;
    for (size_t i = 0; i < N_SKIPPED; i++) {
        size_t len = strlen(skipped[i]);
        if (avail <= len)
            return f->eof ? 0 : -1;
        if (memcmp(p, skipped[i], len) != 0)
            continue;
        char c = p[len];
        if (c == '>') {
            *open_len = len + 2;
            return (int)i + 1;
        }
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            continue;
        const char *gt = memchr(p + len, '>', avail - len);
        if (!gt)
            return f->eof ? 0 : -1;
        if (gt[-1] == '/')
            return 0; /* self-closing: nothing to skip */
        *open_len = (size_t)(gt - (p - 1)) + 1;
        return (int)i + 1;
    }
    return 0;
}

/* A cheap first test on the name after '<': most tags fail it at once. */
static int maybe_skipped(const char *p)
{
    switch (p[0]) {
    case 'd':
    case 's':
    case 'u':
    case 'p':
        return 1;
    case 'r':
        return p[3] == ':' && (p[4] == 'l' || p[4] == 'g' || p[4] == 'b' || p[4] == 's');
    default:
        return 0;
    }
}

static ssize_t mdf_read(void *cookie, char *out, size_t size)
{
    struct mdf *f = cookie;
    size_t n = 0;
    while (n < size) {
        if (f->start == f->end) {
            if (f->eof)
                break;
            fill(f);
            continue;
        }
        if (f->skip) {
            char close[32];
            int clen = snprintf(close, sizeof close, "</%s>", skipped[f->skip - 1]);
            const char *hit = memmem(f->buf + f->start, f->end - f->start, close, (size_t)clen);
            if (hit) {
                f->start = (size_t)(hit - f->buf) + (size_t)clen;
                f->skip = 0;
            } else if (f->eof) {
                f->start = f->end; /* unterminated: the parser reports the truncation */
            } else {
                /* Keep what could be the start of the end tag. */
                if (f->end - f->start > (size_t)clen)
                    f->start = f->end - (size_t)clen;
                fill(f);
            }
            continue;
        }
        /* Copy up to the next '<' that could open a skipped element. */
        const char *b = f->buf + f->start, *e = f->buf + f->end, *q = b;
        int short_tail = 0;
        while ((q = memchr(q, '<', (size_t)(e - q))) != NULL) {
            if (e - q < LOOKAHEAD && !f->eof) {
                short_tail = 1;
                break;
            }
            if (e - q >= 6 && maybe_skipped(q + 1))
                break;
            q++;
        }
        const char *run_end = q ? q : e;
        if (run_end > b) {
            size_t k = (size_t)(run_end - b) < size - n ? (size_t)(run_end - b) : size - n;
            memcpy(out + n, b, k);
            n += k;
            f->start += k;
            continue;
        }
        if (short_tail) {
            fill(f); /* a '<' too near the end to tell: read on */
            continue;
        }
        size_t open_len = 0;
        int which = starts_skipped(f, &open_len);
        if (which < 0 && f->end - f->start < sizeof f->buf) {
            fill(f);
            continue;
        }
        if (which > 0) { /* (a start tag longer than the buffer counts as not skipped) */
            f->start += open_len;
            f->skip = which;
            continue;
        }
        out[n++] = '<';
        f->start++;
    }
    if (n == 0 && ferror(f->in))
        return -1;
    return (ssize_t)n;
}

/* The state's first member is the FILE * it reads (osm_md_stream_open). */
static int md_stream_close(void *cookie)
{
    int r = fclose(*(FILE **)cookie);
    free(cookie);
    return r;
}

FILE *osm_md_stream_open(void *state, cookie_read_function_t *read)
{
    cookie_io_functions_t io = {.read = read, .close = md_stream_close};
    FILE *fp = fopencookie(state, "r", io);
    if (!fp)
        md_stream_close(state);
    return fp;
}

FILE *osm_mdfilter_open(FILE *in)
{
    struct mdf *f = osm_xcalloc(1, sizeof *f);
    f->in = in;
    return osm_md_stream_open(f, mdf_read);
}
