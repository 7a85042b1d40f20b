/* test_matrix.c: the Linux matrix loader, os-release reading and repo files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "matrix.h"
#include "osm_fs.h"
#include "osrelease.h"
#include "repofiles.h"

#include "testutil.h"

OSM_TEST_TMPDIR(tmpdir, "matrix")

static char *write_tmp(const char *name, const char *text)
{
    char *p = osm_path_join(tmpdir, name);
    char *dir = osm_xstrdup(p);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(osm_mkdir_p(dir, 0755, NULL), 0);
    free(dir);
    assert_int_equal(osm_write_file_atomic(p, text, strlen(text), 0644, NULL), 0);
    return p;
}

static void default_matrix_has_the_supported_paths(void **state)
{
    (void)state;
    struct osm_matrix m;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_matrix_load(&m, NULL, 0, &err), 0);
    assert_non_null(osm_matrix_find_path(&m, "centos", 7, 9, "x86_64", "alinux3"));
    assert_non_null(osm_matrix_find_path(&m, "centos", 7, 4, "aarch64", "alinux2"));
    assert_non_null(osm_matrix_find_path(&m, "centos", 8, 5, "x86_64", "anolis8"));
    assert_non_null(osm_matrix_find_path(&m, "alinux", 2, 1903, "x86_64", "alinux3"));
    assert_non_null(osm_matrix_find_path(&m, "rhel", 8, 6, "x86_64", "alinux3"));
    /* RHEL 7 -> Alibaba Cloud Linux 3 only from 7.9 */
    assert_non_null(osm_matrix_find_path(&m, "rhel", 7, 9, "x86_64", "alinux3"));
    assert_null(osm_matrix_find_path(&m, "rhel", 7, 6, "x86_64", "alinux3"));
    /* CentOS 7.9 -> RHEL 7 is trial only; 7.6 has no path */
    const struct osm_path *p = osm_matrix_find_path(&m, "centos", 7, 9, "x86_64", "rhel7");
    assert_non_null(p);
    assert_true(p->trial_only);
    assert_null(osm_matrix_find_path(&m, "centos", 7, 6, "x86_64", "rhel7"));
    assert_null(osm_matrix_find_path(&m, "centos", 8, 5, "x86_64", "alinux2"));
    const struct osm_target *t = osm_matrix_target(&m, "alinux3");
    assert_non_null(t);
    assert_int_equal(t->el_major, 8);
    assert_true(t->n_repos >= 2);
    assert_non_null(strstr(t->repos[0].baseurl, "$basearch"));
    int toolchain = 0;
    for (size_t i = 0; i < t->n_warnings; i++)
        toolchain |= strcmp(t->warnings[i].id, "toolchain-change") == 0 && strstr(t->warnings[i].message, "GCC 10.2");
    assert_true(toolchain);
    osm_matrix_free(&m);
}

static void user_matrix_adds_and_overrides(void **state)
{
    (void)state;
    char *f = write_tmp("user.json",
                        "{\"targets\": {\"cs9\": {\"name\": \"CentOS Stream 9\", \"el_version\": \"9.0\","
                        " \"repos\": [{\"id\": \"baseos\", \"baseurl\": \"http://mirror.local/9/BaseOS/$basearch/os/\"}]},"
                        " \"alinux3\": {\"name\": \"Local Alinux 3\", \"el_version\": \"8.8\","
                        " \"repos\": [{\"id\": \"local\", \"baseurl\": \"file:///srv/mirror\"}]}},"
                        " \"paths\": [{\"from\": {\"id\": \"centos\", \"versions\": [\"8\"]}, \"to\": \"cs9\", \"arches\": [\"x86_64\"]}]}");
    const char *files[] = {f};
    struct osm_matrix m;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_matrix_load(&m, files, 1, &err), 0);
    assert_non_null(osm_matrix_find_path(&m, "centos", 8, 5, "x86_64", "cs9"));
    const struct osm_target *t = osm_matrix_target(&m, "alinux3");
    assert_string_equal(t->name, "Local Alinux 3");
    assert_int_equal(t->n_repos, 1);
    assert_int_equal(t->el_minor, 8);
    osm_matrix_free(&m);
    free(f);
}

static void bad_matrix_names_file_and_member(void **state)
{
    (void)state;
    struct {
        const char *text, *expect;
    } cases[] = {
        {"{\"targets\": {\"x\": {\"name\": \"X\", \"el_version\": \"8\", \"repos\": [{\"id\":\"a\",\"baseurl\":\"file:///a\"}]}}}",
         "el_version must be MAJOR.MINOR"},
        {"{\"targets\": {\"x\": {\"name\": \"X\", \"el_version\": \"8.1\", \"repos\": []}}}", "repos must be a non-empty"},
        {"{\"targets\": {\"x\": {\"name\": 5, \"el_version\": \"8.1\"}}}", "targets.x.name: must be a string"},
        {"{\"paths\": [{\"from\": {\"id\": \"centos\"}, \"to\": \"alinux3\", \"arches\": [\"x86_64\"]}]}",
         "versions must list"},
        {"{\"paths\": [{\"from\": {\"id\": \"centos\", \"versions\": [\"7\"]}, \"to\": \"alinux3\", \"arches\": [\"x86_64\"], "
         "\"trial_only\": \"yes\"}]}",
         "trial_only: must be true or false"},
        {"{\"osmig_matrix\": 2}", "unsupported format version"},
        {"[1,2]", "must be an object"},
        {"{\"paths\": [}", "line 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *f = write_tmp("bad.json", cases[i].text);
        struct osm_matrix m = {0};
        struct osm_err err = OSM_ERR_INIT;
        size_t before = 0;
        assert_int_equal(osm_matrix_load_file(&m, f, &err), -1);
        assert_int_equal(m.n_targets + m.n_paths, before); /* nothing half-added */
        if (!strstr(err.msg, cases[i].expect) || !strstr(err.msg, "bad.json"))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].expect);
        osm_matrix_free(&m);
        free(f);
    }
}

static void repo_vars_expand(void **state)
{
    (void)state;
    char *u = osm_expand_repo_vars("https://m/alinux/$releasever/os/$basearch/", "aarch64", "3");
    assert_string_equal(u, "https://m/alinux/3/os/aarch64/");
    free(u);
}

static void osrelease_takes_minor_from_release_file(void **state)
{
    (void)state;
    free(write_tmp("c7/etc/os-release", "NAME=\"CentOS Linux\"\nID=\"centos\"\nVERSION_ID=\"7\"\n"
                                        "PRETTY_NAME=\"CentOS Linux 7 (Core)\"\n"));
    free(write_tmp("c7/etc/centos-release", "CentOS Linux release 7.9.2009 (Core)\n"));
    char *root = osm_path_join(tmpdir, "c7");
    struct osm_osrelease os;
    assert_int_equal(osm_osrelease_read(root, &os, NULL), 0);
    assert_string_equal(os.id, "centos");
    assert_int_equal(os.major, 7);
    assert_int_equal(os.minor, 9);
    assert_string_equal(os.full_version, "7.9.2009");
    assert_string_equal(os.name, "CentOS Linux 7 (Core)");
    free(root);

    free(write_tmp("r8/usr/lib/os-release", "ID=rhel\nVERSION_ID='8.6'\n"));
    root = osm_path_join(tmpdir, "r8");
    assert_int_equal(osm_osrelease_read(root, &os, NULL), 0);
    assert_int_equal(os.major, 8);
    assert_int_equal(os.minor, 6);
    free(root);

    root = osm_path_join(tmpdir, "empty");
    osm_mkdir_p(root, 0755, NULL);
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_osrelease_read(root, &os, &err), -1);
    assert_non_null(strstr(err.msg, "os-release"));
    free(root);
}

static void repofiles_follow_yum_defaults(void **state)
{
    (void)state;
    free(write_tmp("y/etc/yum.repos.d/a.repo", "[base]\nname=Base\nbaseurl=http://m/7/os/x86_64/ http://other/\n"
                                              "gpgcheck=1\n\n# comment\n[epel-modular]\nenabled = 0\n"
                                              "metalink=https://mirrors.fedoraproject.org/metalink\n[broken\nx=y\n"));
    free(write_tmp("y/etc/yum.repos.d/b.repo", "[epel-modular-2]\nenabled=True\n"));
    free(write_tmp("y/etc/yum.repos.d/ignored.repo.rpmsave", "[nope]\n"));
    char *root = osm_path_join(tmpdir, "y");
    struct osm_repofile_list l;
    assert_int_equal(osm_repofiles_read(root, &l, NULL), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].id, "base");
    assert_true(l.v[0].enabled); /* enabled defaults to 1 */
    assert_true(l.v[0].gpgcheck);
    assert_string_equal(l.v[0].baseurl, "http://m/7/os/x86_64/");
    assert_string_equal(l.v[1].id, "epel-modular");
    assert_false(l.v[1].enabled);
    assert_non_null(l.v[1].mirrorlist);
    assert_string_equal(l.v[2].id, "epel-modular-2");
    assert_true(l.v[2].enabled);
    assert_string_equal(l.v[2].file, "/etc/yum.repos.d/b.repo");
    osm_repofiles_free(&l);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_matrix_has_the_supported_paths),
        cmocka_unit_test(user_matrix_adds_and_overrides),
        cmocka_unit_test(bad_matrix_names_file_and_member),
        cmocka_unit_test(repo_vars_expand),
        cmocka_unit_test(osrelease_takes_minor_from_release_file),
        cmocka_unit_test(repofiles_follow_yum_defaults),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
