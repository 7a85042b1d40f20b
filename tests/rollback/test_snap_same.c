/* Unit tests of the unchanged check (snap_same.h) on a real tree: every
 * entry is looked at, through opened directories and through the relative
 * paths of small ones alike, from the index itself (a set written before
 * side files) and from its side file; a side file or index that does not
 * hash right is a change; and the racy rule. */
#include <fcntl.h>
#include <openssl/evp.h>
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
    char *side = osm_path_join(tmpdir, "tree.same");
    assert_int_equal(snap_same_save(&ix, sha, side, &err), 0);
    snap_index_free(&ix);
    free(idx);
    free(side);
    return root;
}

/* The check, from the side file (`side`) or from the index alone. */
static int check(const char *sha, int64_t started, int side)
{
    char *idx = osm_path_join(tmpdir, "tree.idx"), *root = osm_path_join(tmpdir, "root");
    char *same = osm_path_join(tmpdir, "tree.same");
    int r = snap_tree_unchanged(root, idx, sha, side ? same : NULL, started, 2);
    free(idx);
    free(root);
    free(same);
    return r;
}

static int unchanged(const char *sha, int64_t started)
{
    int r = check(sha, started, 0);
    assert_int_equal(check(sha, started, 1), r); /* both ways give one answer */
    return r;
}

static int64_t later_ns(void)
{
    return now_ns() + (int64_t)10 * 1000000000; /* every ctime is old for a set that began then */
}

/* The tree as indexed is unchanged for a set that began well after it was
 * written; writing `text` to `rel` (an existing file of the same size, or a
 * new one) must make it changed. */
static void edit_is_seen(const char *rel, const char *text)
{
    char sha[65];
    char *root = tree_and_index(sha);
    int64_t later = later_ns();
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

/* Side file layout (snap_same.c): a 56-byte header, 72-byte records
 * (mode at +8, inode at +32, ctime at +64), the names, a SHA-256 of it all. */
#define HEAD 56
#define REC 72

static void rehash_side(unsigned char *m, size_t n)
{
    EVP_Digest(m, n - 32, m + n - 32, NULL, EVP_sha256(), NULL);
}

/* A change the side file is patched to hide (the changed file's record
 * given its new mode and ctime) is still a change: the file's own hash no
 * longer matches. Hashed again, the patch would pass (so it is the hash that
 * stops it here). */
static void side_file_that_does_not_hash_right_is_a_change(void **state)
{
    (void)state;
    char sha[65];
    char *root = tree_and_index(sha);
    int64_t later = later_ns();
    char *f = osm_path_join(root, "big/f07"), *side = osm_path_join(tmpdir, "tree.same");
    assert_int_equal(chmod(f, 0600), 0);
    struct stat st;
    assert_int_equal(lstat(f, &st), 0);
    struct osm_buf b;
    osm_buf_init(&b);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_read_file(side, &b, &err), 0);
    unsigned char *m = (unsigned char *)b.s;
    size_t n = b.len, at = 0;
    uint64_t count;
    memcpy(&count, m + 8, 8);
    for (size_t i = 0; i < count && !at; i++) {
        uint64_t ino;
        memcpy(&ino, m + HEAD + i * REC + 32, 8);
        if (ino == (uint64_t)st.st_ino)
            at = HEAD + i * REC;
    }
    assert_true(at != 0);
    uint32_t mode;
    memcpy(&mode, m + at + 8, 4);
    mode = (mode & 0x80000000u) | (uint32_t)st.st_mode;
    int64_t ctime = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
    memcpy(m + at + 8, &mode, 4);
    memcpy(m + at + 64, &ctime, 8);
    assert_int_equal(osm_write_file_atomic(side, m, n, 0600, &err), 0);
    assert_int_equal(check(sha, later, 1), 0);
    assert_int_equal(check(sha, later, 0), 0); /* the index, decoded, sees it too */
    rehash_side(m, n);
    assert_int_equal(osm_write_file_atomic(side, m, n, 0600, &err), 0);
    assert_int_equal(check(sha, later, 1), 1);
    osm_buf_free(&b);
    free(f);
    free(side);
    free(root);
}

/* With a side file the index is not decoded, but its hash is still checked:
 * a corrupt index is never shared into a new set. */
static void corrupt_index_is_a_change_even_with_a_side_file(void **state)
{
    (void)state;
    char sha[65];
    char *root = tree_and_index(sha);
    int64_t later = later_ns();
    assert_int_equal(check(sha, later, 1), 1);
    char *idx = osm_path_join(tmpdir, "tree.idx");
    struct osm_buf b;
    osm_buf_init(&b);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_read_file(idx, &b, &err), 0);
    b.s[b.len - 1] ^= 1;
    assert_int_equal(osm_write_file_atomic(idx, b.s, b.len, 0600, &err), 0);
    assert_int_equal(check(sha, later, 1), 0);
    assert_int_equal(check(sha, later, 0), 0);
    osm_buf_free(&b);
    free(idx);
    free(root);
}

/* A side file that belongs to another index (the set's index hash is not
 * the one it names) is a change; a torn one (its sizes do not add up), one
 * whose records point out of bounds and a missing one (a set written
 * before side files) are not used: the index is decoded, and it says
 * unchanged. */
static void side_file_of_another_index_torn_or_missing(void **state)
{
    (void)state;
    char sha[65];
    char *root = tree_and_index(sha);
    int64_t later = later_ns();
    char *side = osm_path_join(tmpdir, "tree.same");
    struct osm_buf b;
    osm_buf_init(&b);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_read_file(side, &b, &err), 0);
    unsigned char *m = (unsigned char *)b.s;
    m[24] ^= 1; /* the index hash it names */
    rehash_side(m, b.len);
    assert_int_equal(osm_write_file_atomic(side, m, b.len, 0600, &err), 0);
    assert_int_equal(check(sha, later, 1), 0);
    assert_int_equal(osm_write_file_atomic(side, m, b.len / 2, 0600, &err), 0);
    assert_int_equal(check(sha, later, 1), 1);
    /* a record whose parent lies past the records, hashed right: not used
     * (nor read out of bounds) */
    m[24] ^= 1;
    uint64_t count;
    memcpy(&count, m + 8, 8);
    uint32_t far = (uint32_t)count + 1000;
    memcpy(m + HEAD + (count - 1) * REC + 4, &far, 4);
    rehash_side(m, b.len);
    assert_int_equal(osm_write_file_atomic(side, m, b.len, 0600, &err), 0);
    assert_int_equal(check(sha, later, 1), 1);
    assert_int_equal(unlink(side), 0);
    assert_int_equal(check(sha, later, 1), 1);
    osm_buf_free(&b);
    free(side);
    free(root);
}

/* A set written before side files: its check decodes the index and, the
 * tree unchanged, writes the records it decoded as a side file; that file
 * then serves the next checks, which see an edit as before. */
static void decoded_records_become_the_side_file(void **state)
{
    (void)state;
    char sha[65];
    char *root = tree_and_index(sha);
    int64_t later = later_ns();
    char *idx = osm_path_join(tmpdir, "tree.idx"), *side = osm_path_join(tmpdir, "tree.same");
    char *made = osm_path_join(tmpdir, "made.same");
    struct osm_buf saved, decoded;
    osm_buf_init(&saved);
    osm_buf_init(&decoded);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_read_file(side, &saved, &err), 0);
    assert_int_equal(unlink(side), 0);
    assert_int_equal(snap_same_finish_saving(snap_same_start(root, idx, sha, NULL, later, 2), made), 1);
    assert_int_equal(osm_read_file(made, &decoded, &err), 0);
    /* byte for byte what the create that wrote the index would have written */
    assert_int_equal(decoded.len, saved.len);
    assert_memory_equal(decoded.s, saved.s, saved.len);
    osm_buf_free(&saved);
    osm_buf_free(&decoded);
    assert_int_equal(rename(made, side), 0);
    assert_int_equal(check(sha, later, 1), 1);
    put(root, "a/b/c/leaf", "leaf 2");
    assert_int_equal(check(sha, later, 1), 0);
    assert_int_equal(snap_same_finish_saving(snap_same_start(root, idx, sha, NULL, later, 2), made), 0);
    assert_false(osm_is_file(made)); /* a changed tree gives no side file */
    free(idx);
    free(side);
    free(made);
    free(root);
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
        OSM_TEST(side_file_that_does_not_hash_right_is_a_change),
        OSM_TEST(corrupt_index_is_a_change_even_with_a_side_file),
        OSM_TEST(side_file_of_another_index_torn_or_missing),
        OSM_TEST(decoded_records_become_the_side_file),
        OSM_TEST(entries_changed_just_before_the_set_are_not_trusted),
        OSM_TEST(racy_rule_margin_follows_the_timestamp_granularity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
