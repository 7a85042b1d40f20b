/* error.c: see osm_error.h. */
#include "osm_error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* err->msg = head + ": " + tail, truncated to fit; tail may alias err->msg. */
static void compose(struct osm_err *err, const char *head, const char *tail)
{
    char out[sizeof err->msg];
    size_t hl = strnlen(head, sizeof out - 1);
    memcpy(out, head, hl);
    size_t pos = hl;
    if (pos + 2 < sizeof out) {
        out[pos++] = ':';
        out[pos++] = ' ';
    }
    size_t tl = strnlen(tail, sizeof out - 1 - pos);
    memcpy(out + pos, tail, tl);
    out[pos + tl] = '\0';
    memcpy(err->msg, out, pos + tl + 1);
}

int osm_err_set(struct osm_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code ? code : OSM_EFAIL;
    return -1;
}

int osm_err_errno(struct osm_err *err, const char *fmt, ...)
{
    int saved = errno;
    if (!err)
        return -1;
    char head[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    compose(err, head, strerror(saved));
    err->code = (saved == ENOENT) ? OSM_ENOTFOUND : OSM_EIO;
    errno = saved;
    return -1;
}

void osm_err_prefix(struct osm_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char head[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    compose(err, head, err->msg);
}

void osm_err_clear(struct osm_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

int osm_err_exit_status(const struct osm_err *err)
{
    return (err && err->code == OSM_EUSAGE) ? 2 : 1;
}
