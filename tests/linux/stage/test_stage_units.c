/* Unit tests of the plan reader and the fstab check: bad input is refused
 * with an error that names the field and place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "fetch.h"
#include "osm_hash.h"
#include "planfile.h"
#include "verify.h"

static char tmpdir[] = "/tmp/osm-stage-unit.XXXXXX";

static int load_text(const char *json, struct osm_planfile *plan, struct osm_err *err)
{
    char *path = osm_path_join(tmpdir, "plan.json");
    struct osm_err werr = OSM_ERR_INIT;
    assert_int_equal(osm_write_file_atomic(path, json, strlen(json), 0644, &werr), 0);
    int rc = osm_planfile_load(path, plan, err);
    free(path);
    return rc;
}

#define REPO "\"repos\":[{\"id\":\"os\",\"baseurl\":\"http://x/os\",\"gpgkeys\":[\"file:///k\"]}]"
#define PKG(loc) "{\"action\":\"upgrade\",\"name\":\"bash\",\"from\":\"bash-1-1.x86_64\",\"to\":\"bash-0:2-1.x86_64\"," \
    "\"repo\":\"os\",\"location\":\"" loc "\",\"checksum\":{\"type\":\"sha256\",\"value\":\"ab\"},\"download_size\":5}"

static void plan_reads_actions_and_ignores_extra_fields(void **state)
{
    (void)state;
    struct osm_planfile p;
    struct osm_err err = OSM_ERR_INIT;
    int rc = load_text("{\"osmig_plan\":1,\"future\":[1],\"target\":{\"id\":\"alinux3\",\"release_package\":\"alinux-release\"},"
                       REPO ",\"actions\":[" PKG("Packages/bash-2-1.x86_64.rpm") ","
                       "{\"action\":\"erase\",\"name\":\"py\",\"from\":\"py-1-1.x86_64\",\"new\":true},"
                       "{\"action\":\"keep\",\"name\":\"acme\",\"from\":\"acme-1-1.x86_64\"}]}",
                       &p, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(p.n_actions, 3);
    assert_string_equal(p.repos[0].baseurl, "http://x/os/");
    assert_string_equal(p.actions[0].filename, "bash-2-1.x86_64.rpm");
    assert_ptr_equal(p.actions[0].repo_ref, &p.repos[0]);
    assert_int_equal(p.actions[1].kind, OSM_PF_ERASE);
    assert_false(osm_planfile_has_package(&p.actions[2]));
    assert_string_equal(p.release_package, "alinux-release");
    osm_planfile_free(&p);
}

static void plan_refuses_location_escaping_the_repo(void **state)
{
    (void)state;
    struct osm_planfile p;
    struct osm_err err = OSM_ERR_INIT;
    int rc = load_text("{\"osmig_plan\":1,\"target\":{\"id\":\"t\"}," REPO ",\"actions\":[" PKG("../../etc/passwd.rpm") "]}",
                       &p, &err);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, "actions[0] (upgrade bash): unsafe or non-rpm location"));
}

static void plan_refuses_unknown_action_and_repo(void **state)
{
    (void)state;
    struct osm_planfile p;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(load_text("{\"osmig_plan\":1,\"target\":{\"id\":\"t\"}," REPO
                               ",\"actions\":[{\"action\":\"explode\",\"name\":\"x\"}]}", &p, &err), -1);
    assert_non_null(strstr(err.msg, "actions[0]: unknown action \"explode\""));
    osm_err_clear(&err);
    assert_int_equal(load_text("{\"osmig_plan\":1,\"target\":{\"id\":\"t\"},\"repos\":[],\"actions\":["
                               PKG("Packages/bash-2-1.x86_64.rpm") "]}", &p, &err), -1);
    assert_non_null(strstr(err.msg, "unknown repo \"os\""));
    osm_err_clear(&err);
    assert_int_equal(load_text("{\"osmig_plan\":2}", &p, &err), -1);
    assert_non_null(strstr(err.msg, "not an osmig plan of version 1"));
    osm_err_clear(&err);
    assert_int_equal(load_text("{\"osmig_plan\":1,", &p, &err), -1);
    assert_non_null(strstr(err.msg, "plan.json:1:"));
}

static void fstab_check_names_the_bad_line(void **state)
{
    (void)state;
    char *etc = osm_path_join(tmpdir, "etc");
    char *fstab = osm_path_join(tmpdir, "etc/fstab");
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_mkdir_p(etc, 0755, &err), 0);
    const char *good = "# comment\n\nUUID=1 / xfs defaults 0 0\n/dev/sdb1\tnone swap sw\n";
    assert_int_equal(osm_write_file_atomic(fstab, good, strlen(good), 0644, &err), 0);
    assert_int_equal(osm_verify_fstab(tmpdir, &err), 0);
    const char *bad = "UUID=1 / xfs defaults 0 0\n/dev/sdb1 /data ext4 defaults zero 2\n";
    assert_int_equal(osm_write_file_atomic(fstab, bad, strlen(bad), 0644, &err), 0);
    assert_int_equal(osm_verify_fstab(tmpdir, &err), -1);
    assert_non_null(strstr(err.msg, "fstab:2: field 5 (\"zero\") must be a number"));
    free(etc);
    free(fstab);
}

static void fetch_file_checks_digest_and_never_leaves_a_bad_file(void **state)
{
    (void)state;
    char *src = osm_path_join(tmpdir, "src.bin"), *dest = osm_path_join(tmpdir, "dest.bin");
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_write_file_atomic(src, "hello osmig\n", 12, 0644, &err), 0);
    char sum[129];
    assert_int_equal(osm_hash_file("sha256", src, sum, &err), 0);
    char *url = osm_xasprintf("file://%s", src);
    struct osm_fetch_opts o = {.max_retries = -1};

    assert_int_equal(osm_fetch_file(url, dest, "sha256", sum, &o, &err), 0);
    assert_true(osm_is_file(dest));

    char *partpath = osm_xasprintf("%s.part", dest);
    unlink(dest);
    const char *wrong = "1111111111111111111111111111111111111111111111111111111111111111";
    assert_int_equal(osm_fetch_file(url, dest, "sha256", wrong, &o, &err), -1);
    assert_int_equal(err.code, OSM_ECHECKSUM);
    assert_non_null(strstr(err.msg, wrong));
    assert_non_null(strstr(err.msg, sum));
    assert_non_null(strstr(err.msg, "fetched twice"));
    assert_false(osm_is_file(dest));
    assert_false(osm_is_file(partpath));

    char *missing = osm_xasprintf("file://%s/nope.rpm", tmpdir);
    osm_err_clear(&err);
    assert_int_equal(osm_fetch_file(missing, dest, NULL, NULL, &o, &err), -1);
    assert_int_equal(err.code, OSM_ENET);
    assert_non_null(strstr(err.msg, "nope.rpm"));
    osm_free_all(missing, partpath, url, src, dest);
}

/* ROOT/stage is a symlink to a host directory: a download "into" it with
 * the root named stays inside the root (absolute links resolve from the
 * root), and the host directory never gets a byte. */
static void fetch_into_a_root_never_writes_through_its_symlinks(void **state)
{
    (void)state;
    char *root = osm_path_join(tmpdir, "root"), *host = osm_path_join(tmpdir, "host");
    char *src = osm_path_join(tmpdir, "pkg.rpm"), *link = osm_path_join(root, "stage");
    char *dest = osm_path_join(link, "pkg.rpm"), *leak = osm_path_join(host, "pkg.rpm");
    char *leak_part = osm_path_join(host, "pkg.rpm.part");
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_mkdir_p(root, 0755, &err), 0);
    assert_int_equal(osm_mkdir_p(host, 0755, &err), 0);
    assert_int_equal(symlink(host, link), 0);
    assert_int_equal(osm_write_file_atomic(src, "package\n", 8, 0644, &err), 0);
    char *url = osm_xasprintf("file://%s", src);
    struct osm_fetch_opts o = {.max_retries = -1, .root = root};

    assert_int_equal(osm_fetch_file(url, dest, NULL, NULL, &o, &err), -1);
    /* Resolved from the root, the link leads to ROOT/tmp/...: absent. */
    assert_non_null(strstr(err.msg, "/stage in the root"));
    assert_false(osm_is_file(leak));
    assert_false(osm_is_file(leak_part));

    /* Outside the root altogether: refused before any transfer. */
    osm_err_clear(&err);
    assert_int_equal(osm_fetch_file(url, leak, NULL, NULL, &o, &err), -1);
    assert_int_equal(err.code, OSM_EINPUT);
    assert_non_null(strstr(err.msg, "not inside the root"));
    assert_false(osm_is_file(leak));

    /* Without a root the same call is a host download (the caller's choice). */
    struct osm_fetch_opts host_opts = {.max_retries = -1};
    assert_int_equal(osm_fetch_file(url, leak, NULL, NULL, &host_opts, &err), 0);
    assert_true(osm_is_file(leak));
    osm_free_all(root, host, src, link, dest, leak, leak_part, url);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    return osm_remove_tree(tmpdir, &err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_reads_actions_and_ignores_extra_fields),
        cmocka_unit_test(plan_refuses_location_escaping_the_repo),
        cmocka_unit_test(plan_refuses_unknown_action_and_repo),
        cmocka_unit_test(fstab_check_names_the_bad_line),
        cmocka_unit_test(fetch_file_checks_digest_and_never_leaves_a_bad_file),
        cmocka_unit_test(fetch_into_a_root_never_writes_through_its_symlinks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
