/* tzif.c: a TZif (RFC 8536) reader with the POSIX TZ rule of its footer. */
#include "tzif.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"

/* A POSIX TZ rule ("EST5EDT,M3.2.0,M11.1.0"): offsets are seconds east. */
struct rule_date {
    char kind;   /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' */
    int n, m, w, d;
    int32_t time; /* seconds after local midnight, may be negative or > 24h */
};
struct posix_rule {
    int32_t std_off, dst_off;
    int has_dst;
    struct rule_date start, end;
};

struct osm_tz {
    char *name;
    size_t n_trans;
    int64_t *trans;       /* transition instants, ascending */
    uint8_t *trans_type;  /* type index in effect from each transition */
    size_t n_types;
    int32_t *type_off;
    int has_rule;
    struct posix_rule rule;
};

/* ---- calendar ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t osm_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void osm_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int osm_weekday(int64_t z)
{
    int64_t w = (z + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int osm_days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* ---- POSIX TZ rules ---- */

static const char *parse_name(const char *p)
{
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e ? e + 1 : NULL;
    }
    const char *s = p;
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] with hh up to 167 (RFC 8536 extension). */
static const char *parse_hms(const char *p, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return NULL;
    long v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        char *e;
        v[i] = strtol(p, &e, 10);
        if (e == p || v[i] < 0 || v[i] > (i ? 59 : 167))
            return NULL;
        p = e;
        if (*p != ':' || i == 2)
            break;
        p++;
    }
    *out = (int32_t)(sign * (v[0] * 3600 + v[1] * 60 + v[2]));
    return p;
}

static const char *parse_date(const char *p, struct rule_date *rd)
{
    char *e;
    rd->time = 7200;
    if (*p == 'M') {
        rd->kind = 'M';
        rd->m = (int)strtol(p + 1, &e, 10);
        if (*e != '.')
            return NULL;
        rd->w = (int)strtol(e + 1, &e, 10);
        if (*e != '.')
            return NULL;
        rd->d = (int)strtol(e + 1, &e, 10);
        if (rd->m < 1 || rd->m > 12 || rd->w < 1 || rd->w > 5 || rd->d < 0 || rd->d > 6)
            return NULL;
    } else if (*p == 'J') {
        rd->kind = 'J';
        rd->n = (int)strtol(p + 1, &e, 10);
        if (e == p + 1 || rd->n < 1 || rd->n > 365)
            return NULL;
    } else if (isdigit((unsigned char)*p)) {
        rd->kind = 'D';
        rd->n = (int)strtol(p, &e, 10);
        if (rd->n < 0 || rd->n > 365)
            return NULL;
    } else {
        return NULL;
    }
    p = e;
    if (*p == '/')
        p = parse_hms(p + 1, &rd->time);
    return p;
}

static int parse_rule(const char *s, struct posix_rule *r)
{
    memset(r, 0, sizeof *r);
    const char *p = parse_name(s);
    if (!p)
        return -1;
    int32_t west;
    if (!(p = parse_hms(p, &west)))
        return -1;
    r->std_off = -west;
    if (!*p)
        return 0;
    if (!(p = parse_name(p)))
        return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = parse_hms(p, &west)))
            return -1;
        r->dst_off = -west;
    }
    if (!*p) { /* no rule given: the US rule, as POSIX leaves it to us */
        r->start = (struct rule_date){'M', 0, 3, 2, 0, 7200};
        r->end = (struct rule_date){'M', 0, 11, 1, 0, 7200};
        return 0;
    }
    if (*p != ',' || !(p = parse_date(p + 1, &r->start)) || *p != ',' || !(p = parse_date(p + 1, &r->end)))
        return -1;
    return *p ? -1 : 0;
}

/* The local day (days since the epoch) a rule date falls on in year y. */
static int64_t rule_day(const struct rule_date *rd, int64_t y)
{
    int64_t jan1 = osm_days_from_civil(y, 1, 1);
    if (rd->kind == 'J')
        return jan1 + rd->n - 1 + (is_leap(y) && rd->n >= 60);
    if (rd->kind == 'D')
        return jan1 + rd->n;
    int64_t first = osm_days_from_civil(y, rd->m, 1);
    int64_t day = first + (rd->d - osm_weekday(first) + 7) % 7 + (int64_t)(rd->w - 1) * 7;
    while (day >= first + osm_days_in_month(y, rd->m))
        day -= 7;
    return day;
}

static int32_t rule_offset(const struct posix_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int64_t y;
    int m, d;
    osm_civil_from_days(floor_div(t + r->std_off, 86400), &y, &m, &d);
    /* The transitions of the years around t: the start is given in standard
     * local time, the end in daylight local time. */
    for (int64_t yy = y + 1; yy >= y - 1; yy--) {
        int64_t s = rule_day(&r->start, yy) * 86400 + r->start.time - r->std_off;
        int64_t e = rule_day(&r->end, yy) * 86400 + r->end.time - r->dst_off;
        if (s < e) { /* northern: DST inside the year */
            if (t >= e)
                return r->std_off;
            if (t >= s)
                return r->dst_off;
        } else { /* southern: DST across the new year */
            if (t >= s)
                return r->dst_off;
            if (t >= e)
                return r->std_off;
        }
    }
    return r->std_off;
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int valid_name(const char *name)
{
    if (!*name || name[0] == '/' || strlen(name) > 255)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-+/", *p))
            return 0;
    for (const char *p = name; *p;) { /* no "." or ".." components, no empty ones */
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0)
            return 0;
        p += len + (e != NULL);
        if (e && !*p)
            return 0;
    }
    return strstr(name, "..") == NULL;
}

static int parse_tzif(struct osm_tz *tz, const unsigned char *buf, size_t len)
{
    if (len < 44 || memcmp(buf, "TZif", 4) != 0)
        return -1;
    int version = buf[4] ? buf[4] - '0' : 1;
    const unsigned char *h = buf;
    size_t tsize = 4;
    if (version >= 2) { /* skip the 32-bit block: use the 64-bit one */
        uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28), timecnt = be32(h + 32),
                 typecnt = be32(h + 36), charcnt = be32(h + 40);
        size_t skip = 44 + (size_t)timecnt * 5 + (size_t)typecnt * 6 + charcnt + (size_t)leap * 8 + isstd + isut;
        if (skip + 44 > len || memcmp(buf + skip, "TZif", 4) != 0)
            return -1;
        h = buf + skip;
        tsize = 8;
    }
    uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28), timecnt = be32(h + 32),
             typecnt = be32(h + 36), charcnt = be32(h + 40);
    if (typecnt == 0 || typecnt > 256 || timecnt > 100000)
        return -1;
    const unsigned char *p = h + 44, *end = buf + len;
    size_t need = (size_t)timecnt * (tsize + 1) + (size_t)typecnt * 6 + charcnt + (size_t)leap * (tsize + 4) + isstd + isut;
    if ((size_t)(end - p) < need)
        return -1;
    tz->n_trans = timecnt;
    tz->trans = osm_xcalloc(timecnt ? timecnt : 1, sizeof *tz->trans);
    tz->trans_type = osm_xcalloc(timecnt ? timecnt : 1, 1);
    for (size_t i = 0; i < timecnt; i++, p += tsize)
        tz->trans[i] = tsize == 8 ? be64(p) : (int32_t)be32(p);
    for (size_t i = 0; i < timecnt; i++, p++) {
        if (*p >= typecnt)
            return -1;
        tz->trans_type[i] = *p;
    }
    tz->n_types = typecnt;
    tz->type_off = osm_xcalloc(typecnt, sizeof *tz->type_off);
    for (size_t i = 0; i < typecnt; i++, p += 6)
        tz->type_off[i] = (int32_t)be32(p);
    p += charcnt + (size_t)leap * (tsize + 4) + isstd + isut;
    if (version >= 2 && p < end && *p == '\n') {
        const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
        if (nl && nl > p + 1) {
            char *s = osm_xmalloc((size_t)(nl - p));
            memcpy(s, p + 1, (size_t)(nl - p - 1));
            s[nl - p - 1] = 0;
            tz->has_rule = parse_rule(s, &tz->rule) == 0;
            free(s);
        }
    }
    return 0;
}

int osm_tz_load(const char *name, struct osm_tz **out, struct osm_err *err)
{
    *out = NULL;
    if (!name || !valid_name(name))
        return osm_err_set(err, OSM_EINPUT, "\"%s\" is not a time zone name (like \"Europe/Berlin\")",
                           name ? name : "");
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    char *path = osm_xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        osm_err_set(err, e == ENOENT || e == ENOTDIR ? OSM_EINPUT : OSM_EIO, "unknown time zone \"%s\" (%s: %s)",
                    name, path, strerror(e));
        free(path);
        return -1;
    }
    struct osm_buf b;
    osm_buf_init(&b);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1u << 20))
        osm_buf_add(&b, chunk, got);
    int rd_err = ferror(f);
    fclose(f);
    struct osm_tz *tz = osm_xcalloc(1, sizeof *tz);
    tz->name = osm_xstrdup(name);
    if (rd_err || parse_tzif(tz, (const unsigned char *)b.s, b.len) != 0) {
        osm_err_set(err, OSM_EINPUT, "unknown time zone \"%s\" (%s is not a TZif time zone file)", name, path);
        osm_buf_free(&b);
        free(path);
        osm_tz_free(tz);
        return -1;
    }
    osm_buf_free(&b);
    free(path);
    *out = tz;
    return 0;
}

void osm_tz_free(struct osm_tz *tz)
{
    if (!tz)
        return;
    osm_free_all(tz->name, tz->trans, tz->trans_type, tz->type_off, tz);
}

const char *osm_tz_name(const struct osm_tz *tz)
{
    return tz->name;
}

int32_t osm_tz_offset(const struct osm_tz *tz, int64_t t)
{
    if (tz->n_trans == 0 || t >= tz->trans[tz->n_trans - 1]) {
        if (tz->has_rule)
            return rule_offset(&tz->rule, t);
        return tz->n_trans ? tz->type_off[tz->trans_type[tz->n_trans - 1]] : tz->type_off[0];
    }
    if (t < tz->trans[0])
        return tz->type_off[0];
    size_t lo = 0, hi = tz->n_trans - 1; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->type_off[tz->trans_type[lo]];
}

int64_t osm_tz_local_to_utc(const struct osm_tz *tz, int64_t local)
{
    /* Every offset is within +-26 h, so the instants that can show `local`
     * lie within a day either side; zones change offset at most once there. */
    int32_t before = osm_tz_offset(tz, local - 93600), after = osm_tz_offset(tz, local + 93600);
    int32_t cand[3] = {before, after, osm_tz_offset(tz, local)};
    int found = 0;
    int64_t best = 0;
    for (int i = 0; i < 3; i++) {
        int64_t t = local - cand[i];
        if (osm_tz_offset(tz, t) == cand[i] && (!found || t < best)) {
            best = t;
            found = 1;
        }
    }
    if (found)
        return best;
    if (after <= before) /* not a gap: cannot happen with one transition */
        return local - before;
    /* A gap: the clocks jumped from `before` to `after`. The first valid
     * instant after `local` is the transition, in (local-after, local-before]. */
    int64_t lo = local - after, hi = local - before;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (osm_tz_offset(tz, mid) == before)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}
