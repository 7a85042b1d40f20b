/* report_json.c: the report's JSON, made from what a run produced (the
 * family's assessment or plan, a task): findings in one shape whatever the
 * family words them in, inhibitors first, each with what it involves. */
#include <string.h>

#include "osm_time.h"
#include "report.h"

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* name of every package an action names, by its NEVRA and by its name */
static json_t *package_index(const json_t *actions)
{
    json_t *idx = json_object();
    size_t i;
    const json_t *a;
    json_array_foreach(actions, i, a) {
        const char *name = str(a, "name");
        if (!name)
            continue;
        json_object_set_new(idx, name, json_string(name));
        const char *keys[] = {"from", "to"};
        for (size_t k = 0; k < 2; k++)
            if (str(a, keys[k]))
                json_object_set_new(idx, str(a, keys[k]), json_string(name));
    }
    return idx;
}

static void add_related(json_t *related, const char *type, const char *name)
{
    size_t i;
    const json_t *r;
    json_array_foreach(related, i, r) if (strcmp(str(r, "type"), type) == 0 && strcmp(str(r, "name"), name) == 0) return;
    json_array_append_new(related, json_pack("{s:s,s:s}", "type", type, "name", name));
}

/* The Linux family's items start with what they are about: a package
 * (NEVRA or name, then ':' or ' ') or a path. */
static void relate_item(json_t *related, const json_t *pkgs, const char *item)
{
    size_t n = strcspn(item, " \t");
    if (n && item[n - 1] == ':')
        n--;
    if (n == 0 || n >= 512)
        return;
    char tok[512];
    memcpy(tok, item, n);
    tok[n] = '\0';
    if (tok[0] == '/') {
        add_related(related, "file", tok);
        return;
    }
    const char *name = json_string_value(json_object_get(pkgs, tok));
    if (name) {
        add_related(related, "package", name);
        return;
    }
    for (const char *p = tok; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-", *p))
            return;
    add_related(related, "package", tok);
}

static json_t *finding(const json_t *f, const char *severity, const json_t *pkgs)
{
    json_t *o = json_object(), *items = json_array(), *related = json_array();
    if (json_is_string(f)) {
        /* a finding worded as one sentence (Windows warnings): no id */
        json_object_set_new(o, "id", json_null());
        json_object_set_new(o, "severity", json_string(severity));
        json_object_set_new(o, "summary", json_copy((json_t *)f));
        json_object_set_new(o, "remediation", json_null());
    } else {
        const char *summary = str(f, "summary") ? str(f, "summary") : str(f, "title");
        const char *remedy = str(f, "remediation") ? str(f, "remediation") : str(f, "remedy");
        json_object_set_new(o, "id", str_or_null(str(f, "id")));
        json_object_set_new(o, "severity", json_string(severity));
        json_object_set_new(o, "summary", str_or_null(summary));
        json_object_set_new(o, "remediation", str_or_null(remedy));
        size_t i;
        const json_t *it;
        json_array_foreach(json_object_get(f, "items"), i, it) {
            if (!json_is_string(it))
                continue;
            json_array_append(items, (json_t *)it);
            relate_item(related, pkgs, json_string_value(it));
        }
        /* the Windows family's facts: what was found against the limit */
        if (str(f, "fact"))
            add_related(related, "fact", str(f, "fact"));
        if (str(f, "limit"))
            add_related(related, "limit", str(f, "limit"));
    }
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "related", related);
    return o;
}

static json_t *changes(const json_t *actions)
{
    json_t *out = json_array();
    size_t i;
    const json_t *a;
    json_array_foreach(actions, i, a) {
        json_array_append_new(out, json_pack("{s:o,s:o,s:o,s:o,s:o}", "action", str_or_null(str(a, "action")), "name",
                                             str_or_null(str(a, "name")), "from", str_or_null(str(a, "from")), "to",
                                             str_or_null(str(a, "to")), "reason", str_or_null(str(a, "reason"))));
    }
    return out;
}

/* The task's steps as its journal tells them: each outcome, and a step
 * begun with no outcome yet as "started". */
static json_t *task_part(const json_t *task, const char *log_path)
{
    json_t *steps = json_array();
    size_t i;
    const json_t *e;
    json_t *open = NULL;
    json_array_foreach(json_object_get(task, "journal"), i, e) {
        const char *what = str(e, "what"), *step = str(e, "step");
        if (!what || !step)
            continue;
        if (strcmp(what, "intent") == 0) {
            open = json_pack("{s:s,s:s,s:n}", "step", step, "result", "started", "detail");
            json_array_append_new(steps, open);
        } else if (open && strcmp(str(open, "step"), step) == 0) {
            json_object_set_new(open, "result", str_or_null(str(e, "result")));
            json_object_set_new(open, "detail", str_or_null(str(e, "detail")));
            open = NULL;
        } else {
            json_array_append_new(steps, json_pack("{s:s,s:o,s:o}", "step", step, "result",
                                                   str_or_null(str(e, "result")), "detail",
                                                   str_or_null(str(e, "detail"))));
        }
    }
    const json_t *err = json_object_get(task, "error");
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", str_or_null(str(task, "id")), "state",
                     str_or_null(str(task, "state")), "phase", str_or_null(str(task, "phase")), "error_code",
                     str_or_null(str(err, "code")), "cause", str_or_null(str(err, "cause")), "snapshot_set",
                     str_or_null(str(task, "snapshot_set")), "steps", steps, "log", str_or_null(log_path));
}

json_t *osm_report_build(const struct osm_report_input *in)
{
    const json_t *as = in->assessment;
    const json_t *actions = json_object_get(as, "actions");
    if (!json_is_array(actions))
        actions = in->actions;
    json_t *pkgs = package_index(actions);
    char when[32];
    json_t *r = json_object();
    json_object_set_new(r, "osmig_report", json_integer(1));
    json_object_set_new(r, "command", json_string(in->command));
    json_object_set_new(r, "created", json_string(osm_time_iso(in->created, when)));
    json_object_set_new(r, "instance", json_string(in->instance));
    const json_t *src = json_object_get(as, "source"), *tgt = json_object_get(as, "target");
    json_object_set_new(r, "source", src ? json_deep_copy(src) : json_null());
    json_object_set_new(r, "target", tgt ? json_deep_copy(tgt) : json_pack("{s:s}", "id", in->target ? in->target : "?"));
    const char *result;
    if (in->task)
        result = str(in->task, "state") ? str(in->task, "state") : "unknown";
    else
        result = in->inhibited ? "inhibited" : "migratable";
    json_object_set_new(r, "result", json_string(result));
    json_object_set_new(r, "task", in->task ? task_part(in->task, in->log_path) : json_null());
    json_t *fs = json_array();
    static const struct {
        const char *key, *severity;
    } kinds[] = {{"inhibitors", "inhibitor"}, {"warnings", "warning"}};
    for (size_t k = 0; k < 2; k++) {
        size_t i;
        const json_t *f;
        json_array_foreach(json_object_get(as, kinds[k].key), i, f) json_array_append_new(fs, finding(f, kinds[k].severity, pkgs));
    }
    json_object_set_new(r, "findings", fs);
    const json_t *sum = json_object_get(as, "summary");
    json_object_set_new(r, "summary", json_is_object(sum) ? json_deep_copy(sum) : json_null());
    json_object_set_new(r, "changes", changes(actions));
    json_decref(pkgs);
    return r;
}
