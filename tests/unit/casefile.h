/* casefile.h: reading the declarative test cases (the NAME.case files of
 * tests/linux/events, tests/windows/assess and tests/sched/cases), after
 * libsolv's testcases and curl's test files.
 *
 * A case file is lines of "key: value". Blank lines and lines starting with
 * '#' are comments; the first comment says what the case proves. A line
 * "| text" is a body line (the text of a file the case writes), returned
 * with the key "|". Each runner gives the keys their meaning.
 *
 * Exit codes of a runner: 0 every check passed, 1 a check failed, 77 the
 * case cannot run here (SKIP, never PASS), 2 the case file is bad (the
 * message names the file and line). */
#ifndef OSM_CASEFILE_H
#define OSM_CASEFILE_H

#include <stddef.h>

#define CASE_SKIP 77
#define CASE_BAD 2

struct case_line {
    size_t lineno;
    char *key;   /* "|" for a body line */
    char *value; /* trimmed; "" when the key has none */
};

struct casefile {
    const char *path;
    const char *name; /* the file name without its folder */
    struct case_line *lines;
    size_t n, pos;
    int checks, failures;
};

/* A runner's start: `RUNNER CASE` in argv (else usage, exit CASE_BAD), the
 * case read with case_open, and `cleanup` (may be NULL) run at exit. */
void case_start(struct casefile *c, int argc, char **argv, void (*cleanup)(void));

/* Read PATH; a file that cannot be read or a line that is neither a
 * comment, a body line nor "key: value" exits CASE_BAD naming the line. */
void case_open(struct casefile *c, const char *path);
void case_close(struct casefile *c);

/* The next line (NULL at the end); case_peek does not consume it. */
const struct case_line *case_next(struct casefile *c);
const struct case_line *case_peek(const struct casefile *c);
/* Consume the next line when its key is KEY: the line, or NULL. */
const struct case_line *case_take(struct casefile *c, const char *key);

/* "FILE:LINE: bad case: ..." on stderr, exit CASE_BAD. */
__attribute__((noreturn, format(printf, 3, 4))) void case_bad(const struct casefile *c, size_t lineno,
                                                              const char *fmt, ...);
/* "SKIP: ..." on stderr, exit CASE_SKIP. */
__attribute__((noreturn, format(printf, 2, 3))) void case_skip(const struct casefile *c, const char *fmt, ...);

/* One check: counted; when `ok` is 0, "FILE:LINE: FAIL: ..." and counted as
 * failed. Returns `ok`. */
__attribute__((format(printf, 4, 5))) int case_check(struct casefile *c, size_t lineno, int ok, const char *fmt,
                                                     ...);
/* A string check: "want" equals "got" (NULL reads "-"). */
int case_check_str(struct casefile *c, size_t lineno, const char *what, const char *want, const char *got);

/* Split `value` (modified in place) at white space into at most `max`
 * words; more exits CASE_BAD. Returns the count. */
size_t case_words(const struct casefile *c, size_t lineno, char *value, char **words, size_t max);
/* The whole number of `text`, or CASE_BAD naming the line. */
long long case_int(const struct casefile *c, size_t lineno, const char *text);

/* Print the summary and return the exit code: 1 when a check failed, 0 when
 * all passed; a case with no check is bad (a case must prove something). */
int case_finish(struct casefile *c);

#endif
