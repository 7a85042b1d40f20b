/* metrics.c: see metrics.h. A registry is a list of families, each a list of
 * series keyed by their rendered label text; few enough (routes x statuses,
 * phases, states) that linear search is the simple, fast choice. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"

enum kind { COUNTER, GAUGE, HISTOGRAM };

struct series {
    char *labels;        /* rendered: `a="x",b="y"` ("" for none) */
    double value;        /* counter, gauge; histogram: sum */
    uint64_t count;      /* histogram */
    uint64_t *buckets;   /* histogram: cumulative at render, per-bucket here */
};

struct family {
    char *name, *help;
    enum kind kind;
    double *bounds;
    size_t n_bounds;
    struct series *series;
    size_t n_series;
};

struct osm_metrics {
    pthread_mutex_t lock;
    struct family *fam;
    size_t n_fam;
};

const double osm_metrics_seconds_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                             5,     10,   30,    60,   120, 300,  600, 1800, 3600};
const size_t osm_metrics_n_seconds_bounds = sizeof osm_metrics_seconds_bounds / sizeof osm_metrics_seconds_bounds[0];

struct osm_metrics *osm_metrics_new(void)
{
    struct osm_metrics *m = osm_xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

/* Every series of `f` gone; the family (name, help, bounds) stays. */
static void drop_series(struct family *f)
{
    for (size_t k = 0; k < f->n_series; k++)
        osm_free_all(f->series[k].labels, f->series[k].buckets);
    free(f->series);
    f->series = NULL;
    f->n_series = 0;
}

void osm_metrics_free(struct osm_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_fam; i++) {
        struct family *f = &m->fam[i];
        drop_series(f);
        osm_free_all(f->name, f->help, f->bounds);
    }
    free(m->fam);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static void add_escaped(struct osm_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            osm_buf_adds(b, "\\\\");
        else if (*v == '"')
            osm_buf_adds(b, "\\\"");
        else if (*v == '\n')
            osm_buf_adds(b, "\\n");
        else
            osm_buf_addc(b, *v);
    }
}

static char *render_labels(const char *const *labels)
{
    struct osm_buf b;
    osm_buf_init(&b);
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
        osm_buf_addf(&b, "%s%s=\"", i ? "," : "", labels[i]);
        add_escaped(&b, labels[i + 1]);
        osm_buf_addc(&b, '"');
    }
    return osm_buf_detach(&b);
}

/* The family (created on first use). */
static struct family *family(struct osm_metrics *m, const char *name, const char *help, enum kind kind,
                             const double *bounds, size_t n_bounds)
{
    struct family *f = NULL;
    for (size_t i = 0; i < m->n_fam && !f; i++)
        if (strcmp(m->fam[i].name, name) == 0)
            f = &m->fam[i];
    if (!f) {
        m->fam = osm_xrealloc(m->fam, (m->n_fam + 1) * sizeof *m->fam);
        f = &m->fam[m->n_fam++];
        memset(f, 0, sizeof *f);
        f->name = osm_xstrdup(name);
        f->help = osm_xstrdup(help ? help : name);
        f->kind = kind;
        if (kind == HISTOGRAM) {
            f->n_bounds = n_bounds;
            f->bounds = osm_xcalloc(n_bounds ? n_bounds : 1, sizeof *f->bounds);
            memcpy(f->bounds, bounds, n_bounds * sizeof *bounds);
        }
    }
    return f;
}

/* The series (created on first use); NULL when the family has another kind. */
static struct series *find(struct osm_metrics *m, const char *name, const char *help, enum kind kind,
                           const double *bounds, size_t n_bounds, const char *const *labels)
{
    struct family *f = family(m, name, help, kind, bounds, n_bounds);
    if (f->kind != kind)
        return NULL;
    char *key = render_labels(labels);
    for (size_t i = 0; i < f->n_series; i++)
        if (strcmp(f->series[i].labels, key) == 0) {
            free(key);
            return &f->series[i];
        }
    f->series = osm_xrealloc(f->series, (f->n_series + 1) * sizeof *f->series);
    struct series *s = &f->series[f->n_series++];
    memset(s, 0, sizeof *s);
    s->labels = key;
    if (kind == HISTOGRAM)
        s->buckets = osm_xcalloc(f->n_bounds + 1, sizeof *s->buckets);
    return s;
}

void osm_metrics_declare_counter(struct osm_metrics *m, const char *name, const char *help)
{
    pthread_mutex_lock(&m->lock);
    family(m, name, help, COUNTER, NULL, 0);
    pthread_mutex_unlock(&m->lock);
}

void osm_metrics_declare_gauge(struct osm_metrics *m, const char *name, const char *help)
{
    pthread_mutex_lock(&m->lock);
    family(m, name, help, GAUGE, NULL, 0);
    pthread_mutex_unlock(&m->lock);
}

void osm_metrics_declare_histogram(struct osm_metrics *m, const char *name, const char *help, const double *bounds,
                                   size_t n_bounds)
{
    pthread_mutex_lock(&m->lock);
    family(m, name, help, HISTOGRAM, bounds, n_bounds);
    pthread_mutex_unlock(&m->lock);
}

void osm_metrics_clear(struct osm_metrics *m, const char *name)
{
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_fam; i++) {
        struct family *f = &m->fam[i];
        if (strcmp(f->name, name) == 0)
            drop_series(f);
    }
    pthread_mutex_unlock(&m->lock);
}

void osm_metrics_counter_add(struct osm_metrics *m, const char *family, const char *help,
                             const char *const *labels, double v)
{
    pthread_mutex_lock(&m->lock);
    struct series *s = find(m, family, help, COUNTER, NULL, 0, labels);
    if (s && v > 0)
        s->value += v;
    pthread_mutex_unlock(&m->lock);
}

void osm_metrics_gauge_set(struct osm_metrics *m, const char *family, const char *help,
                           const char *const *labels, double v)
{
    pthread_mutex_lock(&m->lock);
    struct series *s = find(m, family, help, GAUGE, NULL, 0, labels);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&m->lock);
}

void osm_metrics_observe(struct osm_metrics *m, const char *family, const char *help, const double *bounds,
                         size_t n_bounds, const char *const *labels, double v)
{
    pthread_mutex_lock(&m->lock);
    struct series *s = find(m, family, help, HISTOGRAM, bounds, n_bounds, labels);
    if (s) {
        struct family *f = NULL;
        for (size_t i = 0; i < m->n_fam && !f; i++)
            if (strcmp(m->fam[i].name, family) == 0)
                f = &m->fam[i];
        size_t b = 0;
        while (b < f->n_bounds && v > f->bounds[b])
            b++;
        s->buckets[b]++;
        s->count++;
        s->value += v;
    }
    pthread_mutex_unlock(&m->lock);
}

static void add_number(struct osm_buf *b, double v)
{
    if (isinf(v))
        osm_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(long long)v && fabs(v) < 1e15)
        osm_buf_addf(b, "%lld", (long long)v);
    else
        osm_buf_addf(b, "%.9g", v);
}

/* name{labels[,extra]} */
static void add_sample(struct osm_buf *b, const char *name, const char *suffix, const char *labels, const char *extra,
                       double v)
{
    osm_buf_addf(b, "%s%s", name, suffix);
    if (labels[0] || extra)
        osm_buf_addf(b, "{%s%s%s}", labels, labels[0] && extra ? "," : "", extra ? extra : "");
    osm_buf_addc(b, ' ');
    add_number(b, v);
    osm_buf_addc(b, '\n');
}

char *osm_metrics_render(struct osm_metrics *m)
{
    static const char *const kinds[] = {"counter", "gauge", "histogram"};
    struct osm_buf b;
    osm_buf_init(&b);
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_fam; i++) {
        const struct family *f = &m->fam[i];
        osm_buf_addf(&b, "# HELP %s ", f->name);
        for (const char *h = f->help; *h; h++) { /* help escapes only \ and newline */
            if (*h == '\\')
                osm_buf_adds(&b, "\\\\");
            else if (*h == '\n')
                osm_buf_adds(&b, "\\n");
            else
                osm_buf_addc(&b, *h);
        }
        osm_buf_addf(&b, "\n# TYPE %s %s\n", f->name, kinds[f->kind]);
        for (size_t s = 0; s < f->n_series; s++) {
            const struct series *se = &f->series[s];
            if (f->kind != HISTOGRAM) {
                add_sample(&b, f->name, "", se->labels, NULL, se->value);
                continue;
            }
            uint64_t cum = 0;
            for (size_t k = 0; k <= f->n_bounds; k++) {
                cum += se->buckets[k];
                struct osm_buf le;
                osm_buf_init(&le);
                osm_buf_adds(&le, "le=\"");
                add_number(&le, k < f->n_bounds ? f->bounds[k] : INFINITY);
                osm_buf_addc(&le, '"');
                add_sample(&b, f->name, "_bucket", se->labels, le.s, (double)cum);
                osm_buf_free(&le);
            }
            add_sample(&b, f->name, "_sum", se->labels, NULL, se->value);
            add_sample(&b, f->name, "_count", se->labels, NULL, (double)se->count);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return osm_buf_detach(&b);
}
