/* osm_buf: a growable, always NUL-terminated byte buffer (like git's strbuf).
 * Allocation failure aborts: the engine cannot do anything useful without
 * memory and every caller would otherwise need the same check. */
#ifndef OSM_BUF_H
#define OSM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct osm_buf {
    char *s;    /* never NULL after osm_buf_init(); "" when empty */
    size_t len;
    size_t cap;
};

void osm_buf_init(struct osm_buf *b);
void osm_buf_free(struct osm_buf *b);
void osm_buf_reset(struct osm_buf *b);
void osm_buf_grow(struct osm_buf *b, size_t extra);
void osm_buf_add(struct osm_buf *b, const void *data, size_t len);
void osm_buf_adds(struct osm_buf *b, const char *s);
void osm_buf_addc(struct osm_buf *b, char c);
__attribute__((format(printf, 2, 3))) void osm_buf_addf(struct osm_buf *b, const char *fmt, ...);
void osm_buf_vaddf(struct osm_buf *b, const char *fmt, va_list ap);
/* Hand the string to the caller (who frees it); the buffer is reset. */
char *osm_buf_detach(struct osm_buf *b);

/* Allocation helpers that abort on failure. */
void *osm_xmalloc(size_t n);
void *osm_xcalloc(size_t n, size_t size);
void *osm_xrealloc(void *p, size_t n);
char *osm_xstrdup(const char *s);
/* Frees each of the n strings of v, then v. */
void osm_free_strv(char **v, size_t n);
/* Frees each pointer listed (NULL is fine): a struct's owned fields in one
 * statement. The list is evaluated once (sizeof does not evaluate). */
#define osm_free_all(...) \
    osm_free_n((void *[]){__VA_ARGS__}, sizeof((void *[]){__VA_ARGS__}) / sizeof(void *))
void osm_free_n(void *const *v, size_t n);
__attribute__((format(printf, 1, 2))) char *osm_xasprintf(const char *fmt, ...);
char *osm_xvasprintf(const char *fmt, va_list ap);
/* `s` without its leading and trailing white space: trailing space is cut
 * in place, the result points into `s`. */
char *osm_trim(char *s);
/* The value of hex digit `c` (either case), or -1. */
int osm_hexval(int c);

#endif
