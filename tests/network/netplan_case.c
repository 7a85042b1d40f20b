/* netplan_case.c CASE: run one network-plan case (tests/network/plans/
 * NAME.case): plan and inventory files written from the case, loaded and
 * verified by engine/netplan with an injected clock.
 *
 * Keys (tests/README.md):
 *
 *   file: NAME                 then "| text" lines: a file of the case (plan, inventory)
 *   verify: PLAN [PREVIOUS] [at=TIME]   load PLAN (and PREVIOUS), verify as of TIME
 *                              (default 2026-12-01T00:00:00Z); it must load unless
 *                              `error` lines follow
 *   error: TEXT                (after verify) loading fails (bad input, or a file not
 *                              found) with a message saying TEXT
 *   ok: yes|no                 the plan has no error / has one
 *   finding: ID SUBJECT        a finding with this id names SUBJECT
 *   finding-words: ID TEXT     the words of finding ID (the seed's) contain TEXT
 *   no-finding: ID             no finding has this id
 *   findings: N                N findings in all
 *   vswitches: N               the plan uses (or plans) N vSwitches
 *   vswitch: CIDR N            one of them is CIDR and holds N of the plan's instances
 *   instance-vswitch: ID NAME  instance ID goes to vSwitch NAME (an id, or a planned CIDR)
 *   run: ID KEY VALUE          the Run's task option KEY of instance ID (netplan_run.h) is
 *                              VALUE (a string, a number, or a JSON array written compact)
 *   run-error: ID TEXT         the Run's options of instance ID cannot be made: the error says TEXT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casefile.h"
#include "ipv4.h"
#include "netplan.h"
#include "netplan_run.h"
#include "netplan_verify.h"
#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_time.h"

static struct casefile cf;
static char dir[] = "/tmp/netplan-case-XXXXXX";
static int have_dir;
static struct osm_netplan *plan, *prev;
static struct osm_net_report rep;
static int verified;

static void cleanup(void)
{
    if (verified)
        osm_net_report_free(&rep);
    osm_netplan_free(plan);
    osm_netplan_free(prev);
    if (have_dir) {
        struct osm_err err = OSM_ERR_INIT;
        osm_remove_tree(dir, &err);
    }
    case_close(&cf);
}

static void need(const struct case_line *l)
{
    if (!verified)
        case_bad(&cf, l->lineno, "%s: comes after a verify: that loads", l->key);
}

static void write_file(const struct case_line *l)
{
    if (!osm_name_is_plain(l->value, 64))
        case_bad(&cf, l->lineno, "file: '%s' is not a plain file name", l->value);
    struct osm_buf b;
    osm_buf_init(&b);
    for (const struct case_line *p; (p = case_take(&cf, "|"));)
        osm_buf_addf(&b, "%s%s", b.len ? "\n" : "", p->value);
    char *path = osm_path_join(dir, l->value);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_write_file_atomic(path, b.s, b.len, 0644, &err) != 0)
        case_skip(&cf, "cannot write %s: %s", path, err.msg);
    free(path);
    osm_buf_free(&b);
}

static void verify(const struct case_line *l)
{
    char copy[512], *w[3];
    snprintf(copy, sizeof copy, "%s", l->value);
    size_t n = case_words(&cf, l->lineno, copy, w, 3);
    int64_t now;
    osm_time_parse("2026-12-01T00:00:00Z", &now);
    const char *prev_name = NULL;
    for (size_t i = 1; i < n; i++) {
        if (strncmp(w[i], "at=", 3) == 0) {
            if (osm_time_parse(w[i] + 3, &now) != 0)
                case_bad(&cf, l->lineno, "'%s' is not an RFC 3339 time", w[i] + 3);
        } else {
            prev_name = w[i];
        }
    }
    if (verified)
        osm_net_report_free(&rep);
    osm_netplan_free(plan), osm_netplan_free(prev);
    plan = prev = NULL;
    verified = 0;
    char *path = osm_path_join(dir, w[0]), *ppath = prev_name ? osm_path_join(dir, prev_name) : NULL;
    struct osm_err err = OSM_ERR_INIT;
    int rc = osm_netplan_load(path, &plan, &err);
    if (rc == 0 && ppath)
        rc = osm_netplan_load(ppath, &prev, &err);
    free(path), free(ppath);
    const struct case_line *e = case_take(&cf, "error");
    if (!e) {
        if (case_check(&cf, l->lineno, rc == 0, "verify: %s", err.msg)) {
            osm_netplan_verify(plan, prev, now, &rep);
            verified = 1;
        }
        return;
    }
    if (!case_check(&cf, l->lineno, rc == -1, "%s loaded; an error was expected", w[0]))
        return;
    case_check(&cf, l->lineno, err.code == OSM_EINPUT || err.code == OSM_ENOTFOUND,
               "error code %d, not bad input or a missing file: %s", err.code, err.msg);
    for (; e; e = case_take(&cf, "error"))
        case_check(&cf, e->lineno, strstr(err.msg, e->value) != NULL, "message \"%s\" does not say \"%s\"", err.msg,
                   e->value);
}

static const struct osm_net_finding *find(const char *id, const char *subject)
{
    for (size_t i = 0; i < rep.n; i++)
        if (strcmp(rep.f[i].id, id) == 0 && (!subject || strcmp(rep.f[i].subject, subject) == 0))
            return &rep.f[i];
    return NULL;
}

static void list_findings(struct osm_buf *b)
{
    for (size_t i = 0; i < rep.n; i++)
        osm_buf_addf(b, "\n  %s %s: %s", rep.f[i].id, rep.f[i].subject, rep.f[i].detail);
}

int main(int argc, char **argv)
{
    case_start(&cf, argc, argv, cleanup);
    if (!mkdtemp(dir))
        case_skip(&cf, "cannot make a scratch directory under /tmp");
    have_dir = 1;
    for (const struct case_line *l; (l = case_next(&cf));) {
        char copy[1024], *w[3];
        snprintf(copy, sizeof copy, "%s", l->value);
        struct osm_buf got;
        osm_buf_init(&got);
        char b[20];
        if (strcmp(l->key, "file") == 0) {
            write_file(l);
        } else if (strcmp(l->key, "verify") == 0) {
            verify(l);
        } else if (strcmp(l->key, "ok") == 0) {
            need(l);
            int want = strcmp(l->value, "yes") == 0;
            list_findings(&got);
            case_check(&cf, l->lineno, (rep.n_errors == 0) == want, "%zu error(s):%s", rep.n_errors, got.s);
        } else if (strcmp(l->key, "finding") == 0) {
            need(l);
            if (case_words(&cf, l->lineno, copy, w, 2) != 2)
                case_bad(&cf, l->lineno, "usage: finding: ID SUBJECT");
            list_findings(&got);
            case_check(&cf, l->lineno, find(w[0], w[1]) != NULL, "no finding %s naming %s; found:%s", w[0], w[1],
                       got.s);
        } else if (strcmp(l->key, "finding-words") == 0) {
            need(l);
            char *sp = strchr(copy, ' ');
            if (!sp)
                case_bad(&cf, l->lineno, "usage: finding-words: ID TEXT");
            *sp = '\0';
            const struct osm_net_finding *f = find(copy, NULL);
            case_check(&cf, l->lineno, f && f->words && strstr(f->words, sp + 1), "finding %s's words do not say \"%s\"",
                       copy, sp + 1);
        } else if (strcmp(l->key, "no-finding") == 0) {
            need(l);
            list_findings(&got);
            case_check(&cf, l->lineno, find(l->value, NULL) == NULL, "finding %s is there:%s", l->value, got.s);
        } else if (strcmp(l->key, "findings") == 0) {
            need(l);
            list_findings(&got);
            long long want = case_int(&cf, l->lineno, l->value);
            case_check(&cf, l->lineno, (long long)rep.n == want, "%zu findings, %lld expected:%s", rep.n, want, got.s);
        } else if (strcmp(l->key, "vswitches") == 0) {
            need(l);
            long long want = case_int(&cf, l->lineno, l->value);
            case_check(&cf, l->lineno, (long long)rep.n_vsw == want, "%zu vSwitches, %lld expected", rep.n_vsw, want);
        } else if (strcmp(l->key, "vswitch") == 0) {
            need(l);
            if (case_words(&cf, l->lineno, copy, w, 2) != 2)
                case_bad(&cf, l->lineno, "usage: vswitch: CIDR N");
            long long want = case_int(&cf, l->lineno, w[1]);
            int found = 0;
            for (size_t k = 0; k < rep.n_vsw; k++) {
                osm_cidr_str(rep.vsw[k].net, rep.vsw[k].prefix, b);
                osm_buf_addf(&got, " %s(%lld)", b, (long long)rep.vsw[k].instances);
                found |= strcmp(b, w[0]) == 0 && rep.vsw[k].instances == want;
            }
            case_check(&cf, l->lineno, found, "no vSwitch %s holding %lld; got:%s", w[0], want, got.s);
        } else if (strcmp(l->key, "instance-vswitch") == 0) {
            need(l);
            if (case_words(&cf, l->lineno, copy, w, 2) != 2)
                case_bad(&cf, l->lineno, "usage: instance-vswitch: ID NAME");
            const char *name = "-";
            for (size_t i = 0; i < plan->n_inst; i++)
                if (strcmp(plan->inst[i].id, w[0]) == 0 && rep.inst_vsw[i] >= 0) {
                    const struct osm_net_vsw_use *u = &rep.vsw[rep.inst_vsw[i]];
                    name = u->id ? u->id : osm_cidr_str(u->net, u->prefix, b);
                }
            case_check_str(&cf, l->lineno, "vSwitch", w[1], name);
        } else if (strcmp(l->key, "run") == 0 || strcmp(l->key, "run-error") == 0) {
            need(l);
            int is_run = strcmp(l->key, "run") == 0;
            char *sp = strchr(l->value, ' ');
            if (!sp || (is_run && !strchr(sp + 1, ' ')))
                case_bad(&cf, l->lineno, "usage: %s", is_run ? "run: ID KEY VALUE" : "run-error: ID TEXT");
            *sp = '\0';
            size_t i = 0;
            while (i < plan->n_inst && strcmp(plan->inst[i].id, l->value) != 0)
                i++;
            if (i == plan->n_inst)
                case_bad(&cf, l->lineno, "no instance %s in the plan", l->value);
            struct osm_err err = OSM_ERR_INIT;
            json_t *o = osm_netplan_run_options(plan, &rep, i, &err);
            if (!is_run) {
                case_check(&cf, l->lineno, !o && strstr(err.msg, sp + 1), "run options of %s: %s", l->value,
                           o ? "made" : err.msg);
            } else if (case_check(&cf, l->lineno, o != NULL, "run options of %s: %s", l->value, err.msg)) {
                char *key = sp + 1, *val = strchr(key, ' ');
                *val++ = '\0';
                json_t *v = json_object_get(o, key);
                char *s = !v ? osm_xstrdup("(none)")
                          : json_is_string(v) ? osm_xstrdup(json_string_value(v))
                                              : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                case_check_str(&cf, l->lineno, key, val, s);
                free(s);
            }
            json_decref(o);
        } else {
            case_bad(&cf, l->lineno, "unknown key \"%s\"", l->key);
        }
        osm_buf_free(&got);
    }
    return case_finish(&cf);
}
