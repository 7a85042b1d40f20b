/* api_routes_dashboard.c: GET /dashboard and its files
 * (engine/fleet/dashboard/, compiled in). They are served without a
 * signature: they hold no data and no secret; the page signs every API
 * request itself with the key the user enters (docs/dashboard.md). */
#include <string.h>

#include "api_priv.h"
#include "osm_buf.h"

extern const char osm_dashboard_html[], osm_dashboard_js[], osm_dashboard_css[], osm_dashboard_icon[];
extern const size_t osm_dashboard_html_len, osm_dashboard_js_len, osm_dashboard_css_len, osm_dashboard_icon_len;

static const struct {
    const char *name, *type;
    const char *data;
    const size_t *len;
} files[] = {
    {NULL, "text/html; charset=utf-8", osm_dashboard_html, &osm_dashboard_html_len},
    {"app.js", "text/javascript; charset=utf-8", osm_dashboard_js, &osm_dashboard_js_len},
    {"app.css", "text/css; charset=utf-8", osm_dashboard_css, &osm_dashboard_css_len},
    {"favicon.svg", "image/svg+xml", osm_dashboard_icon, &osm_dashboard_icon_len},
};

void api_dashboard(struct api_req *rq)
{
    static const char *const none[] = {NULL};
    if (api_query_check(rq, none))
        return;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (!files[i].name != !rq->param || (rq->param && strcmp(rq->param, files[i].name) != 0))
            continue;
        rq->status = 200;
        rq->reply_text = osm_xmalloc(*files[i].len + 1);
        memcpy(rq->reply_text, files[i].data, *files[i].len);
        rq->reply_text[*files[i].len] = '\0';
        rq->reply_type = files[i].type;
        return;
    }
    api_fail(rq, 404, "NotFound.File", NULL, "no dashboard file '%s'", rq->param);
}
