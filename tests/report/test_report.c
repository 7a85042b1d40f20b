/* test_report.c: the reports that stay (engine/core/report*.c): findings
 * keep their ids and what they involve, inhibitors come first, the HTML
 * loads nothing and escapes everything, and the run directory appears
 * whole, with `latest` naming the newest run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"
#include "report.h"
#include "report_task.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

OSM_TEST_TMPDIR(tmp, "report")

static const char assessment[] =
    "{\"source\": {\"id\": \"centos\", \"version\": \"7.9\", \"name\": \"CentOS 7\", \"arch\": \"x86_64\"},"
    " \"target\": {\"id\": \"rhel8\", \"name\": \"RHEL 8\"},"
    " \"warnings\": [{\"id\": \"symlinked-directories\", \"summary\": \"links\", \"remediation\": \"check\","
    "   \"items\": [\"/usr/share/doc/x -> y (a directory of x-1-1.x86_64)\"]}],"
    " \"inhibitors\": [{\"id\": \"essential-removal\", \"summary\": \"would be erased <b>\", \"remediation\": \"add a repo\","
    "   \"items\": [\"openssh-server-7.4p1-21.el7.x86_64: remote access\", \"yum (event a.json#1)\"]}],"
    " \"summary\": {\"install\": 0, \"upgrade\": 1, \"erase\": 1},"
    " \"actions\": [{\"action\": \"erase\", \"name\": \"openssh-server\", \"from\": \"openssh-server-7.4p1-21.el7.x86_64\","
    "   \"reason\": \"no counterpart\"},"
    "  {\"action\": \"upgrade\", \"name\": \"bash\", \"from\": \"bash-4.2-1.el7.x86_64\", \"to\": \"bash-0:4.4-1.el8.x86_64\","
    "   \"reason\": \"<script>alert(1)</script>\"}]}";

static json_t *build(const char *doc_text, const char *command)
{
    json_t *doc = json_loads(doc_text, 0, NULL);
    assert_non_null(doc);
    struct osm_report_input in = {.command = command, .instance = "dir:/srv/web01", .target = "rhel8",
                                  .created = 1765110000, .assessment = doc, .inhibited = 1};
    json_t *r = osm_report_build(&in);
    json_decref(doc);
    return r;
}

static void findings_keep_ids_severity_remediation_and_packages(void **state)
{
    (void)state;
    json_t *r = build(assessment, "assess");
    json_t *fs = json_object_get(r, "findings");
    assert_int_equal(json_array_size(fs), 2);
    json_t *inh = json_array_get(fs, 0);
    assert_string_equal(json_string_value(json_object_get(inh, "id")), "essential-removal");
    assert_string_equal(json_string_value(json_object_get(inh, "severity")), "inhibitor");
    assert_string_equal(json_string_value(json_object_get(inh, "remediation")), "add a repo");
    json_t *rel = json_object_get(inh, "related");
    /* a NEVRA of the plan becomes its package name; a bare name stays */
    assert_int_equal(json_array_size(rel), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rel, 0), "name")), "openssh-server");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rel, 0), "type")), "package");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rel, 1), "name")), "yum");
    json_t *w = json_array_get(fs, 1);
    assert_string_equal(json_string_value(json_object_get(w, "severity")), "warning");
    json_t *wr = json_array_get(json_object_get(w, "related"), 0);
    assert_string_equal(json_string_value(json_object_get(wr, "type")), "file");
    assert_string_equal(json_string_value(json_object_get(wr, "name")), "/usr/share/doc/x");
    assert_string_equal(json_string_value(json_object_get(r, "result")), "inhibited");
    assert_int_equal(json_array_size(json_object_get(r, "changes")), 2);
    json_decref(r);
}

static void windows_findings_keep_their_fact_and_sentences(void **state)
{
    (void)state;
    json_t *r = build("{\"inhibitors\": [{\"id\": \"memory\", \"title\": \"too little memory\", \"fact\": \"1 GiB\","
                      " \"limit\": \"2 GiB\", \"remedy\": \"resize\"}], \"warnings\": [\"a sentence\"]}",
                      "assess");
    json_t *inh = json_array_get(json_object_get(r, "findings"), 0);
    assert_string_equal(json_string_value(json_object_get(inh, "summary")), "too little memory");
    assert_string_equal(json_string_value(json_object_get(inh, "remediation")), "resize");
    json_t *fact = json_array_get(json_object_get(inh, "related"), 0);
    assert_string_equal(json_string_value(json_object_get(fact, "type")), "fact");
    assert_string_equal(json_string_value(json_object_get(fact, "name")), "1 GiB");
    json_t *w = json_array_get(json_object_get(r, "findings"), 1);
    assert_true(json_is_null(json_object_get(w, "id")));
    assert_string_equal(json_string_value(json_object_get(w, "summary")), "a sentence");
    json_decref(r);
}

static void inhibitors_come_before_warnings_in_text_and_html(void **state)
{
    (void)state;
    json_t *r = build(assessment, "assess");
    char *txt = osm_test_render(osm_report_print_text, r), *html = osm_test_render(osm_report_print_html, r);
    assert_non_null(strstr(txt, "Key: essential-removal"));
    assert_true(strstr(txt, "Key: essential-removal") < strstr(txt, "Key: symlinked-directories"));
    assert_true(strstr(txt, "Key: symlinked-directories") < strstr(txt, "bash-4.2-1.el7.x86_64 -> "));
    assert_non_null(strstr(html, "id=\"finding-essential-removal\""));
    assert_true(strstr(html, "id=\"finding-essential-removal\"") < strstr(html, "id=\"finding-symlinked-directories\""));
    assert_true(strstr(html, "id=\"finding-symlinked-directories\"") < strstr(html, "<table id=\"changes\">"));
    free(txt);
    free(html);
    json_decref(r);
}

static void html_escapes_text_and_loads_nothing_external(void **state)
{
    (void)state;
    json_t *r = build(assessment, "assess");
    char *html = osm_test_render(osm_report_print_html, r);
    assert_null(strstr(html, "<script>alert(1)"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "would be erased &lt;b&gt;"));
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "url("));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_non_null(strstr(html, "default-src 'none'"));
    /* the filter box and its script */
    assert_non_null(strstr(html, "<input id=\"filter\""));
    const char *script = strstr(html, "<script>");
    assert_non_null(script);
    assert_null(strstr(script + 1, "<script>"));
    free(html);
    json_decref(r);
}

static void migrate_report_lists_the_steps_of_its_journal(void **state)
{
    (void)state;
    json_t *task = json_loads(
        "{\"id\": \"t1\", \"state\": \"rolled_back\", \"phase\": \"rollback\", \"snapshot_set\": \"s1\","
        " \"error\": {\"code\": \"step.upgrade\", \"cause\": \"rpm failed\"}, \"journal\": ["
        " {\"step\": \"precheck\", \"what\": \"intent\"}, {\"step\": \"precheck\", \"what\": \"outcome\", \"result\": \"ok\"},"
        " {\"step\": \"upgrade\", \"what\": \"intent\"}, {\"step\": \"upgrade\", \"what\": \"outcome\", \"result\": \"failed\","
        "  \"detail\": \"rpm failed\"}, {\"step\": \"rollback\", \"what\": \"intent\"}]}",
        0, NULL);
    struct osm_report_input in = {.command = "migrate", .instance = "dir:/srv/web01", .target = "rhel8",
                                  .created = 1765110000, .task = task, .log_path = "/var/lib/osmig/tasks/t1/osmig.log"};
    json_t *r = osm_report_build(&in);
    assert_string_equal(json_string_value(json_object_get(r, "result")), "rolled_back");
    json_t *steps = json_object_get(json_object_get(r, "task"), "steps");
    assert_int_equal(json_array_size(steps), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 1), "result")), "failed");
    assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 1), "detail")), "rpm failed");
    assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 2), "result")), "started");
    char *txt = osm_test_render(osm_report_print_text, r);
    assert_non_null(strstr(txt, "Cause: rpm failed"));
    assert_non_null(strstr(txt, "Log: /var/lib/osmig/tasks/t1/osmig.log"));
    free(txt);
    json_decref(r);
    json_decref(task);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void write_leaves_three_files_and_latest_names_the_newest_run(void **state)
{
    (void)state;
    json_t *r = build(assessment, "assess");
    char *d1 = NULL, *d2 = NULL;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_report_write(tmp, r, &d1, &err), 0);
    /* the same second again: a second directory, not an overwrite */
    assert_int_equal(osm_report_write(tmp, r, &d2, &err), 0);
    assert_string_not_equal(d1, d2);
    const char *files[] = {"osmig-report.json", "osmig-report.txt", "osmig-report.html"};
    for (size_t i = 0; i < 3; i++) {
        char *p = osm_path_join(d2, files[i]);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_true(st.st_size > 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        free(p);
    }
    char *iname = osm_report_instance_name("dir:/srv/web01");
    assert_true(osm_name_is_plain(iname, 255));
    char *idir = osm_path_join(tmp, iname);
    char *latest = osm_path_join(idir, "latest");
    char target[512];
    ssize_t n = readlink(latest, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, strrchr(d2, '/') + 1);
    /* two runs and the link: no temporary left */
    assert_int_equal(count_entries(idir), 3);
    char *jp = osm_path_join(d1, "osmig-report.json");
    json_t *back = json_load_file(jp, 0, NULL);
    assert_true(json_equal(back, r));
    json_decref(back);
    osm_free_all(jp, latest, idir, iname, d1, d2);
    json_decref(r);
}

static void instances_never_share_a_directory(void **state)
{
    (void)state;
    char *a = osm_report_instance_name("dir:/srv/a_b"), *b = osm_report_instance_name("dir:/srv/a/b");
    assert_string_not_equal(a, b);
    assert_true(osm_name_is_plain(a, 255) && osm_name_is_plain(b, 255));
    free(a);
    free(b);
    char *c = osm_report_instance_name("dir:/../-x");
    assert_true(osm_name_is_plain(c, 255));
    free(c);
}

static void unwritable_report_dir_is_named_and_leaves_nothing(void **state)
{
    (void)state;
    /* a file where the directory should be: fails even as root */
    char *base = osm_path_join(tmp, "file");
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_write_file_atomic(base, "x", 1, 0644, &err), 0);
    json_t *r = build(assessment, "assess");
    char *dir = NULL;
    assert_int_equal(osm_report_write(base, r, &dir, &err), -1);
    assert_null(dir);
    assert_non_null(strstr(err.msg, base));
    assert_int_equal(count_entries(tmp), 1);
    free(base);
    json_decref(r);
}

/* A report of `dir:/srv/prune` created at `when`. */
static char *write_at(int64_t when)
{
    json_t *doc = json_loads(assessment, 0, NULL);
    struct osm_report_input in = {.command = "assess", .instance = "dir:/srv/prune", .target = "rhel8",
                                  .created = when, .assessment = doc, .inhibited = 1};
    json_t *r = osm_report_build(&in);
    char *dir = NULL;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_report_write(tmp, r, &dir, &err), 0);
    json_decref(r);
    json_decref(doc);
    return dir;
}

static char *latest_target(void)
{
    char *iname = osm_report_instance_name("dir:/srv/prune");
    char *idir = osm_path_join(tmp, iname), *latest = osm_path_join(idir, "latest");
    char target[512];
    ssize_t n = readlink(latest, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    /* the link never dangles */
    struct stat st;
    char *run = osm_path_join(idir, target);
    assert_int_equal(stat(run, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    free(run);
    free(latest);
    free(idir);
    free(iname);
    return osm_xstrdup(target);
}

static void only_the_newest_runs_are_kept_and_latest_never_dangles(void **state)
{
    (void)state;
    setenv("OSMIG_REPORT_KEEP", "2", 1);
    int64_t now = (int64_t)time(NULL);
    char *d[4];
    for (int i = 0; i < 4; i++)
        d[i] = write_at(now - 40 + 10 * i);
    char *iname = osm_report_instance_name("dir:/srv/prune");
    char *idir = osm_path_join(tmp, iname);
    assert_int_equal(count_entries(idir), 3); /* two runs and the link */
    struct stat st;
    assert_int_equal(stat(d[0], &st), -1);
    assert_int_equal(stat(d[1], &st), -1);
    assert_int_equal(stat(d[2], &st), 0);
    assert_int_equal(stat(d[3], &st), 0);
    char *t = latest_target();
    assert_string_equal(t, strrchr(d[3], '/') + 1);
    free(t);
    /* A report created earlier than the kept ones (a clock set back): it
     * is the one `latest` names, so it stays, and a newer one goes. */
    char *back = write_at(now - 3600);
    assert_int_equal(stat(back, &st), 0);
    t = latest_target();
    assert_string_equal(t, strrchr(back, '/') + 1);
    assert_int_equal(count_entries(idir), 3);
    free(t);
    free(back);
    for (int i = 0; i < 4; i++)
        free(d[i]);
    free(idir);
    free(iname);
    unsetenv("OSMIG_REPORT_KEEP");
}

static void runs_older_than_the_days_kept_are_removed(void **state)
{
    (void)state;
    setenv("OSMIG_REPORT_KEEP_DAYS", "7", 1);
    int64_t now = (int64_t)time(NULL);
    char *old = write_at(now - 8 * 86400), *recent = write_at(now - 86400);
    struct stat st;
    /* the old one went when the recent one was written */
    assert_int_equal(stat(old, &st), -1);
    assert_int_equal(stat(recent, &st), 0);
    /* an old run alone is the latest: kept */
    unsetenv("OSMIG_REPORT_KEEP_DAYS");
    char *again = write_at(now - 30 * 86400);
    setenv("OSMIG_REPORT_KEEP_DAYS", "7", 1);
    char *t = latest_target();
    assert_string_equal(t, strrchr(again, '/') + 1);
    free(t);
    free(old);
    free(recent);
    free(again);
    unsetenv("OSMIG_REPORT_KEEP_DAYS");
}

/* A run of a task: its report written under the report directory, named
 * after the task's kind when it is not a migration, with the task's log;
 * its history names the run directory. */
static void task_run_leaves_its_report_and_history_names_it(void **state)
{
    (void)state;
    struct osm_store *st;
    struct osm_err err = OSM_ERR_INIT;
    char *sd = osm_path_join(tmp, "state"), *base = osm_path_join(tmp, "reports");
    assert_int_equal(osm_mkdir_p(sd, 0700, &err), 0);
    assert_int_equal(osm_store_open(sd, &st, &err), 0);
    struct osm_task t;
    osm_task_init(&t);
    snprintf(t.kind, sizeof t.kind, "%s", OSM_KIND_HOST_MAINTENANCE);
    t.instance = osm_xstrdup("dir:/srv/web01");
    t.target = osm_xstrdup("SystemMaintenance.Redeploy");
    t.options = osm_xasprintf("{\"state_dir\": \"%s\"}", sd);
    assert_int_equal(osm_store_create_task(st, &t, &err), 0);
    char *tdir = osm_xasprintf("%s/tasks/%s", sd, t.id), *log = osm_path_join(tdir, "osmig.log");
    assert_int_equal(osm_mkdir_p(tdir, 0755, &err), 0);
    assert_int_equal(osm_write_file_atomic(log, "step one\n", 9, 0644, &err), 0);
    char *dir = NULL;
    assert_int_equal(osm_report_task(st, t.id, "migrate", base, &dir, &err), 0);
    char *suffix = osm_xasprintf("-host-maintenance-%s", t.id);
    assert_non_null(strstr(dir, suffix));
    assert_true(osm_test_has_event(st, t.id, "report", dir));
    char *jp = osm_path_join(dir, "osmig-report.json");
    json_t *r = json_load_file(jp, 0, NULL);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "command")), "host-maintenance");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "task"), "log")), log);
    json_decref(r);
    /* no task of that id: -1, nothing written */
    char *none = NULL;
    assert_int_equal(osm_report_task(st, "t-nope", "retry", base, &none, &err), -1);
    assert_null(none);
    free(jp);
    free(suffix);
    free(dir);
    free(log);
    free(tdir);
    osm_task_free(&t);
    osm_store_close(st);
    free(sd);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OSM_TEST(findings_keep_ids_severity_remediation_and_packages),
        OSM_TEST(windows_findings_keep_their_fact_and_sentences),
        OSM_TEST(inhibitors_come_before_warnings_in_text_and_html),
        OSM_TEST(html_escapes_text_and_loads_nothing_external),
        OSM_TEST(migrate_report_lists_the_steps_of_its_journal),
        OSM_TEST(write_leaves_three_files_and_latest_names_the_newest_run),
        OSM_TEST(instances_never_share_a_directory),
        OSM_TEST(unwritable_report_dir_is_named_and_leaves_nothing),
        OSM_TEST(only_the_newest_runs_are_kept_and_latest_never_dangles),
        OSM_TEST(runs_older_than_the_days_kept_are_removed),
        OSM_TEST(task_run_leaves_its_report_and_history_names_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
