/* win_setup.c: generate the on-instance PowerShell and read what it prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "win_outcome.h"
#include "win_setup.h"

/* X:\dir\sub with letters, digits, '.', '_', '-': safe inside PowerShell single
 * quotes, cmd.exe lines and schtasks /TR alike. */
static int check_state_dir(const char *d, struct osm_err *err)
{
    int ok = ((d[0] >= 'A' && d[0] <= 'Z') || (d[0] >= 'a' && d[0] <= 'z')) && d[1] == ':' && d[2] == '\\' &&
             strlen(d) < 120;
    for (const char *c = d + 3; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("\\._-", *c);
    if (ok && strstr(d, ".."))
        ok = 0;
    return ok ? 0 : osm_err_set(err, OSM_EUSAGE, "instance state directory '%s': expected X:\\dir with letters, digits, '.', '_', '-'", d);
}

static int check_key(const char *k, struct osm_err *err)
{
    /* XXXXX-XXXXX-XXXXX-XXXXX-XXXXX, letters and digits */
    int ok = k && strlen(k) == 29;
    for (size_t i = 0; ok && i < 29; i++)
        ok = (i % 6 == 5) ? k[i] == '-' : ((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= '0' && k[i] <= '9'));
    return ok ? 0 : osm_err_set(err, OSM_EUSAGE, "product key '%s': expected XXXXX-XXXXX-XXXXX-XXXXX-XXXXX", k ? k : "(none)");
}

static int check_edition(const char *e, struct osm_err *err)
{
    static const char *const ok[] = {"ServerDatacenter", "ServerStandard"};
    for (size_t i = 0; e && i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(e, ok[i]) == 0)
            return 0;
    return osm_err_set(err, OSM_EUSAGE, "edition '%s': expected ServerDatacenter or ServerStandard", e ? e : "(none)");
}

int win_setup_kind_of(const char *name, enum win_setup_kind *kind)
{
    if (name && strcmp(name, "windows10") == 0)
        *kind = WIN_SETUP_WINDOWS10;
    else if (name && strcmp(name, "windows8") == 0)
        *kind = WIN_SETUP_WINDOWS8;
    else
        return -1;
    return 0;
}

static const char *state_of(const struct win_setup_params *p)
{
    return p->state_dir ? p->state_dir : WIN_DEFAULT_STATE_DIR;
}

/* The head of every script: its purpose, the state directory, and the two
 * helpers for detached work. A task runs as SYSTEM so setup survives the
 * agent's session; its state comes from the Task Scheduler's COM object
 * (4: running), whose answer does not depend on the display language. */
static void head(struct osm_buf *b, const char *purpose, const char *sd, const char *on_error)
{
    osm_buf_addf(b,
        "# osmig: %s (generated)\r\n"
        "$ErrorActionPreference = '%s'\r\n"
        "$state = '%s'\r\n"
        "function Test-OsmigTask($name) {\r\n"
        "  try { $s = New-Object -ComObject Schedule.Service; $s.Connect(); return ($s.GetFolder('\\').GetTask($name).State -eq 4) } catch { return $false }\r\n"
        "}\r\n"
        "function Start-OsmigTask($name, $cmd) {\r\n"
        "  & schtasks.exe /Create /F /TN $name /RU SYSTEM /RL HIGHEST /SC ONCE /ST 00:00 /TR $cmd | Out-Null\r\n"
        "  if ($LASTEXITCODE -ne 0) { Write-Output 'result=task-failed'; exit 4 }\r\n"
        "  & schtasks.exe /Run /TN $name | Out-Null\r\n"
        "  if ($LASTEXITCODE -ne 0) { Write-Output 'result=task-failed'; exit 4 }\r\n"
        "}\r\n",
        purpose, on_error, sd);
}

/* The end of a script that starts detached work: a cmd file that runs LINE
 * and records its exit code in NAME-exit.txt, run as task osmig-NAME; the
 * script then says `result` and exits 0. */
static void end_detached(struct osm_buf *b, const char *name, const char *sd, const char *line_expr,
                         const char *result)
{
    osm_buf_addf(b,
        "Remove-Item -Force -ErrorAction SilentlyContinue (Join-Path $state '%s-exit.txt')\r\n"
        "$cmd = Join-Path $state '%s.cmd'\r\n"
        "Set-Content -Path $cmd -Encoding ASCII -Value @('@echo off', %s, '>\"%s\\%s-exit.txt\" echo %%ERRORLEVEL%%')\r\n"
        "Start-OsmigTask 'osmig-%s' $cmd\r\n"
        "Write-Output 'result=%s'\r\nexit 0\r\n",
        name, name, line_expr, sd, name, name, result);
}

static int check_image_index(int index, struct osm_err *err)
{
    if (index < 1 || index > 64)
        return osm_err_set(err, OSM_EUSAGE, "image index %d out of range", index);
    return 0;
}

/* " /pkey KEY" for setup.exe, "" without a key. */
static void pkey_arg(const struct win_setup_params *p, char out[48])
{
    out[0] = '\0';
    if (p->product_key)
        snprintf(out, 48, " /pkey %s", p->product_key);
}

char *win_setup_prepare_script(const struct win_setup_params *p, struct osm_err *err)
{
    const char *sd = state_of(p);
    if (check_state_dir(sd, err) != 0)
        return NULL;
    if (p->kind == WIN_SETUP_WINDOWS10 && check_image_index(p->image_index, err) != 0)
        return NULL;
    struct osm_buf b;
    osm_buf_init(&b);
    head(&b, "prepare the upgrade; returns at once", sd, "Stop");
    osm_buf_addf(&b,
        "New-Item -ItemType Directory -Force -Path $state | Out-Null\r\n"
        "# 1. the transit disk online and writable: a SAN policy can leave a new disk offline or read-only\r\n"
        "$sys = @(Get-WmiObject -Query \"ASSOCIATORS OF {Win32_LogicalDisk.DeviceID='C:'} WHERE AssocClass=Win32_LogicalDiskToPartition\" | ForEach-Object { $_.DiskIndex })\r\n"
        "$dp = @('san policy=OnlineAll')\r\n"
        "foreach ($d in Get-WmiObject -Class Win32_DiskDrive) {\r\n"
        "  if ($sys -notcontains $d.Index) { $dp += @(('select disk ' + $d.Index), 'online disk noerr', 'attributes disk clear readonly noerr') }\r\n"
        "}\r\n"
        "$dp += 'rescan'\r\n"
        "$dpf = Join-Path $state 'transit-online.txt'\r\n"
        "Set-Content -Path $dpf -Encoding ASCII -Value $dp\r\n"
        "& diskpart.exe /s $dpf | Out-Null\r\n"
        "$vol = $null\r\n"
        "for ($i = 0; $i -lt 30 -and -not $vol; $i++) {\r\n"
        "  $vol = Get-WmiObject -Class Win32_Volume | Where-Object { $_.Label -eq '" WIN_TRANSIT_LABEL "' -or $_.Label -eq 'OSMIGTRANSI' } | Select-Object -First 1\r\n"
        "  if (-not $vol) { Start-Sleep -Seconds 2 }\r\n"
        "}\r\n"
        "if (-not $vol) { Write-Output 'result=transit-missing'; exit 2 }\r\n"
        "if (-not $vol.DriveLetter) {\r\n"
        "  $free = [char[]](68..90) | Where-Object { -not (Test-Path ([string]$_ + ':\\')) } | Select-Object -Last 1\r\n"
        "  $vol.DriveLetter = [string]$free + ':'\r\n"
        "  $vol.Put() | Out-Null\r\n"
        "}\r\n"
        "$probe = $vol.DriveLetter + '\\osmig-write-probe'\r\n"
        "try { Set-Content -Path $probe -Value 'osmig'; Remove-Item -Force $probe } catch { Write-Output 'result=transit-readonly'; exit 5 }\r\n"
        "Set-Content -Path (Join-Path $state 'transit.txt') -Value $vol.DriveLetter\r\n"
        "Write-Output ('transit=' + $vol.DriveLetter)\r\n");
    if (p->kind == WIN_SETUP_WINDOWS8) {
        osm_buf_adds(&b,
            "# 2. 2012 R2's setup has no scan-only mode: it checks compatibility itself when it runs\r\n"
            "Write-Output 'compat=skipped'\r\n"
            "Write-Output 'result=ready'\r\n"
            "exit 0\r\n");
    } else {
        /* the scan sees the image and the key the upgrade will use */
        char pkey[48];
        if (p->product_key && check_key(p->product_key, err) != 0) {
            osm_buf_free(&b);
            return NULL;
        }
        pkey_arg(p, pkey);
        char *line = osm_xasprintf("('\"' + $vol.DriveLetter + '\\setup.exe\" /auto upgrade /quiet /compat scanonly /eula accept "
                                   "/dynamicupdate disable /imageindex %d%s /copylogs %s\\scan')",
                                   p->image_index, pkey, sd);
        osm_buf_adds(&b,
            "# 2. the compatibility scan, detached; its exit code lands in compat-exit.txt (0xC1900210: no issue)\r\n"
            "if (Test-OsmigTask 'osmig-compat') { Write-Output 'result=scanning'; exit 0 }\r\n");
        end_detached(&b, "compat", sd, line, "scanning");
        free(line);
    }
    return osm_buf_detach(&b);
}

char *win_setup_start_script(const struct win_setup_params *p, struct osm_err *err)
{
    const char *sd = state_of(p);
    if (check_state_dir(sd, err) != 0)
        return NULL;
    if (check_image_index(p->image_index, err) != 0)
        return NULL;
    int answer_file = p->kind == WIN_SETUP_WINDOWS8 && !p->volume_licence;
    if ((answer_file || p->product_key) && check_key(p->product_key, err) != 0)
        return NULL;
    struct osm_buf b;
    osm_buf_init(&b);
    head(&b, "start Windows Setup; returns at once", sd, "Stop");
    osm_buf_adds(&b,
        "if ((Test-OsmigTask 'osmig-setup') -or (Get-Process -Name setup,SetupHost,SetupPrep -ErrorAction SilentlyContinue)) { Write-Output 'result=already-running'; exit 0 }\r\n"
        "$letter = (Get-Content (Join-Path $state 'transit.txt') | Select-Object -First 1).Trim()\r\n"
        "if (-not (Test-Path ($letter + '\\setup.exe'))) { Write-Output 'result=transit-missing'; exit 2 }\r\n");
    char *line;
    if (p->kind == WIN_SETUP_WINDOWS8 && p->volume_licence) {
        /* 2012 R2's volume-licence media: /Auto takes no answer file; the
         * media's ei.cfg and the KMS key of the volume edition do. */
        line = osm_xstrdup("('\"' + $letter + '\\setup.exe\" /auto:upgrade')");
    } else if (p->kind == WIN_SETUP_WINDOWS8) {
        /* Other 2012 R2 media: an upgrade answer file with the image and the key. */
        osm_buf_addf(&b,
            "$unattend = Join-Path $state 'unattend.xml'\r\n"
            "Set-Content -Path $unattend -Encoding UTF8 -Value @(\r\n"
            "  '<?xml version=\"1.0\" encoding=\"utf-8\"?>',\r\n"
            "  '<unattend xmlns=\"urn:schemas-microsoft-com:unattend\" xmlns:wcm=\"http://schemas.microsoft.com/WMIConfig/2002/State\">',\r\n"
            "  '  <settings pass=\"windowsPE\">',\r\n"
            "  '    <component name=\"Microsoft-Windows-Setup\" processorArchitecture=\"amd64\" publicKeyToken=\"31bf3856ad364e35\" language=\"neutral\" versionScope=\"nonSxS\">',\r\n"
            "  '      <UpgradeData><Upgrade>true</Upgrade><WillShowUI>Never</WillShowUI></UpgradeData>',\r\n"
            "  '      <ImageInstall><OSImage><InstallFrom><MetaData wcm:action=\"add\"><Key>/IMAGE/INDEX</Key><Value>%d</Value></MetaData></InstallFrom></OSImage></ImageInstall>',\r\n"
            "  '      <UserData><AcceptEula>true</AcceptEula><ProductKey><Key>%s</Key><WillShowUI>Never</WillShowUI></ProductKey></UserData>',\r\n"
            "  '    </component>',\r\n"
            "  '  </settings>',\r\n"
            "  '</unattend>')\r\n",
            p->image_index, p->product_key);
        line = osm_xasprintf("('\"' + $letter + '\\setup.exe\" /unattend:%s\\unattend.xml')", sd);
    } else {
        char pkey[48];
        pkey_arg(p, pkey);
        line = osm_xasprintf("('\"' + $letter + '\\setup.exe\" /auto upgrade /quiet /eula accept /dynamicupdate disable "
                             "/compat ignorewarning /showoobe none /imageindex %d%s /copylogs %s\\panther')",
                             p->image_index, pkey, sd);
    }
    osm_buf_adds(&b, "# Windows Setup, detached; its exit code lands in setup-exit.txt\r\n");
    end_detached(&b, "setup", sd, line, "started");
    free(line);
    return osm_buf_detach(&b);
}

char *win_setup_convert_script(const struct win_setup_params *p, struct osm_err *err)
{
    const char *sd = state_of(p);
    if (check_state_dir(sd, err) != 0 || check_key(p->product_key, err) != 0 || check_edition(p->edition_id, err) != 0)
        return NULL;
    struct osm_buf b;
    osm_buf_init(&b);
    head(&b, "convert the edition (licence conversion, no setup); returns at once", sd, "Stop");
    char *line = osm_xasprintf("'dism.exe /online /Set-Edition:%s /ProductKey:%s /AcceptEula /NoRestart'", p->edition_id,
                               p->product_key);
    osm_buf_adds(&b,
        "New-Item -ItemType Directory -Force -Path $state | Out-Null\r\n"
        "if (Test-OsmigTask 'osmig-convert') { Write-Output 'result=already-running'; exit 0 }\r\n"
        "# DISM, detached; its exit code lands in convert-exit.txt (3010: done, restart needed)\r\n");
    end_detached(&b, "convert", sd, line, "started");
    free(line);
    return osm_buf_detach(&b);
}

char *win_setup_status_script(const struct win_setup_params *p, struct osm_err *err)
{
    const char *sd = state_of(p);
    if (check_state_dir(sd, err) != 0)
        return NULL;
    struct osm_buf b;
    osm_buf_init(&b);
    head(&b, "where the upgrade stands", sd, "SilentlyContinue");
    osm_buf_addf(&b,
        "$cv = Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'\r\n"
        "$b = $cv.CurrentBuild; if (-not $b) { $b = $cv.CurrentBuildNumber }\r\n"
        "Write-Output \"build=$b\"\r\n"
        "Write-Output ('edition=' + $cv.EditionID)\r\n"
        "Write-Output ('bt=' + [int](Test-Path 'C:\\$WINDOWS.~BT'))\r\n"
        "Write-Output ('setup_running=' + [int]((Test-OsmigTask 'osmig-setup') -or [bool](Get-Process -Name setup,SetupHost,SetupPrep)))\r\n"
        "Write-Output ('convert_running=' + [int](Test-OsmigTask 'osmig-convert'))\r\n"
        "foreach ($x in 'compat','setup','convert') {\r\n"
        "  $f = Join-Path $state ($x + '-exit.txt')\r\n"
        "  if (Test-Path $f) { Write-Output ($x + '_exit=' + (Get-Content $f | Select-Object -First 1).Trim()) }\r\n"
        "}\r\n"
        "$log = 'C:\\$WINDOWS.~BT\\Sources\\Rollback\\setuperr.log','C:\\$WINDOWS.~BT\\Sources\\Panther\\setuperr.log','%s\\panther\\Panther\\setuperr.log','%s\\scan\\Panther\\setuperr.log' | Where-Object { Test-Path $_ } | Select-Object -First 1\r\n"
        "if ($log) { Get-Content $log | Select-Object -First 20 | ForEach-Object { Write-Output \"err=$_\" } }\r\n",
        sd, sd);
    return osm_buf_detach(&b);
}

char *win_setup_logs_script(const struct win_setup_params *p, struct osm_err *err)
{
    const char *sd = state_of(p);
    if (check_state_dir(sd, err) != 0)
        return NULL;
    return osm_xasprintf(
        "# osmig: setup's logs, whole (generated)\r\n"
        "$ErrorActionPreference = 'SilentlyContinue'\r\n"
        "foreach ($d in 'bt-panther|C:\\$WINDOWS.~BT\\Sources\\Panther','bt-rollback|C:\\$WINDOWS.~BT\\Sources\\Rollback','windows-panther|C:\\Windows\\Panther','copylogs|%s\\panther\\Panther','scan|%s\\scan\\Panther') {\r\n"
        "  $tag, $dir = $d.Split('|')\r\n"
        "  foreach ($n in 'setuperr.log','setupact.log') {\r\n"
        "    $p = Join-Path $dir $n\r\n"
        "    if (Test-Path $p) {\r\n"
        "      Write-Output ('log-begin=' + $tag + '-' + $n)\r\n"
        "      foreach ($line in [IO.File]::ReadAllLines($p)) { Write-Output ('log=' + $line) }\r\n"
        "      Write-Output ('log-end=' + $tag + '-' + $n)\r\n"
        "    }\r\n"
        "  }\r\n"
        "}\r\n",
        sd, sd);
}

void win_setup_argv(const char *script, const char *argv[8])
{
    argv[0] = "powershell.exe";
    argv[1] = "-NoProfile";
    argv[2] = "-NonInteractive";
    argv[3] = "-ExecutionPolicy";
    argv[4] = "Bypass";
    argv[5] = "-Command";
    argv[6] = script;
    argv[7] = NULL;
}

static void copy_val(char *dst, size_t n, const char *v, size_t len)
{
    if (len >= n)
        len = n - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

void win_setup_parse_status(const char *text, struct win_status *st)
{
    memset(st, 0, sizeof *st);
    st->build = -1;
    struct osm_buf errs;
    osm_buf_init(&errs);
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\r\n");
        const char *eq = memchr(p, '=', len);
        if (eq) {
            size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
            const char *v = eq + 1;
            char num[32];
            copy_val(num, sizeof num, v, vlen);
            if (klen == 5 && !strncmp(p, "build", 5)) {
                char *end;
                long b = strtol(num, &end, 10);
                st->build = (*num && !*end && b > 0) ? b : -1;
            } else if (klen == 7 && !strncmp(p, "edition", 7)) {
                copy_val(st->edition, sizeof st->edition, v, vlen);
            } else if (klen == 15 && !strncmp(p, "convert_running", 15)) {
                st->convert_running = atoi(num) != 0;
            } else if (klen == 11 && !strncmp(p, "compat_exit", 11)) {
                copy_val(st->compat_exit, sizeof st->compat_exit, v, vlen);
            } else if (klen == 12 && !strncmp(p, "convert_exit", 12)) {
                copy_val(st->convert_exit, sizeof st->convert_exit, v, vlen);
            } else if (klen == 2 && !strncmp(p, "bt", 2)) {
                st->bt_present = atoi(num) != 0;
            } else if (klen == 13 && !strncmp(p, "setup_running", 13)) {
                st->setup_running = atoi(num) != 0;
            } else if (klen == 10 && !strncmp(p, "setup_exit", 10)) {
                copy_val(st->setup_exit, sizeof st->setup_exit, v, vlen);
            } else if (klen == 6 && !strncmp(p, "compat", 6)) {
                copy_val(st->compat, sizeof st->compat, v, vlen);
            } else if (klen == 6 && !strncmp(p, "result", 6)) {
                copy_val(st->result, sizeof st->result, v, vlen);
            } else if (klen == 3 && !strncmp(p, "err", 3)) {
                osm_buf_add(&errs, v, vlen);
                osm_buf_addc(&errs, '\n');
            }
        }
        p += len;
        while (*p == '\r' || *p == '\n')
            p++;
    }
    st->errors = win_panther_errors(errs.s, 5);
    osm_buf_free(&errs);
}

int win_setup_parse_logs(const char *text, void (*fn)(void *ctx, const char *name, const char *text), void *ctx)
{
    struct osm_buf body;
    osm_buf_init(&body);
    char name[128] = "";
    int n = 0;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\r\n");
        if (len > 10 && !strncmp(p, "log-begin=", 10)) {
            copy_val(name, sizeof name, p + 10, len - 10);
            osm_buf_reset(&body);
        } else if (name[0] && len >= 4 && !strncmp(p, "log=", 4)) {
            osm_buf_add(&body, p + 4, len - 4);
            osm_buf_addc(&body, '\n');
        } else if (name[0] && len > 8 && !strncmp(p, "log-end=", 8)) {
            fn(ctx, name, body.s ? body.s : "");
            n++;
            name[0] = '\0';
        }
        p += len;
        if (*p == '\r')
            p++;
        if (*p == '\n')
            p++;
    }
    osm_buf_free(&body);
    return n;
}
