/* The Windows matrix: a bad matrix file is named in the error, and the paths
 * `osmig matrix` lists. Every inhibitor id, every path and the hops (2008 R2
 * -> 2012 R2 -> 2019) are cases in tests/windows/assess/ (assess_case.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "osm_windows.h"
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

static void matrix_paths_for_osmig_matrix(void **state)
{
    (void)state;
    json_t *paths = NULL;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_windows_matrix_paths(&paths, &err), 0);
    assert_int_equal(json_array_size(paths), 6);
    json_t *first = json_array_get(paths, 0);
    assert_string_equal(json_string_value(json_object_get(first, "from")), "Windows Server 2008 R2");
    assert_string_equal(json_string_value(json_object_get(first, "to")), "Windows Server 2012 R2");
    assert_true(json_is_true(json_object_get(first, "transitional")));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    osm_windows_print_paths(f, paths);
    fclose(f);
    assert_non_null(strstr(buf, "standard,enterprise"));
    assert_non_null(strstr(buf, "transitional"));
    free(buf);
    json_decref(paths);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matrix_errors_name_the_file),
        cmocka_unit_test(matrix_paths_for_osmig_matrix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
