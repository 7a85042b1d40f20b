/* plan_output.c: plan.json (docs/plan-format.md), the assessment as JSON,
 * and the assessment for people. */
#include <solv/chksum.h>
#include <solv/knownid.h>
#include <solv/solvable.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "plan_priv.h"

static const char *const action_names[] = {"install", "upgrade", "downgrade", "replace", "erase", "keep"};

const char *osm_action_name(enum osm_action_kind k)
{
    return action_names[k];
}

static void evr_parts(Pool *pool, Id evr, long *epoch, char **version, char **release)
{
    const char *s = pool_id2str(pool, evr);
    const char *colon = strchr(s, ':');
    *epoch = colon ? strtol(s, NULL, 10) : 0;
    const char *vr = colon ? colon + 1 : s;
    const char *dash = strrchr(vr, '-');
    *version = dash ? osm_xasprintf("%.*s", (int)(dash - vr), vr) : osm_xstrdup(vr);
    *release = osm_xstrdup(dash ? dash + 1 : "");
}

/* name-[epoch:]version-release.arch, as in plan.json */
static char *nevra(Pool *pool, Id p)
{
    Solvable *s = pool->solvables + p;
    return osm_xasprintf("%s-%s.%s", pool_id2str(pool, s->name), pool_id2str(pool, s->evr),
                         pool_id2str(pool, s->arch));
}

static json_t *action_json(const struct osm_plan *plan, const struct osm_action *a)
{
    Pool *pool = plan->sys->pool;
    json_t *o = json_object();
    json_object_set_new(o, "action", json_string(action_names[a->kind]));
    Id any = a->to ? a->to : a->from;
    json_object_set_new(o, "name", json_string(pool_id2str(pool, pool->solvables[any].name)));
    if (a->from) {
        char *n = nevra(pool, a->from);
        json_object_set_new(o, "from", json_string(n));
        free(n);
        const char *vendor = solvable_lookup_str(pool->solvables + a->from, SOLVABLE_VENDOR);
        if (a->kind == OSM_ACT_KEEP || a->kind == OSM_ACT_ERASE)
            json_object_set_new(o, "vendor", vendor ? json_string(vendor) : json_null());
    }
    if (a->to) {
        Solvable *s = pool->solvables + a->to;
        long epoch;
        char *version, *release;
        evr_parts(pool, s->evr, &epoch, &version, &release);
        char *to = osm_xasprintf("%s-%ld:%s-%s.%s", pool_id2str(pool, s->name), epoch, version, release,
                                 pool_id2str(pool, s->arch));
        json_object_set_new(o, "to", json_string(to));
        json_object_set_new(o, "to_epoch", json_integer(epoch));
        json_object_set_new(o, "to_version", json_string(version));
        json_object_set_new(o, "to_release", json_string(release));
        json_object_set_new(o, "to_arch", json_string(pool_id2str(pool, s->arch)));
        free(to);
        free(version);
        free(release);
        const struct osm_plan_repo *r = s->repo->appdata;
        json_object_set_new(o, "repo", json_string(r ? r->id : s->repo->name));
        unsigned int medianr;
        const char *loc = solvable_get_location(s, &medianr);
        if (loc)
            json_object_set_new(o, "location", json_string(loc));
        Id chktype = 0;
        const char *chk = solvable_lookup_checksum(s, SOLVABLE_CHECKSUM, &chktype);
        if (chk && chktype) {
            json_t *c = json_object();
            json_object_set_new(c, "type", json_string(solv_chksum_type2str(chktype)));
            json_object_set_new(c, "value", json_string(chk));
            json_object_set_new(o, "checksum", c);
        }
        json_object_set_new(o, "download_size", json_integer((json_int_t)solvable_lookup_num(s, SOLVABLE_DOWNLOADSIZE, 0)));
        json_object_set_new(o, "installed_size", json_integer((json_int_t)solvable_lookup_num(s, SOLVABLE_INSTALLSIZE, 0)));
        if (plan->stream_of && plan->stream_of[a->to])
            json_object_set_new(o, "module", json_string(plan->stream_of[a->to]->label));
    }
    json_object_set_new(o, "reason", json_string(a->reason));
    return o;
}

static json_t *strings(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *findings_json(const struct osm_plan *plan, int inhibitors)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < plan->n_findings; i++) {
        const struct osm_finding *f = &plan->findings[i];
        if (f->inhibitor != inhibitors)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(f->id));
        json_object_set_new(o, "summary", json_string(f->summary));
        json_object_set_new(o, "remediation", json_string(f->remediation));
        json_object_set_new(o, "items", strings(f->items, f->n_items));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *summary_json(const struct osm_plan *plan)
{
    size_t counts[6] = {0};
    for (size_t i = 0; i < plan->n_actions; i++)
        counts[plan->actions[i].kind]++;
    json_t *o = json_object();
    for (int k = 0; k < 6; k++)
        json_object_set_new(o, action_names[k], json_integer((json_int_t)counts[k]));
    json_object_set_new(o, "download_size", json_integer(plan->download_size));
    json_object_set_new(o, "installed_size_delta", json_integer(plan->installed_size_delta));
    return o;
}

static json_t *header_json(const struct osm_plan *plan, const char *instance)
{
    const struct osm_linux_system *sys = plan->sys;
    json_t *o = json_object();
    json_object_set_new(o, "instance", json_string(instance));
    json_t *src = json_object();
    json_object_set_new(src, "id", json_string(sys->os.id));
    json_object_set_new(src, "version", json_string(sys->os.full_version));
    json_object_set_new(src, "name", json_string(sys->os.name));
    json_object_set_new(src, "arch", json_string(sys->arch));
    json_object_set_new(o, "source", src);
    json_t *tgt = json_object();
    json_object_set_new(tgt, "id", json_string(plan->target->id));
    json_object_set_new(tgt, "name", json_string(plan->target->name));
    if (plan->target->release_package)
        json_object_set_new(tgt, "release_package", json_string(plan->target->release_package));
    if (plan->target->os_id)
        json_object_set_new(tgt, "os_id", json_string(plan->target->os_id));
    if (plan->target->version)
        json_object_set_new(tgt, "version", json_string(plan->target->version));
    json_object_set_new(o, "target", tgt);
    return o;
}

/* The enabled module streams, once each, and why. */
static json_t *modules_json(const struct osm_plan *plan)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < plan->modules.n; i++) {
        const struct osm_module_stream *m = &plan->modules.v[i];
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(plan->modules.v[k].label, m->label) == 0;
        if (!m->enabled || seen)
            continue;
        json_t *mo = json_object();
        json_object_set_new(mo, "name", json_string(m->name));
        json_object_set_new(mo, "stream", json_string(m->stream));
        json_object_set_new(mo, "enabled_by", json_string(m->enabled_by));
        json_array_append_new(arr, mo);
    }
    return arr;
}

/* Directories to make real before the transaction (plan_symlinks.c). */
static json_t *symlinked_dirs_json(const struct osm_plan *plan)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < plan->n_symlinked_dirs; i++) {
        const struct osm_symlinked_dir *d = &plan->symlinked_dirs[i];
        json_array_append_new(arr, json_pack("{s:s*,s:s*,s:s*,s:s?}", "path", d->path, "target", d->target, "owner",
                                             d->owner, "source_owner", d->source_owner));
    }
    return arr;
}

json_t *osm_plan_json(const struct osm_plan *plan, const char *instance)
{
    json_t *o = json_object();
    json_object_set_new(o, "osmig_plan", json_integer(1));
    json_t *head = header_json(plan, instance);
    json_object_update(o, head);
    json_decref(head);
    json_t *repos = json_array();
    for (size_t i = 0; i < plan->n_repos; i++) {
        const struct osm_plan_repo *r = &plan->repos[i];
        json_array_append_new(repos, json_pack("{s:s*,s:s*,s:b,s:o}", "id", r->id, "baseurl", r->baseurl, "gpgcheck",
                                               r->gpgcheck, "gpgkeys", strings(r->gpgkeys, r->n_gpgkeys)));
    }
    json_object_set_new(o, "repos", repos);
    if (plan->n_allow_erase) {
        /* What the user accepted: migrate plans again with the same. */
        json_t *opts = json_object();
        json_object_set_new(opts, "allow_erase", strings(plan->allow_erase, plan->n_allow_erase));
        json_object_set_new(o, "options", opts);
    }
    json_object_set_new(o, "modules", modules_json(plan));
    json_object_set_new(o, "resolved", json_boolean(plan->resolved));
    json_t *actions = json_array();
    for (size_t i = 0; i < plan->n_actions; i++)
        json_array_append_new(actions, action_json(plan, &plan->actions[i]));
    json_object_set_new(o, "actions", actions);
    if (plan->n_symlinked_dirs)
        json_object_set_new(o, "symlinked_dirs", symlinked_dirs_json(plan));
    json_object_set_new(o, "summary", summary_json(plan));
    json_object_set_new(o, "inhibitors", findings_json(plan, 1));
    json_object_set_new(o, "warnings", findings_json(plan, 0));
    return o;
}

json_t *osm_assess_json(const struct osm_plan *plan, const char *instance)
{
    json_t *o = header_json(plan, instance);
    json_object_set_new(o, "migratable", json_boolean(!osm_plan_inhibited(plan)));
    json_object_set_new(o, "inhibitors", findings_json(plan, 1));
    json_object_set_new(o, "warnings", findings_json(plan, 0));
    json_object_set_new(o, "summary", summary_json(plan));
    return o;
}

static void print_findings(FILE *f_out, const struct osm_plan *plan, int inhibitors)
{
    int any = 0;
    for (size_t i = 0; i < plan->n_findings; i++) {
        const struct osm_finding *f = &plan->findings[i];
        if (f->inhibitor != inhibitors)
            continue;
        if (!any)
            fprintf(f_out, "\n%s:\n", inhibitors ? "INHIBITORS (the migration cannot proceed)" : "Warnings");
        any = 1;
        fprintf(f_out, "  [%s] %s\n", f->id, f->summary);
        size_t shown = f->n_items < 20 ? f->n_items : 20;
        for (size_t k = 0; k < shown; k++)
            fprintf(f_out, "      - %s\n", f->items[k]);
        if (f->n_items > shown)
            fprintf(f_out, "      ... and %zu more (--json lists all)\n", f->n_items - shown);
        fprintf(f_out, "      Remediation: %s\n", f->remediation);
    }
}

static void human_size(int64_t bytes, char *out, size_t cap)
{
    double v = (double)(bytes < 0 ? -bytes : bytes);
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, cap, "%s%.1f %s", bytes < 0 ? "-" : "", v, unit[u]);
}

void osm_assess_print(FILE *f, const struct osm_plan *plan, const char *instance)
{
    const struct osm_linux_system *sys = plan->sys;
    fprintf(f, "Assessment of %s\n", instance);
    fprintf(f, "  Source: %s (%s %s, %s)\n", sys->os.name, sys->os.id, sys->os.full_version, sys->arch);
    fprintf(f, "  Target: %s (%s)\n", plan->target->name, plan->target->id);
    print_findings(f, plan, 1);
    print_findings(f, plan, 0);
    size_t counts[6] = {0};
    for (size_t i = 0; i < plan->n_actions; i++)
        counts[plan->actions[i].kind]++;
    char dl[32], delta[32];
    human_size(plan->download_size, dl, sizeof dl);
    human_size(plan->installed_size_delta, delta, sizeof delta);
    fprintf(f, "\nPackage changes%s:\n", plan->resolved ? "" : " (partial: the solver found problems)");
    fprintf(f, "  %zu upgrade, %zu install, %zu replace, %zu downgrade, %zu erase, %zu keep\n", counts[OSM_ACT_UPGRADE],
            counts[OSM_ACT_INSTALL], counts[OSM_ACT_REPLACE], counts[OSM_ACT_DOWNGRADE], counts[OSM_ACT_ERASE],
            counts[OSM_ACT_KEEP]);
    fprintf(f, "  download %s, installed size change %s\n", dl, delta);
    fprintf(f, "\nResult: %s\n", osm_plan_inhibited(plan) ? "INHIBITED: fix the inhibitors above and assess again"
                                                         : "the instance can be migrated");
}
