/* Unit tests of the unchanged check (snap_same.h) on a real tree: every
 * entry is looked at, through opened directories and through the relative
 * paths of small ones alike, and the racy rule. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "osm_fs.h"
#include "snap_index.h"
#include "snap_same.h"
#include "snap_tree.h"

#include "testutil.h"

OSM_TEST_TMPDIR(tmpdir, "sametest")

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void put(const char *dir, const char *rel, const char *text)
{
    char *p = osm_path_join(dir, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    free(p);
}

static void dir(const char *root, const char *rel)
{
    char *p = osm_path_join(root, rel);
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
}

/* A tree with a big directory (opened by the check) and a chain of small
 * ones (reached by relative paths), walked and saved as an index. */
static char *tree_and_index(char sha[65])
{
    char *root = osm_path_join(tmpdir, "root");
    assert_int_equal(mkdir(root, 0755), 0);
    dir(root, "big");
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "big/f%02d", i);
        put(root, name, "content");
    }
    dir(root, "a");
    dir(root, "a/b");
    dir(root, "a/b/c");
    put(root, "a/b/c/leaf", "leaf 1");
    put(root, "a/b/side", "side");
    put(root, "top", "top");
    struct snap_index ix;
    snap_index_init(&ix);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(snap_walk(root, &ix, NULL, &err), 0);
    char *idx = osm_path_join(tmpdir, "tree.idx");
    assert_int_equal(snap_index_save(&ix, idx, sha, &err), 0);
    snap_index_free(&ix);
    free(idx);
    return root;
}

static int unchanged(const char *sha, int64_t started)
{
    char *idx = osm_path_join(tmpdir, "tree.idx"), *root = osm_path_join(tmpdir, "root");
    int r = snap_tree_unchanged(root, idx, sha, started, 2);
    free(idx);
    free(root);
    return r;
}

/* The tree as indexed is unchanged for a set that began well after it was
 * written; writing `text` to `rel` (an existing file of the same size, or a
 * new one) must make it changed. */
static void edit_is_seen(const char *rel, const char *text)
{
    char sha[65];
    char *root = tree_and_index(sha);
    int64_t later = now_ns() + (int64_t)10 * 1000000000; /* every ctime is old for a set that began then */
    assert_int_equal(unchanged(sha, later), 1);
    put(root, rel, text);
    assert_int_equal(unchanged(sha, later), 0);
    free(root);
}

static void same_size_edit_in_a_small_directory_is_seen(void **state)
{
    (void)state;
    edit_is_seen("a/b/c/leaf", "leaf 2"); /* three small directories down */
}

static void same_size_edit_in_an_opened_directory_is_seen(void **state)
{
    (void)state;
    edit_is_seen("big/f33", "CONTENT");
}

static void new_name_in_a_small_directory_is_seen(void **state)
{
    (void)state;
    edit_is_seen("a/b/c/new", "");
}

static void entries_changed_just_before_the_set_are_not_trusted(void **state)
{
    (void)state;
    char sha[65];
    char *root = tree_and_index(sha);
    /* The set began as the tree was written: its ctimes are within the
     * margin, so the tree counts as changed though nothing moved since. */
    assert_int_equal(unchanged(sha, now_ns()), 0);
    assert_int_equal(unchanged(sha, 0), 0); /* start unknown */
    free(root);
}

static void racy_rule_margin_follows_the_timestamp_granularity(void **state)
{
    (void)state;
    int64_t s = (int64_t)1700000000 * 1000000000 + 500000000;
    assert_true(snap_stat_trusted(s - 150000000, s));     /* nanosecond ctime, 150 ms before */
    assert_false(snap_stat_trusted(s - 50000000, s));     /* 50 ms before: the same tick is possible */
    assert_false(snap_stat_trusted(s + 1, s));            /* after the start */
    int64_t whole = (int64_t)1699999999 * 1000000000;     /* whole seconds, 1.5 s before */
    assert_false(snap_stat_trusted(whole, s));
    assert_true(snap_stat_trusted(whole - (int64_t)1000000000, s)); /* 2.5 s before */
    assert_false(snap_stat_trusted(s - (int64_t)10 * 1000000000, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OSM_TEST(same_size_edit_in_a_small_directory_is_seen),
        OSM_TEST(same_size_edit_in_an_opened_directory_is_seen),
        OSM_TEST(new_name_in_a_small_directory_is_seen),
        OSM_TEST(entries_changed_just_before_the_set_are_not_trusted),
        OSM_TEST(racy_rule_margin_follows_the_timestamp_granularity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
