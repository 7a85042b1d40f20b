/* testutil.h: what the cmocka tests share (include after <cmocka.h>).
 *
 *   OSM_TEST_TMPDIR(var, "what")  static char var[] and setup()/teardown()
 *                                 that make /tmp/osmig-what-XXXXXX for each
 *                                 case and remove it after
 *   osm_test_mkdtemp(buf, "what") the same directory, for a setup() that
 *                                 does more
 *   OSM_TEST(fn)                  a case run between the file's setup() and
 *                                 teardown()
 *   osm_test_need_env(NAME, why)  $NAME, or exit 77 (SKIP) saying why it is
 *                                 needed
 *   osm_test_render(print, doc)   what a printer of a JSON document writes,
 *                                 as a string */
#ifndef OSM_TESTUTIL_H
#define OSM_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "osm_fs.h"

#define OSM_TEST_DIR_MAX 256

/* Make /tmp/osmig-WHAT-XXXXXX into `buf` (OSM_TEST_DIR_MAX bytes): 0 or -1. */
static inline int osm_test_mkdtemp(char buf[OSM_TEST_DIR_MAX], const char *what)
{
    snprintf(buf, OSM_TEST_DIR_MAX, "/tmp/osmig-%s-XXXXXX", what);
    return mkdtemp(buf) ? 0 : -1;
}

static inline const char *osm_test_need_env(const char *name, const char *why)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "SKIP: %s is not set (%s)\n", name, why);
        exit(77);
    }
    return v;
}

/* What `print` writes for `doc` (free it). */
static inline char *osm_test_render(void (*print)(FILE *, const json_t *), const json_t *doc)
{
    /* the stream's buffer pointers live on the heap: GCC takes a local's
     * address handed to open_memstream for a dangling pointer */
    struct mem {
        char *s;
        size_t n;
    } *m = calloc(1, sizeof *m);
    FILE *f = open_memstream(&m->s, &m->n);
    print(f, doc);
    fclose(f);
    char *s = m->s;
    free(m);
    return s;
}

#define OSM_TEST_TMPDIR(var, what)                                                                                \
    static char var[OSM_TEST_DIR_MAX];                                                                           \
    static int setup(void **state)                                                                               \
    {                                                                                                            \
        (void)state;                                                                                             \
        return osm_test_mkdtemp(var, what);                                                                      \
    }                                                                                                            \
    static int teardown(void **state)                                                                            \
    {                                                                                                            \
        (void)state;                                                                                             \
        return osm_remove_tree(var, NULL);                                                                       \
    }

#define OSM_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

#endif
