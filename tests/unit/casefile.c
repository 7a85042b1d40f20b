/* casefile.c: see casefile.h. */
#include "casefile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"

static __attribute__((noreturn)) void vexit(int code, const char *fmt, va_list ap)
{
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    exit(code);
}

void case_bad(const struct casefile *c, size_t lineno, const char *fmt, ...)
{
    va_list ap;
    if (lineno)
        fprintf(stderr, "%s:%zu: bad case: ", c->path, lineno);
    else
        fprintf(stderr, "%s: bad case: ", c->path);
    va_start(ap, fmt);
    vexit(CASE_BAD, fmt, ap);
}

void case_skip(const struct casefile *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "SKIP: %s: ", c->name);
    va_start(ap, fmt);
    vexit(CASE_SKIP, fmt, ap);
}

void case_open(struct casefile *c, const char *path)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    const char *slash = strrchr(path, '/');
    c->name = slash ? slash + 1 : path;
    FILE *f = fopen(path, "r");
    if (!f)
        case_bad(c, 0, "cannot read: %s", strerror(errno));
    size_t cap = 0, lineno = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) != -1) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        char *s = osm_trim(line);
        if (!*s || *s == '#')
            continue;
        if (c->n == cap) {
            cap = cap ? 2 * cap : 32;
            c->lines = realloc(c->lines, cap * sizeof *c->lines);
            if (!c->lines)
                abort();
        }
        struct case_line *l = &c->lines[c->n++];
        l->lineno = lineno;
        if (*s == '|') {
            /* body text keeps its own leading spaces after "| " */
            char *body = strchr(line, '|') + 1;
            if (*body == ' ')
                body++;
            l->key = strdup("|");
            l->value = strdup(body);
        } else {
            char *colon = strchr(s, ':');
            if (!colon || colon == s || strcspn(s, " \t") < (size_t)(colon - s))
                case_bad(c, lineno, "expected \"key: value\", \"| text\" or a # comment, got \"%s\"", s);
            *colon = '\0';
            l->key = strdup(s);
            l->value = strdup(osm_trim(colon + 1));
        }
        if (!l->key || !l->value)
            abort();
    }
    free(line);
    fclose(f);
}

void case_start(struct casefile *c, int argc, char **argv, void (*cleanup)(void))
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE\n", argc ? argv[0] : "runner");
        exit(CASE_BAD);
    }
    case_open(c, argv[1]);
    if (cleanup)
        atexit(cleanup);
}

void case_close(struct casefile *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->lines[i].key);
        free(c->lines[i].value);
    }
    free(c->lines);
    c->lines = NULL;
    c->n = c->pos = 0;
}

const struct case_line *case_peek(const struct casefile *c)
{
    return c->pos < c->n ? &c->lines[c->pos] : NULL;
}

const struct case_line *case_next(struct casefile *c)
{
    return c->pos < c->n ? &c->lines[c->pos++] : NULL;
}

const struct case_line *case_take(struct casefile *c, const char *key)
{
    const struct case_line *l = case_peek(c);
    if (l && strcmp(l->key, key) == 0)
        return case_next(c);
    return NULL;
}

int case_check(struct casefile *c, size_t lineno, int ok, const char *fmt, ...)
{
    c->checks++;
    if (ok)
        return 1;
    c->failures++;
    va_list ap;
    fprintf(stderr, "%s:%zu: FAIL: ", c->path, lineno);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

int case_check_str(struct casefile *c, size_t lineno, const char *what, const char *want, const char *got)
{
    if (!got)
        got = "-";
    return case_check(c, lineno, strcmp(want, got) == 0, "%s: expected \"%s\", got \"%s\"", what, want, got);
}

size_t case_words(const struct casefile *c, size_t lineno, char *value, char **words, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(value, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (n == max)
            case_bad(c, lineno, "more than %zu words", max);
        words[n++] = w;
    }
    return n;
}

long long case_int(const struct casefile *c, size_t lineno, const char *text)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno)
        case_bad(c, lineno, "\"%s\" is not a whole number", text);
    return v;
}

int case_finish(struct casefile *c)
{
    if (c->checks == 0)
        case_bad(c, 0, "no expectation: a case must check something");
    if (c->failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", c->name, c->failures, c->checks);
        return 1;
    }
    printf("%s: %d checks passed\n", c->name, c->checks);
    return 0;
}
