/* test_config.c: the configuration file (engine/lib/config.c): every
 * setting read, every bad line named by FILE:LINE, the environment and the
 * command line winning over the file, the offline hint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "osm_config.h"
#include "testutil.h"

OSM_TEST_TMPDIR(tmp, "config")

static void every_key_is_read_with_comments_and_blank_lines(void **state)
{
    (void)state;
    struct osm_config c;
    struct osm_err err = OSM_ERR_INIT;
    const char *text = "# site settings\n\n"
                       "state_dir = /srv/osmig/state\n"
                       "  cache_dir=/srv/osmig/cache  \n"
                       "report_dir = /srv/osmig/reports\n"
                       "snapshot_store = /srv/snaps\n"
                       "server = https://osmig.example:8470\n"
                       "repo = rhel-8-baseos = http://mirror.example/rhel8/baseos#frag\n"
                       "repo = rhel-8-appstream=file:///srv/mirror/appstream\n"
                       "matrix_dir = /srv/osmig/matrices.d\n";
    assert_int_equal(osm_config_parse("/etc/osmig/osmig.conf", text, &c, &err), 0);
    assert_string_equal(c.state_dir, "/srv/osmig/state");
    assert_string_equal(c.cache_dir, "/srv/osmig/cache");
    assert_string_equal(c.report_dir, "/srv/osmig/reports");
    assert_string_equal(c.snapshot_store, "/srv/snaps");
    assert_string_equal(c.server, "https://osmig.example:8470");
    assert_string_equal(c.matrix_dir, "/srv/osmig/matrices.d");
    assert_int_equal(c.n_repos, 2);
    assert_string_equal(c.repos[0], "rhel-8-baseos=http://mirror.example/rhel8/baseos#frag");
    assert_string_equal(c.repos[1], "rhel-8-appstream=file:///srv/mirror/appstream");
    assert_string_equal(c.path, "/etc/osmig/osmig.conf");
    osm_config_free(&c);
}

static void expect_bad(const char *text, const char *where, const char *what)
{
    struct osm_config c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_config_parse("/etc/osmig/osmig.conf", text, &c, &err), -1);
    if (!strstr(err.msg, where) || !strstr(err.msg, what))
        fail_msg("'%s' does not name '%s' and '%s'", err.msg, where, what);
    assert_null(c.path);
    assert_null(c.repos);
}

static void bad_lines_are_named_by_file_and_line(void **state)
{
    (void)state;
    expect_bad("# x\nstate_dir /srv\n", "/etc/osmig/osmig.conf:2:", "expected 'key = value'");
    expect_bad("\n\n\ncolour = blue\n", "osmig.conf:4:", "unknown key 'colour'");
    expect_bad("state_dir = srv/osmig\n", "osmig.conf:1:", "not an absolute path");
    expect_bad("report_dir = /a\nreport_dir = /b\n", "osmig.conf:2:", "again (first at line 1)");
    expect_bad("server = ftp://x\n", "osmig.conf:1:", "not an http:// or https:// URL");
    expect_bad("server = https://a\nserver = https://b\n", "osmig.conf:2:", "again (first at line 1)");
    expect_bad("repo = http://mirror\n", "osmig.conf:1:", "expected ID=URL");
    expect_bad("repo = base=ftp://mirror\n", "osmig.conf:1:", "must start with file://, http:// or https://");
    expect_bad("repo = ../x=http://mirror\n", "osmig.conf:1:", "not a plain name");
    expect_bad("cache_dir =\n", "osmig.conf:1:", "has no value");
    expect_bad("report_keep = 0\n", "osmig.conf:1:", "report_keep '0' is not a whole number from 1");
    expect_bad("report_keep = ten\n", "osmig.conf:1:", "not a whole number");
    expect_bad("report_keep_days = -1\n", "osmig.conf:1:", "report_keep_days '-1' is not a whole number from 0");
    expect_bad("report_keep = 3\nreport_keep = 4\n", "osmig.conf:2:", "'report_keep' again");
}

static void report_retention_is_read_and_reaches_the_environment(void **state)
{
    (void)state;
    struct osm_config c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_config_parse("/etc/osmig/osmig.conf", "report_keep = 7\nreport_keep_days = 30\n", &c, &err), 0);
    assert_string_equal(c.report_keep, "7");
    assert_string_equal(c.report_keep_days, "30");
    unsetenv("OSMIG_REPORT_KEEP");
    setenv("OSMIG_REPORT_KEEP_DAYS", "2", 1); /* the environment wins */
    osm_config_apply_env(&c);
    assert_string_equal(getenv("OSMIG_REPORT_KEEP"), "7");
    assert_string_equal(getenv("OSMIG_REPORT_KEEP_DAYS"), "2");
    unsetenv("OSMIG_REPORT_KEEP");
    unsetenv("OSMIG_REPORT_KEEP_DAYS");
    osm_config_free(&c);
}

static void missing_default_file_is_no_settings_but_a_named_one_must_exist(void **state)
{
    (void)state;
    struct osm_config c;
    struct osm_err err = OSM_ERR_INIT;
    char *path = osm_path_join(tmp, "absent.conf");
    assert_int_equal(osm_config_load(path, 0, &c, &err), 0);
    assert_null(c.path);
    assert_int_equal(osm_config_load(path, 1, &c, &err), -1);
    assert_non_null(strstr(err.msg, path));
    char *dir = osm_path_join(tmp, "dir.conf");
    assert_int_equal(osm_mkdir_p(dir, 0755, &err), 0);
    assert_int_equal(osm_config_load(dir, 0, &c, &err), -1); /* not a regular file */
    assert_non_null(strstr(err.msg, dir));
    free(dir);
    free(path);
}

static void environment_wins_over_the_file(void **state)
{
    (void)state;
    struct osm_config c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_config_parse("f", "state_dir = /from/file\nreport_dir = /from/file/r\n", &c, &err), 0);
    setenv("OSMIG_STATE_DIR", "/from/env", 1);
    unsetenv("OSMIG_REPORT_DIR");
    osm_config_apply_env(&c);
    assert_string_equal(getenv("OSMIG_STATE_DIR"), "/from/env");
    assert_string_equal(getenv("OSMIG_REPORT_DIR"), "/from/file/r");
    osm_config_free(&c);
}

static void config_path_is_the_environments_and_empty_means_none(void **state)
{
    (void)state;
    int explicit_path;
    unsetenv("OSMIG_CONFIG");
    assert_string_equal(osm_config_path(&explicit_path), OSM_CONFIG_DEFAULT);
    assert_int_equal(explicit_path, 0);
    setenv("OSMIG_CONFIG", "/tmp/x.conf", 1);
    assert_string_equal(osm_config_path(&explicit_path), "/tmp/x.conf");
    assert_int_equal(explicit_path, 1);
    setenv("OSMIG_CONFIG", "", 1);
    assert_null(osm_config_path(&explicit_path));
}

static void offline_hint_names_repo_option_and_the_file(void **state)
{
    (void)state;
    setenv("OSMIG_CONFIG", "/etc/site/osmig.conf", 1);
    struct osm_err err = OSM_ERR_INIT;
    osm_err_set(&err, OSM_ENET, "repository 'baseos': Could not resolve host");
    osm_config_offline_hint(&err);
    assert_non_null(strstr(err.msg, "Could not resolve host"));
    assert_non_null(strstr(err.msg, "--repo ID=URL"));
    assert_non_null(strstr(err.msg, "/etc/site/osmig.conf"));
    assert_int_equal(err.code, OSM_ENET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OSM_TEST(every_key_is_read_with_comments_and_blank_lines),
        OSM_TEST(bad_lines_are_named_by_file_and_line),
        OSM_TEST(report_retention_is_read_and_reaches_the_environment),
        OSM_TEST(missing_default_file_is_no_settings_but_a_named_one_must_exist),
        OSM_TEST(environment_wins_over_the_file),
        OSM_TEST(config_path_is_the_environments_and_empty_means_none),
        OSM_TEST(offline_hint_names_repo_option_and_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
