/* test_root_path.c: osm_root_path resolves a guest path inside the root,
 * as openat2's RESOLVE_IN_ROOT would: an instance's symlinks (absolute,
 * relative, through "..", chained, looping) never lead a path outside it.
 * osm_root_open and osm_root_write_file_atomic never create or write
 * through a symlink at the last component, and a symlink to a host
 * directory swapped in while they run never leads a write out of the root. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

/* A directory outside the root, and its file "victim" with known text. */
static void make_host(char *host, size_t size)
{
    snprintf(host, size, "/tmp/osm-rootpath-host.XXXXXX");
    assert_non_null(mkdtemp(host));
    char victim[600];
    snprintf(victim, sizeof victim, "%s/victim", host);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_write_file_atomic(victim, "host\n", 5, 0644, &err), 0);
}

static void expect_host_untouched(const char *host)
{
    char p[600];
    snprintf(p, sizeof p, "%s/victim", host);
    struct osm_buf b;
    osm_buf_init(&b);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_read_file(p, &b, &err), 0);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.s, "host\n", 5);
    osm_buf_free(&b);
    const char *others[] = {"f", "g", "new"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", host, others[i]);
        struct stat st;
        if (lstat(p, &st) == 0)
            fail_msg("%s was created outside the root", p);
    }
}

static void a_create_is_not_made_through_a_symlink_at_the_last_component(void **state)
{
    (void)state;
    char host[256], victim[400], lrel[700];
    make_host(host, sizeof host);
    snprintf(victim, sizeof victim, "%s/victim", host);
    link_in(victim, "/etc/shadow-abs");
    snprintf(lrel, sizeof lrel, "../../../../../../../..%s", victim);
    link_in(lrel, "/etc/shadow-rel");
    const char *names[] = {"/etc/shadow-abs", "/etc/shadow-rel"};
    for (size_t i = 0; i < 2; i++) {
        struct osm_err err = OSM_ERR_INIT;
        int fd = osm_root_open(root, names[i], O_WRONLY | O_CREAT | O_TRUNC, 0644, &err);
        assert_int_equal(fd, -1);
        assert_non_null(strstr(err.msg, names[i]));
        assert_non_null(strstr(err.msg, "is a symlink"));
        /* Written by rename: the link in the root is replaced, not followed. */
        struct osm_err err2 = OSM_ERR_INIT;
        assert_int_equal(osm_root_write_file_atomic(root, names[i], "new\n", 4, 0600, &err2), 0);
        char p[600];
        snprintf(p, sizeof p, "%s%s", root, names[i]);
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    expect_host_untouched(host);
    struct osm_err err = OSM_ERR_INIT;
    osm_remove_tree(host, &err);
}

static void a_parent_symlink_to_a_host_directory_stays_inside_the_root(void **state)
{
    (void)state;
    char host[256];
    make_host(host, sizeof host);
    link_in(host, "/var/hostdir");
    struct osm_err err = OSM_ERR_INIT;
    /* The instance's HOST path: inside the root, where it does not exist. */
    assert_int_equal(osm_root_open(root, "/var/hostdir/new", O_WRONLY | O_CREAT, 0644, &err), -1);
    assert_int_equal(osm_root_write_file_atomic(root, "/var/hostdir/new", "x", 1, 0644, &err), -1);
    int fd = osm_root_open(root, "/var/hostdir/victim", O_RDONLY, 0, &err);
    assert_int_equal(fd, -1);
    expect_host_untouched(host);
    /* A plain path is created and read back. */
    fd = osm_root_open(root, "/var/lib/../lib/created", O_WRONLY | O_CREAT | O_EXCL, 0644, &err);
    assert_true(fd >= 0);
    close(fd);
    char p[600];
    snprintf(p, sizeof p, "%s/var/lib/created", root);
    assert_int_equal(access(p, F_OK), 0);
    osm_remove_tree(host, &err);
}

struct swapper {
    char dir[600], other[600];
    volatile int stop;
    long swaps;
};

/* ROOT/swap flips between a directory and a symlink to the host directory. */
static void *swap_main(void *arg)
{
    struct swapper *sw = arg;
    while (!sw->stop) {
        if (renameat2(AT_FDCWD, sw->dir, AT_FDCWD, sw->other, RENAME_EXCHANGE) != 0)
            break;
        sw->swaps++;
    }
    return NULL;
}

static void a_symlink_swapped_in_meanwhile_never_leads_a_write_out(void **state)
{
    (void)state;
    char host[256];
    make_host(host, sizeof host);
    struct swapper sw = {.stop = 0};
    snprintf(sw.dir, sizeof sw.dir, "%s/swap", root);
    snprintf(sw.other, sizeof sw.other, "%s/swap-other", root);
    assert_int_equal(mkdir(sw.dir, 0755), 0);
    assert_int_equal(symlink(host, sw.other), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, swap_main, &sw), 0);
    int made = 0;
    for (int i = 0; i < 20000; i++) {
        struct osm_err err = OSM_ERR_INIT;
        int fd = osm_root_open(root, "/swap/f", O_WRONLY | O_CREAT, 0644, &err);
        if (fd >= 0) {
            made++;
            close(fd);
        }
        osm_root_write_file_atomic(root, "/swap/g", "g", 1, 0644, &err);
    }
    sw.stop = 1;
    pthread_join(t, NULL);
    assert_true(sw.swaps > 0);
    assert_true(made > 0); /* the directory was there some of the time */
    expect_host_untouched(host);
    struct osm_err err = OSM_ERR_INIT;
    osm_remove_tree(host, &err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(absolute_symlink_resolves_inside_the_root),
        cmocka_unit_test(dotdot_symlink_stops_at_the_root),
        cmocka_unit_test(relative_and_chained_symlinks),
        cmocka_unit_test(plain_paths_are_joined),
        cmocka_unit_test(a_symlink_loop_leads_nowhere_writable),
        cmocka_unit_test(a_create_is_not_made_through_a_symlink_at_the_last_component),
        cmocka_unit_test(a_parent_symlink_to_a_host_directory_stays_inside_the_root),
        cmocka_unit_test(a_symlink_swapped_in_meanwhile_never_leads_a_write_out),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
