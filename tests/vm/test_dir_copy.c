/* test_dir_copy: copy_in/copy_out of the `dir` provider, the contract's
 * file doors on a root tree: writes stay inside the root whatever its
 * symlinks say, the destination is whole or untouched, bad input is refused
 * naming the path. */
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

#include "osm_buf.h"
#include "osm_fs.h"
#include "providers/provider.h"

struct fx {
    char dir[64], root[96], outside[96];
    struct osm_instance *inst;
};

static void put(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode);
}

static char *slurp(const char *path)
{
    struct osm_buf b;
    osm_buf_init(&b);
    struct osm_err e = OSM_ERR_INIT;
    if (osm_read_file(path, &b, &e) != 0) {
        osm_buf_free(&b);
        return NULL;
    }
    return osm_buf_detach(&b);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/osmig-dircopy-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof f->root, "%s/root", f->dir);
    snprintf(f->outside, sizeof f->outside, "%s/outside", f->dir);
    char p[256];
    mkdir(f->root, 0755);
    mkdir(f->outside, 0755);
    snprintf(p, sizeof p, "%s/etc", f->root);
    mkdir(p, 0755);
    /* Links that point out of the tree if followed on the host. */
    snprintf(p, sizeof p, "%s/escape", f->root);
    assert_int_equal(symlink(f->outside, p), 0);
    snprintf(p, sizeof p, "%s/etc/hostname", f->root);
    put(p, "inside\n", 0644);
    snprintf(p, sizeof p, "%s/hostname", f->outside);
    put(p, "outside\n", 0644);
    snprintf(p, sizeof p, "%s/etc/hn-link", f->root);
    assert_int_equal(symlink("/etc/hostname", p), 0);
    char uri[128];
    snprintf(uri, sizeof uri, "dir:%s", f->root);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_instance_open(uri, &f->inst, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    osm_instance_close(f->inst);
    struct osm_err e = OSM_ERR_INIT;
    osm_remove_tree(f->dir, &e);
    free(f);
    return 0;
}

static void copy_in_stays_inside_the_root_and_keeps_the_mode(void **state)
{
    struct fx *f = *state;
    char src[256], p[256];
    snprintf(src, sizeof src, "%s/src.txt", f->dir);
    put(src, "payload\n", 0600);
    struct osm_err err = OSM_ERR_INIT;
    /* /escape is a link to a host directory outside the root: resolved in
     * the root, it leads to ROOT/that/path (absent here), never out. */
    assert_int_equal(f->inst->provider->copy_in(f->inst, src, "/escape/hostname", &err), -1);
    assert_int_equal(f->inst->provider->copy_in(f->inst, src, "/etc/new.txt", &err), 0);
    snprintf(p, sizeof p, "%s/etc/new.txt", f->root);
    char *got = slurp(p);
    assert_string_equal(got, "payload\n");
    free(got);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* "..": stops at the root, the host's outside/hostname is untouched. */
    snprintf(p, sizeof p, "%s/outside", f->root);
    mkdir(p, 0755);
    assert_int_equal(f->inst->provider->copy_in(f->inst, src, "/../../outside/hostname", &err), 0);
    snprintf(p, sizeof p, "%s/outside/hostname", f->root);
    got = slurp(p);
    assert_string_equal(got, "payload\n");
    free(got);
    snprintf(p, sizeof p, "%s/hostname", f->outside);
    got = slurp(p);
    assert_string_equal(got, "outside\n");
    free(got);
}

static void copy_out_follows_links_inside_the_root(void **state)
{
    struct fx *f = *state;
    char dst[256];
    snprintf(dst, sizeof dst, "%s/out.txt", f->dir);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(f->inst->provider->copy_out(f->inst, "/etc/hn-link", dst, &err), 0);
    char *got = slurp(dst);
    assert_string_equal(got, "inside\n");
    free(got);
}

static void bad_paths_are_refused_and_nothing_is_written(void **state)
{
    struct fx *f = *state;
    char src[256], dst[256];
    snprintf(src, sizeof src, "%s/src2.txt", f->dir);
    put(src, "x\n", 0644);
    snprintf(dst, sizeof dst, "%s/out2.txt", f->dir);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(f->inst->provider->copy_in(f->inst, src, "etc/rel.txt", &err), -1);
    assert_non_null(strstr(err.msg, "must be absolute"));
    assert_int_equal(f->inst->provider->copy_out(f->inst, "/etc", dst, &err), -1);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(access(dst, F_OK), -1);
    assert_int_equal(f->inst->provider->copy_in(f->inst, "/nonexistent/osmig-src", "/etc/x", &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/osmig-src"));
    assert_int_equal(f->inst->provider->copy_in(f->inst, src, "/no/such/dir/x", &err), -1);
    assert_non_null(strstr(err.msg, "/no/such/dir/x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(copy_in_stays_inside_the_root_and_keeps_the_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_out_follows_links_inside_the_root, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_paths_are_refused_and_nothing_is_written, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
