/* Unit tests of the snapshot index (round trip, corruption, path safety),
 * sparse chunking, and the digest's sensitivity. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "osm_fs.h"
#include "snap_index.h"
#include "snap_store.h"
#include "snap_tree.h"

#include "testutil.h"

OSM_TEST_TMPDIR(tmpdir, "ixtest")

static void fill(struct snap_index *ix, const char *bad_path)
{
    snap_index_init(ix);
    struct snap_entry *d = snap_index_add(ix);
    d->path = snap_arena_strdup(&ix->arena, "");
    d->type = SNAP_DIR;
    d->mode = 040755;
    struct snap_entry *f = snap_index_add(ix);
    f->path = snap_arena_strdup(&ix->arena, bad_path ? bad_path : "etc/hosts");
    f->type = SNAP_FILE;
    f->mode = 0100644;
    f->size = 10;
    f->mtime_ns = 123456789012345;
    f->n_xattrs = 1;
    f->xattrs = snap_arena_calloc(&ix->arena, sizeof *f->xattrs);
    f->xattrs[0].name = snap_arena_strdup(&ix->arena, "security.capability");
    f->xattrs[0].value = (unsigned char *)snap_arena_strdup(&ix->arena, "cap");
    f->xattrs[0].len = 3;
    f->n_refs = 1;
    f->refs = snap_arena_calloc(&ix->arena, sizeof *f->refs);
    f->refs[0].len = 10;
    memset(f->refs[0].hash, 0xab, 32);
}

static void index_round_trip_keeps_every_field_and_digest(void **state)
{
    (void)state;
    struct snap_index ix, back;
    fill(&ix, NULL);
    char *p = osm_path_join(tmpdir, "a.idx");
    char sha[65], d1[65], d2[65];
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(snap_index_save(&ix, p, sha, &err), 0);
    assert_int_equal(snap_index_load(&back, p, sha, &err), 0);
    assert_int_equal(back.n, 2);
    assert_string_equal(back.e[1]->path, "etc/hosts");
    assert_int_equal(back.e[1]->mtime_ns, 123456789012345);
    assert_string_equal(back.e[1]->xattrs[0].name, "security.capability");
    assert_memory_equal(back.e[1]->refs[0].hash, ix.e[1]->refs[0].hash, 32);
    snap_index_digest(&ix, d1);
    snap_index_digest(&back, d2);
    assert_string_equal(d1, d2);
    /* A metadata change changes the digest; atime does not. */
    back.e[1]->atime_ns = 1;
    snap_index_digest(&back, d2);
    assert_string_equal(d1, d2);
    back.e[1]->mode = 0100600;
    snap_index_digest(&back, d2);
    assert_string_not_equal(d1, d2);
    snap_index_free(&ix);
    snap_index_free(&back);
    free(p);
}

static void corrupt_index_is_refused_by_its_checksum(void **state)
{
    (void)state;
    struct snap_index ix, back;
    fill(&ix, NULL);
    char *p = osm_path_join(tmpdir, "b.idx");
    char sha[65];
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(snap_index_save(&ix, p, sha, &err), 0);
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "\xff", 1, 12), 1);
    close(fd);
    assert_int_equal(snap_index_load(&back, p, sha, &err), -1);
    assert_int_equal(err.code, OSM_ECHECKSUM);
    assert_non_null(strstr(err.msg, "corrupt"));
    snap_index_free(&ix);
    free(p);
}

static void index_with_escaping_path_is_rejected(void **state)
{
    (void)state;
    const char *bad[] = {"../etc/passwd", "a/../../b", "/abs", "a//b", "./x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct snap_index ix, back;
        fill(&ix, bad[i]);
        char *p = osm_path_join(tmpdir, "c.idx");
        char sha[65];
        struct osm_err err = OSM_ERR_INIT;
        assert_int_equal(snap_index_save(&ix, p, sha, &err), 0);
        assert_int_equal(snap_index_load(&back, p, NULL, &err), -1);
        assert_non_null(strstr(err.msg, "malformed"));
        snap_index_free(&ix);
        free(p);
    }
}

static void sparse_file_records_only_its_data(void **state)
{
    (void)state;
    char *p = osm_path_join(tmpdir, "sparse");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 64 << 20), 0);
    assert_int_equal(pwrite(fd, "hello", 5, 32 << 20), 5);
    close(fd);
    struct snap_worker w;
    snap_worker_init(&w, 0);
    struct snap_entry e = {0};
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(snap_file_chunks(p, &e, NULL, &w, NULL, &err), 0);
    assert_int_equal(e.size, 64 << 20);
    uint64_t data = 0;
    for (uint32_t i = 0; i < e.n_refs; i++)
        data += e.refs[i].len;
    assert_true(data < (1 << 20)); /* one filesystem block, not 64 MiB */
    assert_int_equal(snap_file_matches(p, &e, &w), 1);
    fd = open(p, O_WRONLY);
    assert_int_equal(pwrite(fd, "x", 1, 100), 1); /* data where a hole was */
    close(fd);
    assert_int_equal(snap_file_matches(p, &e, &w), 0);
    free(e.refs);
    snap_worker_free(&w);
    free(p);
}

/* Directories deeper than the walk keeps descriptors for are walked by full
 * path: the same entries, link targets, and reuse from a previous index. */
static void deep_tree_is_walked_past_the_descriptor_depth(void **state)
{
    (void)state;
    struct osm_buf p;
    osm_buf_init(&p);
    osm_buf_adds(&p, tmpdir);
    osm_buf_adds(&p, "/deep");
    assert_int_equal(mkdir(p.s, 0755), 0);
    for (int i = 0; i < 100; i++) {
        osm_buf_adds(&p, "/d");
        assert_int_equal(mkdir(p.s, 0755), 0);
    }
    size_t dir_len = p.len;
    osm_buf_adds(&p, "/file");
    int fd = open(p.s, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);
    p.len = dir_len;
    osm_buf_adds(&p, "/link");
    assert_int_equal(symlink("file", p.s), 0);
    char *root = osm_path_join(tmpdir, "deep");
    struct snap_index ix, again;
    snap_index_init(&ix);
    snap_index_init(&again);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(snap_walk(root, &ix, NULL, &err), 0);
    assert_int_equal(ix.n, 1 + 100 + 2);
    struct snap_entry *link = ix.e[ix.n - 1];
    assert_int_equal(link->type, SNAP_SYMLINK);
    assert_string_equal(link->link, "file");
    assert_int_equal(strlen(link->path), 100 * 2 + 4);
    char d1[65], d2[65];
    snap_index_digest(&ix, d1);
    size_t n = ix.n;
    assert_int_equal(snap_walk(root, &again, &ix, &err), 0);
    assert_int_equal(ix.n, 0); /* consumed */
    assert_int_equal(again.n, n);
    for (size_t i = 0; i < again.n; i++)
        assert_int_equal(again.e[i]->reused, 1);
    snap_index_digest(&again, d2);
    assert_string_equal(d1, d2);
    snap_index_free(&ix);
    snap_index_free(&again);
    osm_buf_free(&p);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OSM_TEST(index_round_trip_keeps_every_field_and_digest),
        OSM_TEST(corrupt_index_is_refused_by_its_checksum),
        OSM_TEST(deep_tree_is_walked_past_the_descriptor_depth),
        OSM_TEST(index_with_escaping_path_is_rejected),
        OSM_TEST(sparse_file_records_only_its_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
