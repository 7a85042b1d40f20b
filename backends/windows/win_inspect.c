/* win_inspect.c: the facts of a Windows system volume, read offline. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "osm_buf.h"
#include "osm_windows.h"
#include "win_fs.h"
#include "win_hive.h"
#include "win_paths.h"

#define CURVER "Microsoft\\Windows NT\\CurrentVersion"

int osm_windows_is_root(const char *root)
{
    char *p = win_fs_find(root, "Windows/System32/config/SOFTWARE");
    struct stat st;
    int ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}

/* Install languages are LCIDs in hex ("0409"); setup and the media speak tags. */
static const struct { unsigned lcid; const char *tag; } lcids[] = {
    {0x0409, "en-US"}, {0x0809, "en-GB"}, {0x0804, "zh-CN"}, {0x0404, "zh-TW"}, {0x0c04, "zh-HK"},
    {0x0407, "de-DE"}, {0x040c, "fr-FR"}, {0x0410, "it-IT"}, {0x0411, "ja-JP"}, {0x0412, "ko-KR"},
    {0x0416, "pt-BR"}, {0x0816, "pt-PT"}, {0x0419, "ru-RU"}, {0x0c0a, "es-ES"}, {0x0413, "nl-NL"},
    {0x041d, "sv-SE"}, {0x0415, "pl-PL"}, {0x041f, "tr-TR"}, {0x0405, "cs-CZ"}, {0x040e, "hu-HU"},
};

static const char *lcid_tag(const char *hex)
{
    char *end = NULL;
    unsigned long v = strtoul(hex, &end, 16);
    if (!*hex || *end)
        return NULL;
    for (size_t i = 0; i < sizeof lcids / sizeof lcids[0]; i++)
        if (lcids[i].lcid == v)
            return lcids[i].tag;
    return NULL;
}

static void set_str(json_t *o, const char *k, char *v)
{
    json_object_set_new(o, k, v ? json_string(v) : json_null());
    free(v);
}

static long parse_build(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end = NULL;
    long b = strtol(s, &end, 10);
    return (*end || b <= 0) ? -1 : b;
}

static void software_facts(struct win_hive *sw, json_t *o, json_t *warn, const json_t *matrix)
{
    set_str(o, "product_name", win_hive_string(sw, CURVER, "ProductName", warn));
    char *edid = win_hive_string(sw, CURVER, "EditionID", warn);
    json_object_set_new(o, "edition_id", edid ? json_string(edid) : json_null());
    char ed[32];
    int eval = 0;
    if (edid && win_edition_of_id(edid, ed, &eval) == 0) {
        json_object_set_new(o, "edition", json_string(ed));
    } else {
        json_object_set_new(o, "edition", json_null());
        if (edid) {
            char *m = osm_xasprintf("SOFTWARE\\" CURVER ": EditionID '%s' is not a Windows Server edition osmig knows", edid);
            json_array_append_new(warn, json_string(m));
            free(m);
        }
    }
    json_object_set_new(o, "evaluation", json_boolean(eval));
    free(edid);

    char *itype = win_hive_string(sw, CURVER, "InstallationType", warn);
    json_object_set_new(o, "installation_type", itype ? json_string(itype) : json_null());
    json_object_set_new(o, "server_core", json_boolean(itype && strcasecmp(itype, "Server Core") == 0));
    free(itype);

    json_t *quiet = json_array(); /* CurrentBuild is missing on 2008 R2: only complain if both are */
    char *b = win_hive_string(sw, CURVER, "CurrentBuild", quiet);
    if (!b)
        b = win_hive_string(sw, CURVER, "CurrentBuildNumber", warn);
    long build = parse_build(b);
    if (b && build < 0) {
        char *m = osm_xasprintf("SOFTWARE\\" CURVER ": CurrentBuild '%s' is not a build number", b);
        json_array_append_new(warn, json_string(m));
        free(m);
    }
    free(b);
    json_decref(quiet);
    json_object_set_new(o, "build", build > 0 ? json_integer(build) : json_null());
    json_t *nowarn = json_array();
    int64_t ubr = win_hive_dword(sw, CURVER, "UBR", nowarn);
    json_object_set_new(o, "ubr", ubr >= 0 ? json_integer(ubr) : json_null());
    int64_t maj = win_hive_dword(sw, CURVER, "CurrentMajorVersionNumber", nowarn);
    int64_t min = win_hive_dword(sw, CURVER, "CurrentMinorVersionNumber", nowarn);
    json_decref(nowarn);
    char *version = NULL;
    if (maj >= 0 && min >= 0)
        version = osm_xasprintf("%lld.%lld", (long long)maj, (long long)min);
    else
        version = win_hive_string(sw, CURVER, "CurrentVersion", warn);
    set_str(o, "version", version);
    const char *rel = build > 0 ? win_release_of_build(matrix, build) : NULL;
    json_object_set_new(o, "release", rel ? json_string(rel) : json_null());
    if (build > 0 && !rel) {
        char *m = osm_xasprintf("build %ld is not a Windows Server release osmig knows", build);
        json_array_append_new(warn, json_string(m));
        free(m);
    }
}

static void system_facts(struct win_hive *sy, json_t *o, json_t *warn, json_t *pending)
{
    int64_t cur = win_hive_dword(sy, "Select", "Current", warn);
    if (cur < 1 || cur > 999)
        cur = 1;
    char cs[32];
    snprintf(cs, sizeof cs, "ControlSet%03d", (int)cur);
    struct osm_buf k;
    osm_buf_init(&k);

    osm_buf_addf(&k, "%s\\Control\\Nls\\Language", cs);
    char *lcid = win_hive_string(sy, k.s, "InstallLanguage", warn);
    const char *tag = lcid ? lcid_tag(lcid) : NULL;
    if (lcid && !tag) {
        char *m = osm_xasprintf("SYSTEM\\%s: InstallLanguage '%s' is not a language id osmig knows", k.s, lcid);
        json_array_append_new(warn, json_string(m));
        free(m);
    }
    json_object_set_new(o, "install_language_id", lcid ? json_string(lcid) : json_null());
    json_object_set_new(o, "language", tag ? json_string(tag) : json_null());
    free(lcid);

    osm_buf_reset(&k);
    osm_buf_addf(&k, "%s\\Control\\MUI\\UILanguages", cs);
    json_object_set_new(o, "ui_languages", win_hive_subkeys(sy, k.s));

    osm_buf_reset(&k);
    osm_buf_addf(&k, "%s\\Control\\ProductOptions", cs);
    set_str(o, "product_type", win_hive_string(sy, k.s, "ProductType", warn));

    osm_buf_reset(&k);
    osm_buf_addf(&k, "%s\\Control\\Session Manager\\Environment", cs);
    char *arch = win_hive_string(sy, k.s, "PROCESSOR_ARCHITECTURE", warn);
    const char *a = NULL;
    if (arch && strcasecmp(arch, "AMD64") == 0)
        a = "x86_64";
    else if (arch && strcasecmp(arch, "x86") == 0)
        a = "i386";
    else if (arch && strcasecmp(arch, "ARM64") == 0)
        a = "aarch64";
    json_object_set_new(o, "architecture", a ? json_string(a) : json_null());
    free(arch);

    osm_buf_reset(&k);
    osm_buf_addf(&k, "%s\\Control\\Session Manager", cs);
    if (win_hive_has_value(sy, k.s, "PendingFileRenameOperations"))
        json_array_append_new(pending, json_string("PendingFileRenameOperations is set (SYSTEM\\...\\Session Manager)"));
    osm_buf_free(&k);
}

int osm_windows_inspect(const char *root, json_t **out, struct osm_err *err)
{
    *out = NULL;
    char *swp = win_fs_find(root, "Windows/System32/config/SOFTWARE");
    char *syp = win_fs_find(root, "Windows/System32/config/SYSTEM");
    json_t *matrix = NULL;
    struct win_hive *sw = NULL, *sy = NULL;
    int rc = -1;
    if (!swp) {
        osm_err_set(err, OSM_ENOTFOUND, "'%s' is not a Windows system volume: Windows/System32/config/SOFTWARE is missing", root);
        goto out;
    }
    if (!(matrix = win_matrix_load(NULL, err)))
        goto out;
    if (!(sw = win_hive_open(swp, "SOFTWARE", err)))
        goto out;
    json_t *o = json_object(), *warn = json_array(), *pending = json_array();
    json_object_set_new(o, "os", json_string("windows"));
    software_facts(sw, o, warn, matrix);
    if (!syp) {
        json_array_append_new(warn, json_string("Windows/System32/config/SYSTEM is missing: language, architecture and pending renames are unknown"));
        json_object_set_new(o, "language", json_null());
        json_object_set_new(o, "architecture", json_null());
        json_object_set_new(o, "ui_languages", json_array());
    } else if (!(sy = win_hive_open(syp, "SYSTEM", err))) {
        json_decref(o), json_decref(warn), json_decref(pending);
        goto out;
    } else {
        system_facts(sy, o, warn, pending);
    }
    /* A 64-bit system has SysWOW64 even when the Environment key is absent. */
    if (json_is_null(json_object_get(o, "architecture"))) {
        char *wow = win_fs_find(root, "Windows/SysWOW64");
        if (wow)
            json_object_set_new(o, "architecture", json_string("x86_64"));
        free(wow);
    }
    static const char *const reboot_keys[] = {
        "Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending",
        "Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired",
    };
    for (size_t i = 0; i < 2; i++)
        if (win_hive_has_key(sw, reboot_keys[i])) {
            char *m = osm_xasprintf("SOFTWARE\\%s exists", reboot_keys[i]);
            json_array_append_new(pending, json_string(m));
            free(m);
        }
    json_object_set_new(o, "pending_reboot", json_boolean(json_array_size(pending) > 0));
    json_object_set_new(o, "pending_reasons", pending);
    char *bt = win_fs_find(root, "$WINDOWS.~BT");
    json_object_set_new(o, "unfinished_upgrade", json_boolean(bt != NULL));
    free(bt);
    char *windir = win_fs_find(root, "Windows");
    int64_t wbytes = windir ? win_fs_tree_bytes(windir) : -1;
    free(windir);
    json_object_set_new(o, "windows_dir_bytes", wbytes >= 0 ? json_integer(wbytes) : json_null());
    json_object_set_new(o, "warnings", warn);
    *out = o;
    rc = 0;
out:
    win_hive_close(sw);
    win_hive_close(sy);
    json_decref(matrix);
    free(swp);
    free(syp);
    return rc;
}

static const char *s_or(const json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

void osm_windows_print_facts(FILE *f, const json_t *o)
{
    fprintf(f, "os:                 windows\n");
    fprintf(f, "product:            %s\n", s_or(o, "product_name", "(unknown)"));
    fprintf(f, "release:            %s\n", s_or(o, "release", "(unknown)"));
    fprintf(f, "edition:            %s (EditionID %s)%s\n", s_or(o, "edition", "(unknown)"), s_or(o, "edition_id", "?"),
            json_is_true(json_object_get(o, "evaluation")) ? " evaluation" : "");
    fprintf(f, "installation type:  %s\n", s_or(o, "installation_type", "(unknown)"));
    json_t *b = json_object_get(o, "build");
    if (json_is_integer(b))
        fprintf(f, "build:              %lld (version %s)\n", (long long)json_integer_value(b), s_or(o, "version", "?"));
    else
        fprintf(f, "build:              (unknown)\n");
    fprintf(f, "architecture:       %s\n", s_or(o, "architecture", "(unknown)"));
    fprintf(f, "product type:       %s\n", s_or(o, "product_type", "(unknown)"));
    fprintf(f, "install language:   %s\n", s_or(o, "language", "(unknown)"));
    json_t *ui = json_object_get(o, "ui_languages"), *v;
    size_t i;
    fprintf(f, "UI languages:      ");
    json_array_foreach(ui, i, v) fprintf(f, " %s", json_string_value(v));
    fprintf(f, "%s\n", json_array_size(ui) ? "" : " (none listed)");
    json_t *wb = json_object_get(o, "windows_dir_bytes");
    if (json_is_integer(wb))
        fprintf(f, "C:\\Windows size:    %.1f GiB\n", (double)json_integer_value(wb) / (1 << 30));
    fprintf(f, "pending reboot:     %s\n", json_is_true(json_object_get(o, "pending_reboot")) ? "yes" : "no");
    json_array_foreach(json_object_get(o, "pending_reasons"), i, v) fprintf(f, "  - %s\n", json_string_value(v));
    fprintf(f, "unfinished upgrade: %s\n", json_is_true(json_object_get(o, "unfinished_upgrade")) ? "yes ($WINDOWS.~BT present)" : "no");
    json_array_foreach(json_object_get(o, "warnings"), i, v) fprintf(f, "warning: %s\n", json_string_value(v));
}
