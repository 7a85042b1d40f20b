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

char *win_setup_start_script(const struct win_setup_params *p, struct osm_err *err)
{
    const char *sd = p->state_dir ? p->state_dir : WIN_DEFAULT_STATE_DIR;
    if (check_state_dir(sd, err) != 0)
        return NULL;
    if (p->image_index < 1 || p->image_index > 64) {
        osm_err_set(err, OSM_EUSAGE, "image index %d out of range", p->image_index);
        return NULL;
    }
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_addf(&b,
        "# osmig: start the in-place upgrade (generated; returns at once)\r\n"
        "$ErrorActionPreference = 'Stop'\r\n"
        "$state = '%s'\r\n"
        "New-Item -ItemType Directory -Force -Path $state | Out-Null\r\n"
        "if (Get-Process -Name SetupHost,SetupPrep -ErrorAction SilentlyContinue) { Write-Output 'result=already-running'; exit 0 }\r\n"
        "Remove-Item -Force -ErrorAction SilentlyContinue (Join-Path $state 'setup-exit.txt')\r\n"
        "$vol = Get-WmiObject -Class Win32_Volume | Where-Object { $_.Label -eq '" WIN_TRANSIT_LABEL "' -or $_.Label -eq 'OSMIGTRANSI' } | Select-Object -First 1\r\n"
        "if (-not $vol -or -not $vol.DriveLetter) { Write-Output 'result=transit-missing'; exit 2 }\r\n"
        "$setup = $vol.DriveLetter + '\\setup.exe'\r\n"
        "# 1. compatibility scan: 0xC1900210 means no issue was found\r\n"
        "$scan = Start-Process -FilePath $setup -Wait -PassThru -ArgumentList '/auto upgrade /quiet /compat scanonly /eula accept /dynamicupdate disable /imageindex %d /copylogs %s\\scan'\r\n"
        "$compat = '0x{0:X8}' -f $scan.ExitCode\r\n"
        "Set-Content -Path (Join-Path $state 'compat.txt') -Value $compat\r\n"
        "Write-Output \"compat=$compat\"\r\n"
        "if ($compat -ne '0xC1900210') { exit 3 }\r\n"
        "# 2. the upgrade, detached in a SYSTEM scheduled task so the agent call returns\r\n"
        "$cmd = Join-Path $state 'upgrade.cmd'\r\n"
        "Set-Content -Path $cmd -Encoding ASCII -Value @('@echo off', ('\"' + $setup + '\" /auto upgrade /quiet /eula accept /dynamicupdate disable /compat ignorewarning /showoobe none /imageindex %d /copylogs %s\\panther'), ('echo %%ERRORLEVEL%%> %s\\setup-exit.txt'))\r\n"
        "& schtasks.exe /Create /F /TN osmig-upgrade /RU SYSTEM /RL HIGHEST /SC ONCE /ST 00:00 /TR $cmd | Out-Null\r\n"
        "if ($LASTEXITCODE -ne 0) { Write-Output 'result=task-failed'; exit 4 }\r\n"
        "& schtasks.exe /Run /TN osmig-upgrade | Out-Null\r\n"
        "if ($LASTEXITCODE -ne 0) { Write-Output 'result=task-failed'; exit 4 }\r\n"
        "Write-Output 'result=started'\r\n"
        "exit 0\r\n",
        sd, p->image_index, sd, p->image_index, sd, sd);
    return osm_buf_detach(&b);
}

char *win_setup_status_script(const struct win_setup_params *p, struct osm_err *err)
{
    const char *sd = p->state_dir ? p->state_dir : WIN_DEFAULT_STATE_DIR;
    if (check_state_dir(sd, err) != 0)
        return NULL;
    return osm_xasprintf(
        "# osmig: where the upgrade stands (generated)\r\n"
        "$ErrorActionPreference = 'SilentlyContinue'\r\n"
        "$cv = Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'\r\n"
        "$b = $cv.CurrentBuild; if (-not $b) { $b = $cv.CurrentBuildNumber }\r\n"
        "Write-Output \"build=$b\"\r\n"
        "Write-Output ('bt=' + [int](Test-Path 'C:\\$WINDOWS.~BT'))\r\n"
        "Write-Output ('setup_running=' + [int][bool](Get-Process -Name SetupHost,SetupPrep))\r\n"
        "$x = '%s\\setup-exit.txt'; if (Test-Path $x) { Write-Output ('setup_exit=' + (Get-Content $x | Select-Object -First 1).Trim()) }\r\n"
        "foreach ($log in 'C:\\$WINDOWS.~BT\\Sources\\Rollback\\setuperr.log','C:\\$WINDOWS.~BT\\Sources\\Panther\\setuperr.log','%s\\panther\\Panther\\setuperr.log') {\r\n"
        "  if (Test-Path $log) { Get-Content $log | Select-Object -First 5 | ForEach-Object { Write-Output \"err=$_\" } }\r\n"
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
