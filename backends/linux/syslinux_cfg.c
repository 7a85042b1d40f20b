/* syslinux_cfg.c: see syslinux_cfg.h. */
#include "syslinux_cfg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "osm_buf.h"

/* One line split: its keyword (lower case, "menu default" for the two-word
 * form) and the rest, both trimmed. */
struct line {
    char kw[32];
    const char *arg; /* into the line's copy */
};

static void split(char *l, struct line *out)
{
    while (isspace((unsigned char)*l))
        l++;
    size_t k = 0;
    out->kw[0] = '\0';
    out->arg = "";
    if (*l == '#' || !*l)
        return;
    while (*l && !isspace((unsigned char)*l) && k + 1 < sizeof out->kw)
        out->kw[k++] = (char)tolower((unsigned char)*l++);
    out->kw[k] = '\0';
    while (isspace((unsigned char)*l))
        l++;
    if (strcmp(out->kw, "menu") == 0 && strncasecmp(l, "default", 7) == 0 &&
        (!l[7] || isspace((unsigned char)l[7]))) {
        snprintf(out->kw, sizeof out->kw, "menu default");
        l += 7;
        while (isspace((unsigned char)*l))
            l++;
    }
    char *end = l + strlen(l);
    while (end > l && isspace((unsigned char)end[-1]))
        *--end = '\0';
    out->arg = l;
}

/* The first word of s, copied. */
static char *word(const char *s)
{
    size_t n = strcspn(s, " \t");
    char *w = osm_xmalloc(n + 1);
    memcpy(w, s, n);
    w[n] = '\0';
    return w;
}

/* APPEND's initrd=A[,B]: A. */
static char *append_initrd(const char *append)
{
    for (const char *p = append; p && *p;) {
        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, "initrd=", 7) == 0) {
            char *w = word(p + 7);
            w[strcspn(w, ",")] = '\0';
            return w;
        }
        p += strcspn(p, " \t");
    }
    return NULL;
}

static void set(char **field, const char *v)
{
    free(*field);
    *field = osm_xstrdup(v);
}

int osm_syslinux_parse(const char *text, const char *what, struct osm_sl_cfg *cfg, struct osm_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    char *copy = osm_xstrdup(text ? text : "");
    char *def = NULL;
    size_t def_line = 0, menu_def = (size_t)-1, lineno = 0;
    char *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        struct line ln;
        split(l, &ln);
        struct osm_sl_entry *cur = cfg->n ? &cfg->entries[cfg->n - 1] : NULL;
        if (strcmp(ln.kw, "default") == 0) {
            free(def);
            def = word(ln.arg);
            def_line = lineno;
        } else if (strcmp(ln.kw, "label") == 0) {
            cfg->entries = osm_xrealloc(cfg->entries, (cfg->n + 1) * sizeof *cfg->entries);
            cur = &cfg->entries[cfg->n++];
            memset(cur, 0, sizeof *cur);
            cur->label = word(ln.arg);
        } else if (!cur) {
            continue; /* a global setting */
        } else if (strcmp(ln.kw, "kernel") == 0 || strcmp(ln.kw, "linux") == 0) {
            set(&cur->kernel, ln.arg);
        } else if (strcmp(ln.kw, "initrd") == 0) {
            set(&cur->initrd, ln.arg);
        } else if (strcmp(ln.kw, "append") == 0) {
            set(&cur->append, ln.arg);
        } else if (strcmp(ln.kw, "menu default") == 0) {
            menu_def = cfg->n - 1;
        }
    }
    free(copy);
    for (size_t i = 0; i < cfg->n; i++)
        if (!cfg->entries[i].initrd && cfg->entries[i].append)
            cfg->entries[i].initrd = append_initrd(cfg->entries[i].append);
    int rc = 0;
    if (cfg->n == 0) {
        rc = osm_err_set(err, OSM_EINPUT, "%s: no LABEL entry", what);
    } else if (def) {
        size_t i = 0;
        while (i < cfg->n && strcmp(cfg->entries[i].label, def) != 0)
            i++;
        if (i == cfg->n)
            rc = osm_err_set(err, OSM_EINPUT, "%s:%zu: DEFAULT %s names no LABEL", what, def_line, def);
        cfg->def = i;
    } else {
        cfg->def = menu_def != (size_t)-1 ? menu_def : 0;
    }
    free(def);
    if (rc != 0)
        osm_syslinux_free(cfg);
    return rc;
}

void osm_syslinux_free(struct osm_sl_cfg *cfg)
{
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->entries[i].label);
        free(cfg->entries[i].kernel);
        free(cfg->entries[i].initrd);
        free(cfg->entries[i].append);
    }
    free(cfg->entries);
    memset(cfg, 0, sizeof *cfg);
}

/* Keywords that belong to a label's block (dropped with a replaced entry). */
static int label_keyword(const char *kw)
{
    static const char *const kws[] = {"label", "kernel", "linux", "initrd", "append", "menu", "menu default",
                                      "ipappend", "sysappend", "localboot", "text", "endtext"};
    for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
        if (strcmp(kw, kws[i]) == 0)
            return 1;
    return 0;
}

char *osm_syslinux_set_default(const char *text, const char *what, const char *label, const char *kernel,
                               const char *initrd, struct osm_err *err)
{
    struct osm_sl_cfg cfg;
    if (osm_syslinux_parse(text, what, &cfg, err) != 0)
        return NULL;
    const char *append = cfg.entries[cfg.def].append;
    struct osm_buf entry, out;
    osm_buf_init(&entry);
    osm_buf_init(&out);
    osm_buf_addf(&entry, "LABEL %s\n  KERNEL %s\n  INITRD %s\n", label, kernel, initrd);
    if (append)
        osm_buf_addf(&entry, "  APPEND %s\n", append);
    osm_buf_addf(&out, "DEFAULT %s\n", label);
    int in_replaced = 0, placed = 0;
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        char *l = osm_xmalloc(n + 1);
        memcpy(l, p, n);
        l[n] = '\0';
        char *orig = osm_xstrdup(l);
        struct line ln;
        split(l, &ln);
        int drop = strcmp(ln.kw, "default") == 0 || strcmp(ln.kw, "menu default") == 0;
        if (strcmp(ln.kw, "label") == 0) {
            char *w = word(ln.arg);
            in_replaced = strcmp(w, label) == 0;
            free(w);
            if (!placed) {
                osm_buf_adds(&out, entry.s);
                placed = 1;
            }
        }
        if (in_replaced && label_keyword(ln.kw))
            drop = 1;
        if (!drop)
            osm_buf_addf(&out, "%s\n", orig);
        free(orig);
        free(l);
        p += n + (p[n] == '\n');
    }
    osm_syslinux_free(&cfg);
    osm_buf_free(&entry);
    return osm_buf_detach(&out);
}
