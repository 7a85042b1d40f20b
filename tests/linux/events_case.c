/* events_case.c CASE: run one package-events case (tests/linux/events/NAME.case)
 * against backends/linux/events*.c: load event files, replay them over
 * installed packages, check the events and the changes.
 *
 * Keys, in the order the case runs them (see tests/README.md):
 *
 *   pes-file: NAME            a Leapp PES file NAME written from the `pes:` lines
 *   pes: ID ACTION IN OUT FROM TO [ARCHES]
 *                             one entry: ACTION a name (present removed
 *                             deprecated replaced split merged moved renamed)
 *                             or a number; IN/OUT "a,b" or "a@MODULE:STREAM",
 *                             "-" for none; FROM/TO "7.7"; ARCHES "x86_64,aarch64"
 *                             (none: every architecture)
 *   file: NAME                a file NAME written from the "| text" lines below
 *                             (joined by newlines, none after the last; no
 *                             line: an empty file)
 *   matrix-file: NAME         $OSMIG_MATRIX_DIR/linux/events/NAME (SKIP without)
 *                             -- each of these three is loaded into the set --
 *   error: TEXT               (after a load or an apply) it must fail with an
 *                             error containing TEXT; a failed load must name the
 *                             file, say it is bad input and leave the set as it was
 *   events: N                 the set holds N events
 *   event: I FIELD VALUE      event I's FIELD is VALUE (fields below)
 *   apply: FROM TO ARCH PKG...  replay from release FROM to TO on ARCH ("-": none)
 *                             over the installed PKGs ("NAME" or "NAME@MODULE:STREAM")
 *   changes: N                the replay gives N changes
 *   change: KIND NAME RELATED EVENT   a change KIND (remove install deprecated) of
 *                             NAME, RELATED the other side ("-" none, "*" any),
 *                             by the event with id EVENT ("*" any)
 *   no-change: KIND NAME      no such change
 *   change-event: KIND NAME FIELD VALUE   the event of that change has FIELD VALUE
 *
 * FIELD: id origin action from to ("8.0" or "at-target") arches n_in n_out,
 * inN.name inN.repo inN.module inN.stream and the same for outN; "-" is NULL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "casefile.h"
#include "events.h"
#include "osm_buf.h"
#include "osm_fs.h"

static struct casefile cf;
static char tmpdir[256];
static struct osm_eventset set;
static struct osm_event_result res;
static int have_res;

static const char *const action_words[] = {"present", "removed", "deprecated", "replaced",
                                           "split",   "merged",  "moved",      "renamed"};

static void cleanup(void)
{
    if (have_res)
        osm_event_result_free(&res);
    osm_eventset_free(&set);
    if (tmpdir[0])
        osm_remove_tree(tmpdir, NULL);
    case_close(&cf);
}

/* Split off the first `n` words of `value` into `w`; the rest (may hold
 * spaces) in w[n]. Exactly n+1 parts or CASE_BAD. */
static void words_and_rest(const struct case_line *l, char *value, char **w, size_t n, const char *usage)
{
    char *p = value;
    for (size_t i = 0; i < n; i++) {
        p += strspn(p, " \t");
        if (!*p)
            case_bad(&cf, l->lineno, "usage: %s: %s", l->key, usage);
        w[i] = p;
        p += strcspn(p, " \t");
        if (*p)
            *p++ = '\0';
    }
    p += strspn(p, " \t");
    if (!*p)
        case_bad(&cf, l->lineno, "usage: %s: %s", l->key, usage);
    w[n] = p;
}

static void release(const struct case_line *l, const char *text, int *major, int *minor)
{
    char extra;
    if (sscanf(text, "%d.%d%c", major, minor, &extra) != 2)
        case_bad(&cf, l->lineno, "\"%s\" is not a release (MAJOR.MINOR)", text);
}

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    if (strchr(name, '/') || !*name)
        case_bad(&cf, 0, "file name \"%s\" must be a plain name", name);
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    return path;
}

/* ---- the Leapp writer ---- */

static void pes_entry(struct osm_buf *b, int first, const struct case_line *l)
{
    char *copy = osm_xstrdup(l->value), *w[7];
    size_t n = case_words(&cf, l->lineno, copy, w, 7);
    if (n < 6)
        case_bad(&cf, l->lineno, "usage: pes: ID ACTION IN OUT FROM TO [ARCHES]");
    long long id = case_int(&cf, l->lineno, w[0]);
    long long action = -1;
    for (size_t a = 0; a < sizeof action_words / sizeof action_words[0]; a++)
        if (strcmp(w[1], action_words[a]) == 0)
            action = (long long)a;
    if (action < 0)
        action = case_int(&cf, l->lineno, w[1]);
    osm_buf_addf(b, "%s{\"id\": %lld, \"action\": %lld, \"architectures\": [", first ? "" : ",", id, action);
    if (n == 7) {
        char *save = NULL;
        int k = 0;
        for (char *a = strtok_r(w[6], ",", &save); a; a = strtok_r(NULL, ",", &save))
            osm_buf_addf(b, "%s\"%s\"", k++ ? ", " : "", a);
    }
    osm_buf_adds(b, "]");
    const char *keys[2] = {"in_packageset", "out_packageset"};
    for (int s = 0; s < 2; s++) {
        osm_buf_addf(b, ", \"%s\": {\"set_id\": 1, \"package\": [", keys[s]);
        char *save = NULL;
        int k = 0;
        for (char *p = strtok_r(strcmp(w[2 + s], "-") ? w[2 + s] : (char *)"", ",", &save); p;
             p = strtok_r(NULL, ",", &save)) {
            char ms[256] = "null";
            char *at = strchr(p, '@');
            if (at) {
                *at = '\0';
                char *colon = strchr(at + 1, ':');
                if (!colon)
                    case_bad(&cf, l->lineno, "\"%s@%s\": a module stream is NAME@MODULE:STREAM", p, at + 1);
                *colon = '\0';
                snprintf(ms, sizeof ms, "{\"name\": \"%s\", \"stream\": \"%s\"}", at + 1, colon + 1);
            }
            osm_buf_addf(b, "%s{\"name\": \"%s\", \"repository\": \"repo\", \"modulestream\": %s}", k++ ? "," : "",
                         p, ms);
        }
        osm_buf_adds(b, "]}");
    }
    int fma, fmi, tma, tmi;
    release(l, w[4], &fma, &fmi);
    release(l, w[5], &tma, &tmi);
    osm_buf_addf(b,
                 ", \"initial_release\": {\"major_version\": %d, \"minor_version\": %d, \"os_name\": \"CentOS\"}"
                 ", \"release\": {\"major_version\": %d, \"minor_version\": %d, \"os_name\": \"CentOS\"}}",
                 fma, fmi, tma, tmi);
    free(copy);
}

/* ---- fields of an event ---- */

static const char *field(const struct case_line *l, const struct osm_event *e, const char *name, char *buf,
                         size_t cap)
{
    if (strcmp(name, "id") == 0)
        snprintf(buf, cap, "%ld", e->id);
    else if (strcmp(name, "origin") == 0)
        return e->origin;
    else if (strcmp(name, "action") == 0)
        return (unsigned)e->action < 8 ? action_words[e->action] : "unknown";
    else if (strcmp(name, "from") == 0)
        snprintf(buf, cap, "%d.%d", e->from_major, e->from_minor);
    else if (strcmp(name, "to") == 0) {
        if (e->to_major == OSM_EV_AT_TARGET)
            return "at-target";
        snprintf(buf, cap, "%d.%d", e->to_major, e->to_minor);
    } else if (strcmp(name, "arches") == 0) {
        if (!e->n_arches)
            return "-";
        buf[0] = '\0';
        for (size_t i = 0; i < e->n_arches; i++)
            snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? "," : "", e->arches[i]);
    } else if (strcmp(name, "n_in") == 0)
        snprintf(buf, cap, "%zu", e->n_in);
    else if (strcmp(name, "n_out") == 0)
        snprintf(buf, cap, "%zu", e->n_out);
    else {
        int out = strncmp(name, "out", 3) == 0;
        if (!out && strncmp(name, "in", 2) != 0)
            case_bad(&cf, l->lineno, "unknown event field \"%s\"", name);
        char *dot;
        unsigned long k = strtoul(name + (out ? 3 : 2), &dot, 10);
        if (*dot != '.' || dot == name + (out ? 3 : 2))
            case_bad(&cf, l->lineno, "unknown event field \"%s\" (inN.name, outN.stream, ...)", name);
        size_t n = out ? e->n_out : e->n_in;
        if (k >= n) {
            snprintf(buf, cap, "(no %s package %lu of %zu)", out ? "out" : "in", k, n);
            return buf;
        }
        const struct osm_event_pkg *p = out ? &e->out[k] : &e->in[k];
        const char *f = dot + 1;
        if (strcmp(f, "name") == 0)
            return p->name;
        if (strcmp(f, "repo") == 0)
            return p->repo;
        if (strcmp(f, "module") == 0)
            return p->module;
        if (strcmp(f, "stream") == 0)
            return p->stream;
        case_bad(&cf, l->lineno, "unknown package field \"%s\" (name repo module stream)", f);
    }
    return buf;
}

static enum osm_change_kind change_kind(const struct case_line *l, const char *word)
{
    if (strcmp(word, "remove") == 0)
        return OSM_CHANGE_REMOVE;
    if (strcmp(word, "install") == 0)
        return OSM_CHANGE_INSTALL;
    if (strcmp(word, "deprecated") == 0)
        return OSM_CHANGE_DEPRECATED;
    case_bad(&cf, l->lineno, "unknown change kind \"%s\" (remove install deprecated)", word);
}

static const struct osm_event_change *find_change(enum osm_change_kind kind, const char *name)
{
    for (size_t i = 0; i < res.n; i++)
        if (res.changes[i].kind == kind && strcmp(res.changes[i].name, name) == 0)
            return &res.changes[i];
    return NULL;
}

static void need_res(const struct case_line *l)
{
    if (!have_res)
        case_bad(&cf, l->lineno, "%s: comes after an apply:", l->key);
}

/* ---- steps ---- */

/* Load PATH (shown as NAME); then the `error:` lines that follow decide
 * whether it must succeed. */
static void load(const struct case_line *at, const char *path, const char *name)
{
    size_t n_before = set.n;
    char **origins = calloc(n_before + 1, sizeof *origins);
    for (size_t i = 0; i < n_before; i++)
        origins[i] = osm_xasprintf("%s %s", set.ev[i].origin, set.ev[i].n_in ? set.ev[i].in[0].name : "");
    struct osm_err err = OSM_ERR_INIT;
    int rc = osm_events_load_file(&set, path, &err);
    const struct case_line *e = case_take(&cf, "error");
    if (!e) {
        case_check(&cf, at->lineno, rc == 0, "loading %s: %s", name, err.msg);
    } else if (case_check(&cf, at->lineno, rc == -1, "loading %s succeeded; an error was expected", name)) {
        case_check(&cf, at->lineno, err.code == OSM_EINPUT, "loading %s: error code %d, not bad input", name,
                   (int)err.code);
        case_check(&cf, at->lineno, strstr(err.msg, name) != NULL, "the error does not name %s: %s", name, err.msg);
        for (; e; e = case_take(&cf, "error"))
            case_check(&cf, e->lineno, strstr(err.msg, e->value) != NULL, "the error lacks \"%s\": %s", e->value,
                       err.msg);
        int same = set.n == n_before;
        for (size_t i = 0; same && i < n_before; i++) {
            char *now = osm_xasprintf("%s %s", set.ev[i].origin, set.ev[i].n_in ? set.ev[i].in[0].name : "");
            same = strcmp(now, origins[i]) == 0;
            free(now);
        }
        case_check(&cf, at->lineno, same, "a failed load of %s changed the set (%zu events before, %zu after)",
                   name, n_before, set.n);
    } else {
        while (case_take(&cf, "error"))
            ;
    }
    for (size_t i = 0; i < n_before; i++)
        free(origins[i]);
    free(origins);
}

static void apply(const struct case_line *l)
{
    char *copy = osm_xstrdup(l->value), *w[256];
    size_t n = case_words(&cf, l->lineno, copy, w, 256);
    if (n < 3)
        case_bad(&cf, l->lineno, "usage: apply: FROM TO ARCH PKG...");
    int sma, smi, dma, dmi;
    release(l, w[0], &sma, &smi);
    release(l, w[1], &dma, &dmi);
    const char *arch = strcmp(w[2], "-") ? w[2] : NULL;
    if (have_res)
        osm_event_result_free(&res);
    memset(&res, 0, sizeof res);
    have_res = 1;
    struct osm_err err = OSM_ERR_INIT;
    int rc = osm_events_apply(&set, (const char *const *)w + 3, n - 3, sma, smi, dma, dmi, arch, &res, &err);
    const struct case_line *e = case_take(&cf, "error");
    if (!e) {
        case_check(&cf, l->lineno, rc == 0, "apply: %s", err.msg);
    } else if (case_check(&cf, l->lineno, rc == -1, "apply succeeded; an error was expected")) {
        for (; e; e = case_take(&cf, "error"))
            case_check(&cf, e->lineno, strstr(err.msg, e->value) != NULL, "the error lacks \"%s\": %s", e->value,
                       err.msg);
        case_check(&cf, l->lineno, res.n == 0, "a failed apply left %zu changes", res.n);
    } else {
        while (case_take(&cf, "error"))
            ;
    }
    free(copy);
}

static void expect_change(const struct case_line *l)
{
    char *copy = osm_xstrdup(l->value), *w[4];
    if (case_words(&cf, l->lineno, copy, w, 4) != 4)
        case_bad(&cf, l->lineno, "usage: change: KIND NAME RELATED EVENT");
    const struct osm_event_change *c = find_change(change_kind(l, w[0]), w[1]);
    if (case_check(&cf, l->lineno, c != NULL, "no %s change of %s", w[0], w[1])) {
        if (strcmp(w[2], "*") != 0)
            case_check_str(&cf, l->lineno, "related", w[2], c->related);
        if (case_check(&cf, l->lineno, c->event != NULL, "the change has no event") && strcmp(w[3], "*") != 0)
            case_check(&cf, l->lineno, c->event->id == case_int(&cf, l->lineno, w[3]),
                       "%s %s: event id %ld, expected %s", w[0], w[1], c->event->id, w[3]);
    }
    free(copy);
}

int main(int argc, char **argv)
{
    case_start(&cf, argc, argv, cleanup);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/osmig-events-case-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    char buf[1024];
    for (const struct case_line *l; (l = case_next(&cf));) {
        char *copy = osm_xstrdup(l->value), *w[4];
        if (strcmp(l->key, "pes-file") == 0) {
            struct osm_buf b;
            osm_buf_init(&b);
            osm_buf_adds(&b, "{\"packageinfo\": [");
            int first = 1;
            for (const struct case_line *p; (p = case_take(&cf, "pes")); first = 0)
                pes_entry(&b, first, p);
            osm_buf_adds(&b, "]}");
            load(l, write_file(l->value, b.s), l->value);
            osm_buf_free(&b);
        } else if (strcmp(l->key, "file") == 0) {
            struct osm_buf b;
            osm_buf_init(&b);
            int first = 1;
            for (const struct case_line *p; (p = case_take(&cf, "|")); first = 0)
                osm_buf_addf(&b, "%s%s", first ? "" : "\n", p->value);
            load(l, write_file(l->value, b.s), l->value);
            osm_buf_free(&b);
        } else if (strcmp(l->key, "matrix-file") == 0) {
            const char *dir = getenv("OSMIG_MATRIX_DIR");
            if (!dir || !*dir)
                case_skip(&cf, "OSMIG_MATRIX_DIR is not set (run under ctest)");
            char *path = osm_xasprintf("%s/linux/events/%s", dir, l->value);
            load(l, path, l->value);
            free(path);
        } else if (strcmp(l->key, "events") == 0) {
            case_check(&cf, l->lineno, set.n == (size_t)case_int(&cf, l->lineno, l->value),
                       "the set holds %zu events, expected %s", set.n, l->value);
        } else if (strcmp(l->key, "event") == 0) {
            words_and_rest(l, copy, w, 2, "I FIELD VALUE");
            size_t i = (size_t)case_int(&cf, l->lineno, w[0]);
            if (case_check(&cf, l->lineno, i < set.n, "no event %zu (the set holds %zu)", i, set.n)) {
                char what[64];
                snprintf(what, sizeof what, "event %zu %s", i, w[1]);
                case_check_str(&cf, l->lineno, what, w[2], field(l, &set.ev[i], w[1], buf, sizeof buf));
            }
        } else if (strcmp(l->key, "apply") == 0) {
            apply(l);
        } else if (strcmp(l->key, "changes") == 0) {
            need_res(l);
            case_check(&cf, l->lineno, res.n == (size_t)case_int(&cf, l->lineno, l->value),
                       "%zu changes, expected %s", res.n, l->value);
        } else if (strcmp(l->key, "change") == 0) {
            need_res(l);
            expect_change(l);
        } else if (strcmp(l->key, "no-change") == 0) {
            need_res(l);
            if (case_words(&cf, l->lineno, copy, w, 2) != 2)
                case_bad(&cf, l->lineno, "usage: no-change: KIND NAME");
            case_check(&cf, l->lineno, find_change(change_kind(l, w[0]), w[1]) == NULL, "a %s change of %s", w[0],
                       w[1]);
        } else if (strcmp(l->key, "change-event") == 0) {
            need_res(l);
            words_and_rest(l, copy, w, 3, "KIND NAME FIELD VALUE");
            const struct osm_event_change *c = find_change(change_kind(l, w[0]), w[1]);
            if (case_check(&cf, l->lineno, c && c->event, "no %s change of %s with an event", w[0], w[1])) {
                char what[300];
                snprintf(what, sizeof what, "%s %s: event %s", w[0], w[1], w[2]);
                case_check_str(&cf, l->lineno, what, w[3], field(l, c->event, w[2], buf, sizeof buf));
            }
        } else if (strcmp(l->key, "pes") == 0 || strcmp(l->key, "|") == 0 || strcmp(l->key, "error") == 0) {
            case_bad(&cf, l->lineno, "\"%s\" belongs right after %s", l->key,
                     strcmp(l->key, "pes") == 0   ? "a pes-file: line"
                     : strcmp(l->key, "|") == 0   ? "a file: line"
                                                  : "a load or an apply:");
        } else {
            case_bad(&cf, l->lineno, "unknown key \"%s\"", l->key);
        }
        free(copy);
    }
    return case_finish(&cf);
}
