/* schedule.c: maintenance windows (parse, next start, open at) and the rate
 * control of jobs. Time zones come from tzif.c (see there why not glibc). */
#include "schedule.h"

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "tzif.h"

#define MAX_DURATION (7 * 86400)

struct osm_window {
    struct osm_tz *tz;
    unsigned dow_mask;   /* bit 0 = Sunday */
    uint32_t dom_mask;   /* bit d = day d of the month */
    int dom_last;        /* -1 listed: the last day of each month */
    int start_sec;       /* seconds after local midnight */
    int64_t duration, cutoff;
};

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const day_long[7] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};

/* "4h", "90m", "1h30m", "45s", "2d" (or a JSON integer of seconds). */
static int parse_duration(const json_t *v, const char *member, int64_t *out, struct osm_err *err)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return osm_err_set(err, OSM_EINPUT, "window.%s: must be a duration like \"4h\" or \"90m\", or seconds as a number",
                           member);
    const char *s = json_string_value(v), *p = s;
    int64_t total = 0;
    if (!*p)
        goto bad;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            goto bad;
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p++ - '0');
            if (n > 100000000)
                goto bad;
        }
        int64_t unit = *p == 'd' ? 86400 : *p == 'h' ? 3600 : *p == 'm' ? 60 : *p == 's' ? 1 : 0;
        if (!unit)
            goto bad;
        p++;
        total += n * unit;
        if (total > 100000000)
            goto bad;
    }
    *out = total;
    return 0;
bad:
    return osm_err_set(err, OSM_EINPUT, "window.%s: \"%s\" is not a duration (like \"4h\", \"90m\" or \"1h30m\")", member,
                       s);
}

static int parse_days_of_week(const json_t *v, unsigned *mask, struct osm_err *err)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return osm_err_set(err, OSM_EINPUT, "window.days_of_week: must be a non-empty array of days (\"mon\"..\"sun\")");
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
        const char *s = json_string_value(e);
        int d = -1;
        for (int k = 0; s && k < 7 && d < 0; k++)
            if (strcasecmp(s, day_names[k]) == 0 || strcasecmp(s, day_long[k]) == 0)
                d = k;
        if (d < 0)
            return osm_err_set(err, OSM_EINPUT, "window.days_of_week[%zu]: %s%s%s is not a day (\"mon\"..\"sun\")", i,
                               s ? "\"" : "", s ? s : "not a string", s ? "\"" : "");
        *mask |= 1u << d;
    }
    return 0;
}

static int parse_days_of_month(const json_t *v, uint32_t *mask, int *last, struct osm_err *err)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return osm_err_set(err, OSM_EINPUT, "window.days_of_month: must be a non-empty array of days (1..31, -1 for the last)");
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
        json_int_t d = json_is_integer(e) ? json_integer_value(e) : 0;
        if (d == -1) {
            *last = 1;
        } else if (d >= 1 && d <= 31) {
            *mask |= 1u << d;
        } else {
            return osm_err_set(err, OSM_EINPUT, "window.days_of_month[%zu]: must be a day 1..31, or -1 for the last day", i);
        }
    }
    return 0;
}

static int parse_start(const json_t *v, int *out, struct osm_err *err)
{
    const char *s = json_string_value(v);
    if (!s)
        return osm_err_set(err, OSM_EINPUT, "window.start: must be a local time \"HH:MM\"");
    if (strlen(s) == 5 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) && s[2] == ':' &&
        isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4])) {
        int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
        if (h < 24 && m < 60) {
            *out = h * 3600 + m * 60;
            return 0;
        }
    }
    return osm_err_set(err, OSM_EINPUT, "window.start: \"%s\" is not a local time \"HH:MM\" (00:00 to 23:59)", s);
}

int osm_window_parse(const char *json_text, struct osm_window **out, struct osm_err *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loads(json_text ? json_text : "", JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return osm_err_set(err, OSM_EINPUT, "window: not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                           jerr.column);
    struct osm_window *w = osm_xcalloc(1, sizeof *w);
    int have_start = 0, have_duration = 0, rc = -1;
    if (!json_is_object(root)) {
        osm_err_set(err, OSM_EINPUT, "window: must be a JSON object");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "timezone") == 0) {
            if (!json_is_string(v)) {
                osm_err_set(err, OSM_EINPUT, "window.timezone: must be an IANA time zone name like \"Asia/Shanghai\"");
                goto out;
            }
            if (osm_tz_load(json_string_value(v), &w->tz, err) != 0) {
                osm_err_prefix(err, "window.timezone");
                goto out;
            }
        } else if (strcmp(key, "days_of_week") == 0) {
            if (parse_days_of_week(v, &w->dow_mask, err) != 0)
                goto out;
        } else if (strcmp(key, "days_of_month") == 0) {
            if (parse_days_of_month(v, &w->dom_mask, &w->dom_last, err) != 0)
                goto out;
        } else if (strcmp(key, "start") == 0) {
            if (parse_start(v, &w->start_sec, err) != 0)
                goto out;
            have_start = 1;
        } else if (strcmp(key, "duration") == 0) {
            if (parse_duration(v, "duration", &w->duration, err) != 0)
                goto out;
            have_duration = 1;
        } else if (strcmp(key, "cutoff") == 0) {
            if (parse_duration(v, "cutoff", &w->cutoff, err) != 0)
                goto out;
        } else {
            osm_err_set(err, OSM_EINPUT,
                        "window.%s: unknown member (known: timezone, days_of_week, days_of_month, start, duration, cutoff)",
                        key);
            goto out;
        }
    }
    if (!w->tz) {
        osm_err_set(err, OSM_EINPUT, "window.timezone: missing (an IANA time zone name like \"Asia/Shanghai\")");
        goto out;
    }
    if (!have_start) {
        osm_err_set(err, OSM_EINPUT, "window.start: missing (a local time \"HH:MM\")");
        goto out;
    }
    if (!have_duration) {
        osm_err_set(err, OSM_EINPUT, "window.duration: missing (like \"4h\")");
        goto out;
    }
    if (w->duration <= 0 || w->duration > MAX_DURATION) {
        osm_err_set(err, OSM_EINPUT, "window.duration: %lld s is out of range (more than 0, at most 7 days)",
                    (long long)w->duration);
        goto out;
    }
    if (w->cutoff < 0) {
        osm_err_set(err, OSM_EINPUT, "window.cutoff: %lld s must not be negative", (long long)w->cutoff);
        goto out;
    }
    if (w->cutoff >= w->duration) {
        osm_err_set(err, OSM_EINPUT, "window.cutoff: %lld s must be less than the duration (%lld s)",
                    (long long)w->cutoff, (long long)w->duration);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    if (rc != 0)
        osm_window_free(w);
    else
        *out = w;
    return rc;
}

void osm_window_free(struct osm_window *w)
{
    if (!w)
        return;
    osm_tz_free(w->tz);
    free(w);
}

static int day_listed(const struct osm_window *w, int64_t z)
{
    if (!w->dow_mask && !w->dom_mask && !w->dom_last)
        return 1;
    if (w->dow_mask & (1u << osm_weekday(z)))
        return 1;
    if (!w->dom_mask && !w->dom_last)
        return 0;
    int64_t y;
    int m, d;
    osm_civil_from_days(z, &y, &m, &d);
    return (w->dom_mask & (1u << d)) || (w->dom_last && d == osm_days_in_month(y, m));
}

static int64_t floor_day(int64_t s)
{
    return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

int osm_window_next_start(const struct osm_window *w, int64_t t, int64_t *start, int64_t *close)
{
    /* A window that opened up to 7 days (plus a day of offset slack) before t
     * may still be open; look from there to a year ahead, day by day. Each
     * day's opening is later than the one before, so the first window whose
     * start range has not ended is the answer. */
    int64_t today = floor_day(t + osm_tz_offset(w->tz, t));
    for (int64_t z = today - 8; z <= today + 366; z++) {
        if (!day_listed(w, z))
            continue;
        int64_t open = osm_tz_local_to_utc(w->tz, z * 86400 + w->start_sec);
        int64_t range_end = open + w->duration - w->cutoff;
        if (range_end <= t)
            continue;
        if (open > t + 366 * 86400)
            return -1;
        *start = open > t ? open : t;
        *close = range_end;
        return 0;
    }
    return -1;
}

int osm_window_open_at(const struct osm_window *w, int64_t t)
{
    int64_t s, c;
    return osm_window_next_start(w, t, &s, &c) == 0 && s == t;
}

/* ---- rate control ---- */

int osm_rate_limit_parse(const char *text, const char *field, int *value, int *percent, struct osm_err *err)
{
    const char *p = text ? text : "";
    long long n = 0;
    if (!isdigit((unsigned char)*p))
        goto bad;
    for (; isdigit((unsigned char)*p); p++) {
        n = n * 10 + (*p - '0');
        if (n > 1000000)
            return osm_err_set(err, OSM_EINPUT, "%s: \"%s\" is too large (at most 1000000)", field, text);
    }
    *percent = *p == '%';
    if (*percent)
        p++;
    if (*p)
        goto bad;
    if (*percent && n > 100)
        return osm_err_set(err, OSM_EINPUT, "%s: \"%s\" is more than 100%%", field, text);
    *value = (int)n;
    return 0;
bad:
    return osm_err_set(err, OSM_EINPUT, "%s: \"%s\" is not a count \"N\" or a percentage \"N%%\" of the job's tasks",
                       field, text ? text : "");
}

int osm_rate_limit_count(int value, int percent, int64_t n_tasks, int at_least_one)
{
    int64_t c = value;
    if (percent)
        c = n_tasks > 0 ? ((int64_t)value * n_tasks + 99) / 100 : 0;
    if (c > INT_MAX)
        c = INT_MAX;
    if (at_least_one && c < 1)
        c = 1;
    return (int)c;
}

int osm_rate_allowed(const struct osm_job_progress *p, int max_conc, int max_errors, char **stop_reason)
{
    *stop_reason = NULL;
    if (max_errors >= 0 && p->errors > max_errors) {
        *stop_reason = osm_xasprintf("%lld of its %lld tasks ended in error (failed, rolled back, rollback failed or "
                                     "expired), more than the %d its max_errors allows; no more tasks start",
                                     (long long)p->errors, (long long)p->n_tasks, max_errors);
        return 0;
    }
    /* Ramp-up: 1, 2, 4, ... at once as tasks succeed. */
    int64_t limit = p->succeeded >= 30 ? INT_MAX : (int64_t)1 << p->succeeded;
    if (max_conc >= 0 && max_conc < limit)
        limit = max_conc;
    int64_t allowed = limit - p->running;
    if (allowed > p->waiting)
        allowed = p->waiting;
    return allowed > 0 ? (int)allowed : 0;
}
