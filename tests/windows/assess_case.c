/* assess_case.c CASE: run one Windows assess case (tests/windows/assess/NAME.case)
 * against backends/windows: a fixture root (real hives built by
 * make-fixtures.sh; SKIP without the real data), the instance's facts and a
 * target give a report of upgrade hops and inhibitors.
 *
 * Keys (see tests/README.md):
 *
 *   assess: ROOT TARGET [FACT=VALUE...]
 *                             assess roots/ROOT for TARGET with good facts
 *                             (4 vCPUs, 8 GiB, 60 GiB free of 100 GiB,
 *                             cn-hangzhou, authorized) but for FACTs: vcpus=N,
 *                             memory=SIZE, free=SIZE, size=SIZE, region=NAME
 *                             ("-" none), authorized=0|1; windows-dir=SIZE
 *                             inspects the root and assesses its facts with
 *                             that size of the Windows directory. SIZE: bytes
 *                             or NGiB. It must not fail unless `error` follows.
 *   error: TEXT               (after assess) it fails, with no report and an
 *                             error containing TEXT
 *   error-code: usage|input   (after assess) ... of that kind
 *   exit: N                   assess returned N (0 may go on, 1 inhibited)
 *   hops: N                   the report has N hops
 *   hop: I FROM TO BUILD      hop I goes from release FROM to TO, build BUILD
 *   transitional: I yes|no    hop I is (not) a transitional one
 *   inhibitors: N             N inhibitors
 *   inhibitor: ID             one of them is ID
 *   only-inhibitor: ID        ID is the only one, the report says "inhibited",
 *                             and ID names the fact, the limit and the remedy
 *   inhibitor-fact: ID TEXT   inhibitor ID's fact is TEXT
 *   warnings-at-least: N      at least N warnings
 *   report: TEXT              the printed report contains TEXT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casefile.h"
#include "osm_windows.h"
#include "testutil.h"
#include "win_fixture.h"

#define GiB (1024LL * 1024 * 1024)

static struct casefile cf;
static json_t *report;

static void cleanup(void)
{
    json_decref(report);
    case_close(&cf);
}

static long long size_of(const struct case_line *l, const char *text)
{
    size_t n = strlen(text);
    if (n > 3 && strcmp(text + n - 3, "GiB") == 0) {
        char num[32];
        snprintf(num, sizeof num, "%.*s", (int)(n - 3), text);
        return case_int(&cf, l->lineno, num) * GiB;
    }
    return case_int(&cf, l->lineno, text);
}

static const json_t *inhibitor(const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(report, "inhibitors"), i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
            return v;
    }
    return NULL;
}

static char *dump(const char *member)
{
    return json_dumps(json_object_get(report, member), 0);
}

static int rc;

static int is_error_key(const struct case_line *l)
{
    return l && (strcmp(l->key, "error") == 0 || strcmp(l->key, "error-code") == 0);
}

static void assess(const struct case_line *l)
{
    char copy[1024], *w[16];
    snprintf(copy, sizeof copy, "%s", l->value);
    size_t n = case_words(&cf, l->lineno, copy, w, 16);
    if (n < 2)
        case_bad(&cf, l->lineno, "usage: assess: ROOT TARGET [FACT=VALUE...]");
    struct osm_facts f = {.vcpus = 4, .memory_bytes = 8 * GiB, .system_disk_free_bytes = 60 * GiB,
                          .system_disk_size_bytes = 100 * GiB, .authorized = 1};
    strcpy(f.region, "cn-hangzhou");
    long long windows_dir = -1;
    for (size_t i = 2; i < n; i++) {
        char *eq = strchr(w[i], '=');
        if (!eq)
            case_bad(&cf, l->lineno, "\"%s\" is not FACT=VALUE", w[i]);
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(w[i], "vcpus") == 0)
            f.vcpus = (int)case_int(&cf, l->lineno, v);
        else if (strcmp(w[i], "memory") == 0)
            f.memory_bytes = size_of(l, v);
        else if (strcmp(w[i], "free") == 0)
            f.system_disk_free_bytes = size_of(l, v);
        else if (strcmp(w[i], "size") == 0)
            f.system_disk_size_bytes = size_of(l, v);
        else if (strcmp(w[i], "region") == 0)
            snprintf(f.region, sizeof f.region, "%s", strcmp(v, "-") ? v : "");
        else if (strcmp(w[i], "authorized") == 0)
            f.authorized = (int)case_int(&cf, l->lineno, v);
        else if (strcmp(w[i], "windows-dir") == 0)
            windows_dir = size_of(l, v);
        else
            case_bad(&cf, l->lineno, "unknown fact \"%s\" (vcpus memory free size region authorized windows-dir)",
                     w[i]);
    }
    char rel[512];
    snprintf(rel, sizeof rel, "roots/%s", w[0]);
    json_decref(report);
    report = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (windows_dir >= 0) {
        json_t *wf = NULL;
        if (osm_windows_inspect(win_fixture(rel), &wf, &err) != 0)
            case_bad(&cf, l->lineno, "inspect %s: %s", w[0], err.msg);
        json_object_set_new(wf, "windows_dir_bytes", json_integer(windows_dir));
        rc = osm_windows_assess_facts(wf, &f, w[1], &report, &err);
        json_decref(wf);
    } else {
        rc = osm_windows_assess(win_fixture(rel), &f, w[1], &report, &err);
    }
    const struct case_line *x = case_peek(&cf);
    if (!is_error_key(x)) {
        if (!case_check(&cf, l->lineno, rc >= 0, "assess %s -> %s: %s", w[0], w[1], err.msg))
            exit(1); /* nothing below can be checked */
        return;
    }
    int failed = case_check(&cf, l->lineno, rc == -1, "assess %s -> %s gave %d; an error was expected", w[0], w[1],
                            rc);
    if (failed)
        case_check(&cf, l->lineno, report == NULL, "a failed assess gave a report");
    for (; is_error_key(x = case_peek(&cf)); case_next(&cf)) {
        if (!failed)
            continue;
        if (strcmp(x->key, "error") == 0) {
            case_check(&cf, x->lineno, strstr(err.msg, x->value) != NULL, "the error lacks \"%s\": %s", x->value,
                       err.msg);
            continue;
        }
        int want = strcmp(x->value, "usage") == 0 ? OSM_EUSAGE : strcmp(x->value, "input") == 0 ? OSM_EINPUT : -1;
        if (want < 0)
            case_bad(&cf, x->lineno, "error-code: usage or input");
        case_check(&cf, x->lineno, (int)err.code == want, "error code %d, expected %s", (int)err.code, x->value);
    }
}

static void need_report(const struct case_line *l)
{
    if (!report)
        case_bad(&cf, l->lineno, "%s: comes after an assess: that gives a report", l->key);
}

int main(int argc, char **argv)
{
    case_start(&cf, argc, argv, cleanup);
    int fx = win_fixture_build();
    if (fx == CASE_SKIP)
        case_skip(&cf, "the Windows fixtures need $OSMIG_REALDATA/windows/hive-minimal");
    if (fx)
        return 1;
    for (const struct case_line *l; (l = case_next(&cf));) {
        char copy[1024], *w[4];
        snprintf(copy, sizeof copy, "%s", l->value);
        if (strcmp(l->key, "assess") == 0) {
            assess(l);
            continue;
        }
        if (strcmp(l->key, "error") == 0 || strcmp(l->key, "error-code") == 0)
            case_bad(&cf, l->lineno, "\"%s\" belongs right after an assess:", l->key);
        need_report(l);
        const json_t *hops = json_object_get(report, "hops"), *inh = json_object_get(report, "inhibitors");
        if (strcmp(l->key, "exit") == 0) {
            case_check(&cf, l->lineno, rc == case_int(&cf, l->lineno, l->value), "assess returned %d, expected %s",
                       rc, l->value);
        } else if (strcmp(l->key, "hops") == 0 || strcmp(l->key, "inhibitors") == 0) {
            size_t have = json_array_size(json_object_get(report, l->key));
            char *d = dump(l->key);
            case_check(&cf, l->lineno, have == (size_t)case_int(&cf, l->lineno, l->value), "%zu %s, expected %s: %s",
                       have, l->key, l->value, d);
            free(d);
        } else if (strcmp(l->key, "hop") == 0) {
            if (case_words(&cf, l->lineno, copy, w, 4) != 4)
                case_bad(&cf, l->lineno, "usage: hop: I FROM TO BUILD");
            size_t i = (size_t)case_int(&cf, l->lineno, w[0]);
            const json_t *h = json_array_get(hops, i);
            if (case_check(&cf, l->lineno, h != NULL, "no hop %zu", i)) {
                case_check_str(&cf, l->lineno, "from", w[1],
                               json_string_value(json_object_get(json_object_get(h, "from"), "release")));
                case_check_str(&cf, l->lineno, "to", w[2],
                               json_string_value(json_object_get(json_object_get(h, "to"), "release")));
                long long build = case_int(&cf, l->lineno, w[3]);
                case_check(&cf, l->lineno, json_integer_value(json_object_get(h, "build")) == build,
                           "build %lld, expected %lld", json_integer_value(json_object_get(h, "build")), build);
            }
        } else if (strcmp(l->key, "transitional") == 0) {
            if (case_words(&cf, l->lineno, copy, w, 2) != 2 || (strcmp(w[1], "yes") && strcmp(w[1], "no")))
                case_bad(&cf, l->lineno, "usage: transitional: I yes|no");
            const json_t *h = json_array_get(hops, (size_t)case_int(&cf, l->lineno, w[0]));
            int is = h && json_is_true(json_object_get(h, "transitional"));
            case_check(&cf, l->lineno, is == (strcmp(w[1], "yes") == 0), "hop %s is%s transitional", w[0],
                       is ? "" : " not");
        } else if (strcmp(l->key, "inhibitor") == 0) {
            char *d = dump("inhibitors");
            case_check(&cf, l->lineno, inhibitor(l->value) != NULL, "no inhibitor %s: %s", l->value, d);
            free(d);
        } else if (strcmp(l->key, "only-inhibitor") == 0) {
            const json_t *v = inhibitor(l->value);
            char *d = dump("inhibitors");
            if (case_check(&cf, l->lineno, v && json_array_size(inh) == 1, "expected only %s, got %s", l->value, d)) {
                /* every inhibitor names the fact, the limit and the remedy */
                const char *parts[] = {"fact", "limit", "remedy"};
                for (int k = 0; k < 3; k++) {
                    const char *s = json_string_value(json_object_get(v, parts[k]));
                    case_check(&cf, l->lineno, s && *s, "%s has no %s", l->value, parts[k]);
                }
                case_check(&cf, l->lineno, json_is_true(json_object_get(report, "inhibited")),
                           "the report does not say inhibited");
            }
            free(d);
        } else if (strcmp(l->key, "inhibitor-fact") == 0) {
            char *sp = strpbrk(copy, " \t");
            if (!sp)
                case_bad(&cf, l->lineno, "usage: inhibitor-fact: ID TEXT");
            *sp = '\0';
            const char *text = sp + 1 + strspn(sp + 1, " \t");
            const json_t *v = inhibitor(copy);
            if (case_check(&cf, l->lineno, v != NULL, "no inhibitor %s", copy))
                case_check_str(&cf, l->lineno, "fact", text, json_string_value(json_object_get(v, "fact")));
        } else if (strcmp(l->key, "warnings-at-least") == 0) {
            size_t have = json_array_size(json_object_get(report, "warnings"));
            char *d = dump("warnings");
            case_check(&cf, l->lineno, have >= (size_t)case_int(&cf, l->lineno, l->value),
                       "%zu warnings, expected at least %s: %s", have, l->value, d);
            free(d);
        } else if (strcmp(l->key, "report") == 0) {
            char *buf = osm_test_render(osm_windows_print_report, report);
            case_check(&cf, l->lineno, strstr(buf, l->value) != NULL, "the report lacks \"%s\":\n%s", l->value, buf);
            free(buf);
        } else {
            case_bad(&cf, l->lineno, "unknown key \"%s\"", l->key);
        }
    }
    return case_finish(&cf);
}
