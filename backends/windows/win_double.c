/* win_double.c: the Windows test double (see the header). */
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "win_double.h"

int win_double_on(void)
{
    const char *d = getenv("OSMIG_WINDOWS_DOUBLE");
    return d && *d;
}

static const char *ddir(void)
{
    return getenv("OSMIG_WINDOWS_DOUBLE");
}

static struct osm_instance *clock_inst; /* the instance whose clock the agent uses */

static char *state_path(struct osm_instance *inst)
{
    return inst->root ? osm_path_join(inst->root, "osmig-windows-double.json") : osm_path_join(ddir(), "state.json");
}

static json_t *scenario(void)
{
    char *p = osm_path_join(ddir(), "scenario.json");
    json_t *s = json_load_file(p, 0, NULL);
    free(p);
    return s ? s : json_object();
}

static const char *sstr(const json_t *o, const char *k, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : dflt;
}

static json_int_t sint(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static json_t *load_state(struct osm_instance *inst, const json_t *sc)
{
    char *p = state_path(inst);
    json_t *st = json_load_file(p, 0, NULL);
    free(p);
    if (!st)
        st = json_pack("{s:I,s:s,s:i,s:i,s:I,s:[]}", "build",
                       json_integer_value(json_array_get(json_object_get(sc, "builds"), 0)), "edition",
                       sstr(sc, "edition", "ServerDatacenter"), "hops", 0, "polls", 0, "now", (json_int_t)1000000,
                       "attached");
    return st;
}

static void save_state(struct osm_instance *inst, json_t *st)
{
    char *p = state_path(inst);
    char *text = json_dumps(st, JSON_SORT_KEYS);
    struct osm_err e = OSM_ERR_INIT;
    if (osm_write_file_atomic(p, text, strlen(text), 0644, &e) != 0)
        fprintf(stderr, "windows double: %s\n", e.msg);
    free(text);
    free(p);
}

__attribute__((format(printf, 1, 2))) static void event(const char *fmt, ...)
{
    char *p = osm_path_join(ddir(), "events.log");
    FILE *f = fopen(p, "a");
    free(p);
    if (!f)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static void set_int(json_t *st, const char *k, json_int_t v)
{
    json_object_set_new(st, k, json_integer(v));
}

static const char *play_of(const json_t *sc, json_int_t hop)
{
    const json_t *plays = json_object_get(sc, "plays");
    size_t n = json_array_size(plays);
    if (!n)
        return "success";
    size_t i = hop < 1 ? 0 : (size_t)hop - 1;
    return json_string_value(json_array_get(plays, i < n ? i : n - 1));
}

static long build_at(const json_t *sc, json_int_t i)
{
    return (long)json_integer_value(json_array_get(json_object_get(sc, "builds"), (size_t)i));
}

static void add_log(struct osm_buf *out, const char *prefix, const char *log)
{
    for (const char *p = log; p && *p;) {
        size_t n = strcspn(p, "\n");
        osm_buf_adds(out, prefix);
        osm_buf_add(out, p, n);
        osm_buf_addc(out, '\n');
        p += n + (p[n] == '\n');
    }
}

/* The value after KEY in SCRIPT up to a space or quote ("/imageindex 4"). */
static void arg_after(const char *script, const char *key, char *out, size_t n)
{
    out[0] = '\0';
    const char *p = strstr(script, key);
    if (!p)
        return;
    p += strlen(key);
    size_t len = strcspn(p, " '\"\r\n");
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), p);
}

static int status(json_t *st, const json_t *sc, struct osm_buf *out, struct osm_err *err)
{
    json_int_t hop = sint(st, "hops"), k = sint(st, "polls");
    const char *play = play_of(sc, hop);
    long build = (long)sint(st, "build");
    const char *ed = sstr(st, "edition", "");
    int running = json_is_true(json_object_get(st, "setup_running"));
    if (json_is_true(json_object_get(st, "scanning"))) {
        json_object_set_new(st, "scanning", json_false());
        const char *c = !strcmp(play_of(sc, hop + 1), "compat-block") ? sstr(sc, "compat", "0xC1900208") : "-1047526896";
        json_object_set_new(st, "compat_exit", json_string(c));
    }
    if (running) {
        set_int(st, "polls", k + 1);
        long newb = build_at(sc, sint(st, "setups"));
        int down = 0, bt = 1, exitc = 0;
        if (!strcmp(play, "success") || !strcmp(play, "bt-stays")) {
            down = k == 2 || k == 3;
            if (k >= 4)
                build = newb;
            if (k >= 5) {
                running = 0;
                bt = !strcmp(play, "bt-stays");
            }
        } else if (!strcmp(play, "rollback")) {
            down = k == 2 || k == 3;
            running = k < 4;
        } else if (!strcmp(play, "setup-exit")) {
            running = k == 0;
            exitc = k >= 1;
        } else if (!strcmp(play, "reboot-loop")) {
            down = k >= 2 && k % 2 == 0;
        } else if (!strcmp(play, "never-changes")) {
            down = k == 2 || k == 3;
        } /* hang: running on the old build */
        json_object_set_new(st, "build", json_integer(build));
        if (build == newb) /* every setup hop's target is Datacenter */
            json_object_set_new(st, "edition", json_string("ServerDatacenter"));
        json_object_set_new(st, "setup_running", json_boolean(running));
        json_object_set_new(st, "bt", json_boolean(bt));
        if (exitc)
            json_object_set_new(st, "setup_exit", json_string(sstr(sc, "setup_exit", "-1047526904")));
        if (!running && (!strcmp(play, "rollback") || exitc))
            json_object_set_new(st, "failed", json_true());
        if (down)
            return osm_err_set(err, OSM_ENET, "windows double: rebooting");
        ed = sstr(st, "edition", "");
    }
    if (json_is_true(json_object_get(st, "converting"))) {
        json_object_set_new(st, "converting", json_false());
        const char *cp = play_of(sc, hop);
        json_object_set_new(st, "convert_exit",
                            json_string(!strcmp(cp, "conversion-fails") ? sstr(sc, "convert_exit", "-2146498529") : "3010"));
    }
    osm_buf_addf(out, "build=%ld\nedition=%s\nbt=%d\nsetup_running=%d\nconvert_running=0\n", build, ed,
                 json_is_true(json_object_get(st, "bt")), running);
    static const char *const exits[] = {"compat_exit", "setup_exit", "convert_exit"};
    for (size_t i = 0; i < 3; i++)
        if (json_string_value(json_object_get(st, exits[i])))
            osm_buf_addf(out, "%s=%s\n", exits[i], json_string_value(json_object_get(st, exits[i])));
    if (json_is_true(json_object_get(st, "failed")))
        add_log(out, "err=", sstr(sc, "setuperr", ""));
    return 0;
}

static int d_run(struct osm_instance *inst, const char *const argv[], struct osm_buf *out, struct osm_err *err)
{
    json_t *sc = scenario(), *st = load_state(inst, sc);
    const char *script = argv[6] ? argv[6] : "";
    int rc = 0;
    json_int_t hop = sint(st, "hops");
    if (!strcmp(play_of(sc, hop + 1), "agent-down") || !strcmp(play_of(sc, hop), "agent-down")) {
        rc = osm_err_set(err, OSM_ENET, "windows double: the agent does not answer");
    } else if (!strncmp(script, "# osmig: prepare the upgrade", 28)) {
        event("prepare");
        if (json_array_size(json_object_get(st, "attached")) == 0) {
            osm_buf_adds(out, "result=transit-missing\n");
            rc = 2;
        } else if (strstr(script, "has no scan-only mode")) {
            osm_buf_adds(out, "transit=E:\ncompat=skipped\nresult=ready\n");
        } else {
            json_object_del(st, "compat_exit");
            json_object_set_new(st, "scanning", json_true());
            osm_buf_adds(out, "transit=E:\nresult=scanning\n");
        }
    } else if (!strncmp(script, "# osmig: start Windows Setup", 28)) {
        char idx[16], key[40];
        arg_after(script, "/imageindex ", idx, sizeof idx);
        const char *how = strstr(script, "/auto:upgrade") ? "auto:upgrade" : strstr(script, "/unattend:") ? "unattend" : "auto upgrade";
        arg_after(script, strstr(script, "/unattend:") ? "<ProductKey><Key>" : "/pkey ", key, sizeof key);
        char *k = strchr(key, '<');
        if (k)
            *k = '\0';
        if (!idx[0])
            arg_after(script, "<Value>", idx, sizeof idx);
        k = strchr(idx, '<');
        if (k)
            *k = '\0';
        event("start %s index=%s key=%s", how, idx, key);
        if (json_array_size(json_object_get(st, "attached")) == 0) {
            osm_buf_adds(out, "result=transit-missing\n");
            rc = 2;
        } else if (json_is_true(json_object_get(st, "setup_running"))) {
            osm_buf_adds(out, "result=already-running\n");
        } else {
            set_int(st, "hops", hop + 1);
            set_int(st, "setups", sint(st, "setups") + 1); /* builds[] counts setup hops only */
            set_int(st, "polls", 0);
            json_object_set_new(st, "setup_running", json_true());
            json_object_set_new(st, "bt", json_true());
            json_object_del(st, "setup_exit");
            json_object_del(st, "failed");
            osm_buf_adds(out, "result=started\n");
        }
    } else if (!strncmp(script, "# osmig: convert the edition", 28)) {
        char ed[48];
        arg_after(script, "/Set-Edition:", ed, sizeof ed);
        event("convert edition=%s", ed);
        set_int(st, "hops", hop + 1);
        json_object_set_new(st, "converting", json_true());
        json_object_set_new(st, "convert_to", json_string(ed));
        json_object_del(st, "convert_exit");
        osm_buf_adds(out, "result=started\n");
    } else if (!strncmp(script, "# osmig: where the upgrade stands", 33)) {
        rc = status(st, sc, out, err);
    } else if (!strncmp(script, "# osmig: setup's logs", 21)) {
        event("logs");
        const char *e = sstr(sc, "setuperr", NULL), *a = sstr(sc, "setupact", NULL);
        const char *where = json_is_true(json_object_get(st, "failed")) ? "bt-rollback" : "windows-panther";
        if (e) {
            osm_buf_addf(out, "log-begin=%s-setuperr.log\n", where);
            add_log(out, "log=", e);
            osm_buf_addf(out, "log-end=%s-setuperr.log\n", where);
        }
        if (a) {
            osm_buf_addf(out, "log-begin=%s-setupact.log\n", where);
            add_log(out, "log=", a);
            osm_buf_addf(out, "log-end=%s-setupact.log\n", where);
        }
    } else {
        rc = osm_err_set(err, OSM_EUNSUPPORTED, "windows double: not an osmig script");
    }
    save_state(inst, st);
    json_decref(st);
    json_decref(sc);
    return rc;
}

static int d_reboot(struct osm_instance *inst, char boot_id[64], struct osm_err *err)
{
    (void)err;
    json_t *sc = scenario(), *st = load_state(inst, sc);
    json_int_t n = sint(st, "reboots") + 1;
    set_int(st, "reboots", n);
    event("reboot");
    /* A finished conversion takes effect at the restart (unless the play
     * says it never does). */
    const char *to = sstr(st, "convert_to", NULL);
    if (to && json_string_value(json_object_get(st, "convert_exit")) &&
        !strcmp(json_string_value(json_object_get(st, "convert_exit")), "3010") &&
        strcmp(play_of(sc, sint(st, "hops")), "conversion-no-change") != 0)
        json_object_set_new(st, "edition", json_string(to));
    save_state(inst, st);
    snprintf(boot_id, 64, "double-%lld", (long long)n);
    json_decref(st);
    json_decref(sc);
    return 0;
}

static int attach_change(struct osm_instance *inst, const char *image, int attach)
{
    json_t *sc = scenario(), *st = load_state(inst, sc);
    json_t *list = json_object_get(st, "attached");
    if (!list) {
        list = json_array();
        json_object_set_new(st, "attached", list);
    }
    size_t i;
    json_t *v;
    int found = -1;
    json_array_foreach(list, i, v) if (!strcmp(json_string_value(v), image)) found = (int)i;
    if (attach && found < 0)
        json_array_append_new(list, json_string(image));
    if (!attach && found >= 0)
        json_array_remove(list, (size_t)found);
    event("%s %s", attach ? "attach" : "detach", image);
    save_state(inst, st);
    json_decref(st);
    json_decref(sc);
    return 0;
}

static int d_attach(struct osm_instance *inst, const char *image, struct osm_err *err)
{
    (void)err;
    if (access(image, R_OK) != 0)
        return osm_err_errno(err, "windows double: transit disk '%s'", image);
    return attach_change(inst, image, 1);
}

static int d_detach(struct osm_instance *inst, const char *image, struct osm_err *err)
{
    (void)err;
    return attach_change(inst, image, 0);
}

static time_t d_now(void *ctx)
{
    (void)ctx;
    json_t *sc = scenario(), *st = load_state(clock_inst, sc);
    time_t t = (time_t)sint(st, "now");
    json_decref(st);
    json_decref(sc);
    return t;
}

static void d_sleep(void *ctx, unsigned s)
{
    (void)ctx;
    json_t *sc = scenario(), *st = load_state(clock_inst, sc);
    set_int(st, "now", sint(st, "now") + s);
    save_state(clock_inst, st);
    json_decref(st);
    json_decref(sc);
}

static const struct win_clock double_clock = {d_now, d_sleep, NULL};

void win_double_agent(struct win_agent *a, struct osm_instance *inst)
{
    memset(a, 0, sizeof *a);
    a->inst = inst;
    a->run = d_run;
    a->reboot = d_reboot;
    a->attach_disk = d_attach;
    a->detach_disk = d_detach;
    a->clock = &double_clock;
    clock_inst = inst;
}
