/* window_case.c CASE: run one maintenance-window case (tests/sched/cases/NAME.case)
 * against engine/sched/schedule.c on the system tz database. Every instant
 * is given (an injected clock), as UTC: 2026-03-08T07:00Z or 2026-03-08T06:59:59Z.
 *
 * Keys (see tests/README.md):
 *
 *   window: JSON              parse a window spec (the API's "window" member);
 *                             it must parse unless `error` lines follow
 *   error-starts: TEXT        (after window) parsing fails with bad input, no
 *                             window, and a message that starts with TEXT
 *   error: TEXT               (after window) ... and contains TEXT
 *   next: AT START CLOSE      the first open instant at or after AT is START,
 *                             and the window that opens then stops taking
 *                             starts at CLOSE
 *   open: AT / closed: AT     whether a task may start at AT
 *   event: SCHEDULED LATEST   a host-maintenance event (host_events.h) in the
 *                             last window: (none before the first)
 *   place: NOW RC AT          placing that event as of NOW returns RC (1 in
 *                             the window, 0 the scheduled time, -1 not placed;
 *                             AT is then -) and puts it at AT
 *   says: TEXT                the words of the last place: contain TEXT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casefile.h"
#include "host_events.h"
#include "schedule.h"
#include "tzif.h"

static struct casefile cf;
static struct osm_window *win;
static char *win_text;          /* the last window: as written, for events */
static struct osm_host_event ev;
static int have_event;
static char words[512];

static void cleanup(void)
{
    osm_window_free(win);
    free(win_text);
    case_close(&cf);
}

static int64_t instant(const struct case_line *l, const char *text)
{
    int y, mo, d, h, mi, s = 0, n = 0;
    int ok = sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &s, &n) == 6 && n && !text[n];
    if (!ok) {
        s = n = 0;
        ok = sscanf(text, "%4d-%2d-%2dT%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &n) == 5 && n && !text[n];
    }
    if (!ok)
        case_bad(&cf, l->lineno, "\"%s\" is not a UTC instant (2026-03-08T07:00Z or 2026-03-08T06:59:59Z)", text);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59)
        case_bad(&cf, l->lineno, "\"%s\" is out of range", text);
    return osm_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static void show(int64_t t, char *buf, size_t cap)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400, secs = t - days * 86400;
    /* civil from days (Howard Hinnant's algorithm) */
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
    snprintf(buf, cap, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)y, (long long)m, (long long)d,
             (long long)(secs / 3600), (long long)(secs / 60 % 60), (long long)(secs % 60));
}

static void need_window(const struct case_line *l)
{
    if (!win)
        case_bad(&cf, l->lineno, "%s: comes after a window: that parses", l->key);
}

static void parse(const struct case_line *l)
{
    free(win_text);
    win_text = strdup(l->value);
    osm_window_free(win);
    win = (struct osm_window *)&cf; /* must be reset to NULL on failure */
    struct osm_err err = OSM_ERR_INIT;
    int rc = osm_window_parse(l->value, &win, &err);
    const struct case_line *starts = case_take(&cf, "error-starts"), *e = case_take(&cf, "error");
    if (!starts && !e) {
        if (!case_check(&cf, l->lineno, rc == 0, "window: %s", err.msg))
            win = NULL;
        return;
    }
    if (!case_check(&cf, l->lineno, rc == -1, "accepted %s; an error was expected", l->value)) {
        osm_window_free(win);
    } else {
        case_check(&cf, l->lineno, win == NULL, "a failed parse left a window");
        case_check(&cf, l->lineno, err.code == OSM_EINPUT, "error code %d, not bad input", (int)err.code);
        if (starts)
            case_check(&cf, starts->lineno, strncmp(err.msg, starts->value, strlen(starts->value)) == 0,
                       "message \"%s\" does not start with \"%s\"", err.msg, starts->value);
        for (; e; e = case_take(&cf, "error"))
            case_check(&cf, e->lineno, strstr(err.msg, e->value) != NULL, "message \"%s\" does not say \"%s\"",
                       err.msg, e->value);
    }
    win = NULL;
}

int main(int argc, char **argv)
{
    case_start(&cf, argc, argv, cleanup);
    for (const struct case_line *l; (l = case_next(&cf));) {
        char copy[512], *w[3], got[2][96], want[2][96];
        snprintf(copy, sizeof copy, "%s", l->value);
        if (strcmp(l->key, "window") == 0) {
            parse(l);
        } else if (strcmp(l->key, "next") == 0) {
            need_window(l);
            if (case_words(&cf, l->lineno, copy, w, 3) != 3)
                case_bad(&cf, l->lineno, "usage: next: AT START CLOSE");
            int64_t at = instant(l, w[0]), start = instant(l, w[1]), close = instant(l, w[2]), s = 0, c = 0;
            if (case_check(&cf, l->lineno, osm_window_next_start(win, at, &s, &c) == 0, "next_start failed")) {
                show(s, got[0], sizeof got[0]);
                show(c, got[1], sizeof got[1]);
                show(start, want[0], sizeof want[0]);
                show(close, want[1], sizeof want[1]);
                case_check(&cf, l->lineno, s == start && c == close, "from %s: expected %s .. %s, got %s .. %s", w[0],
                           want[0], want[1], got[0], got[1]);
            }
        } else if (strcmp(l->key, "open") == 0 || strcmp(l->key, "closed") == 0) {
            need_window(l);
            int want_open = strcmp(l->key, "open") == 0;
            case_check(&cf, l->lineno, osm_window_open_at(win, instant(l, l->value)) == want_open,
                       "the window is %s at %s", want_open ? "closed" : "open", l->value);
        } else if (strcmp(l->key, "event") == 0) {
            if (case_words(&cf, l->lineno, copy, w, 2) != 2)
                case_bad(&cf, l->lineno, "usage: event: SCHEDULED LATEST");
            ev = (struct osm_host_event){(char *)"e-1", (char *)"dir:/srv/web01", (char *)"SystemMaintenance.Redeploy",
                                         instant(l, w[0]), instant(l, w[1]), win_text};
            have_event = 1;
        } else if (strcmp(l->key, "place") == 0) {
            if (!have_event)
                case_bad(&cf, l->lineno, "place: comes after an event:");
            if (case_words(&cf, l->lineno, copy, w, 3) != 3)
                case_bad(&cf, l->lineno, "usage: place: NOW RC AT");
            int want_rc = atoi(w[1]);
            int64_t at = -1, want_at = strcmp(w[2], "-") == 0 ? -1 : instant(l, w[2]);
            int rc = osm_host_event_place(&ev, instant(l, w[0]), &at, words, sizeof words);
            if (want_rc == -1)
                at = -1;
            show(at, got[0], sizeof got[0]);
            show(want_at, want[0], sizeof want[0]);
            case_check(&cf, l->lineno, rc == want_rc && at == want_at, "as of %s: expected %d at %s, got %d at %s (%s)",
                       w[0], want_rc, want_rc == -1 ? "-" : want[0], rc, rc == -1 ? "-" : got[0], words);
        } else if (strcmp(l->key, "says") == 0) {
            case_check(&cf, l->lineno, strstr(words, l->value) != NULL, "the words \"%s\" do not say \"%s\"", words,
                       l->value);
        } else if (strcmp(l->key, "error") == 0 || strcmp(l->key, "error-starts") == 0) {
            case_bad(&cf, l->lineno, "\"%s\" belongs right after a window:", l->key);
        } else {
            case_bad(&cf, l->lineno, "unknown key \"%s\"", l->key);
        }
    }
    return case_finish(&cf);
}
