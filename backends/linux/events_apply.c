/* events_apply.c: replaying package events over an installed set, the way
 * Leapp's PES events scanner does:
 *
 *  1. keep the events for this architecture (no architectures: all) whose
 *     release is after the source and at most the target;
 *  2. of events with the same initial release and the same in-packages,
 *     keep the one with the latest release when there is exactly one;
 *  3. for each release in order, apply its events against the set as it
 *     was when the release began: Present puts back in-packages seen on the
 *     way; Deprecated marks (Leapp also adds all its in-packages); Merged
 *     needs any of its in-packages installed, the others need all; applying
 *     takes the in-packages out and puts the out-packages in;
 *  4. then osmig's events without a release ("at the target": a change of
 *     vendor such as centos-release -> alinux-release), as one last step;
 *  5. compare names before and after.
 *
 * A package is its name plus its module stream: an installed name written
 * "NAME@MODULE:STREAM" is a package installed from that stream, which is
 * what a modular event's in-package must match. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events_priv.h"
#include "osm_buf.h"

struct key {
    const char *name, *module, *stream;
};

static int strcmp_null(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int key_cmp(const void *pa, const void *pb)
{
    const struct key *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    if (!c)
        c = strcmp_null(a->module, b->module);
    if (!c)
        c = strcmp_null(a->stream, b->stream);
    return c;
}

/* An event retained for the replay, with its packages as key indices. */
struct step {
    const struct osm_event *ev;
    int to_major, to_minor; /* the release it is applied at; INT_MAX: at the target */
    size_t *in, *out;
    int dropped;
};

struct replay {
    struct key *keys;
    size_t n_keys;
    unsigned char *present, *snap, *seen, *src;
    const struct osm_event **removed_by, **added_by, **deprecated_by;
    /* For each key, the source packages it descends from: a bitset over the
     * source keys (src_ord), allocated when an event first brings it in. */
    uint64_t **from;
    size_t *src_ord;
    size_t n_src, words;
};

static size_t key_index(const struct replay *r, const char *name, const char *module, const char *stream)
{
    struct key k = {name, module, stream};
    const struct key *hit = bsearch(&k, r->keys, r->n_keys, sizeof k, key_cmp);
    return (size_t)(hit - r->keys); /* every key was collected beforehand */
}

static int release_cmp(int ma, int mi, int mb, int nb)
{
    return ma != mb ? (ma < mb ? -1 : 1) : (mi != nb ? (mi < nb ? -1 : 1) : 0);
}

static int arch_matches(const struct osm_event *ev, const char *arch)
{
    if (ev->n_arches == 0)
        return 1;
    for (size_t i = 0; i < ev->n_arches; i++)
        if (strcmp(ev->arches[i], arch) == 0)
            return 1;
    return 0;
}

static int size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Order steps by (initial release, in-packages) to find Leapp's "same in
 * packages, same initial release" groups. */
static int step_group_cmp(const void *pa, const void *pb)
{
    const struct step *a = *(const struct step *const *)pa, *b = *(const struct step *const *)pb;
    int c = release_cmp(a->ev->from_major, a->ev->from_minor, b->ev->from_major, b->ev->from_minor);
    if (c)
        return c;
    if (a->ev->n_in != b->ev->n_in)
        return a->ev->n_in < b->ev->n_in ? -1 : 1;
    for (size_t i = 0; i < a->ev->n_in; i++)
        if (a->in[i] != b->in[i])
            return a->in[i] < b->in[i] ? -1 : 1;
    return 0;
}

static void drop_shadowed(struct step *steps, size_t n)
{
    struct step **order = osm_xcalloc(n + 1, sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = &steps[i];
    qsort(order, n, sizeof *order, step_group_cmp);
    for (size_t g = 0; g < n;) {
        size_t end = g + 1;
        while (end < n && step_group_cmp(&order[g], &order[end]) == 0)
            end++;
        if (end - g > 1) {
            struct step *best = order[g];
            size_t n_best = 1;
            for (size_t i = g + 1; i < end; i++) {
                int c = release_cmp(order[i]->to_major, order[i]->to_minor, best->to_major, best->to_minor);
                if (c > 0) {
                    best = order[i];
                    n_best = 1;
                } else if (c == 0) {
                    n_best++;
                }
            }
            if (n_best == 1)
                for (size_t i = g; i < end; i++)
                    order[i]->dropped = order[i] != best;
        }
        g = end;
    }
    free(order);
}

static void from_union(struct replay *r, size_t dst, const uint64_t *bits)
{
    if (!bits)
        return;
    if (!r->from[dst])
        r->from[dst] = osm_xcalloc(r->words, sizeof **r->from);
    for (size_t w = 0; w < r->words; w++)
        r->from[dst][w] |= bits[w];
}

static void apply_step(struct replay *r, const struct step *s)
{
    const struct osm_event *ev = s->ev;
    if (ev->action == OSM_EV_PRESENT) {
        for (size_t i = 0; i < ev->n_in; i++)
            if (r->seen[s->in[i]] && !r->present[s->in[i]]) {
                r->present[s->in[i]] = 1;
                r->added_by[s->in[i]] = ev;
            }
        return;
    }
    size_t hits = 0;
    for (size_t i = 0; i < ev->n_in; i++)
        hits += r->snap[s->in[i]];
    if (ev->action == OSM_EV_DEPRECATED) {
        if (!hits)
            return;
        for (size_t i = 0; i < ev->n_in; i++) {
            size_t k = s->in[i];
            if (!r->present[k])
                r->added_by[k] = ev; /* Leapp adds every in-package of the event */
            r->present[k] = 1;
            r->deprecated_by[k] = ev;
        }
        return;
    }
    if (!(hits == ev->n_in || (ev->action == OSM_EV_MERGED && hits > 0)))
        return;
    uint64_t *lineage = osm_xcalloc(r->words ? r->words : 1, sizeof *lineage);
    for (size_t i = 0; i < ev->n_in; i++) {
        size_t k = s->in[i];
        if (r->present[k]) {
            if (r->src[k])
                lineage[r->src_ord[k] / 64] |= UINT64_C(1) << (r->src_ord[k] % 64);
            if (r->from[k])
                for (size_t w = 0; w < r->words; w++)
                    lineage[w] |= r->from[k][w];
            r->removed_by[k] = ev; /* the last removal is the one that counts */
        }
        r->present[k] = 0;
    }
    for (size_t i = 0; i < ev->n_out; i++) {
        size_t k = s->out[i];
        r->present[k] = 1;
        r->added_by[k] = ev;
        from_union(r, k, lineage);
    }
    free(lineage);
}

static int step_apply_order(const void *pa, const void *pb)
{
    const struct step *a = pa, *b = pb;
    int c = release_cmp(a->to_major, a->to_minor, b->to_major, b->to_minor);
    if (c)
        return c;
    return (a->ev > b->ev) - (a->ev < b->ev); /* events sit in load order in one array */
}

/* Comma-separated names of the keys [0, n) for which pick() holds, each
 * name once (keys are sorted by name, so repeats are adjacent). */
static char *names_where(const struct replay *r, int (*pick)(const struct replay *, size_t, const void *),
                         const void *arg)
{
    struct osm_buf b;
    osm_buf_init(&b);
    const char *last = NULL;
    for (size_t k = 0; k < r->n_keys; k++) {
        if (!pick(r, k, arg) || (last && strcmp(last, r->keys[k].name) == 0))
            continue;
        if (b.len)
            osm_buf_addc(&b, ',');
        osm_buf_adds(&b, r->keys[k].name);
        last = r->keys[k].name;
    }
    if (!b.len) {
        osm_buf_free(&b);
        return NULL;
    }
    return osm_buf_detach(&b);
}

struct group {
    size_t lo, hi;
};

/* Keys now present that descend from a source key of the group. */
static int pick_heirs(const struct replay *r, size_t k, const void *arg)
{
    const struct group *g = arg;
    if (!r->present[k] || !r->from[k])
        return 0;
    for (size_t i = g->lo; i < g->hi; i++)
        if (r->src[i] && (r->from[k][r->src_ord[i] / 64] >> (r->src_ord[i] % 64) & 1))
            return 1;
    return 0;
}

/* Source keys the group's present keys descend from. */
static int pick_ancestors(const struct replay *r, size_t k, const void *arg)
{
    const struct group *g = arg;
    if (!r->src[k])
        return 0;
    for (size_t i = g->lo; i < g->hi; i++)
        if (r->present[i] && r->from[i] && (r->from[i][r->src_ord[k] / 64] >> (r->src_ord[k] % 64) & 1))
            return 1;
    return 0;
}

static void add_change(struct osm_event_result *res, enum osm_change_kind kind, const char *name, char *related,
                       const struct osm_event *ev)
{
    res->changes = osm_xrealloc(res->changes, (res->n + 1) * sizeof *res->changes);
    res->changes[res->n++] = (struct osm_event_change){kind, osm_xstrdup(name), related, ev};
}

/* Compare names before and after, in name order. */
static void collect_changes(const struct replay *r, struct osm_event_result *res)
{
    for (size_t lo = 0; lo < r->n_keys;) {
        struct group g = {lo, lo + 1};
        while (g.hi < r->n_keys && strcmp(r->keys[g.hi].name, r->keys[lo].name) == 0)
            g.hi++;
        const struct osm_event *removed = NULL, *added = NULL, *deprecated = NULL;
        int before = 0, after = 0;
        for (size_t k = g.lo; k < g.hi; k++) {
            before |= r->src[k];
            after |= r->present[k];
            if (r->src[k] && !removed)
                removed = r->removed_by[k];
            if (r->present[k] && !added)
                added = r->added_by[k];
            if (r->present[k] && !deprecated)
                deprecated = r->deprecated_by[k];
        }
        const char *name = r->keys[lo].name;
        if (before && !after)
            add_change(res, OSM_CHANGE_REMOVE, name, names_where(r, pick_heirs, &g), removed);
        else if (!before && after)
            add_change(res, OSM_CHANGE_INSTALL, name, names_where(r, pick_ancestors, &g), added);
        else if (before && after && deprecated)
            add_change(res, OSM_CHANGE_DEPRECATED, name, NULL, deprecated);
        lo = g.hi;
    }
}

/* Split "NAME@MODULE:STREAM" (or "NAME") into a key; `buf` holds the parts. */
static int installed_key(const char *s, char **buf, struct key *k)
{
    const char *at = strchr(s, '@');
    if (!at) {
        *buf = NULL;
        *k = (struct key){s, NULL, NULL};
        return *s ? 0 : -1;
    }
    const char *colon = strchr(at, ':');
    if (at == s || !colon || colon == at + 1 || !colon[1])
        return -1;
    *buf = osm_xstrdup(s);
    char *b = *buf;
    b[at - s] = '\0';
    b[colon - s] = '\0';
    *k = (struct key){b, b + (at - s) + 1, b + (colon - s) + 1};
    return 0;
}

/* The keys of the installed names; `bufs[i]` holds the split-up copy of a
 * modular name. */
static int installed_keys(const char *const *installed, size_t n, struct key *keys, char **bufs,
                          struct osm_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (!installed[i] || installed_key(installed[i], &bufs[i], &keys[i]) < 0)
            return osm_err_set(err, OSM_EINPUT,
                               "applying package events: installed package %zu: \"%s\" is not NAME or "
                               "NAME@MODULE:STREAM",
                               i, installed[i] ? installed[i] : "(null)");
    return 0;
}

/* Step 1: the events of this architecture and release window. */
static size_t select_steps(const struct osm_eventset *set, int src_major, int src_minor, int dst_major,
                           int dst_minor, const char *arch, struct step *steps)
{
    size_t n = 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct osm_event *ev = &set->ev[i];
        int to_ma = ev->to_major, to_mi = ev->to_minor;
        if (to_ma == OSM_EV_AT_TARGET) {
            /* After every release: a vendor swap sees the final EL set. */
            to_ma = to_mi = INT_MAX;
        } else if (release_cmp(to_ma, to_mi, src_major, src_minor) <= 0 ||
                   release_cmp(to_ma, to_mi, dst_major, dst_minor) > 0) {
            continue;
        }
        if (arch_matches(ev, arch))
            steps[n++] = (struct step){ev, to_ma, to_mi, NULL, NULL, 0};
    }
    return n;
}

/* Every package the installed set and the steps name, sorted, once; then
 * the state arrays over them, and each step's packages as key indices. */
static void replay_init(struct replay *r, const struct key *inst, size_t n_installed, struct step *steps,
                        size_t n_steps)
{
    size_t n_keys = n_installed;
    for (size_t s = 0; s < n_steps; s++)
        n_keys += steps[s].ev->n_in + steps[s].ev->n_out;
    r->keys = osm_xcalloc(n_keys + 1, sizeof *r->keys);
    memcpy(r->keys, inst, n_installed * sizeof *inst);
    r->n_keys = n_installed;
    for (size_t s = 0; s < n_steps; s++) {
        const struct osm_event *ev = steps[s].ev;
        for (size_t i = 0; i < ev->n_in; i++)
            r->keys[r->n_keys++] = (struct key){ev->in[i].name, ev->in[i].module, ev->in[i].stream};
        for (size_t i = 0; i < ev->n_out; i++)
            r->keys[r->n_keys++] = (struct key){ev->out[i].name, ev->out[i].module, ev->out[i].stream};
    }
    qsort(r->keys, r->n_keys, sizeof *r->keys, key_cmp);
    size_t uniq = 0;
    for (size_t i = 0; i < r->n_keys; i++)
        if (uniq == 0 || key_cmp(&r->keys[uniq - 1], &r->keys[i]) != 0)
            r->keys[uniq++] = r->keys[i];
    r->n_keys = uniq;

    size_t nk = r->n_keys + 1;
    r->present = osm_xcalloc(nk, 1);
    r->snap = osm_xcalloc(nk, 1);
    r->seen = osm_xcalloc(nk, 1);
    r->src = osm_xcalloc(nk, 1);
    r->removed_by = osm_xcalloc(nk, sizeof *r->removed_by);
    r->added_by = osm_xcalloc(nk, sizeof *r->added_by);
    r->deprecated_by = osm_xcalloc(nk, sizeof *r->deprecated_by);
    r->from = osm_xcalloc(nk, sizeof *r->from);
    r->src_ord = osm_xcalloc(nk, sizeof *r->src_ord);
    for (size_t i = 0; i < n_installed; i++) {
        size_t k = key_index(r, inst[i].name, inst[i].module, inst[i].stream);
        r->src[k] = r->present[k] = r->seen[k] = 1;
    }
    for (size_t k = 0; k < r->n_keys; k++)
        if (r->src[k])
            r->src_ord[k] = r->n_src++;
    r->words = (r->n_src + 63) / 64;

    for (size_t s = 0; s < n_steps; s++) {
        const struct osm_event *ev = steps[s].ev;
        steps[s].in = osm_xcalloc(ev->n_in + 1, sizeof *steps[s].in);
        steps[s].out = osm_xcalloc(ev->n_out + 1, sizeof *steps[s].out);
        for (size_t i = 0; i < ev->n_in; i++)
            steps[s].in[i] = key_index(r, ev->in[i].name, ev->in[i].module, ev->in[i].stream);
        for (size_t i = 0; i < ev->n_out; i++)
            steps[s].out[i] = key_index(r, ev->out[i].name, ev->out[i].module, ev->out[i].stream);
        qsort(steps[s].in, ev->n_in, sizeof *steps[s].in, size_cmp);
    }
}

static void replay_free(struct replay *r)
{
    for (size_t i = 0; i < r->n_keys; i++)
        free(r->from[i]);
    osm_free_all(r->from, r->src_ord, r->present, r->snap, r->seen, r->src, r->removed_by, r->added_by,
                 r->deprecated_by, r->keys);
}

/* Step 2: shadowed events out; then release order, file order within a
 * release. Returns the number of steps left. */
static size_t order_steps(struct step *steps, size_t n_steps)
{
    drop_shadowed(steps, n_steps);
    size_t kept = 0;
    for (size_t s = 0; s < n_steps; s++) {
        if (steps[s].dropped) {
            free(steps[s].in);
            free(steps[s].out);
        } else {
            steps[kept++] = steps[s];
        }
    }
    qsort(steps, kept, sizeof *steps, step_apply_order);
    return kept;
}

/* Steps 3 and 4: release by release (the at-target steps last), each
 * release against the set as it began. */
static void replay_releases(struct replay *r, const struct step *steps, size_t n_steps)
{
    for (size_t s = 0; s < n_steps;) {
        size_t end = s;
        memcpy(r->snap, r->present, r->n_keys);
        while (end < n_steps && release_cmp(steps[end].to_major, steps[end].to_minor, steps[s].to_major,
                                            steps[s].to_minor) == 0)
            apply_step(r, &steps[end++]);
        for (size_t k = 0; k < r->n_keys; k++)
            r->seen[k] |= r->present[k];
        s = end;
    }
}

int osm_events_apply(const struct osm_eventset *set, const char *const *installed, size_t n_installed,
                     int src_major, int src_minor, int dst_major, int dst_minor, const char *arch,
                     struct osm_event_result *out, struct osm_err *err)
{
    out->changes = NULL;
    out->n = 0;
    if (!arch || !*arch)
        return osm_err_set(err, OSM_EUSAGE, "applying package events: no architecture given");
    if (n_installed && !installed)
        return osm_err_set(err, OSM_EUSAGE, "applying package events: no installed packages given");

    char **bufs = osm_xcalloc(n_installed + 1, sizeof *bufs);
    struct key *inst = osm_xcalloc(n_installed + 1, sizeof *inst);
    int rc = installed_keys(installed, n_installed, inst, bufs, err);
    if (rc == 0) {
        struct step *steps = osm_xcalloc(set->n + 1, sizeof *steps);
        size_t n_steps = select_steps(set, src_major, src_minor, dst_major, dst_minor, arch, steps);
        struct replay r = {0};
        replay_init(&r, inst, n_installed, steps, n_steps);
        n_steps = order_steps(steps, n_steps);
        replay_releases(&r, steps, n_steps);
        collect_changes(&r, out); /* step 5 */
        for (size_t s = 0; s < n_steps; s++) {
            free(steps[s].in);
            free(steps[s].out);
        }
        free(steps);
        replay_free(&r);
    }
    osm_free_strv(bufs, n_installed);
    free(inst);
    return rc;
}

void osm_event_result_free(struct osm_event_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n; i++)
        osm_free_all(res->changes[i].name, res->changes[i].related);
    free(res->changes);
    res->changes = NULL;
    res->n = 0;
}
