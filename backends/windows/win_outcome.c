/* win_outcome.c: Windows Setup result codes and Panther log lines. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "osm_buf.h"
#include "win_outcome.h"

/* Names and meanings from Microsoft's "Windows upgrade error codes" /
 * "Resolve Windows upgrade errors: technical information" pages. */
static const struct {
    uint32_t code;
    const char *name;
    const char *cause;
} codes[] = {
    {0xC1900210, "MOSETUP_E_COMPAT_SCANONLY", "compatibility scan found no issues"},
    {0xC1900208, "MOSETUP_E_COMPAT_INSTALLREQ_BLOCK",
     "an incompatible application or driver blocks the upgrade: remove or update it (see compatdata*.xml in the Panther logs)"},
    {0xC1900204, "MOSETUP_E_COMPAT_MIGCHOICE_BLOCK",
     "the media does not match the installed system (edition, language or architecture): use media of the same language and a matching edition"},
    {0xC190020E, "MOSETUP_E_INSTALLDISKSPACE_BLOCK", "not enough free disk space on C: for the upgrade: free space or extend the disk"},
    {0xC1900200, "MOSETUP_E_COMPAT_SYSREQ_BLOCK", "the system does not meet the minimum requirements of the new release"},
    {0xC1900202, "MOSETUP_E_COMPAT_DOWNLOADREQ_BLOCK",
     "the system is not eligible for this upgrade (a download requirement is not met): check the edition and the media"},
    {0xC190020C, "MOSETUP_E_DOWNLOADDISKSPACE_BLOCK", "not enough free disk space to stage the upgrade's files: free space on C:"},
    {0xC1900107, "MOSETUP_E_CLEANUP_PENDING",
     "a cleanup of an earlier installation attempt is pending: reboot, then remove C:\\$WINDOWS.~BT before retrying"},
    {0xC1900101, "MOSETUP_E_SETUP_PLATFORM", "setup failed and rolled the upgrade back (usually a driver failed)"},
    {0xC1900403, "MOSETUP_E_UA_CORRUPT_PAYLOAD_FILES", "the installation files are damaged: rebuild the transit disk from good media"},
    {0x80070070, "ERROR_DISK_FULL", "the disk ran out of space during the upgrade"},
};

static const char *const phases[] = {"UNKNOWN", "DOWNLEVEL", "SAFE_OS", "FIRST_BOOT", "SECOND_BOOT", "UNINSTALL"};

static const char *const operations[] = {
    "UNKNOWN", "COPY_PAYLOAD", "DOWNLOAD_UPDATES", "INSTALL_UPDATES", "INSTALL_RECOVERY_ENVIRONMENT",
    "INSTALL_RECOVERY_IMAGE", "REPLICATE_OC", "INSTALL_DRIVERS", "PREPARE_SAFE_OS", "PREPARE_ROLLBACK",
    "PREPARE_FIRST_BOOT", "PREPARE_OOBE_BOOT", "APPLY_IMAGE", "MIGRATE_DATA", "SET_PRODUCT_KEY", "ADD_UNATTEND",
    "ADD_DRIVER", "ENABLE_FEATURE", "DISABLE_FEATURE", "REGISTER_ASYNC_PROCESS", "REGISTER_SYNC_PROCESS",
    "CREATE_FILE", "CREATE_REGISTRY", "BOOT", "SYSPREP", "OOBE", "BEGIN_FIRST_BOOT", "END_FIRST_BOOT",
    "BEGIN_OOBE_BOOT", "END_OOBE_BOOT", "PRE_OOBE", "POST_OOBE", "ADD_PROVISIONING_PACKAGE",
};

const char *win_extended_phase(uint32_t ext)
{
    uint32_t p = ext >> 16;
    return p < sizeof phases / sizeof phases[0] ? phases[p] : "UNKNOWN";
}

const char *win_extended_operation(uint32_t ext)
{
    uint32_t op = ext & 0xff;
    return op < sizeof operations / sizeof operations[0] ? operations[op] : "UNKNOWN";
}

/* The first "0x" followed by hex digits at or after S; 0 when none. */
static const char *find_hex(const char *s, uint32_t *v)
{
    for (const char *p = s; (p = strcasestr(p, "0x")); p += 2) {
        if (!isxdigit((unsigned char)p[2]))
            continue;
        char *end;
        unsigned long long n = strtoull(p + 2, &end, 16);
        if (n > 0xffffffffull)
            continue;
        *v = (uint32_t)n;
        return end;
    }
    return NULL;
}

int win_decode_result(const char *text, struct win_result *out)
{
    memset(out, 0, sizeof *out);
    out->name = "";
    uint32_t code = 0;
    const char *end = find_hex(text, &code);
    if (!end) {
        /* setup.exe exit codes arrive as signed decimals from %ERRORLEVEL% */
        char *e;
        long long n = strtoll(text, &e, 10);
        if (e == text || n == 0)
            return -1;
        code = (uint32_t)n;
        end = e;
    }
    out->code = code;
    /* The extend code follows as "-0x40017" or, as Microsoft prints it,
     * " - 0x4000D". */
    const char *dash = end;
    while (*dash == ' ')
        dash++;
    if (*dash == '-') {
        dash++;
        while (*dash == ' ')
            dash++;
        uint32_t ext;
        if (dash[0] == '0' && (dash[1] == 'x' || dash[1] == 'X') && find_hex(dash, &ext))
            out->extended = ext;
    }
    const char *cause = NULL;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code) {
            out->name = codes[i].name;
            cause = codes[i].cause;
        }
    if (code == 0xC1900101)
        out->rolled_back = 1;
    if (!cause)
        snprintf(out->cause, sizeof out->cause, "setup failed with 0x%08X (not a code osmig knows; see setuperr.log)", code);
    else if (out->extended)
        snprintf(out->cause, sizeof out->cause, "%s; it failed in the %s phase during the %s operation (0x%08X - 0x%05X)", cause,
                 win_extended_phase(out->extended), win_extended_operation(out->extended), code, out->extended);
    else
        snprintf(out->cause, sizeof out->cause, "%s (0x%08X)", cause, code);
    return 0;
}

static const struct { const char *phrase, *hint; } phrases[] = {
    {"Shell application requested abort", "setup was told to stop (a compatibility block, or the process running setup ended it)"},
    {"Abandoning apply", "setup gave up applying the new image (a file could not be written: disk full or a blocking driver)"},
    {"Rollback", "setup rolled back to the previous Windows"},
};

json_t *win_panther_errors(const char *text, size_t max)
{
    json_t *out = json_array();
    const char *p = text;
    while (*p && json_array_size(out) < max) {
        size_t len = strcspn(p, "\r\n");
        char *line = osm_xasprintf("%.*s", (int)len, p);
        p += len;
        while (*p == '\r' || *p == '\n')
            p++;
        /* "2019-05-01 10:12:13, Error      SP     message" */
        const char *comma = strchr(line, ',');
        const char *rest = comma ? comma + 1 : line;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        size_t lvl = strcspn(rest, " \t");
        int is_err = (lvl == 5 && strncasecmp(rest, "Error", 5) == 0) || (lvl == 5 && strncasecmp(rest, "Fatal", 5) == 0);
        const char *hint = NULL;
        for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
            if (strcasestr(line, phrases[i].phrase) && (is_err || i < 2)) {
                hint = phrases[i].hint;
                break;
            }
        if (!is_err && !hint) {
            free(line);
            continue;
        }
        json_t *o = json_object();
        json_object_set_new(o, "line", json_string(line));
        const char *comp = rest + lvl;
        while (*comp == ' ' || *comp == '\t')
            comp++;
        size_t clen = strcspn(comp, " \t");
        const char *msg = comp + clen;
        while (*msg == ' ' || *msg == '\t')
            msg++;
        if (is_err && clen && *msg) {
            char *c = osm_xasprintf("%.*s", (int)clen, comp);
            json_object_set_new(o, "component", json_string(c));
            json_object_set_new(o, "message", json_string(msg));
            free(c);
        } else {
            json_object_set_new(o, "message", json_string(rest));
        }
        if (hint)
            json_object_set_new(o, "hint", json_string(hint));
        struct win_result r;
        const char *hex = strcasestr(line, "0xC19");
        if (hex && win_decode_result(hex, &r) == 0) {
            char code[32];
            if (r.extended)
                snprintf(code, sizeof code, "0x%08X - 0x%05X", r.code, r.extended);
            else
                snprintf(code, sizeof code, "0x%08X", r.code);
            json_object_set_new(o, "code", json_string(code));
            json_object_set_new(o, "cause", json_string(r.cause));
        }
        json_array_append_new(out, o);
        free(line);
    }
    return out;
}
