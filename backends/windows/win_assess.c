/* win_assess.c: the Windows prechecks (the seed's limits and Windows Setup's
 * own rules) and the upgrade path, as one report. Every inhibitor carries a
 * stable id, the fact found, the limit, and what to do about it. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "osm_buf.h"
#include "osm_windows.h"
#include "win_media.h"
#include "win_paths.h"

__attribute__((format(printf, 5, 6))) static void inhibit(json_t *list, const char *id, const char *title,
                                                           const char *remedy, const char *factfmt, ...)
{
    /* factfmt produces "FACT\nLIMIT": both in one format so callers stay short. */
    va_list ap;
    va_start(ap, factfmt);
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_vaddf(&b, factfmt, ap);
    va_end(ap);
    char *nl = strchr(b.s, '\n');
    if (nl)
        *nl = '\0';
    json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", id, "title", title, "fact", b.s, "limit",
                                          nl ? nl + 1 : "", "remedy", remedy));
    osm_buf_free(&b);
}

static double gib(int64_t n)
{
    return (double)n / (1024.0 * 1024 * 1024);
}

static int in_list(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_string_value(v) && strcasecmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void resource_checks(const json_t *m, const json_t *wf, const struct osm_facts *f, json_t *inh, json_t *warn)
{
    const json_t *lim = json_object_get(m, "limits");
    int64_t min_cpu = json_integer_value(json_object_get(lim, "min_vcpus"));
    int64_t min_mem = json_integer_value(json_object_get(lim, "min_memory_bytes"));
    int64_t min_free = json_integer_value(json_object_get(lim, "min_free_bytes"));
    if (!f || f->vcpus <= 0)
        json_array_append_new(warn, json_string("vCPU count unknown: the 2 vCPU minimum was not checked"));
    else if (f->vcpus < min_cpu)
        inhibit(inh, "windows_vcpus", "Too few vCPUs", "Resize the instance to at least 2 vCPUs before migrating.",
                "%d vCPUs\nat least %" PRId64 " vCPUs", f->vcpus, min_cpu);
    if (!f || f->memory_bytes <= 0)
        json_array_append_new(warn, json_string("memory size unknown: the 2 GiB minimum was not checked"));
    else if (f->memory_bytes < min_mem)
        inhibit(inh, "windows_memory", "Too little memory", "Resize the instance to at least 2 GiB of memory.",
                "%.2f GiB of memory\nat least %.2f GiB", gib(f->memory_bytes), gib(min_mem));
    if (!f || f->system_disk_free_bytes < 0) {
        json_array_append_new(warn, json_string("free space on C: unknown: the 20 GiB minimum was not checked"));
    } else {
        if (f->system_disk_free_bytes < min_free)
            inhibit(inh, "windows_free_space", "Not enough free space on C:",
                    "Free space on C: (remove files, clean up with Disk Cleanup) or extend the system disk and its partition.",
                    "%.1f GiB free on C:\nat least %.0f GiB free", gib(f->system_disk_free_bytes), gib(min_free));
        json_t *wd = json_object_get(wf, "windows_dir_bytes");
        if (json_is_integer(wd) && f->system_disk_free_bytes <= json_integer_value(wd))
            inhibit(inh, "windows_free_space_windows_dir", "Free space on C: is smaller than C:\\Windows",
                    "Setup keeps the old Windows as Windows.old: free or add more space on C: than C:\\Windows uses.",
                    "%.1f GiB free on C:\nmore than the size of C:\\Windows (%.1f GiB)", gib(f->system_disk_free_bytes),
                    gib(json_integer_value(wd)));
    }
    if (!f || !f->region[0])
        json_array_append_new(warn, json_string("region unknown: the list of regions offering Windows migration was not checked"));
    else if (!win_region_name(m, f->region))
        inhibit(inh, "windows_region", "Windows migration is not offered in this region",
                "Migrate in a region where Windows migration is offered (see matrices/windows/windows.json), or copy the instance's image there.",
                "region %s\none of the regions listed in matrices/windows/windows.json", f->region);
}

static void system_checks(const json_t *m, const json_t *wf, const char *t_edition, const char *t_type, json_t *inh)
{
    const char *ptype = str(wf, "product_type");
    if (ptype && strcasecmp(ptype, "WinNT") == 0)
        inhibit(inh, "windows_not_server", "Not a Windows Server system",
                "osmig migrates Windows Server only; upgrade client Windows with its own tools.",
                "ProductType %s (a client Windows)\nServerNT or LanmanNT", ptype);
    const char *arch = str(wf, "architecture");
    if (!arch)
        inhibit(inh, "windows_architecture_unknown", "Architecture unknown",
                "Check that SYSTEM\\...\\Session Manager\\Environment PROCESSOR_ARCHITECTURE is readable.",
                "architecture unknown\n64-bit (x86_64)");
    else if (!in_list(json_object_get(m, "architectures"), arch))
        inhibit(inh, "windows_32bit", "32-bit Windows cannot be migrated in place",
                "Setup cannot upgrade 32-bit Windows to a 64-bit release: reinstall a 64-bit system and move the data.",
                "architecture %s\n64-bit (x86_64)", arch);
    if (json_is_true(json_object_get(wf, "evaluation")))
        inhibit(inh, "windows_evaluation", "Evaluation editions cannot be upgraded",
                "Convert the evaluation to a licensed edition first (DISM /Online /Set-Edition with a product key).",
                "EditionID %s\na licensed (non-evaluation) edition", str(wf, "edition_id"));
    const char *lang = str(wf, "language");
    if (!lang)
        inhibit(inh, "windows_language_unknown", "Install language unknown",
                "Check SYSTEM\\...\\Control\\Nls\\Language InstallLanguage.", "install language unknown\none of zh-CN, en-US");
    else if (!in_list(json_object_get(m, "languages"), lang))
        inhibit(inh, "windows_language", "Language not supported",
                "Only Chinese (zh-CN) and English (en-US) systems are migrated; migration never changes the language.",
                "install language %s\nzh-CN or en-US, kept as is", lang);
    const char *ed = str(wf, "edition");
    if (ed && t_edition[0] && strcasecmp(ed, "datacenter") == 0 && strcasecmp(t_edition, "standard") == 0)
        inhibit(inh, "windows_datacenter_to_standard", "Datacenter cannot go to Standard",
                "Choose a Datacenter target.", "source edition Datacenter, target Standard\nthe same or a higher edition");
    int core = json_is_true(json_object_get(wf, "server_core"));
    if (t_type[0] && core != (strcmp(t_type, "core") == 0))
        inhibit(inh, "windows_installation_type_switch", "Server Core and Desktop Experience cannot be switched",
                "Setup keeps the installation type: choose a target of the same type (drop -core/-desktop).",
                "installation type %s, target %s\nthe same installation type", core ? "Server Core" : "Server (Desktop)",
                strcmp(t_type, "core") == 0 ? "Server Core" : "Server (Desktop)");
    if (json_is_true(json_object_get(wf, "pending_reboot")))
        inhibit(inh, "windows_pending_reboot", "A reboot is pending",
                "Reboot the instance (and let pending updates finish) before migrating.",
                "pending reboot (see pending_reasons)\nno pending reboot");
    if (json_is_true(json_object_get(wf, "unfinished_upgrade")))
        inhibit(inh, "windows_unfinished_upgrade", "An earlier upgrade did not finish",
                "Remove C:\\$WINDOWS.~BT (Disk Cleanup, 'Previous Windows installation(s)') after making sure no setup is running.",
                "C:\\$WINDOWS.~BT exists\nno leftover of an earlier setup");
}

int osm_windows_assess_facts(const json_t *wf, const struct osm_facts *facts, const char *target, json_t **report,
                             struct osm_err *err)
{
    *report = NULL;
    char t_rel[16], t_ed[32], t_type[16];
    if (win_parse_target(target, t_rel, t_ed, t_type, err) != 0)
        return -1;
    json_t *m = win_matrix_load(NULL, err);
    if (!m)
        return -1;
    if (!win_release(m, t_rel)) {
        osm_err_set(err, OSM_EUSAGE, "target '%s': unknown Windows Server release '%s'", target, t_rel);
        json_decref(m);
        return -1;
    }
    json_t *inh = json_array(), *warn = json_deep_copy(json_object_get(wf, "warnings"));
    if (!warn)
        warn = json_array();
    resource_checks(m, wf, facts, inh, warn);
    system_checks(m, wf, t_ed, t_type, inh);

    const char *rel = str(wf, "release"), *ed = str(wf, "edition");
    json_t *hops = NULL;
    /* Microsoft upgrades 2008 R2 only from Service Pack 1 (build 7601). */
    const json_t *srel = rel ? win_release(m, rel) : NULL;
    json_int_t min_build = json_integer_value(json_object_get(srel, "min_build"));
    json_int_t build = json_integer_value(json_object_get(wf, "build"));
    if (min_build > 0 && build > 0 && build < min_build)
        inhibit(inh, "windows_service_pack", "A service pack is missing",
                "Install the release's latest service pack (Windows Server 2008 R2: Service Pack 1, KB976932) and assess again.",
                "%s build %lld\nbuild %lld or later (%s)", json_string_value(json_object_get(srel, "name")), (long long)build,
                (long long)min_build, json_string_value(json_object_get(srel, "min_build_note")));
    if (!rel || !ed) {
        inhibit(inh, "windows_source_unknown", "Source release or edition unknown",
                "Check SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion CurrentBuild and EditionID (see the warnings).",
                "release %s, edition %s\na Windows Server release and edition from the matrix", rel ? rel : "unknown",
                ed ? ed : "unknown");
    } else if (strcasecmp(rel, t_rel) == 0 && t_ed[0] && strcasecmp(ed, t_ed) == 0) {
        inhibit(inh, "windows_already_target", "Already at the target", "Nothing to migrate; choose a newer target.",
                "%s %s\na different release or edition", rel, ed);
    } else {
        char *reach = NULL;
        if (win_plan_hops(m, rel, ed, t_rel, t_ed, &hops, &reach) != 0) {
            if (strcasecmp(rel, t_rel) == 0 && !t_ed[0]) {
                inhibit(inh, "windows_already_target", "Already at the target", "Nothing to migrate; choose a newer target.",
                        "%s %s\na different release or edition", rel, ed);
            } else {
                const char *sole = (reach && *reach) ? reach : "none";
                char *remedy = osm_xasprintf("Choose a target this system can reach (reachable: %s).", sole);
                inhibit(inh, "windows_no_path", "No migration path to the target", remedy,
                        "%s %s to %s%s%s\na path listed in matrices/windows/windows.json", rel, ed, t_rel, t_ed[0] ? "-" : "",
                        t_ed);
                free(remedy);
            }
        }
        free(reach);
    }
    json_t *r = json_object();
    json_object_set_new(r, "os", json_string("windows"));
    json_object_set_new(r, "source", json_pack("{s:o,s:o,s:o,s:o,s:O}", "release", rel ? json_string(rel) : json_null(),
                                              "edition", ed ? json_string(ed) : json_null(), "language",
                                              str(wf, "language") ? json_string(str(wf, "language")) : json_null(),
                                              "installation_type",
                                              str(wf, "installation_type") ? json_string(str(wf, "installation_type")) : json_null(),
                                              "build", json_object_get(wf, "build") ? json_object_get(wf, "build") : json_null()));
    json_object_set_new(r, "target", json_string(target));
    json_object_set_new(r, "hops", hops ? hops : json_array());
    int inhibited = json_array_size(inh) > 0;
    json_object_set_new(r, "inhibitors", inh);
    json_object_set_new(r, "warnings", warn);
    json_object_set_new(r, "inhibited", json_boolean(inhibited));
    json_decref(m);
    *report = r;
    return inhibited;
}

int osm_windows_assess_media(json_t *report, const char *state_dir)
{
    if (json_is_true(json_object_get(report, "inhibited")))
        return 1;
    json_t *plan = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (win_media_plan(state_dir, report, &plan, &err) == 0) {
        json_object_set_new(report, "media", plan);
        return 0;
    }
    json_t *inh = json_object_get(report, "inhibitors");
    inhibit(inh, "windows_media", "No registered installation medium offers this upgrade",
            "Register the release's installation medium in the system's language, with an image of the target edition "
            "and the system's installation type (osmig media add DIR).",
            "%s\na registered medium of each hop's release, language, edition and installation type", err.msg);
    json_object_set_new(report, "inhibited", json_true());
    return 1;
}

int osm_windows_assess(const char *root, const struct osm_facts *facts, const char *target, json_t **report,
                       struct osm_err *err)
{
    *report = NULL;
    json_t *wf = NULL;
    if (osm_windows_inspect(root, &wf, err) != 0)
        return -1;
    int rc = osm_windows_assess_facts(wf, facts, target, report, err);
    json_decref(wf);
    return rc;
}

void osm_windows_print_report(FILE *f, const json_t *r)
{
    const json_t *src = json_object_get(r, "source");
    fprintf(f, "source: Windows Server %s %s (%s, %s)\n", str(src, "release") ? str(src, "release") : "?",
            str(src, "edition") ? str(src, "edition") : "?", str(src, "installation_type") ? str(src, "installation_type") : "?",
            str(src, "language") ? str(src, "language") : "?");
    fprintf(f, "target: %s\n", str(r, "target"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "hops"), i, v) {
        json_t *fr = json_object_get(v, "from"), *to = json_object_get(v, "to");
        fprintf(f, "hop %zu: %s %s -> %s %s (build %lld)%s\n", i + 1, str(fr, "release"), str(fr, "edition"), str(to, "release"),
                str(to, "edition"), (long long)json_integer_value(json_object_get(v, "build")),
                json_is_true(json_object_get(v, "transitional")) ? " [transitional]" : "");
    }
    json_array_foreach(json_object_get(r, "media"), i, v) {
        if (!strcmp(str(v, "method"), "conversion"))
            fprintf(f, "hop %zu: licence conversion (DISM /Set-Edition), no media\n", i + 1);
        else
            fprintf(f, "hop %zu: media %s, image %lld \"%s\" (%s, %s, %s)\n", i + 1, str(v, "media"),
                    (long long)json_integer_value(json_object_get(v, "image_index")),
                    str(v, "image_name") ? str(v, "image_name") : "", str(v, "edition_id") ? str(v, "edition_id") : "?",
                    str(v, "installation_type"), str(v, "language"));
    }
    json_array_foreach(json_object_get(r, "inhibitors"), i, v) {
        fprintf(f, "INHIBITOR %s: %s\n  found:  %s\n  limit:  %s\n  remedy: %s\n", str(v, "id"), str(v, "title"), str(v, "fact"),
                str(v, "limit"), str(v, "remedy"));
    }
    json_array_foreach(json_object_get(r, "warnings"), i, v) fprintf(f, "warning: %s\n", json_string_value(v));
    fprintf(f, "%s\n", json_is_true(json_object_get(r, "inhibited")) ? "result: inhibited" : "result: can migrate");
}

int osm_windows_matrix_paths(json_t **paths, struct osm_err *err)
{
    *paths = NULL;
    json_t *m = win_matrix_load(NULL, err);
    if (!m)
        return -1;
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(m, "paths"), i, p) {
        const json_t *from = json_object_get(p, "from"), *to = json_object_get(p, "to");
        const json_t *fr = win_release(m, str(from, "release")), *tr = win_release(m, str(to, "release"));
        char *id = osm_xasprintf("%s-%s", str(to, "release"), str(to, "edition"));
        json_array_append_new(out, json_pack("{s:s,s:s,s:O,s:s,s:s,s:b,s:O,s:O}", "id", id, "from",
                                             fr ? str(fr, "name") : str(from, "release"), "editions",
                                             json_object_get(from, "editions"), "to", tr ? str(tr, "name") : str(to, "release"),
                                             "to_edition", str(to, "edition"), "transitional",
                                             json_is_true(json_object_get(p, "transitional")), "languages",
                                             json_object_get(m, "languages"), "architectures",
                                             json_object_get(m, "architectures")));
        free(id);
    }
    json_decref(m);
    *paths = out;
    return 0;
}

void osm_windows_print_paths(FILE *f, const json_t *paths)
{
    size_t i, j;
    json_t *p, *e;
    fprintf(f, "%-24s %-22s %-24s %-11s %s\n", "FROM", "EDITIONS", "TO", "EDITION", "NOTE");
    json_array_foreach(paths, i, p) {
        struct osm_buf eds;
        osm_buf_init(&eds);
        json_array_foreach(json_object_get(p, "editions"), j, e) osm_buf_addf(&eds, "%s%s", j ? "," : "", json_string_value(e));
        fprintf(f, "%-24s %-22s %-24s %-11s %s\n", str(p, "from"), eds.s, str(p, "to"), str(p, "to_edition"),
                json_is_true(json_object_get(p, "transitional")) ? "transitional" : "");
        osm_buf_free(&eds);
    }
}
