/* modules.c: see modules.h. */
#include "modules.h"

#include <solv/repo.h>
#include <solv/solv_xfopen.h>
#include <solv/solvable.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "osm_buf.h"
#include "rpmdb.h"

static void add_default(struct osm_modules *m, const char *module, const char *stream);
static struct osm_module_stream *add_stream(struct osm_modules *m, const char *name, const char *stream);

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(doc, pr->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, pr->value);
    }
    return NULL;
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* One document: a stream with its artifacts, or a module's default stream.
 * Other documents (translations, obsoletes) say nothing about availability. */
static int read_document(struct osm_modules *m, yaml_document_t *doc, const char *path, struct osm_err *err)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    const char *kind = scalar(map_get(doc, root, "document"));
    yaml_node_t *data = map_get(doc, root, "data");
    if (!kind)
        return osm_err_set(err, OSM_EINPUT, "%s: line %zu: a document without 'document:'", path,
                           root ? root->start_mark.line + 1 : 0);
    if (strcmp(kind, "modulemd-defaults") == 0) {
        const char *module = scalar(map_get(doc, data, "module"));
        const char *stream = scalar(map_get(doc, data, "stream"));
        if (!module)
            return osm_err_set(err, OSM_EINPUT, "%s: line %zu: modulemd-defaults without data.module", path,
                               root->start_mark.line + 1);
        if (!stream)
            return 0; /* profiles only: no default stream */
        add_default(m, module, stream);
        return 0;
    }
    if (strcmp(kind, "modulemd") != 0)
        return 0;
    const char *name = scalar(map_get(doc, data, "name"));
    const char *stream = scalar(map_get(doc, data, "stream"));
    if (!name || !stream)
        return osm_err_set(err, OSM_EINPUT, "%s: line %zu: modulemd without data.name and data.stream", path,
                           root->start_mark.line + 1);
    struct osm_module_stream *s = add_stream(m, name, stream);
    yaml_node_t *rpms = map_get(doc, map_get(doc, data, "artifacts"), "rpms");
    if (rpms && rpms->type == YAML_SEQUENCE_NODE) {
        size_t n = (size_t)(rpms->data.sequence.items.top - rpms->data.sequence.items.start);
        s->rpms = osm_xcalloc(n + 1, sizeof *s->rpms);
        for (yaml_node_item_t *it = rpms->data.sequence.items.start; it < rpms->data.sequence.items.top; it++) {
            const char *a = scalar(yaml_document_get_node(doc, *it));
            if (a)
                s->rpms[s->n_rpms++] = osm_xstrdup(a);
        }
    }
    return 0;
}

static int read_yaml(struct osm_modules *m, const char *path, struct osm_err *err)
{
    FILE *fp = solv_xfopen(path, "r");
    if (!fp)
        return osm_err_errno(err, "%s", path);
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, fp);
    int rc = 0;
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            rc = osm_err_set(err, OSM_EINPUT, "%s: line %zu: malformed YAML: %s", path,
                             parser.problem_mark.line + 1, parser.problem ? parser.problem : "parse error");
            break;
        }
        if (!yaml_document_get_root_node(&doc)) {
            yaml_document_delete(&doc);
            break; /* the end of the stream */
        }
        rc = read_document(m, &doc, path, err);
        yaml_document_delete(&doc);
        if (rc != 0)
            break;
    }
    yaml_parser_delete(&parser);
    fclose(fp);
    return rc;
}

/* The compact form: what a plan needs of modules.yaml, a few lines per
 * stream, read far faster than the YAML (which is mostly descriptions). */
#define COMPACT_MAGIC "osmig-modules 1"

static void add_default(struct osm_modules *m, const char *module, const char *stream)
{
    m->def_module = osm_xrealloc(m->def_module, (m->n_defaults + 1) * sizeof *m->def_module);
    m->def_stream = osm_xrealloc(m->def_stream, (m->n_defaults + 1) * sizeof *m->def_stream);
    m->def_module[m->n_defaults] = osm_xstrdup(module);
    m->def_stream[m->n_defaults++] = osm_xstrdup(stream);
}

static struct osm_module_stream *add_stream(struct osm_modules *m, const char *name, const char *stream)
{
    m->v = osm_xrealloc(m->v, (m->n + 1) * sizeof *m->v);
    struct osm_module_stream *s = &m->v[m->n++];
    memset(s, 0, sizeof *s);
    s->name = osm_xstrdup(name);
    s->stream = osm_xstrdup(stream);
    s->label = osm_xasprintf("%s:%s", name, stream);
    return s;
}

static int read_compact(struct osm_modules *m, const char *path)
{
    FILE *fp = fopen(path, "re");
    if (!fp)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ok = (len = getline(&line, &cap, fp)) > 0 && strncmp(line, COMPACT_MAGIC "\n", (size_t)len) == 0;
    struct osm_module_stream *cur = NULL;
    while (ok && (len = getline(&line, &cap, fp)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        char *a = line + 2, *b = strchr(a, ' ');
        if (len < 3 || line[1] != ' ') {
            ok = 0;
        } else if (line[0] == 'A' && cur) {
            cur->rpms = osm_xrealloc(cur->rpms, (cur->n_rpms + 1) * sizeof *cur->rpms);
            cur->rpms[cur->n_rpms++] = osm_xstrdup(a);
        } else if ((line[0] == 'S' || line[0] == 'D') && b) {
            *b = '\0';
            if (line[0] == 'D')
                add_default(m, a, b + 1);
            else
                cur = add_stream(m, a, b + 1);
        } else {
            ok = 0;
        }
    }
    ok = ok && !ferror(fp);
    free(line);
    fclose(fp);
    return ok ? 0 : -1;
}

static void write_compact(const struct osm_modules *m, size_t from_stream, size_t from_default, const char *path)
{
    char *tmp = osm_xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "we");
    if (!fp) {
        free(tmp);
        return;
    }
    fprintf(fp, "%s\n", COMPACT_MAGIC);
    for (size_t i = from_default; i < m->n_defaults; i++)
        fprintf(fp, "D %s %s\n", m->def_module[i], m->def_stream[i]);
    for (size_t i = from_stream; i < m->n; i++) {
        fprintf(fp, "S %s %s\n", m->v[i].name, m->v[i].stream);
        for (size_t k = 0; k < m->v[i].n_rpms; k++)
            fprintf(fp, "A %s\n", m->v[i].rpms[k]);
    }
    int ok = fclose(fp) == 0;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
    free(tmp);
}

static int has_space(const struct osm_modules *m, size_t from_stream, size_t from_default)
{
    for (size_t i = from_default; i < m->n_defaults; i++)
        if (strchr(m->def_module[i], ' ') || strchr(m->def_stream[i], ' '))
            return 1;
    for (size_t i = from_stream; i < m->n; i++)
        if (strchr(m->v[i].name, ' ') || strchr(m->v[i].stream, ' '))
            return 1;
    return 0;
}

int osm_modules_read(struct osm_modules *m, const char *path, const char *compact, struct osm_err *err)
{
    size_t n0 = m->n, d0 = m->n_defaults;
    if (compact && read_compact(m, compact) == 0)
        return 0;
    /* A damaged compact file counts as absent: drop what it added. */
    struct osm_modules added = {m->v + n0, m->n - n0, m->def_module + d0, m->def_stream + d0, m->n_defaults - d0};
    for (size_t i = 0; i < added.n; i++) {
        free(added.v[i].name);
        free(added.v[i].stream);
        free(added.v[i].label);
        for (size_t k = 0; k < added.v[i].n_rpms; k++)
            free(added.v[i].rpms[k]);
        free(added.v[i].rpms);
    }
    for (size_t i = 0; i < added.n_defaults; i++) {
        free(added.def_module[i]);
        free(added.def_stream[i]);
    }
    m->n = n0;
    m->n_defaults = d0;
    if (read_yaml(m, path, err) != 0)
        return -1;
    if (compact && !has_space(m, n0, d0))
        write_compact(m, n0, d0, compact);
    return 0;
}

void osm_modules_free(struct osm_modules *m)
{
    for (size_t i = 0; i < m->n; i++) {
        osm_free_all(m->v[i].name, m->v[i].stream, m->v[i].label);
        osm_free_strv(m->v[i].rpms, m->v[i].n_rpms);
    }
    free(m->v);
    osm_free_strv(m->def_module, m->n_defaults);
    osm_free_strv(m->def_stream, m->n_defaults);
    memset(m, 0, sizeof *m);
}

/* name-epoch:version-release.arch -> the ids of name, evr (libsolv's form:
 * no "0:") and arch; 0 when the pool does not know one of them. */
static Id artifact_ids(Pool *pool, const char *a, Id *evr, Id *arch)
{
    const char *dot = strrchr(a, '.');
    const char *rel = NULL, *ver = NULL;
    for (const char *c = dot ? dot - 1 : NULL; c && c > a; c--)
        if (*c == '-') {
            if (!rel)
                rel = c;
            else {
                ver = c;
                break;
            }
        }
    if (!dot || !ver)
        return 0;
    const char *colon = memchr(ver + 1, ':', (size_t)(rel - ver - 1));
    char *evrs = colon && !(colon - ver - 1 == 1 && ver[1] == '0')
                     ? osm_xasprintf("%.*s", (int)(dot - ver - 1), ver + 1)
                     : osm_xasprintf("%.*s", (int)(dot - (colon ? colon + 1 : ver + 1)), colon ? colon + 1 : ver + 1);
    Id name = pool_strn2id(pool, a, (unsigned int)(ver - a), 0);
    *evr = pool_str2id(pool, evrs, 0);
    *arch = pool_str2id(pool, dot + 1, 0);
    free(evrs);
    return *evr && *arch ? name : 0;
}

static void enable(struct osm_modules *m, const char *name, const char *stream, const char *by)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].name, name) == 0 && strcmp(m->v[i].stream, stream) == 0) {
            m->v[i].enabled = 1;
            m->v[i].enabled_by = by;
        }
}

static int module_has_enabled(const struct osm_modules *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].enabled && strcmp(m->v[i].name, name) == 0)
            return 1;
    return 0;
}

int osm_modules_apply(struct osm_modules *m, Pool *pool, const struct osm_module_stream ***stream_of,
                      Map *considered)
{
    Repo *installed = pool->installed;
    /* Installed labels first: a system keeps the streams it has. */
    if (installed) {
        Id key = pool_str2id(pool, OSM_RPMDB_MODULARITYLABEL, 0);
        Id p;
        Solvable *s;
        FOR_REPO_SOLVABLES(installed, p, s)
        {
            const char *label = key ? solvable_lookup_str(s, key) : NULL;
            const char *c1 = label ? strchr(label, ':') : NULL;
            if (!c1)
                continue;
            const char *c2 = strchr(c1 + 1, ':');
            char *name = osm_xasprintf("%.*s", (int)(c1 - label), label);
            char *stream = c2 ? osm_xasprintf("%.*s", (int)(c2 - c1 - 1), c1 + 1) : osm_xstrdup(c1 + 1);
            enable(m, name, stream, "installed");
            free(name);
            free(stream);
        }
    }
    for (size_t i = 0; i < m->n_defaults; i++)
        if (!module_has_enabled(m, m->def_module[i]))
            enable(m, m->def_module[i], m->def_stream[i], "default");

    const struct osm_module_stream **of = osm_xcalloc((size_t)pool->nsolvables, sizeof *of);
    Map enabled_names;
    map_init(&enabled_names, pool->ss.nstrings);
    for (size_t i = 0; i < m->n; i++) {
        struct osm_module_stream *ms = &m->v[i];
        for (size_t k = 0; k < ms->n_rpms; k++) {
            Id evr, arch, name = artifact_ids(pool, ms->rpms[k], &evr, &arch);
            if (!name)
                continue;
            Id p, pp;
            FOR_PROVIDES(p, pp, name)
            {
                Solvable *s = pool->solvables + p;
                if (s->name != name || s->evr != evr || s->arch != arch || s->repo == installed)
                    continue;
                /* A package in an enabled stream and another stream is available. */
                if (!of[p] || (ms->enabled && !of[p]->enabled))
                    of[p] = ms;
            }
            if (ms->enabled)
                MAPSET(&enabled_names, name);
        }
    }
    map_init(considered, pool->nsolvables);
    map_setall(considered);
    int hidden = 0;
    Id p;
    FOR_POOL_SOLVABLES(p)
    {
        Solvable *s = pool->solvables + p;
        if (s->repo == installed)
            continue;
        if (of[p] ? !of[p]->enabled : (s->name < enabled_names.size << 3 && MAPTST(&enabled_names, s->name))) {
            MAPCLR(considered, p);
            hidden++;
        }
    }
    map_free(&enabled_names);
    *stream_of = of;
    return hidden;
}
