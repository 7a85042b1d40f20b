/* buf.c: see osm_buf.h. */
#include "osm_buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char empty_string[1];

static void oom(void)
{
    fputs("osmig: out of memory\n", stderr);
    abort();
}

void *osm_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *osm_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void osm_free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void osm_free_n(void *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
}

void *osm_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *osm_xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        oom();
    return d;
}

char *osm_xvasprintf(const char *fmt, va_list ap)
{
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_vaddf(&b, fmt, ap);
    return osm_buf_detach(&b);
}

char *osm_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = osm_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

char *osm_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int osm_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void osm_buf_init(struct osm_buf *b)
{
    b->s = empty_string;
    b->len = 0;
    b->cap = 0;
}

void osm_buf_free(struct osm_buf *b)
{
    if (b->cap)
        free(b->s);
    osm_buf_init(b);
}

void osm_buf_reset(struct osm_buf *b)
{
    b->len = 0;
    if (b->cap)
        b->s[0] = '\0';
}

void osm_buf_grow(struct osm_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (b->cap) {
        b->s = osm_xrealloc(b->s, cap);
    } else {
        b->s = osm_xmalloc(cap);
        b->s[0] = '\0';
    }
    b->cap = cap;
}

void osm_buf_add(struct osm_buf *b, const void *data, size_t len)
{
    osm_buf_grow(b, len);
    memcpy(b->s + b->len, data, len);
    b->len += len;
    b->s[b->len] = '\0';
}

void osm_buf_adds(struct osm_buf *b, const char *s)
{
    osm_buf_add(b, s, strlen(s));
}

void osm_buf_addc(struct osm_buf *b, char c)
{
    osm_buf_add(b, &c, 1);
}

void osm_buf_vaddf(struct osm_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    osm_buf_grow(b, (size_t)n);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void osm_buf_addf(struct osm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    osm_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

char *osm_buf_detach(struct osm_buf *b)
{
    char *s = b->cap ? b->s : osm_xstrdup("");
    osm_buf_init(b);
    return s;
}
