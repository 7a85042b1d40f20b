/* The setup driver: generated scripts, result codes, Panther logs, and whole
 * upgrades against the provider double (success, rollback, hang, blocks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "osm_fs.h"
#include "win_fixture.h"
#include "win_follow.h"
#include "win_outcome.h"
#include "win_double.h"
#include "win_setup.h"

/* Every one of the NULL-ended strings is in `s` (the first missing one
 * named). */
static void assert_contains(const char *s, ...)
{
    va_list ap;
    va_start(ap, s);
    for (const char *want; (want = va_arg(ap, const char *));)
        if (!s || !strstr(s, want))
            fail_msg("not in the script: %s", want);
    va_end(ap);
}

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

/* ---- the generated scripts ------------------------------------------------ */

static char *golden_path(const char *name)
{
    return osm_xasprintf("%s/tests/windows/golden/%s.golden", getenv("OSMIG_SOURCE_DIR"), name);
}

/* SCRIPT equals tests/windows/golden/NAME.golden: expected output, data (OSMIG_UPDATE_GOLDEN=1 rewrites it). */
static void assert_golden(const char *name, char *script)
{
    assert_non_null(script);
    char *p = golden_path(name);
    struct osm_err err = OSM_ERR_INIT;
    if (getenv("OSMIG_UPDATE_GOLDEN"))
        assert_int_equal(osm_write_file_atomic(p, script, strlen(script), 0644, &err), 0);
    struct osm_buf b;
    osm_buf_init(&b);
    if (osm_read_file(p, &b, &err) != 0)
        fail_msg("%s", err.msg);
    if (strcmp(b.s, script) != 0)
        fail_msg("the generated script differs from %s (OSMIG_UPDATE_GOLDEN=1 rewrites it after review)", p);
    osm_buf_free(&b);
    free(p);
    free(script);
}

static const struct win_setup_params p2019 = {.image_index = 4, .kind = WIN_SETUP_WINDOWS10,
                                              .product_key = "WMDGN-G9PQG-XVVXX-R3X43-63DFG"};
static const struct win_setup_params p2012r2 = {.image_index = 2, .kind = WIN_SETUP_WINDOWS8,
                                                .product_key = "W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9"};
static const struct win_setup_params p2012r2vl = {.image_index = 4, .kind = WIN_SETUP_WINDOWS8, .volume_licence = 1,
                                                  .product_key = "W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9"};
static const struct win_setup_params pconv = {.product_key = "CB7KF-BWN84-R7R2Y-793K2-8XDDG", .edition_id = "ServerDatacenter"};

static void scripts_match_their_golden_files(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    assert_golden("prepare-windows10.ps1", win_setup_prepare_script(&p2019, &err));
    assert_golden("prepare-windows8.ps1", win_setup_prepare_script(&p2012r2, &err));
    assert_golden("start-windows10.ps1", win_setup_start_script(&p2019, &err));
    assert_golden("start-windows8.ps1", win_setup_start_script(&p2012r2, &err));
    assert_golden("start-windows8-volume-licence.ps1", win_setup_start_script(&p2012r2vl, &err));
    assert_golden("convert.ps1", win_setup_convert_script(&pconv, &err));
    assert_golden("status.ps1", win_setup_status_script(&p2019, &err));
    assert_golden("logs.ps1", win_setup_logs_script(&p2019, &err));
}

static char *all_scripts(void)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_buf b;
    osm_buf_init(&b);
    char *v[] = {win_setup_prepare_script(&p2019, &err), win_setup_prepare_script(&p2012r2, &err),
                 win_setup_start_script(&p2019, &err), win_setup_start_script(&p2012r2, &err),
                 win_setup_convert_script(&pconv, &err), win_setup_status_script(&p2019, &err),
                 win_setup_logs_script(&p2019, &err)};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_non_null(v[i]);
        osm_buf_adds(&b, v[i]);
        free(v[i]);
    }
    return osm_buf_detach(&b);
}

/* `echo %ERRORLEVEL%> file` reads a one-digit code as a handle number and
 * drops it: every exit code is recorded with the redirection first. */
static void exit_codes_0_to_9_are_recorded(void **state)
{
    (void)state;
    char *s = all_scripts();
    assert_null(strstr(s, "%ERRORLEVEL%>"));
    assert_null(strstr(s, "%ERRORLEVEL% >"));
    assert_contains(s, "'>\"C:\\osmig\\setup-exit.txt\" echo %ERRORLEVEL%'",
                    "'>\"C:\\osmig\\compat-exit.txt\" echo %ERRORLEVEL%'",
                    "'>\"C:\\osmig\\convert-exit.txt\" echo %ERRORLEVEL%'", NULL);
    free(s);
}

/* The agent call returns at once: nothing waits for setup or the scan. */
static void no_script_waits_for_setup(void **state)
{
    (void)state;
    char *s = all_scripts();
    assert_null(strcasestr(s, "-Wait"));
    assert_null(strcasestr(s, "WaitForExit"));
    assert_null(strcasestr(s, "start /wait"));
    free(s);
}

/* PowerShell 2.0 (2008 R2) has no Storage, ScheduledTasks or CIM cmdlets,
 * no -Raw and no JSON: the scripts use WMI, diskpart.exe and schtasks.exe. */
static void scripts_run_on_powershell_2(void **state)
{
    (void)state;
    char *s = all_scripts();
    static const char *const newer[] = {"Get-Disk", "Set-Disk", "Get-Volume", "Get-Partition", "Get-CimInstance",
                                        "Get-ScheduledTask", "Register-ScheduledTask", "Start-ScheduledTask",
                                        "ConvertTo-Json", "ConvertFrom-Json", "-Raw", "Invoke-WebRequest",
                                        "Get-WindowsEdition", "Set-WindowsEdition", "::new("};
    for (size_t i = 0; i < sizeof newer / sizeof newer[0]; i++)
        if (strcasestr(s, newer[i]))
            fail_msg("a script uses %s, which PowerShell 2.0 lacks", newer[i]);
    assert_contains(s, "& schtasks.exe /Create /F /TN $name /RU SYSTEM", "Get-WmiObject -Class Win32_Volume", NULL);
    free(s);
}

/* What one generated script must say, and must not. */
struct script_case {
    char *(*fn)(const struct win_setup_params *, struct osm_err *);
    const struct win_setup_params *p;
    const char *const *has, *const *lacks; /* NULL-ended */
};

static void script_says_what_its_case_expects(void **state)
{
    const struct script_case *c = *state;
    struct osm_err err = OSM_ERR_INIT;
    char *s = c->fn(c->p, &err);
    if (!s)
        fail_msg("no script: %s", err.msg);
    for (const char *const *w = c->has; *w; w++)
        if (!strstr(s, *w))
            fail_msg("not in the script: %s", *w);
    for (const char *const *w = c->lacks; *w; w++)
        if (strstr(s, *w))
            fail_msg("in the script, and should not be: %s", *w);
    free(s);
}

#define NONE ((const char *const[]){NULL})

/* Windows 10's prepare runs the compatibility scan as a task and returns. */
static const struct script_case windows10_prepare_starts_the_compatibility_scan = {
    win_setup_prepare_script, &p2019, (const char *const[]){"/compat scanonly", "Start-OsmigTask 'osmig-compat' $cmd", NULL},
    NONE};

/* The SAN policy can leave the attached disk offline or read-only; the
 * system disk is left alone. */
static const struct script_case transit_disk_is_brought_online_and_writable = {
    win_setup_prepare_script, &p2012r2,
    (const char *const[]){"'san policy=OnlineAll'", "'online disk noerr', 'attributes disk clear readonly noerr'",
                          "& diskpart.exe /s $dpf", "result=transit-readonly", "$sys -notcontains $d.Index", NULL},
    NONE};

/* 2012 R2's setup.exe: /auto:upgrade for volume-licence media (with /Auto
 * no answer file is taken), else an upgrade answer file with the image and
 * the key and none of Windows 10's switches; no /compat scanonly (it has
 * none), so its gate passes. */
static const struct script_case windows8_volume_licence_media_use_auto_upgrade = {
    win_setup_start_script, &p2012r2vl, (const char *const[]){"\\setup.exe\" /auto:upgrade')", NULL},
    (const char *const[]){"unattend", NULL}};

static const struct script_case windows8_media_use_an_upgrade_answer_file = {
    win_setup_start_script, &p2012r2,
    (const char *const[]){"\\setup.exe\" /unattend:C:\\osmig\\unattend.xml')", "<Key>/IMAGE/INDEX</Key><Value>2</Value>",
                          "<ProductKey><Key>W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9</Key>", "<Upgrade>true</Upgrade>", NULL},
    (const char *const[]){"/auto", "/quiet", "/compat", "/eula", "/imageindex", "/showoobe", "/copylogs",
                          "/dynamicupdate", NULL}};

static const struct script_case windows8_prepare_skips_the_compatibility_scan = {
    win_setup_prepare_script, &p2012r2, (const char *const[]){"compat=skipped", NULL},
    (const char *const[]){"scanonly", NULL}};

static const struct script_case windows10_media_use_their_switches = {
    win_setup_start_script, &p2019,
    (const char *const[]){"\\setup.exe\" /auto upgrade /quiet /eula accept /dynamicupdate disable /compat ignorewarning "
                          "/showoobe none /imageindex 4 /pkey WMDGN-G9PQG-XVVXX-R3X43-63DFG /copylogs C:\\osmig\\panther",
                          NULL},
    NONE};

static const struct script_case conversion_runs_dism_not_setup = {
    win_setup_convert_script, &pconv,
    (const char *const[]){"dism.exe /online /Set-Edition:ServerDatacenter /ProductKey:CB7KF-BWN84-R7R2Y-793K2-8XDDG "
                          "/AcceptEula /NoRestart", NULL},
    (const char *const[]){"setup.exe", NULL}};

/* Setup, SetupHost and SetupPrep (2012 R2's setup runs as "setup"), and the
 * scheduled task's own state, which does not depend on the language. */
static const struct script_case status_watches_every_setup_process_and_the_task = {
    win_setup_status_script, &p2019,
    (const char *const[]){"Get-Process -Name setup,SetupHost,SetupPrep", "Test-OsmigTask 'osmig-setup'",
                          "GetTask($name).State -eq 4", "('edition=' + $cv.EditionID)", NULL},
    NONE};

/* The transit disk is online before its volume is looked for. */
static void transit_disk_is_online_before_its_volume_is_looked_for(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    char *s = win_setup_prepare_script(&p2012r2, &err);
    assert_non_null(s);
    assert_true(strstr(s, "diskpart.exe") < strstr(s, "Win32_Volume"));
    free(s);
}

/* Without a key there is no answer file to write. */
static void windows8_start_without_a_key_is_refused(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    struct win_setup_params nokey = p2012r2;
    nokey.product_key = NULL;
    assert_null(win_setup_start_script(&nokey, &err));
    assert_int_equal(err.code, OSM_EUSAGE);
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
        assert_null(win_setup_prepare_script(&p, &err));
        assert_null(win_setup_logs_script(&p, &err));
        assert_int_equal(err.code, OSM_EUSAGE);
    }
    struct win_setup_params p = {.image_index = 0};
    assert_null(win_setup_start_script(&p, &err));
    struct win_setup_params k = {.image_index = 1, .product_key = "AAAAA-BBBBB-CCCCC-DDDDD-EEEE'"};
    assert_null(win_setup_start_script(&k, &err));
    struct win_setup_params c = {.product_key = "CB7KF-BWN84-R7R2Y-793K2-8XDDG", .edition_id = "ServerDatacenter /x"};
    assert_null(win_setup_convert_script(&c, &err));
    struct win_setup_params ok = {.image_index = 2, .state_dir = "D:\\osmig-state\\run_1"};
    char *s = win_setup_start_script(&ok, &err);
    assert_non_null(strstr(s, "$state = 'D:\\osmig-state\\run_1'"));
    free(s);
}

static void status_output_is_parsed(void **state)
{
    (void)state;
    struct win_status st;
    win_setup_parse_status("build=17763\r\nedition=ServerDatacenter\r\nbt=1\r\nsetup_running=0\r\nsetup_exit=-1047526904\r\n"
                           "compat_exit=-1047526896\r\nconvert_exit=3010\r\nconvert_running=1\r\n"
                           "err=2019-03-12 10:15:30, Error  MOUPG  Result = 0xC1900208\r\n",
                           &st);
    assert_int_equal(st.build, 17763);
    assert_string_equal(st.edition, "ServerDatacenter");
    assert_true(st.bt_present);
    assert_false(st.setup_running);
    assert_true(st.convert_running);
    assert_string_equal(st.setup_exit, "-1047526904");
    assert_string_equal(st.compat_exit, "-1047526896");
    assert_string_equal(st.convert_exit, "3010");
    assert_int_equal(json_array_size(st.errors), 1);
    json_decref(st.errors);
    win_setup_parse_status("build=\nbt=x\ngarbage\n", &st);
    assert_int_equal(st.build, -1);
    assert_false(st.bt_present);
    json_decref(st.errors);
}

/* ---- whole hops against the double ------------------------------------------ */

static char ddir[] = "/tmp/osmig-windbl-XXXXXX";
static char droot[4096], dimage[4096];

static void double_scenario(const char *json)
{
    char *p = osm_path_join(ddir, "scenario.json");
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_write_file_atomic(p, json, strlen(json), 0644, &err), 0);
    free(p);
    char *e = osm_path_join(ddir, "events.log");
    unlink(e);
    free(e);
    char *st = osm_path_join(droot, "osmig-windows-double.json");
    unlink(st);
    free(st);
}

static char *double_events(void)
{
    char *p = osm_path_join(ddir, "events.log");
    struct osm_buf b;
    osm_buf_init(&b);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_read_file(p, &b, &err) != 0)
        osm_buf_adds(&b, "");
    free(p);
    return osm_buf_detach(&b);
}

/* How many times `needle` stands in the double's event log. */
static size_t events_count(const char *needle)
{
    char *ev = double_events();
    size_t n = 0;
    for (const char *p = ev; (p = strstr(p, needle)); p++)
        n++;
    free(ev);
    return n;
}

static struct osm_instance dinst;

static void agent(struct win_agent *a)
{
    memset(&dinst, 0, sizeof dinst);
    dinst.uri = "dir:/double";
    dinst.name = "double";
    dinst.root = droot;
    win_double_agent(a, &dinst);
}

static const struct win_follow_opts fo_9600_17763 = {.from_build = 9600, .target_build = 17763,
                                                     .target_edition = "ServerDatacenter", .poll_s = 30,
                                                     .limit_setup_s = 3600, .limit_reboot_s = 1800,
                                                     .limit_finalize_s = 1800};

static int upgrade(const char *scenario, struct win_upgrade_result *r, struct osm_err *err)
{
    double_scenario(scenario);
    struct win_agent a;
    agent(&a);
    return win_upgrade(&a, dimage, &p2019, &fo_9600_17763, r, err);
}

/* The upgrade of the scenario runs through and ends as `end` says. */
static void upgrade_ends(const char *scenario, enum win_end end, struct win_upgrade_result *r)
{
    struct osm_err err = OSM_ERR_INIT;
    if (upgrade(scenario, r, &err) != 0)
        fail_msg("%s: %s", scenario, err.msg);
    assert_int_equal(r->end, end);
}

static void double_success_reaches_the_new_build(void **state)
{
    (void)state;
    struct win_upgrade_result r;
    upgrade_ends("{\"builds\":[9600,17763],\"plays\":[\"success\"]}", WIN_END_SUCCEEDED, &r);
    assert_int_equal(r.final_build, 17763);
    assert_string_equal(r.final_edition, "ServerDatacenter");
    assert_int_equal(r.reboots, 1);
    assert_false(r.rollback_disks);
    assert_false(r.bt_left);
    assert_string_equal(r.phase, "done");
    assert_int_equal(events_count("attach "), 1);
    assert_int_equal(events_count("detach "), 1);
    assert_true(events_count("prepare\nstart auto upgrade index=4 key=WMDGN-G9PQG-XVVXX-R3X43-63DFG") > 0);
    win_upgrade_result_free(&r);
}

/* Outcomes of one hop that end in one way each: how it ends, what the cause
 * says, the build it ends on (0: not checked), whether the disks go back. */
static void double_outcomes_end_as_their_play_says(void **state)
{
    (void)state;
    static const struct {
        const char *play;
        enum win_end end;
        const char *cause;
        long final_build;
        int rollback_disks;
        const char *phase; /* NULL: not checked */
    } plays[] = {
        /* $WINDOWS.~BT can stay for days after a good upgrade: success all the same */
        {"bt-stays", WIN_END_SUCCEEDED, "$WINDOWS.~BT is still there", 17763, 0, "done"},
        {"hang", WIN_END_HUNG, "limit 3600 s", 0, 1, "setup"},
        {"reboot-loop", WIN_END_HUNG, "reboot loop", 0, 1, NULL},
        {"never-changes", WIN_END_HUNG, NULL, 9600, 1, NULL},
    };
    for (size_t i = 0; i < sizeof plays / sizeof plays[0]; i++) {
        char *sc = osm_xasprintf("{\"builds\":[9600,17763],\"plays\":[\"%s\"]}", plays[i].play);
        struct win_upgrade_result r;
        struct osm_err err = OSM_ERR_INIT;
        assert_int_equal(upgrade(sc, &r, &err), 0);
        if (r.end != plays[i].end || (plays[i].cause && !strstr(r.cause, plays[i].cause)) ||
            (plays[i].final_build && r.final_build != plays[i].final_build) ||
            !r.rollback_disks != !plays[i].rollback_disks || (plays[i].phase && strcmp(r.phase, plays[i].phase) != 0))
            fail_msg("play %s: end %d in phase %s, build %ld, rollback_disks %d, cause: %s", plays[i].play,
                     (int)r.end, r.phase, r.final_build, r.rollback_disks, r.cause);
        assert_true(strcmp(plays[i].play, "bt-stays") != 0 || r.bt_left);
        win_upgrade_result_free(&r);
        free(sc);
    }
}

static void double_rollback_is_decoded_and_asks_for_disk_rollback(void **state)
{
    (void)state;
    char *log = read_sample("setuperr-rollback.log");
    json_t *sc = json_pack("{s:[i,i],s:[s],s:s}", "builds", 9600, 17763, "plays", "rollback", "setuperr", log);
    char *text = json_dumps(sc, 0);
    struct win_upgrade_result r;
    upgrade_ends(text, WIN_END_FAILED, &r);
    assert_true(r.rollback_disks);
    assert_int_equal(r.code.code, 0xC1900101);
    assert_int_equal(r.code.extended, 0x40017);
    assert_contains(r.cause, "SECOND_BOOT", "setuperr.log", NULL);
    assert_int_equal(events_count("detach "), 1);
    win_upgrade_result_free(&r);
    free(text);
    json_decref(sc);
    free(log);
}

/* Every setup result code reaches the cause by name, as cmd's signed decimal. */
static void double_each_setup_exit_code_is_decoded(void **state)
{
    (void)state;
    static const struct { const char *dec; uint32_t code; const char *name; } codes[] = {
        {"-1047526904", 0xC1900208, "MOSETUP_E_COMPAT_INSTALLREQ_BLOCK"},
        {"-1047526908", 0xC1900204, "MOSETUP_E_COMPAT_MIGCHOICE_BLOCK"},
        {"-1047526910", 0xC1900202, "MOSETUP_E_COMPAT_DOWNLOADREQ_BLOCK"},
        {"-1047526900", 0xC190020C, "MOSETUP_E_DOWNLOADDISKSPACE_BLOCK"},
        {"-1047526898", 0xC190020E, "MOSETUP_E_INSTALLDISKSPACE_BLOCK"},
        {"-1047526912", 0xC1900200, "MOSETUP_E_COMPAT_SYSREQ_BLOCK"},
        {"-1047527161", 0xC1900107, "MOSETUP_E_CLEANUP_PENDING"},
        {"-1047526397", 0xC1900403, "MOSETUP_E_UA_CORRUPT_PAYLOAD_FILES"},
        {"-1047527167", 0xC1900101, "MOSETUP_E_SETUP_PLATFORM"},
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char *sc = osm_xasprintf("{\"builds\":[9600,17763],\"plays\":[\"setup-exit\"],\"setup_exit\":\"%s\","
                                 "\"setuperr\":\"2019-03-12 10:15:30, Error  MOUPG  setup failed\"}",
                                 codes[i].dec);
        struct win_upgrade_result r;
        struct osm_err err = OSM_ERR_INIT;
        assert_int_equal(upgrade(sc, &r, &err), 0);
        assert_int_equal(r.end, WIN_END_FAILED);
        if (r.code.code != codes[i].code)
            fail_msg("%s decoded as 0x%08X", codes[i].dec, r.code.code);
        assert_string_equal(r.code.name, codes[i].name);
        assert_true(r.rollback_disks);
        win_upgrade_result_free(&r);
        free(sc);
    }
}

/* An engine killed while setup ran did not see the reboot: resumed, it
 * takes the old build with setup stopped as the rollback it is, instead of
 * waiting for the phase's limit. */
static void resumed_follow_sees_an_unseen_rollback(void **state)
{
    (void)state;
    double_scenario("{\"builds\":[9600,17763],\"plays\":[\"rollback\"],"
                    "\"setuperr\":\"2019-03-12 11:40:10, Error  MOUPG  0xC1900101 - 0x40017\"}");
    struct win_agent a;
    agent(&a);
    struct win_upgrade_result r;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(a.attach_disk(a.inst, dimage, &err), 0);
    assert_int_equal(win_hop_prepare(&a, &p2019, &fo_9600_17763, &r, &err), 0);
    assert_int_equal(win_hop_start(&a, &p2019, &r, &err), 0);
    /* the engine dies; setup reboots and rolls back meanwhile */
    char *script = win_setup_status_script(&p2019, &err);
    for (int i = 0; i < 5; i++) {
        const char *argv[8];
        win_setup_argv(script, argv);
        struct osm_buf out;
        osm_buf_init(&out);
        struct osm_err e = OSM_ERR_INIT;
        a.run(a.inst, argv, &out, &e);
        osm_buf_free(&out);
    }
    free(script);
    struct win_follow_opts fo = fo_9600_17763;
    fo.resumed = 1;
    assert_int_equal(win_follow(&a, &p2019, &fo, &r, &err), 0);
    assert_int_equal(r.end, WIN_END_FAILED);
    assert_int_equal(r.code.code, 0xC1900101);
    assert_true(r.rollback_disks);
    win_upgrade_result_free(&r);
    /* without knowing it resumed, the same state only ends at the limit */
    fo.resumed = 0;
    assert_int_equal(win_follow(&a, &p2019, &fo, &r, &err), 0);
    assert_int_equal(r.end, WIN_END_HUNG);
    win_upgrade_result_free(&r);
}

static void double_compat_block_stops_before_setup(void **state)
{
    (void)state;
    struct win_upgrade_result r;
    upgrade_ends("{\"builds\":[9600,17763],\"plays\":[\"compat-block\"],\"compat\":\"-1047526904\"}", WIN_END_FAILED, &r);
    assert_string_equal(r.phase, "scan");
    assert_non_null(strstr(r.cause, "compatibility scan: an incompatible application"));
    assert_int_equal(events_count("start "), 0);
    assert_int_equal(events_count("detach "), 1);
    win_upgrade_result_free(&r);
}

/* 2012 R2 media: no scan-only mode, so the gate passes and setup runs. */
static void double_windows8_media_pass_the_gate(void **state)
{
    (void)state;
    double_scenario("{\"builds\":[7601,9600],\"plays\":[\"success\"]}");
    struct win_agent a;
    agent(&a);
    struct win_follow_opts fo = fo_9600_17763;
    fo.from_build = 7601;
    fo.target_build = 9600;
    struct win_upgrade_result r;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(win_upgrade(&a, dimage, &p2012r2, &fo, &r, &err), 0);
    assert_int_equal(r.end, WIN_END_SUCCEEDED);
    assert_true(events_count("start unattend index=2 key=W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9") > 0);
    win_upgrade_result_free(&r);
}

static void double_unreachable_agent_is_an_error_and_releases_the_disk(void **state)
{
    (void)state;
    struct win_upgrade_result r;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(upgrade("{\"builds\":[9600,17763],\"plays\":[\"agent-down\"]}", &r, &err), -1);
    assert_non_null(strstr(err.msg, "agent does not answer"));
    assert_int_equal(events_count("attach "), 1);
    assert_int_equal(events_count("detach "), 1);
    win_upgrade_result_free(&r);
}

static const struct win_follow_opts fo_conv = {.from_build = 14393, .target_build = 14393,
                                               .target_edition = "ServerDatacenter", .poll_s = 30,
                                               .limit_setup_s = 3600, .limit_reboot_s = 1800};

/* The conversion of the scenario (NULL: the double as it is now) runs
 * through and ends as `end` says. */
static void convert_ends(const char *scenario, enum win_end end, struct win_upgrade_result *r)
{
    if (scenario)
        double_scenario(scenario);
    struct win_agent a;
    agent(&a);
    struct osm_err err = OSM_ERR_INIT;
    if (win_convert(&a, &pconv, &fo_conv, r, &err) != 0)
        fail_msg("conversion: %s", err.msg);
    assert_int_equal(r->end, end);
}

/* Standard -> Datacenter of 2016: DISM, one restart, the new EditionID on
 * the same build. No setup, no transit disk, and not "success" before the
 * edition changed. */
static void double_same_build_conversion_runs_dism_and_checks_the_edition(void **state)
{
    (void)state;
    struct win_upgrade_result r;
    convert_ends("{\"builds\":[14393],\"edition\":\"ServerStandard\",\"plays\":[\"success\"]}", WIN_END_SUCCEEDED, &r);
    assert_string_equal(r.final_edition, "ServerDatacenter");
    assert_int_equal(r.final_build, 14393);
    assert_int_equal(r.reboots, 1);
    assert_true(events_count("convert edition=ServerDatacenter\nreboot\n") > 0);
    assert_int_equal(events_count("start "), 0);
    assert_int_equal(events_count("attach "), 0);
    win_upgrade_result_free(&r);
    /* run again on the converted system: no second DISM, no restart */
    convert_ends(NULL, WIN_END_SUCCEEDED, &r);
    assert_int_equal(events_count("convert "), 1);
    assert_int_equal(events_count("reboot"), 1);
    win_upgrade_result_free(&r);
}

static void double_conversion_failure_is_decoded(void **state)
{
    (void)state;
    struct win_upgrade_result r;
    convert_ends("{\"builds\":[14393],\"edition\":\"ServerStandard\",\"plays\":[\"conversion-fails\"],"
                    "\"convert_exit\":\"1605\"}", WIN_END_FAILED, &r);
    assert_non_null(strstr(r.cause, "DISM /Set-Edition failed with exit code 1605"));
    assert_true(r.rollback_disks);
    win_upgrade_result_free(&r);
}

static void double_conversion_without_effect_fails(void **state)
{
    (void)state;
    struct win_upgrade_result r;
    convert_ends("{\"builds\":[14393],\"edition\":\"ServerStandard\",\"plays\":[\"conversion-no-change\"]}", WIN_END_FAILED, &r);
    assert_non_null(strstr(r.cause, "the edition is still ServerStandard"));
    assert_int_equal(r.reboots, 2);
    win_upgrade_result_free(&r);
}

/* setuperr.log and setupact.log come back whole, not five lines. */
static void logs_are_copied_back_whole(void **state)
{
    (void)state;
    char *err_log = read_sample("setuperr-rollback.log"), *act = read_sample("setupact-excerpt.log");
    json_t *sc = json_pack("{s:[i,i],s:[s],s:s,s:s}", "builds", 9600, 17763, "plays", "rollback", "setuperr", err_log,
                           "setupact", act);
    char *text = json_dumps(sc, 0);
    struct win_upgrade_result r;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(upgrade(text, &r, &err), 0);
    struct win_agent a;
    agent(&a);
    char *out = osm_path_join(ddir, "logs");
    assert_int_equal(win_fetch_logs(&a, &p2019, out, &err), 2);
    char *p = osm_path_join(out, "bt-rollback-setuperr.log");
    struct osm_buf b;
    osm_buf_init(&b);
    assert_int_equal(osm_read_file(p, &b, &err), 0);
    assert_string_equal(b.s, err_log);
    free(p);
    p = osm_path_join(out, "bt-rollback-setupact.log");
    osm_buf_reset(&b);
    assert_int_equal(osm_read_file(p, &b, &err), 0);
    assert_string_equal(b.s, act);
    osm_buf_free(&b);
    free(p);
    free(out);
    win_upgrade_result_free(&r);
    free(text);
    json_decref(sc);
    free(err_log);
    free(act);
}

static void keep_log(void *c, const char *name, const char *t)
{
    (void)name;
    snprintf(c, 64, "%s", t);
}

static void logs_output_is_parsed(void **state)
{
    (void)state;
    /* framing survives empty lines and CRLF */
    const char *text = "log-begin=a-setuperr.log\r\nlog=one\r\nlog=\r\nlog=three\r\nlog-end=a-setuperr.log\r\nnoise\r\n";
    char got[64] = "";
    assert_int_equal(win_setup_parse_logs(text, keep_log, got), 1);
    assert_string_equal(got, "one\n\nthree\n");
}

/* One test per script case, named after it. */
#define SCRIPT_CASE(c) {#c, script_says_what_its_case_expects, NULL, NULL, (void *)&c}

int main(void)
{
    if (!getenv("OSMIG_SOURCE_DIR")) {
        fprintf(stderr, "OSMIG_SOURCE_DIR must be set (run under ctest)\n");
        return 1;
    }
    if (!mkdtemp(ddir))
        return 1;
    snprintf(droot, sizeof droot, "%s/root", ddir);
    snprintf(dimage, sizeof dimage, "%s/transit.img", ddir);
    mkdir(droot, 0755);
    FILE *f = fopen(dimage, "w");
    if (f)
        fclose(f);
    setenv("OSMIG_WINDOWS_DOUBLE", ddir, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_compatibility_codes),
        cmocka_unit_test(result_codes_carry_microsofts_names),
        cmocka_unit_test(decodes_signed_exit_codes),
        cmocka_unit_test(decodes_rollback_phase_and_operation),
        cmocka_unit_test(panther_logs_yield_first_errors_and_hints),
        cmocka_unit_test(scripts_match_their_golden_files),
        cmocka_unit_test(exit_codes_0_to_9_are_recorded),
        cmocka_unit_test(no_script_waits_for_setup),
        cmocka_unit_test(scripts_run_on_powershell_2),
        SCRIPT_CASE(windows10_prepare_starts_the_compatibility_scan),
        SCRIPT_CASE(transit_disk_is_brought_online_and_writable),
        cmocka_unit_test(transit_disk_is_online_before_its_volume_is_looked_for),
        SCRIPT_CASE(windows8_volume_licence_media_use_auto_upgrade),
        SCRIPT_CASE(windows8_media_use_an_upgrade_answer_file),
        SCRIPT_CASE(windows8_prepare_skips_the_compatibility_scan),
        cmocka_unit_test(windows8_start_without_a_key_is_refused),
        SCRIPT_CASE(windows10_media_use_their_switches),
        SCRIPT_CASE(conversion_runs_dism_not_setup),
        SCRIPT_CASE(status_watches_every_setup_process_and_the_task),
        cmocka_unit_test(scripts_refuse_unsafe_parameters),
        cmocka_unit_test(status_output_is_parsed),
        cmocka_unit_test(logs_output_is_parsed),
        cmocka_unit_test(double_success_reaches_the_new_build),
        cmocka_unit_test(double_outcomes_end_as_their_play_says),
        cmocka_unit_test(double_rollback_is_decoded_and_asks_for_disk_rollback),
        cmocka_unit_test(double_each_setup_exit_code_is_decoded),
        cmocka_unit_test(double_compat_block_stops_before_setup),
        cmocka_unit_test(resumed_follow_sees_an_unseen_rollback),
        cmocka_unit_test(double_windows8_media_pass_the_gate),
        cmocka_unit_test(double_unreachable_agent_is_an_error_and_releases_the_disk),
        cmocka_unit_test(double_same_build_conversion_runs_dism_and_checks_the_edition),
        cmocka_unit_test(double_conversion_failure_is_decoded),
        cmocka_unit_test(double_conversion_without_effect_fails),
        cmocka_unit_test(logs_are_copied_back_whole),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    struct osm_err err = OSM_ERR_INIT;
    osm_remove_tree(ddir, &err);
    return rc;
}
