/* metrics: counters, gauges and histograms with labels, rendered in the
 * Prometheus text format (0.0.4). Thread-safe: every call takes the
 * registry's lock, so API threads and workers update it at once.
 *
 * A series is named by its family and its label pairs, given as a
 * NULL-terminated array {"route", "/v1/jobs", "status", "201", NULL}.
 * Families keep the order of their first use; a family's type and help are
 * fixed at first use (a later use with another type is ignored). Label
 * values are escaped when rendered. */
#ifndef OSM_METRICS_H
#define OSM_METRICS_H

#include <stddef.h>

struct osm_metrics;

struct osm_metrics *osm_metrics_new(void);
void osm_metrics_free(struct osm_metrics *m);

void osm_metrics_counter_add(struct osm_metrics *m, const char *family, const char *help,
                             const char *const *labels, double v);
void osm_metrics_gauge_set(struct osm_metrics *m, const char *family, const char *help,
                           const char *const *labels, double v);
/* Observe v in a histogram with the given upper bounds (ascending; +Inf is
 * implied). The bounds of a family are those of its first observation. */
void osm_metrics_observe(struct osm_metrics *m, const char *family, const char *help, const double *bounds,
                         size_t n_bounds, const char *const *labels, double v);

/* Make a family known with no series yet, so that its HELP and TYPE are
 * rendered before its first sample (a histogram's bounds given here). */
void osm_metrics_declare_counter(struct osm_metrics *m, const char *family, const char *help);
void osm_metrics_declare_gauge(struct osm_metrics *m, const char *family, const char *help);
void osm_metrics_declare_histogram(struct osm_metrics *m, const char *family, const char *help, const double *bounds,
                                   size_t n_bounds);
/* Forget every series of a family (a gauge read afresh at each scrape). */
void osm_metrics_clear(struct osm_metrics *m, const char *family);

/* Default bounds for durations in seconds: 5 ms .. 1 h. */
extern const double osm_metrics_seconds_bounds[];
extern const size_t osm_metrics_n_seconds_bounds;

/* The text exposition of every family (caller frees). */
char *osm_metrics_render(struct osm_metrics *m);

#endif
