/* report_text.c: osmig-report.txt, the report for a person, laid out as
 * Leapp's leapp-report.txt: one block per finding, inhibitors first, every
 * item listed; then the task's steps and the package changes. */
#include <string.h>

#include "report.h"

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

static void print_finding(FILE *f, const json_t *x)
{
    const char *sev = or(str(x, "severity"), "warning");
    fprintf(f, "Risk Factor: %s\n", strcmp(sev, "inhibitor") == 0 ? "high (inhibitor)" : "medium (warning)");
    fprintf(f, "Title: %s\n", or(str(x, "summary"), "(no summary)"));
    size_t i;
    const json_t *v;
    if (json_array_size(json_object_get(x, "items"))) {
        fprintf(f, "Summary:\n");
        json_array_foreach(json_object_get(x, "items"), i, v) fprintf(f, "    - %s\n", json_string_value(v));
    }
    if (str(x, "remediation"))
        fprintf(f, "Remediation: [hint] %s\n", str(x, "remediation"));
    json_array_foreach(json_object_get(x, "related"), i, v) {
        if (i == 0)
            fprintf(f, "Related:\n");
        fprintf(f, "    - %s: %s\n", str(v, "type"), str(v, "name"));
    }
    fprintf(f, "Key: %s\n", or(str(x, "id"), "(none)"));
    fprintf(f, "----------------------------------------\n");
}

void osm_report_print_text(FILE *f, const json_t *r)
{
    const json_t *src = json_object_get(r, "source"), *tgt = json_object_get(r, "target");
    fprintf(f, "osmig %s report\n", or(str(r, "command"), "?"));
    fprintf(f, "Instance: %s\n", or(str(r, "instance"), "?"));
    if (json_is_object(src))
        fprintf(f, "Source: %s (%s %s, %s)\n", or(str(src, "name"), "?"), or(str(src, "id"), "?"),
                or(str(src, "version"), "?"), or(str(src, "arch"), "?"));
    fprintf(f, "Target: %s (%s)\n", or(str(tgt, "name"), or(str(tgt, "id"), "?")), or(str(tgt, "id"), "?"));
    fprintf(f, "Created: %s\n", or(str(r, "created"), "?"));
    fprintf(f, "Result: %s\n", or(str(r, "result"), "?"));
    const json_t *task = json_object_get(r, "task");
    if (json_is_object(task)) {
        fprintf(f, "Task: %s (%s, phase %s)\n", or(str(task, "id"), "?"), or(str(task, "state"), "?"),
                or(str(task, "phase"), "?"));
        if (str(task, "cause"))
            fprintf(f, "Cause: %s\n", str(task, "cause"));
        if (str(task, "snapshot_set"))
            fprintf(f, "Snapshot set: %s\n", str(task, "snapshot_set"));
        if (str(task, "log"))
            fprintf(f, "Log: %s\n", str(task, "log"));
        size_t i;
        const json_t *s;
        json_array_foreach(json_object_get(task, "steps"), i, s) {
            if (i == 0)
                fprintf(f, "Steps:\n");
            fprintf(f, "    %-12s %s%s%s\n", or(str(s, "step"), "?"), or(str(s, "result"), "?"),
                    str(s, "detail") ? ": " : "", or(str(s, "detail"), ""));
        }
    }
    size_t n_inh = 0, n_warn = 0, i;
    const json_t *x;
    json_array_foreach(json_object_get(r, "findings"), i, x) {
        if (strcmp(or(str(x, "severity"), ""), "inhibitor") == 0)
            n_inh++;
        else
            n_warn++;
    }
    fprintf(f, "Findings: %zu inhibitor%s, %zu warning%s\n", n_inh, n_inh == 1 ? "" : "s", n_warn,
            n_warn == 1 ? "" : "s");
    fprintf(f, "========================================\n");
    json_array_foreach(json_object_get(r, "findings"), i, x) print_finding(f, x);
    const json_t *sum = json_object_get(r, "summary");
    if (json_is_object(sum)) {
        fprintf(f, "Package changes:");
        const char *names[] = {"upgrade", "install", "replace", "downgrade", "erase", "keep"};
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            fprintf(f, "%s %lld %s", k ? "," : "", (long long)json_integer_value(json_object_get(sum, names[k])),
                    names[k]);
        fputc('\n', f);
    }
    const json_t *c;
    json_array_foreach(json_object_get(r, "changes"), i, c) {
        fprintf(f, "    %-9s %s", or(str(c, "action"), "?"), or(str(c, "name"), "?"));
        if (str(c, "from") && str(c, "to"))
            fprintf(f, ": %s -> %s", str(c, "from"), str(c, "to"));
        else if (str(c, "from") || str(c, "to"))
            fprintf(f, ": %s", str(c, "from") ? str(c, "from") : str(c, "to"));
        if (str(c, "reason"))
            fprintf(f, " (%s)", str(c, "reason"));
        fputc('\n', f);
    }
}
