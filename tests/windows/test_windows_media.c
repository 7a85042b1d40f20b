/* Installation media: reading real WIMs' image properties, picking the one
 * image that matches, and the catalogue (add/list/get, refusals that change
 * nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "osm_fs.h"
#include "osm_windows.h"
#include "win_fixture.h"
#include "win_media.h"

static json_t *describe(const char *media)
{
    json_t *d = NULL;
    struct osm_err err = OSM_ERR_INIT;
    char rel[256];
    snprintf(rel, sizeof rel, "media/%s", media);
    if (win_media_describe(win_fixture(rel), &d, &err) != 0)
        fail_msg("describe %s: %s", media, err.msg);
    return d;
}

/* ei.cfg's [Channel] Volume marks volume-licence media (setup /auto:upgrade). */
static void describe_tells_volume_licence_media(void **state)
{
    (void)state;
    json_t *d = describe("2012r2-vl-en");
    assert_true(json_is_true(json_object_get(d, "volume_licence")));
    json_decref(d);
    d = describe("2012r2-en");
    assert_true(json_is_false(json_object_get(d, "volume_licence")));
    json_decref(d);
}

static void describe_reads_the_four_image_layout(void **state)
{
    (void)state;
    json_t *d = describe("2019-en");
    assert_string_equal(json_string_value(json_object_get(d, "release")), "2019");
    assert_int_equal(json_integer_value(json_object_get(d, "build")), 17763);
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "directory");
    assert_true(json_is_true(json_object_get(d, "has_setup")));
    json_t *imgs = json_object_get(d, "images");
    assert_int_equal(json_array_size(imgs), 4);
    json_t *im3 = json_array_get(imgs, 2);
    assert_int_equal(json_integer_value(json_object_get(im3, "index")), 3);
    assert_string_equal(json_string_value(json_object_get(im3, "edition_id")), "ServerDatacenter");
    assert_string_equal(json_string_value(json_object_get(im3, "installation_type")), "Server Core");
    assert_string_equal(json_string_value(json_object_get(im3, "language")), "en-US");
    assert_string_equal(json_string_value(json_object_get(im3, "architecture")), "x86_64");
    json_decref(d);
}

static int pick(const char *media, const char *ed, const char *type, const char *lang, long build, struct osm_err *err)
{
    json_t *d = describe(media);
    int index = 0;
    int rc = win_media_pick(d, ed, type, lang, build, &index, err);
    json_decref(d);
    return rc ? -1 : index;
}

static void pick_tells_core_from_desktop_by_installation_type(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(pick("2019-en", "datacenter", "Server", "en-US", 17763, &err), 4);
    assert_int_equal(pick("2019-en", "datacenter", "Server Core", "en-US", 17763, &err), 3);
    assert_int_equal(pick("2019-en", "standard", "Server Core", "en-US", 17763, &err), 1);
    assert_int_equal(pick("2019-zh", "datacenter", "Server", "zh-CN", 17763, &err), 4);
    assert_int_equal(pick("2012r2-en", "datacenter", "server", "EN-us", 9600, &err), 4);
}

/* Microsoft does not support upgrading to an evaluation copy: an image
 * whose EditionID says Eval is never picked, and the error says why. */
static void evaluation_images_are_refused_as_targets(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(pick("2012r2-eval-en", "standard", "Server", "en-US", 9600, &err), -1);
    assert_int_equal(err.code, OSM_ENOTFOUND);
    assert_non_null(strstr(err.msg, "evaluation copy"));
    assert_non_null(strstr(err.msg, "index 2: ServerStandardEval, Server, en-US"));
    assert_int_equal(pick("2012r2-eval-en", "standard", "Server Core", "en-US", 9600, &err), -1);
    assert_non_null(strstr(err.msg, "evaluation copy"));
}

static void pick_refuses_with_the_candidates_listed(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(pick("2019-en", "datacenter", "Server", "zh-CN", 17763, &err), -1); /* no cross-language */
    assert_int_equal(err.code, OSM_ENOTFOUND);
    assert_non_null(strstr(err.msg, "index 4: ServerDatacenter, Server, en-US, build 17763"));
    assert_non_null(strstr(err.msg, "index 1: ServerStandard, Server Core, en-US"));
    assert_int_equal(pick("2019-en", "datacenter", "Server", "en-US", 14393, &err), -1); /* wrong build */
    assert_int_equal(pick("2019-dup", "datacenter", "Server", "en-US", 17763, &err), -1);
    assert_int_equal(err.code, OSM_EINPUT);
    assert_non_null(strstr(err.msg, "2 images match"));
}

static char state_dir[] = "/tmp/osmig-media-test-XXXXXX";

static void catalogue_add_list_get(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    json_t *m = NULL, *list = NULL;
    assert_int_equal(win_media_list(state_dir, &list, &err), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_int_equal(win_media_add(state_dir, win_fixture("media/2019-en"), NULL, 0, &m, &err), 0);
    assert_string_equal(json_string_value(json_object_get(m, "id")), "2019-en-US");
    json_decref(m);
    assert_int_equal(win_media_add(state_dir, win_fixture("media/2019-zh"), NULL, 0, &m, &err), 0);
    json_decref(m);
    /* a bare WIM has no setup.exe: a transit disk made of it could not upgrade anything */
    assert_int_equal(win_media_add(state_dir, win_fixture("media/2016-en/sources/install.wim"), "w2016", 0, &m, &err), -1);
    assert_int_equal(err.code, OSM_EINPUT);
    assert_non_null(strstr(err.msg, "no setup.exe"));
    assert_null(m);
    assert_int_equal(win_media_add(state_dir, win_fixture("media/2016-en"), "w2016", 0, &m, &err), 0);
    assert_string_equal(json_string_value(json_object_get(m, "kind")), "directory");
    json_decref(m);
    assert_int_equal(win_media_list(state_dir, &list, &err), 0);
    assert_int_equal(json_array_size(list), 3);
    json_decref(list);
    assert_int_equal(win_media_find(state_dir, "2019", "zh-CN", &m, &err), 0);
    assert_string_equal(json_string_value(json_object_get(m, "id")), "2019-zh-CN");
    json_decref(m);
    assert_int_equal(win_media_find(state_dir, "2022", "zh-CN", &m, &err), -1);
    assert_non_null(strstr(err.msg, "osmig media add"));
    assert_int_equal(win_media_get(state_dir, "w2016", &m, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(m, "build")), 14393);
    json_decref(m);
}

static void catalogue_refusals_change_nothing(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    json_t *m = NULL;
    char *cat = osm_path_join(state_dir, "media.json");
    struct osm_buf before, after;
    osm_buf_init(&before);
    osm_buf_init(&after);
    assert_int_equal(osm_read_file(cat, &before, &err), 0);
    assert_int_equal(win_media_add(state_dir, win_fixture("media/2019-en"), NULL, 0, &m, &err), -1);
    assert_non_null(strstr(err.msg, "already registered"));
    assert_int_equal(win_media_add(state_dir, win_fixture("roots/w2019-dc-zh"), NULL, 0, &m, &err), -1);
    assert_non_null(strstr(err.msg, "no sources/install.wim"));
    assert_int_equal(win_media_add(state_dir, win_fixture("roots/corrupt/Windows/System32/config/SOFTWARE"), "x", 0, &m, &err), -1);
    assert_non_null(strstr(err.msg, "not a readable WIM"));
    assert_int_equal(win_media_add(state_dir, win_fixture("media/2019-en"), "../evil", 0, &m, &err), -1);
    assert_int_equal(err.code, OSM_EUSAGE);
    assert_int_equal(win_media_add(state_dir, "/nonexistent/media", NULL, 0, &m, &err), -1);
    assert_int_equal(osm_read_file(cat, &after, &err), 0);
    assert_string_equal(before.s, after.s);
    /* --replace swaps the record in place */
    assert_int_equal(win_media_add(state_dir, win_fixture("media/2019-en"), NULL, 1, &m, &err), 0);
    json_decref(m);
    json_t *list = NULL;
    assert_int_equal(win_media_list(state_dir, &list, &err), 0);
    assert_int_equal(json_array_size(list), 3);
    json_decref(list);
    osm_buf_free(&before);
    osm_buf_free(&after);
    free(cat);
}

static void media_plan_serves_every_hop(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    json_t *m = NULL, *report = NULL, *plan = NULL;
    assert_int_equal(win_media_add(state_dir, win_fixture("media/2012r2-en"), NULL, 0, &m, &err), 0);
    json_decref(m);
    struct osm_facts f = {.vcpus = 2, .memory_bytes = 4LL << 30, .system_disk_free_bytes = 40LL << 30};
    assert_int_equal(osm_windows_assess(win_fixture("roots/w2008r2-std-en"), &f, "2019", &report, &err), 0);
    assert_int_equal(win_media_plan(state_dir, report, &plan, &err), 0);
    assert_int_equal(json_array_size(plan), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(plan, 0), "media")), "2012r2-en-US");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(plan, 0), "image_index")), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(plan, 1), "media")), "2019-en-US");
    /* the chosen image, and which setup drives each hop */
    json_t *h1 = json_array_get(plan, 0), *h2 = json_array_get(plan, 1);
    assert_string_equal(json_string_value(json_object_get(h1, "setup")), "windows8");
    assert_string_equal(json_string_value(json_object_get(h1, "edition_id")), "ServerDatacenter");
    assert_string_equal(json_string_value(json_object_get(h1, "installation_type")), "Server");
    assert_string_equal(json_string_value(json_object_get(h1, "language")), "en-US");
    assert_string_equal(json_string_value(json_object_get(h1, "product_key")), "W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9");
    assert_string_equal(json_string_value(json_object_get(h2, "setup")), "windows10");
    json_decref(plan);
    json_decref(report);
    /* 2012 R2 Standard -> 2019: the first hop is a licence conversion, no media */
    assert_int_equal(osm_windows_assess(win_fixture("roots/w2012r2-std-en"), &f, "2019", &report, &err), 0);
    assert_int_equal(win_media_plan(state_dir, report, &plan, &err), 0);
    assert_int_equal(json_array_size(plan), 2);
    h1 = json_array_get(plan, 0);
    assert_string_equal(json_string_value(json_object_get(h1, "method")), "conversion");
    assert_null(json_object_get(h1, "media"));
    assert_string_equal(json_string_value(json_object_get(h1, "edition")), "datacenter");
    assert_string_equal(json_string_value(json_object_get(json_array_get(plan, 1), "method")), "setup");
    json_decref(plan);
    json_decref(report);
    /* Chinese 2012 R2 Datacenter Core -> 2019: zh-CN 2019 media is there, Core image 3 */
    assert_int_equal(osm_windows_assess(win_fixture("roots/w2012r2-dc-core-zh"), &f, "2019", &report, &err), 0);
    assert_int_equal(win_media_plan(state_dir, report, &plan, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(plan, 0), "image_index")), 3);
    json_decref(plan);
    json_decref(report);
    /* 2019 -> 2022 in Chinese: no media registered, and the message says which hop */
    assert_int_equal(osm_windows_assess(win_fixture("roots/w2019-dc-zh"), &f, "2022", &report, &err), 0);
    assert_int_equal(win_media_plan(state_dir, report, &plan, &err), -1);
    assert_non_null(strstr(err.msg, "hop 1 (2022 datacenter)"));
    assert_non_null(strstr(err.msg, "zh-CN"));
    json_decref(report);
}

static void catalogue_corrupt_file_is_reported(void **state)
{
    (void)state;
    char dir[] = "/tmp/osmig-media-bad-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *cat = osm_path_join(dir, "media.json");
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_write_file_atomic(cat, "{\"media\": 5}", 12, 0644, &err), 0);
    json_t *l = NULL;
    assert_int_equal(win_media_list(dir, &l, &err), -1);
    assert_non_null(strstr(err.msg, cat));
    osm_remove_tree(dir, &err);
    free(cat);
}

int main(void)
{
    int fx = win_fixture_build();
    if (fx)
        return fx;
    if (!mkdtemp(state_dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(describe_reads_the_four_image_layout),
        cmocka_unit_test(describe_tells_volume_licence_media),
        cmocka_unit_test(pick_tells_core_from_desktop_by_installation_type),
        cmocka_unit_test(evaluation_images_are_refused_as_targets),
        cmocka_unit_test(pick_refuses_with_the_candidates_listed),
        cmocka_unit_test(catalogue_add_list_get),
        cmocka_unit_test(catalogue_refusals_change_nothing),
        cmocka_unit_test(media_plan_serves_every_hop),
        cmocka_unit_test(catalogue_corrupt_file_is_reported),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    struct osm_err err = OSM_ERR_INIT;
    osm_remove_tree(state_dir, &err);
    return rc;
}
