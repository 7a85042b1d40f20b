/* The Windows matrix: a bad matrix file is named in the error, and the paths
 * `osmig matrix` lists. Every inhibitor id, every path and the hops (2008 R2
 * -> 2012 R2 -> 2019) are cases in tests/windows/assess/ (assess_case.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "osm_windows.h"
#include "testutil.h"
#include "win_paths.h"

static void matrix_errors_name_the_file(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    char path[] = "/tmp/osmig-winmatrix-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_true(write(fd, "{\"releases\": 3}", 15) == 15);
    close(fd);
    assert_null(win_matrix_load(path, &err));
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "\"releases\" must be an array"));
    unlink(path);
}

/* The paths `osmig matrix` lists for Windows, in *state. */
static int load_paths(void **state)
{
    json_t *paths = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_windows_matrix_paths(&paths, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *state = paths;
    return 0;
}

static int free_paths(void **state)
{
    json_decref(*state);
    return 0;
}

static void matrix_paths_for_osmig_matrix(void **state)
{
    json_t *paths = *state;
    assert_int_equal(json_array_size(paths), 6);
    json_t *first = json_array_get(paths, 0);
    assert_string_equal(json_string_value(json_object_get(first, "from")), "Windows Server 2008 R2");
    assert_string_equal(json_string_value(json_object_get(first, "to")), "Windows Server 2012 R2");
    assert_true(json_is_true(json_object_get(first, "transitional")));
    char *buf = osm_test_render(osm_windows_print_paths, paths);
    assert_non_null(strstr(buf, "standard,enterprise"));
    assert_non_null(strstr(buf, "transitional"));
    free(buf);
}

/* The seed's list of regions offering Windows migration, with its display
 * names: nothing more (no ap-south-1, cn-nanjing, cn-fuzhou, me-east-1),
 * nothing less (cn-wuhan-lr, me-central-1). */
static void regions_are_the_seeds_list_with_display_names(void **state)
{
    (void)state;
    static const char *const seed[][2] = {
        {"cn-hangzhou", "China (Hangzhou)"}, {"cn-shanghai", "China (Shanghai)"}, {"cn-qingdao", "China (Qingdao)"},
        {"cn-beijing", "China (Beijing)"}, {"cn-zhangjiakou", "China (Zhangjiakou)"}, {"cn-huhehaote", "China (Hohhot)"},
        {"cn-wulanchabu", "China (Ulanqab)"}, {"cn-shenzhen", "China (Shenzhen)"}, {"cn-heyuan", "China (Heyuan)"},
        {"cn-guangzhou", "China (Guangzhou)"}, {"cn-chengdu", "China (Chengdu)"}, {"cn-hongkong", "China (Hong Kong)"},
        {"cn-wuhan-lr", "China (Wuhan-Local Region)"}, {"ap-northeast-1", "Japan (Tokyo)"},
        {"ap-northeast-2", "South Korea (Seoul)"}, {"ap-southeast-1", "Singapore"},
        {"ap-southeast-3", "Malaysia (Kuala Lumpur)"}, {"ap-southeast-5", "Indonesia (Jakarta)"},
        {"ap-southeast-6", "Philippines (Manila)"}, {"ap-southeast-7", "Thailand (Bangkok)"},
        {"eu-central-1", "Germany (Frankfurt)"}, {"eu-west-1", "UK (London)"}, {"us-west-1", "US (Silicon Valley)"},
        {"us-east-1", "US (Virginia)"}, {"me-central-1", "SAU (Riyadh - Partner Region)"},
    };
    struct osm_err err = OSM_ERR_INIT;
    json_t *m = win_matrix_load(NULL, &err);
    assert_non_null(m);
    size_t n = sizeof seed / sizeof seed[0];
    assert_int_equal(json_array_size(json_object_get(m, "regions")), n);
    for (size_t i = 0; i < n; i++) {
        const char *name = win_region_name(m, seed[i][0]);
        if (!name)
            fail_msg("region %s is missing", seed[i][0]);
        assert_string_equal(name, seed[i][1]);
    }
    static const char *const gone[] = {"ap-south-1", "cn-nanjing", "cn-fuzhou", "me-east-1"};
    for (size_t i = 0; i < 4; i++)
        assert_null(win_region_name(m, gone[i]));
    json_decref(m);
}

/* Standard -> Datacenter of one release is a licence conversion (DISM), not
 * Windows Setup; a setup hop says which setup its media carry. */
static void same_release_edition_change_is_a_conversion(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    json_t *m = win_matrix_load(NULL, &err), *hops = NULL;
    assert_non_null(m);
    assert_int_equal(win_plan_hops(m, "2012r2", "standard", "2019", "datacenter", &hops, NULL), 0);
    assert_int_equal(json_array_size(hops), 2);
    json_t *h1 = json_array_get(hops, 0), *h2 = json_array_get(hops, 1);
    assert_string_equal(json_string_value(json_object_get(h1, "method")), "conversion");
    assert_null(json_object_get(h1, "setup"));
    assert_string_equal(json_string_value(json_object_get(h1, "product_key")), "W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9");
    assert_string_equal(json_string_value(json_object_get(h2, "method")), "setup");
    assert_string_equal(json_string_value(json_object_get(h2, "setup")), "windows10");
    json_decref(hops);
    assert_int_equal(win_plan_hops(m, "2008r2", "standard", "2012r2", "datacenter", &hops, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hops, 0), "setup")), "windows8");
    json_decref(hops);
    json_decref(m);
}

/* `osmig matrix --json` gives each path the id `--to` takes. */
static void matrix_paths_carry_the_target_id(void **state)
{
    json_t *paths = *state;
    struct osm_err err = OSM_ERR_INIT;
    int seen_2019 = 0;
    size_t i;
    json_t *p;
    json_array_foreach(paths, i, p) {
        const char *id = json_string_value(json_object_get(p, "id"));
        assert_non_null(id);
        char rel[16], ed[32], type[16];
        assert_int_equal(win_parse_target(id, rel, ed, type, &err), 0);
        seen_2019 |= strcmp(id, "2019-datacenter") == 0;
    }
    assert_true(seen_2019);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matrix_errors_name_the_file),
        cmocka_unit_test_setup_teardown(matrix_paths_for_osmig_matrix, load_paths, free_paths),
        cmocka_unit_test(regions_are_the_seeds_list_with_display_names),
        cmocka_unit_test(same_release_edition_change_is_a_conversion),
        cmocka_unit_test_setup_teardown(matrix_paths_carry_the_target_id, load_paths, free_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
