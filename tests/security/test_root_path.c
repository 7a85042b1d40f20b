/* test_root_path.c: osm_root_path resolves a guest path inside the root,
 * as openat2's RESOLVE_IN_ROOT would: an instance's symlinks (absolute,
 * relative, through "..", chained, looping) never lead a path outside it. */
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

static char root[256];

static void link_in(const char *target, const char *at)
{
    char p[512];
    snprintf(p, sizeof p, "%s%s", root, at);
    assert_int_equal(symlink(target, p), 0);
}

static void expect(const char *guest, const char *want_rel)
{
    char *got = osm_root_path(root, guest);
    char want[512];
    snprintf(want, sizeof want, "%s%s", root, want_rel);
    assert_string_equal(got, want);
    free(got);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/osm-rootpath.XXXXXX");
    assert_non_null(mkdtemp(root));
    char p[512];
    const char *dirs[] = {"/var", "/var/lib", "/usr", "/usr/lib", "/etc"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(p, sizeof p, "%s%s", root, dirs[i]);
        assert_int_equal(mkdir(p, 0755), 0);
    }
    link_in("/tmp", "/var/lib/osmig");                    /* absolute: the instance's /tmp */
    link_in("../../../../../../../etc", "/var/lib/rpm");  /* ".." stops at the root */
    link_in("../usr/lib/os-release", "/etc/os-release");  /* relative, as distributions ship it */
    link_in("/var/lib/rpm", "/var/lib/chain");            /* a link to a link */
    link_in("/var/lib/loop2", "/var/lib/loop1");
    link_in("/var/lib/loop1", "/var/lib/loop2");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    osm_remove_tree(root, &err);
    return 0;
}

static void absolute_symlink_resolves_inside_the_root(void **state)
{
    (void)state;
    expect("/var/lib/osmig/stage/x.rpm", "/tmp/stage/x.rpm");
}

static void dotdot_symlink_stops_at_the_root(void **state)
{
    (void)state;
    expect("/var/lib/rpm/Packages", "/etc/Packages");
    expect("/var/lib/rpm", "/var/lib/rpm");
    expect("/../../../etc/passwd", "/etc/passwd");
}

static void relative_and_chained_symlinks(void **state)
{
    (void)state;
    expect("/etc/os-release", "/etc/os-release"); /* the last component as lstat sees it */
    char *got = osm_root_path_follow(root, "/etc/os-release");
    char want[512];
    snprintf(want, sizeof want, "%s/usr/lib/os-release", root);
    assert_string_equal(got, want);
    free(got);
    got = osm_root_path_follow(root, "/var/lib/rpm");
    snprintf(want, sizeof want, "%s/etc", root);
    assert_string_equal(got, want);
    free(got);
    expect("/var/lib/chain/rpmdb.sqlite", "/etc/rpmdb.sqlite");
}

static void plain_paths_are_joined(void **state)
{
    (void)state;
    expect("/var/lib/nothing/yet", "/var/lib/nothing/yet");
    expect("/", "");
}

static void a_symlink_loop_leads_nowhere_writable(void **state)
{
    (void)state;
    char *got = osm_root_path(root, "/var/lib/loop1/x");
    assert_true(strncmp(got, "/proc/", 6) == 0);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(absolute_symlink_resolves_inside_the_root),
        cmocka_unit_test(dotdot_symlink_stops_at_the_root),
        cmocka_unit_test(relative_and_chained_symlinks),
        cmocka_unit_test(plain_paths_are_joined),
        cmocka_unit_test(a_symlink_loop_leads_nowhere_writable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
