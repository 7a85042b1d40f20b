/* The setup driver: generated scripts, result codes, Panther logs, and whole
 * upgrades against the provider double (success, rollback, hang, blocks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "osm_fs.h"
#include "win_fixture.h"
#include "win_follow.h"
#include "win_outcome.h"
#include "win_provider_double.h"
#include "win_setup.h"

static char *read_sample(const char *name)
{
    char *p = osm_xasprintf("%s/tests/windows/data/panther/%s", getenv("OSMIG_SOURCE_DIR"), name);
    struct osm_buf b;
    osm_buf_init(&b);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_read_file(p, &b, &err) != 0)
        fail_msg("%s", err.msg);
    free(p);
    return osm_buf_detach(&b);
}

static void decodes_compatibility_codes(void **state)
{
    (void)state;
    struct win_result r;
    assert_int_equal(win_decode_result("0xC1900204", &r), 0);
    assert_non_null(strstr(r.cause, "edition, language"));
    assert_int_equal(win_decode_result("0xc1900208", &r), 0);
    assert_non_null(strstr(r.cause, "blocks the upgrade"));
    assert_int_equal(win_decode_result("0xC190020E", &r), 0);
    assert_non_null(strstr(r.cause, "disk space"));
    assert_int_equal(win_decode_result("0xC1900200", &r), 0);
    assert_non_null(strstr(r.cause, "minimum requirements"));
    assert_int_equal(win_decode_result("0xC1900107", &r), 0);
    assert_non_null(strstr(r.cause, "$WINDOWS.~BT"));
    assert_int_equal(win_decode_result("0xC1900210", &r), 0);
    assert_int_equal(r.code, WIN_SETUP_COMPAT_OK);
    assert_int_equal(win_decode_result("0xC1900999", &r), 0);
    assert_non_null(strstr(r.cause, "not a code osmig knows"));
    assert_int_equal(win_decode_result("no code here", &r), -1);
}

/* Names as Microsoft's "Windows upgrade error codes" page gives them, and the
 * extend code kept in the form Microsoft prints ("0xC1900101 - 0x4000D"). */
static void result_codes_carry_microsofts_names(void **state)
{
    (void)state;
    struct win_result r;
    assert_int_equal(win_decode_result("0xC1900202", &r), 0);
    assert_string_equal(r.name, "MOSETUP_E_COMPAT_DOWNLOADREQ_BLOCK");
    assert_int_equal(win_decode_result("0xC190020C", &r), 0);
    assert_string_equal(r.name, "MOSETUP_E_DOWNLOADDISKSPACE_BLOCK");
    assert_non_null(strstr(r.cause, "disk space"));
    assert_int_equal(win_decode_result("0xC1900403", &r), 0);
    assert_string_equal(r.name, "MOSETUP_E_UA_CORRUPT_PAYLOAD_FILES");
    assert_non_null(strstr(r.cause, "damaged"));
    assert_int_equal(win_decode_result("0xC1900223", &r), 0);
    assert_string_equal(r.name, "");
    assert_int_equal(win_decode_result("0xC1900101", &r), 0);
    assert_string_equal(r.name, "MOSETUP_E_SETUP_PLATFORM");
    assert_int_equal(win_decode_result("0xC1900101 - 0x4000D", &r), 0);
    assert_int_equal(r.code, 0xC1900101);
    assert_int_equal(r.extended, 0x4000D);
    assert_string_equal(win_extended_phase(r.extended), "SECOND_BOOT");
    assert_string_equal(win_extended_operation(r.extended), "MIGRATE_DATA");
    assert_non_null(strstr(r.cause, "0xC1900101 - 0x4000D"));
    json_t *e = win_panther_errors("2024-01-02 03:04:05, Error  SP  Operation failed: 0xC1900101 - 0x4000D\n", 5);
    assert_string_equal(json_string_value(json_object_get(json_array_get(e, 0), "code")), "0xC1900101 - 0x4000D");
    json_decref(e);
}

static void decodes_signed_exit_codes(void **state)
{
    (void)state;
    struct win_result r;
    assert_int_equal(win_decode_result("-1047526904", &r), 0); /* %ERRORLEVEL% of 0xC1900208 */
    assert_int_equal(r.code, 0xC1900208);
}

static void decodes_rollback_phase_and_operation(void **state)
{
    (void)state;
    struct win_result r;
    assert_int_equal(win_decode_result("0xC1900101-0x40017", &r), 0);
    assert_true(r.rolled_back);
    assert_int_equal(r.extended, 0x40017);
    assert_string_equal(win_extended_phase(r.extended), "SECOND_BOOT");
    assert_string_equal(win_extended_operation(r.extended), "BOOT");
    assert_non_null(strstr(r.cause, "SECOND_BOOT phase during the BOOT operation"));
    assert_int_equal(win_decode_result("0xC1900101-0x2000c", &r), 0);
    assert_string_equal(win_extended_phase(r.extended), "SAFE_OS");
    assert_string_equal(win_extended_operation(r.extended), "APPLY_IMAGE");
    assert_int_equal(win_decode_result("0xC1900101-0x30018", &r), 0);
    assert_string_equal(win_extended_phase(r.extended), "FIRST_BOOT");
    assert_string_equal(win_extended_operation(r.extended), "SYSPREP");
    assert_int_equal(win_decode_result("0xC1900101-0x4000D", &r), 0);
    assert_string_equal(win_extended_operation(r.extended), "MIGRATE_DATA");
    assert_int_equal(win_decode_result("0xC1900101", &r), 0);
    assert_int_equal(r.extended, 0);
}

static void panther_logs_yield_first_errors_and_hints(void **state)
{
    (void)state;
    char *log = read_sample("setuperr-compat-block.log");
    json_t *e = win_panther_errors(log, 5);
    assert_int_equal(json_array_size(e), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(e, 0), "code")), "0xC1900208");
    assert_string_equal(json_string_value(json_object_get(json_array_get(e, 0), "component")), "MOUPG");
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(e, 2), "hint")), "told to stop"));
    json_decref(e);
    free(log);
    log = read_sample("setuperr-rollback.log");
    e = win_panther_errors(log, 2);
    assert_int_equal(json_array_size(e), 2); /* only the first lines */
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(e, 0), "hint")), "gave up applying"));
    json_decref(e);
    free(log);
    log = read_sample("setupact-excerpt.log");
    e = win_panther_errors(log, 5); /* Info and Warning lines are not errors */
    assert_int_equal(json_array_size(e), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(e, 0), "code")), "0xC190020E");
    json_decref(e);
    free(log);
}

static void start_script_runs_scan_then_detached_setup(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    struct win_setup_params p = {.image_index = 4};
    char *s = win_setup_start_script(&p, &err);
    assert_non_null(s);
    assert_non_null(strstr(s, "/auto upgrade /quiet /compat scanonly"));
    assert_non_null(strstr(s, "'0xC1900210'"));
    assert_non_null(strstr(s, "/auto upgrade /quiet /eula accept /dynamicupdate disable /compat ignorewarning /showoobe none /imageindex 4 /copylogs C:\\osmig\\panther"));
    assert_non_null(strstr(s, "schtasks.exe /Create /F /TN osmig-upgrade /RU SYSTEM"));
    assert_non_null(strstr(s, "Label -eq 'OSMIG-TRANSIT'"));
    /* the scan comes before the task */
    assert_true(strstr(s, "scanonly") < strstr(s, "schtasks.exe /Create"));
    free(s);
}

static void scripts_refuse_unsafe_parameters(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    const char *bad[] = {"C:\\osmig'; Remove-Item C:\\ -Recurse #", "C:\\a&b", "relative", "C:\\..\\x", "C:\\a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct win_setup_params p = {.image_index = 1, .state_dir = bad[i]};
        assert_null(win_setup_start_script(&p, &err));
        assert_null(win_setup_status_script(&p, &err));
        assert_int_equal(err.code, OSM_EUSAGE);
    }
    struct win_setup_params p = {.image_index = 0};
    assert_null(win_setup_start_script(&p, &err));
    struct win_setup_params ok = {.image_index = 2, .state_dir = "D:\\osmig-state\\run_1"};
    char *s = win_setup_start_script(&ok, &err);
    assert_non_null(strstr(s, "$state = 'D:\\osmig-state\\run_1'"));
    free(s);
}

static void status_output_is_parsed(void **state)
{
    (void)state;
    struct win_status st;
    win_setup_parse_status("build=17763\r\nbt=1\r\nsetup_running=0\r\nsetup_exit=-1047526904\r\n"
                           "err=2019-03-12 10:15:32, Error   SP   Shell application requested abort\r\n", &st);
    assert_int_equal(st.build, 17763);
    assert_true(st.bt_present);
    assert_false(st.setup_running);
    assert_string_equal(st.setup_exit, "-1047526904");
    assert_int_equal(json_array_size(st.errors), 1);
    json_decref(st.errors);
    win_setup_parse_status("build=\nbt=x\ngarbage\n", &st);
    assert_int_equal(st.build, -1);
    assert_false(st.bt_present);
    json_decref(st.errors);
}

static int upgrade(struct win_double *d, struct win_upgrade_result *r, struct osm_err *err)
{
    struct osm_instance inst = {0};
    win_double_open(&inst, d);
    struct win_setup_params sp = {.image_index = 4};
    struct win_follow_opts fo = {.from_build = d->old_build, .target_build = d->new_build, .poll_s = 30,
                                 .limit_setup_s = 3600, .limit_reboot_s = 1800, .limit_finalize_s = 1800,
                                 .clock = &d->clock};
    return win_upgrade(&inst, "/var/lib/osmig/transit/t.img", &sp, &fo, r, err);
}

static void double_success_reaches_the_new_build(void **state)
{
    (void)state;
    struct win_double d = {.play = DOUBLE_SUCCESS, .old_build = 9600, .new_build = 17763};
    struct win_upgrade_result r;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(upgrade(&d, &r, &err), 0);
    assert_int_equal(r.end, WIN_END_SUCCEEDED);
    assert_int_equal(r.final_build, 17763);
    assert_int_equal(r.reboots, 1);
    assert_false(r.rollback_disks);
    assert_string_equal(r.phase, "done");
    assert_int_equal(d.attached, 1);
    assert_int_equal(d.detached, 1);
    assert_int_equal(d.polls, 6);
    assert_non_null(strstr(d.last_start_script, "/imageindex 4"));
    win_upgrade_result_free(&r);
}

static void double_rollback_is_decoded_and_asks_for_disk_rollback(void **state)
{
    (void)state;
    char *log = read_sample("setuperr-rollback.log");
    struct win_double d = {.play = DOUBLE_ROLLBACK, .old_build = 14393, .new_build = 17763, .log = log};
    struct win_upgrade_result r;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(upgrade(&d, &r, &err), 0);
    assert_int_equal(r.end, WIN_END_FAILED);
    assert_string_equal(r.phase, "rollback");
    assert_true(r.rollback_disks);
    assert_int_equal(r.code.code, 0xC1900101);
    assert_int_equal(r.code.extended, 0x40017);
    assert_non_null(strstr(r.cause, "SECOND_BOOT phase during the BOOT operation"));
    assert_non_null(strstr(r.cause, "Abandoning apply"));
    assert_int_equal(json_array_size(r.errors), 3);
    assert_int_equal(d.detached, 1);
    win_upgrade_result_free(&r);
    free(log);
}

static void double_hang_hits_the_phase_time_limit(void **state)
{
    (void)state;
    struct win_double d = {.play = DOUBLE_HANG, .old_build = 17763, .new_build = 20348};
    struct win_upgrade_result r;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(upgrade(&d, &r, &err), 0);
    assert_int_equal(r.end, WIN_END_HUNG);
    assert_string_equal(r.phase, "setup");
    assert_true(r.rollback_disks);
    assert_non_null(strstr(r.cause, "limit 3600 s"));
    assert_int_equal(d.polls, 3600 / 30 + 1); /* the fake clock moved; no real waiting */
    assert_int_equal(d.detached, 1);
    win_upgrade_result_free(&r);
}

static void double_compat_block_stops_before_setup(void **state)
{
    (void)state;
    struct win_double d = {.play = DOUBLE_COMPAT_BLOCK, .old_build = 9600, .new_build = 17763, .compat = "0xC1900204"};
    struct win_upgrade_result r;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(upgrade(&d, &r, &err), 0);
    assert_int_equal(r.end, WIN_END_FAILED);
    assert_string_equal(r.phase, "scan");
    assert_non_null(strstr(r.cause, "compatibility scan: the media does not match"));
    assert_int_equal(d.polls, 0);
    assert_int_equal(d.detached, 1);
    win_upgrade_result_free(&r);
}

static void double_setup_exit_code_is_decoded(void **state)
{
    (void)state;
    char *log = read_sample("setuperr-compat-block.log");
    struct win_double d = {.play = DOUBLE_SETUP_EXIT, .old_build = 9600, .new_build = 17763, .setup_exit = "-1047526904", .log = log};
    struct win_upgrade_result r;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(upgrade(&d, &r, &err), 0);
    assert_int_equal(r.end, WIN_END_FAILED);
    assert_int_equal(r.code.code, 0xC1900208);
    assert_non_null(strstr(r.cause, "blocks the upgrade"));
    assert_int_equal(d.detached, 1);
    win_upgrade_result_free(&r);
    free(log);
}

static void double_unreachable_agent_is_an_error_and_releases_the_disk(void **state)
{
    (void)state;
    struct win_double d = {.play = DOUBLE_AGENT_DOWN, .old_build = 9600, .new_build = 17763};
    struct win_upgrade_result r;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(upgrade(&d, &r, &err), -1);
    assert_non_null(strstr(err.msg, "agent does not answer"));
    assert_int_equal(d.attached, 1);
    assert_int_equal(d.detached, 1);
    win_upgrade_result_free(&r);
}

static json_t *two_hop_plan(void)
{
    /* the same small medium for both hops: what matters here is the order,
     * the builds and the transit disks being built, reused and released */
    const char *media = getenv("OSMIG_WIN_TRANSIT_MEDIA");
    return json_pack("[{s:i,s:s,s:s,s:i,s:i},{s:i,s:s,s:s,s:i,s:i}]", "hop", 1, "media", "2012r2-en-US", "media_path", media,
                     "build", 9600, "image_index", 4, "hop", 2, "media", "2019-en-US", "media_path", media, "build", 17763,
                     "image_index", 3);
}

static void double_runs_two_hops_in_order(void **state)
{
    (void)state;
    if (!getenv("OSMIG_WIN_TRANSIT_MEDIA"))
        skip();
    char dir[] = "/tmp/osmig-hops-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct win_double d = {.play = DOUBLE_SUCCESS, .builds = {7601, 9600, 17763}, .nbuilds = 3};
    struct osm_instance inst = {0};
    win_double_open(&inst, &d);
    json_t *plan = two_hop_plan();
    struct win_setup_params sp = {0};
    struct win_follow_opts fo = {.poll_s = 30, .clock = &d.clock};
    struct win_upgrade_result r;
    struct osm_err err = OSM_ERR_INIT;
    int failed = -1;
    assert_int_equal(win_upgrade_hops(&inst, plan, 7601, dir, &sp, &fo, &r, &failed, &err), 0);
    assert_int_equal(failed, 0);
    assert_int_equal(r.end, WIN_END_SUCCEEDED);
    assert_int_equal(r.final_build, 17763);
    assert_int_equal(d.starts, 2);
    assert_int_equal(d.attached, 2);
    assert_int_equal(d.detached, 2);
    assert_non_null(strstr(d.last_start_script, "/imageindex 3"));
    char *img = osm_path_join(dir, "2019-en-US.img");
    assert_false(osm_is_file(img)); /* released after its hop */
    free(img);
    win_upgrade_result_free(&r);
    /* the second hop rolls back: the run stops there and says which hop */
    struct win_double d2 = {.play = DOUBLE_ROLLBACK, .builds = {7601, 9600, 17763}, .nbuilds = 3,
                            .log = "2019-03-12 11:40:10, Error  MOUPG  Rollback 0xC1900101-0x20017"};
    win_double_open(&inst, &d2);
    assert_int_equal(win_upgrade_hops(&inst, plan, 7601, dir, &sp, &fo, &r, &failed, &err), 0);
    assert_int_equal(failed, 1); /* ROLLBACK plays from the first start */
    assert_int_equal(r.end, WIN_END_FAILED);
    assert_true(r.rollback_disks);
    assert_int_equal(d2.starts, 1);
    win_upgrade_result_free(&r);
    json_decref(plan);
    osm_remove_tree(dir, &err);
}

int main(void)
{
    if (!getenv("OSMIG_SOURCE_DIR")) {
        fprintf(stderr, "OSMIG_SOURCE_DIR must be set (run under ctest)\n");
        return 1;
    }
    /* the hop test needs a real medium for its transit disks */
    if (win_fixture_build() == 0)
        setenv("OSMIG_WIN_TRANSIT_MEDIA", win_fixture("media/transit"), 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_compatibility_codes),
        cmocka_unit_test(result_codes_carry_microsofts_names),
        cmocka_unit_test(decodes_signed_exit_codes),
        cmocka_unit_test(decodes_rollback_phase_and_operation),
        cmocka_unit_test(panther_logs_yield_first_errors_and_hints),
        cmocka_unit_test(start_script_runs_scan_then_detached_setup),
        cmocka_unit_test(scripts_refuse_unsafe_parameters),
        cmocka_unit_test(status_output_is_parsed),
        cmocka_unit_test(double_success_reaches_the_new_build),
        cmocka_unit_test(double_rollback_is_decoded_and_asks_for_disk_rollback),
        cmocka_unit_test(double_hang_hits_the_phase_time_limit),
        cmocka_unit_test(double_compat_block_stops_before_setup),
        cmocka_unit_test(double_setup_exit_code_is_decoded),
        cmocka_unit_test(double_unreachable_agent_is_an_error_and_releases_the_disk),
        cmocka_unit_test(double_runs_two_hops_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
