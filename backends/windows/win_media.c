/* win_media.c: media catalogue (JSON, atomic, locked) and image pick (wimlib). */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "lazy_windows.h"

#include "osm_buf.h"
#include "osm_fs.h"
#include "win_fs.h"
#include "win_media.h"
#include "win_paths.h"

const char *win_media_state_dir(const char *opt)
{
    if (opt && *opt)
        return opt;
    const char *env = getenv("OSMIG_STATE_DIR");
    return env && *env ? env : "/var/lib/osmig";
}

static json_t *prop(const WIMStruct *wim, int img, const char *name)
{
    const char *v = wimlib_get_image_property(wim, img, name);
    return v ? json_string(v) : json_null();
}

static int describe_wim(const char *wim_path, json_t *o, struct osm_err *err)
{
    WIMStruct *wim = NULL;
    int r = wimlib_open_wim(wim_path, 0, &wim);
    if (r != 0)
        return osm_err_set(err, OSM_EINPUT, "'%s' is not a readable WIM: %s", wim_path, wimlib_get_error_string(r));
    struct wimlib_wim_info info;
    wimlib_get_wim_info(wim, &info);
    if (info.image_count == 0) {
        wimlib_free(wim);
        return osm_err_set(err, OSM_EINPUT, "'%s' holds no images", wim_path);
    }
    json_t *imgs = json_array(), *langs = json_array();
    long build0 = -1;
    int mixed = 0;
    for (int i = 1; i <= (int)info.image_count; i++) {
        json_t *im = json_object();
        json_object_set_new(im, "index", json_integer(i));
        json_object_set_new(im, "name", prop(wim, i, "NAME"));
        const char *edid = wimlib_get_image_property(wim, i, "WINDOWS/EDITIONID");
        json_object_set_new(im, "edition_id", edid ? json_string(edid) : json_null());
        char ed[32];
        int eval = 0;
        json_object_set_new(im, "edition", edid && win_edition_of_id(edid, ed, &eval) == 0 ? json_string(ed) : json_null());
        json_object_set_new(im, "evaluation", json_boolean(eval));
        json_object_set_new(im, "installation_type", prop(wim, i, "WINDOWS/INSTALLATIONTYPE"));
        const char *lang = wimlib_get_image_property(wim, i, "WINDOWS/LANGUAGES/DEFAULT");
        json_object_set_new(im, "language", lang ? json_string(lang) : json_null());
        if (lang) {
            size_t k;
            json_t *l;
            int have = 0;
            json_array_foreach(langs, k, l) have |= strcasecmp(json_string_value(l), lang) == 0;
            if (!have)
                json_array_append_new(langs, json_string(lang));
        }
        const char *b = wimlib_get_image_property(wim, i, "WINDOWS/VERSION/BUILD");
        long build = b ? strtol(b, NULL, 10) : -1;
        json_object_set_new(im, "build", build > 0 ? json_integer(build) : json_null());
        if (build > 0) {
            if (build0 > 0 && build != build0)
                mixed = 1;
            build0 = build;
        }
        const char *arch = wimlib_get_image_property(wim, i, "WINDOWS/ARCH");
        const char *a = !arch ? NULL : !strcmp(arch, "9") ? "x86_64" : !strcmp(arch, "0") ? "i386" : !strcmp(arch, "12") ? "aarch64" : arch;
        json_object_set_new(im, "architecture", a ? json_string(a) : json_null());
        json_array_append_new(imgs, im);
    }
    wimlib_free(wim);
    json_object_set_new(o, "images", imgs);
    json_object_set_new(o, "languages", langs);
    json_object_set_new(o, "build", build0 > 0 && !mixed ? json_integer(build0) : json_null());
    if (mixed)
        return osm_err_set(err, OSM_EINPUT, "'%s' mixes images of different builds: register one release per medium", wim_path);
    if (build0 <= 0)
        return osm_err_set(err, OSM_EINPUT, "'%s': no image states its build (WINDOWS/VERSION/BUILD)", wim_path);
    return 0;
}

/* sources/ei.cfg saying "[Channel]" then "Volume": volume-licence media,
 * whose setup takes /auto:upgrade (docs/windows.md). */
static int volume_licence(const char *dir)
{
    char *p = win_fs_find(dir, "sources/ei.cfg");
    if (!p)
        return 0;
    struct osm_buf b;
    osm_buf_init(&b);
    struct osm_err e = OSM_ERR_INIT;
    int vl = 0;
    if (osm_read_file(p, &b, &e) == 0 && b.s) {
        const char *c = strcasestr(b.s, "[Channel]");
        if (c) {
            c += 9;
            while (*c == '\r' || *c == '\n' || *c == ' ' || *c == '\t')
                c++;
            vl = strncasecmp(c, "Volume", 6) == 0;
        }
    }
    osm_buf_free(&b);
    free(p);
    return vl;
}

int win_media_describe(const char *path, json_t **out, struct osm_err *err)
{
    *out = NULL;
    char real[PATH_MAX];
    if (!realpath(path, real))
        return osm_err_errno(err, "media '%s'", path);
    json_t *o = json_object();
    char *wim = NULL;
    struct stat st;
    if (osm_is_dir(real)) {
        wim = win_fs_find(real, "sources/install.wim");
        if (!wim)
            wim = win_fs_find(real, "sources/install.esd");
        if (!wim) {
            json_decref(o);
            return osm_err_set(err, OSM_ENOTFOUND, "media '%s': no sources/install.wim or sources/install.esd in it", real);
        }
        char *setup = win_fs_find(real, "setup.exe");
        json_object_set_new(o, "kind", json_string("directory"));
        json_object_set_new(o, "has_setup", json_boolean(setup != NULL));
        json_object_set_new(o, "volume_licence", json_boolean(volume_licence(real)));
        free(setup);
    } else {
        wim = osm_xstrdup(real);
        json_object_set_new(o, "kind", json_string("wim"));
        json_object_set_new(o, "has_setup", json_false());
    }
    json_object_set_new(o, "path", json_string(real));
    json_object_set_new(o, "wim", json_string(wim));
    json_object_set_new(o, "size_bytes", json_integer(stat(wim, &st) == 0 ? (json_int_t)st.st_size : 0));
    if (describe_wim(wim, o, err) != 0) {
        osm_err_prefix(err, "media '%s'", real);
        free(wim);
        json_decref(o);
        return -1;
    }
    free(wim);
    struct osm_err merr = OSM_ERR_INIT;
    json_t *m = win_matrix_load(NULL, &merr);
    const char *rel = m ? win_release_of_build(m, (long)json_integer_value(json_object_get(o, "build"))) : NULL;
    json_object_set_new(o, "release", rel ? json_string(rel) : json_null());
    json_decref(m);
    *out = o;
    return 0;
}

static char *catalogue_path(const char *state_dir)
{
    return osm_path_join(win_media_state_dir(state_dir), "media.json");
}

static int load_catalogue(const char *state_dir, json_t **cat, struct osm_err *err)
{
    char *path = catalogue_path(state_dir);
    *cat = NULL;
    if (!osm_is_file(path)) {
        free(path);
        *cat = json_pack("{s:i,s:[]}", "version", 1, "media");
        return 0;
    }
    json_error_t je;
    json_t *c = json_load_file(path, 0, &je);
    if (!c || !json_is_array(json_object_get(c, "media"))) {
        osm_err_set(err, OSM_EINPUT, "media catalogue '%s': %s", path, c ? "\"media\" must be an array" : je.text);
        json_decref(c);
        free(path);
        return -1;
    }
    free(path);
    *cat = c;
    return 0;
}

static const json_t *find_id(const json_t *cat, const char *id, size_t *pos)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(cat, "media"), i, m) {
        if (strcmp(json_string_value(json_object_get(m, "id")), id) == 0) {
            if (pos)
                *pos = i;
            return m;
        }
    }
    return NULL;
}

static int valid_id(const char *id)
{
    if (!*id || strlen(id) > 64)
        return 0;
    for (const char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("._-", *c)))
            return 0;
    return 1;
}

int win_media_add(const char *state_dir, const char *path, const char *id, int replace, json_t **added,
                  struct osm_err *err)
{
    *added = NULL;
    if (id && !valid_id(id))
        return osm_err_set(err, OSM_EUSAGE, "media id '%s': use 1-64 letters, digits, '.', '_' or '-'", id);
    json_t *d = NULL;
    if (win_media_describe(path, &d, err) != 0)
        return -1;
    if (!json_is_true(json_object_get(d, "has_setup"))) {
        osm_err_set(err, OSM_EINPUT,
                    "media '%s': no setup.exe in it; register the whole installation medium (the directory holding "
                    "setup.exe and sources/install.wim), not a bare WIM",
                    json_string_value(json_object_get(d, "path")));
        json_decref(d);
        return -1;
    }
    const char *rel = json_string_value(json_object_get(d, "release"));
    const char *lang = json_string_value(json_array_get(json_object_get(d, "languages"), 0));
    char *gen = id ? osm_xstrdup(id) : osm_xasprintf("%s-%s", rel ? rel : "unknown", lang ? lang : "unknown");
    const char *dir = win_media_state_dir(state_dir);
    int rc = -1, lockfd = -1;
    json_t *cat = NULL;
    if (osm_mkdir_p(dir, 0755, err) != 0)
        goto out;
    if ((lockfd = osm_lock_file(dir, "media.lock", 0644, err)) < 0) {
        osm_err_prefix(err, "the media catalogue in '%s'", dir);
        goto out;
    }
    if (load_catalogue(state_dir, &cat, err) != 0)
        goto out;
    size_t pos;
    if (find_id(cat, gen, &pos)) {
        if (!replace) {
            osm_err_set(err, OSM_EINPUT, "media id '%s' is already registered (give another --id, or --replace)", gen);
            goto out;
        }
        json_array_remove(json_object_get(cat, "media"), pos);
    }
    json_object_set_new(d, "id", json_string(gen));
    json_object_set_new(d, "added", json_integer((json_int_t)time(NULL)));
    json_array_append(json_object_get(cat, "media"), d);
    char *text = json_dumps(cat, JSON_INDENT(2) | JSON_SORT_KEYS);
    char *cp = catalogue_path(state_dir);
    size_t len = strlen(text);
    text = osm_xrealloc(text, len + 2);
    text[len] = '\n';
    text[len + 1] = '\0';
    rc = osm_write_file_atomic(cp, text, len + 1, 0644, err);
    free(cp);
    free(text);
    if (rc == 0)
        *added = json_incref(d);
out:
    if (lockfd >= 0)
        close(lockfd);
    json_decref(cat);
    json_decref(d);
    free(gen);
    return rc;
}

int win_media_list(const char *state_dir, json_t **media, struct osm_err *err)
{
    json_t *cat = NULL;
    *media = NULL;
    if (load_catalogue(state_dir, &cat, err) != 0)
        return -1;
    *media = json_incref(json_object_get(cat, "media"));
    json_decref(cat);
    return 0;
}

int win_media_get(const char *state_dir, const char *id, json_t **medium, struct osm_err *err)
{
    json_t *cat = NULL;
    *medium = NULL;
    if (load_catalogue(state_dir, &cat, err) != 0)
        return -1;
    const json_t *m = find_id(cat, id, NULL);
    if (m)
        *medium = json_incref((json_t *)m);
    json_decref(cat);
    if (!m)
        return osm_err_set(err, OSM_ENOTFOUND, "no media '%s' in the catalogue (see 'osmig media list')", id);
    return 0;
}

int win_media_find(const char *state_dir, const char *release, const char *language, json_t **medium,
                   struct osm_err *err)
{
    json_t *list = NULL;
    *medium = NULL;
    if (win_media_list(state_dir, &list, err) != 0)
        return -1;
    size_t i, k;
    json_t *m, *l;
    json_array_foreach(list, i, m) {
        const char *r = json_string_value(json_object_get(m, "release"));
        if (!r || strcasecmp(r, release) != 0)
            continue;
        json_array_foreach(json_object_get(m, "languages"), k, l) {
            if (strcasecmp(json_string_value(l), language) == 0) {
                *medium = json_incref(m);
                json_decref(list);
                return 0;
            }
        }
    }
    json_decref(list);
    return osm_err_set(err, OSM_ENOTFOUND,
                       "no installation media registered for Windows Server %s in %s: register it with "
                       "'osmig media add DIR' (a directory holding sources/install.wim)",
                       release, language);
}

static const char *jstr(const json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

static void describe_image(struct osm_buf *b, const json_t *im)
{
    osm_buf_addf(b, "\n  index %lld: %s, %s, %s, build %lld", (long long)json_integer_value(json_object_get(im, "index")),
                 jstr(im, "edition_id", "no EditionID"), jstr(im, "installation_type", "no InstallationType"),
                 jstr(im, "language", "no language"), (long long)json_integer_value(json_object_get(im, "build")));
}

int win_media_pick(const json_t *medium, const char *edition, const char *installation_type, const char *language,
                   long build, int *index, struct osm_err *err)
{
    *index = -1;
    size_t i;
    json_t *im;
    int matches = 0, evals = 0;
    struct osm_buf all, hit;
    osm_buf_init(&all);
    osm_buf_init(&hit);
    json_array_foreach(json_object_get(medium, "images"), i, im) {
        describe_image(&all, im);
        const char *ed = json_string_value(json_object_get(im, "edition"));
        const char *it = json_string_value(json_object_get(im, "installation_type"));
        const char *lg = json_string_value(json_object_get(im, "language"));
        if (ed && it && lg && strcasecmp(ed, edition) == 0 && strcasecmp(it, installation_type) == 0 &&
            strcasecmp(lg, language) == 0 && json_integer_value(json_object_get(im, "build")) == build) {
            /* Microsoft does not support upgrading to an evaluation copy. */
            if (json_is_true(json_object_get(im, "evaluation"))) {
                evals++;
                continue;
            }
            matches++;
            *index = (int)json_integer_value(json_object_get(im, "index"));
            describe_image(&hit, im);
        }
    }
    const char *path = json_string_value(json_object_get(medium, "wim"));
    int rc = 0;
    if (matches == 0 && evals)
        rc = osm_err_set(err, OSM_ENOTFOUND,
                         "'%s': the only %s, %s, %s, build %ld image is an evaluation copy, which cannot be an upgrade "
                         "target: register licensed (volume-licence or retail) media; the images are:%s",
                         path ? path : "media", edition, installation_type, language, build, all.s);
    else if (matches == 0)
        rc = osm_err_set(err, OSM_ENOTFOUND, "'%s': no image is %s, %s, %s, build %ld; the images are:%s", path ? path : "media",
                         edition, installation_type, language, build, all.s);
    else if (matches > 1)
        rc = osm_err_set(err, OSM_EINPUT, "'%s': %d images match %s, %s, %s, build %ld (ambiguous):%s", path ? path : "media",
                         matches, edition, installation_type, language, build, hit.s);
    if (rc)
        *index = -1;
    osm_buf_free(&all);
    osm_buf_free(&hit);
    return rc;
}

int win_media_plan(const char *state_dir, const json_t *report, json_t **plan, struct osm_err *err)
{
    *plan = NULL;
    const json_t *src = json_object_get(report, "source");
    const char *lang = json_string_value(json_object_get(src, "language"));
    const char *itype = json_string_value(json_object_get(src, "installation_type"));
    if (!lang || !itype)
        return osm_err_set(err, OSM_EINPUT, "the report does not name the source's language and installation type");
    json_t *out = json_array();
    size_t i;
    json_t *hop;
    json_array_foreach(json_object_get(report, "hops"), i, hop) {
        const json_t *to = json_object_get(hop, "to");
        const char *rel = json_string_value(json_object_get(to, "release"));
        const char *ed = json_string_value(json_object_get(to, "edition"));
        long build = (long)json_integer_value(json_object_get(hop, "build"));
        const char *method = json_string_value(json_object_get(hop, "method"));
        const char *key = json_string_value(json_object_get(hop, "product_key"));
        if (method && !strcmp(method, "conversion")) {
            /* a licence conversion needs no media, only the edition's key */
            if (!key || !ed) {
                osm_err_set(err, OSM_EINPUT, "hop %zu (%s %s): a licence conversion needs the edition's product key",
                            i + 1, rel ? rel : "?", ed ? ed : "?");
                json_decref(out);
                return -1;
            }
            json_array_append_new(out, json_pack("{s:I,s:s,s:s,s:I,s:s,s:s}", "hop", (json_int_t)(i + 1), "method",
                                                 "conversion", "release", rel, "build", (json_int_t)build, "edition", ed,
                                                 "product_key", key));
            continue;
        }
        json_t *m = NULL;
        int index = -1;
        if (!rel || !ed || win_media_find(state_dir, rel, lang, &m, err) != 0 ||
            win_media_pick(m, ed, itype, lang, build, &index, err) != 0) {
            if (!rel || !ed)
                osm_err_set(err, OSM_EINPUT, "hop %zu of the report has no target release/edition", i + 1);
            osm_err_prefix(err, "hop %zu (%s %s)", i + 1, rel ? rel : "?", ed ? ed : "?");
            json_decref(m);
            json_decref(out);
            return -1;
        }
        const json_t *im = json_array_get(json_object_get(m, "images"), (size_t)index - 1);
        json_t *h = json_pack("{s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:i,s:s,s:s,s:s}", "hop", (json_int_t)(i + 1), "method", "setup",
                              "release", rel, "build", (json_int_t)build, "edition", ed, "media",
                              json_string_value(json_object_get(m, "id")), "media_path",
                              json_string_value(json_object_get(m, "path")), "image_index", index, "installation_type", itype,
                              "language", lang, "setup", jstr(hop, "setup", "windows10"));
        json_object_set(h, "image_name", json_object_get(im, "name") ? json_object_get(im, "name") : json_null());
        json_object_set(h, "edition_id", json_object_get(im, "edition_id") ? json_object_get(im, "edition_id") : json_null());
        if (key)
            json_object_set_new(h, "product_key", json_string(key));
        json_object_set_new(h, "volume_licence", json_boolean(json_is_true(json_object_get(m, "volume_licence"))));
        json_array_append_new(out, h);
        json_decref(m);
    }
    *plan = out;
    return 0;
}
