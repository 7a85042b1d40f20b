/* report_html.c: osmig-report.html, one self-contained page: inline style
 * and a few lines of inline script, a Content-Security-Policy that forbids
 * loading anything else, every text escaped. Inhibitors first, then
 * warnings, then the package changes as a table with a filter box. */
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "report.h"

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Text into HTML (element content and quoted attributes alike). */
static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static const char style[] =
    "body{font-family:sans-serif;margin:2em;max-width:80em;color:#222}\n"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}\n"
    ".finding{border-left:6px solid #999;padding:.3em 1em;margin:.8em 0;background:#f7f7f7}\n"
    ".inhibitor{border-color:#c00}.warning{border-color:#e90}\n"
    ".key{font-family:monospace;color:#555}\n"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;"
    "font-size:.9em}\n"
    "th{background:#eee}dt{font-weight:bold}\n";

/* The filter: a row stays when its text holds what was typed. */
static const char script[] =
    "document.getElementById('filter').addEventListener('input', function (e) {\n"
    "  var q = e.target.value.toLowerCase();\n"
    "  document.querySelectorAll('#changes tbody tr').forEach(function (tr) {\n"
    "    tr.hidden = q !== '' && tr.textContent.toLowerCase().indexOf(q) < 0;\n"
    "  });\n"
    "});\n";

static void findings(FILE *f, const json_t *r, const char *severity, const char *heading)
{
    size_t i, n = 0;
    const json_t *x;
    json_array_foreach(json_object_get(r, "findings"), i, x) if (strcmp(str(x, "severity"), severity) == 0) n++;
    fprintf(f, "<h2 id=\"%ss\">%s (%zu)</h2>\n", severity, heading, n);
    json_array_foreach(json_object_get(r, "findings"), i, x) {
        if (strcmp(str(x, "severity"), severity) != 0)
            continue;
        fprintf(f, "<div class=\"finding %s\" id=\"finding-", severity);
        esc(f, str(x, "id") ? str(x, "id") : "unnamed");
        fputs("\">\n<p><strong>", f);
        esc(f, str(x, "summary"));
        fputs("</strong> <span class=\"key\">", f);
        esc(f, str(x, "id") ? str(x, "id") : "");
        fputs("</span></p>\n", f);
        size_t j;
        const json_t *v;
        if (json_array_size(json_object_get(x, "items"))) {
            fputs("<ul>\n", f);
            json_array_foreach(json_object_get(x, "items"), j, v) {
                fputs("<li>", f);
                esc(f, json_string_value(v));
                fputs("</li>\n", f);
            }
            fputs("</ul>\n", f);
        }
        if (str(x, "remediation")) {
            fputs("<p>Remediation: ", f);
            esc(f, str(x, "remediation"));
            fputs("</p>\n", f);
        }
        fputs("</div>\n", f);
    }
}

static void cell(FILE *f, const char *s)
{
    fputs("<td>", f);
    esc(f, s ? s : "");
    fputs("</td>", f);
}

/* A <dt>/<dd> pair of the heading list; nothing when there is no value. */
static void field(FILE *f, const char *label, const char *id, const char *value)
{
    if (!value)
        return;
    fprintf(f, "<dt>%s</dt><dd%s%s%s>", label, id ? " id=\"" : "", id ? id : "", id ? "\"" : "");
    esc(f, value);
    fputs("</dd>\n", f);
}

void osm_report_print_html(FILE *f, const json_t *r)
{
    const json_t *src = json_object_get(r, "source"), *tgt = json_object_get(r, "target");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
          "script-src 'unsafe-inline'\">\n<title>osmig ",
          f);
    esc(f, str(r, "command"));
    fputs(" report: ", f);
    esc(f, str(r, "instance"));
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>osmig ", style);
    esc(f, str(r, "command"));
    fputs(" report</h1>\n<dl>\n", f);
    field(f, "Instance", NULL, str(r, "instance"));
    if (json_is_object(src)) {
        char *about = osm_xasprintf("%s (%s, %s)", str(src, "name") ? str(src, "name") : "?",
                                    str(src, "version") ? str(src, "version") : "?",
                                    str(src, "arch") ? str(src, "arch") : "?");
        field(f, "Source", NULL, about);
        free(about);
    }
    field(f, "Target", NULL, str(tgt, "name") ? str(tgt, "name") : str(tgt, "id"));
    field(f, "Created", NULL, str(r, "created"));
    field(f, "Result", "result", str(r, "result"));
    const json_t *task = json_object_get(r, "task");
    if (json_is_object(task)) {
        field(f, "Task", NULL, str(task, "id"));
        field(f, "Cause", NULL, str(task, "cause"));
        field(f, "Log", NULL, str(task, "log"));
    }
    fputs("</dl>\n", f);
    findings(f, r, "inhibitor", "Inhibitors");
    findings(f, r, "warning", "Warnings");
    size_t i;
    const json_t *x;
    if (json_is_object(task) && json_array_size(json_object_get(task, "steps"))) {
        fputs("<h2 id=\"steps\">Steps</h2>\n<table>\n<thead><tr><th>step</th><th>result</th><th>detail</th></tr>"
              "</thead>\n<tbody>\n",
              f);
        json_array_foreach(json_object_get(task, "steps"), i, x) {
            fputs("<tr>", f);
            cell(f, str(x, "step"));
            cell(f, str(x, "result"));
            cell(f, str(x, "detail"));
            fputs("</tr>\n", f);
        }
        fputs("</tbody>\n</table>\n", f);
    }
    const json_t *ch = json_object_get(r, "changes");
    fprintf(f, "<h2 id=\"package-changes\">Package changes (%zu)</h2>\n", json_array_size(ch));
    fputs("<p><input id=\"filter\" type=\"search\" placeholder=\"filter: name, action, version, reason\" "
          "aria-label=\"filter the package changes\"></p>\n"
          "<table id=\"changes\">\n<thead><tr><th>action</th><th>package</th><th>from</th><th>to</th>"
          "<th>reason</th></tr></thead>\n<tbody>\n",
          f);
    json_array_foreach(ch, i, x) {
        fputs("<tr>", f);
        cell(f, str(x, "action"));
        cell(f, str(x, "name"));
        cell(f, str(x, "from"));
        cell(f, str(x, "to"));
        cell(f, str(x, "reason"));
        fputs("</tr>\n", f);
    }
    fprintf(f, "</tbody>\n</table>\n<script>\n%s</script>\n</body>\n</html>\n", script);
}
