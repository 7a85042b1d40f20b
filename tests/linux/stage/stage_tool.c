/* osm_stage_tool: drives the staging API (fetch, stage, apply, verify) from
 * the command line, for the tests in this directory and for benchmarks that
 * time each step. Not installed; the engine's runner calls the same functions.
 *
 *   osm_stage_tool fetch URL DEST [TYPE:HEX]
 *   osm_stage_tool stage PLAN ROOT [--no-signature-check] [--reserve BYTES]
 *   osm_stage_tool apply PLAN ROOT
 *   osm_stage_tool verify PLAN ROOT [--core NAME,NAME...]
 *   osm_stage_tool rpmdb-prepare ROOT
 *   osm_stage_tool sigcheck KEYFILE RPM
 * Common options: --parallel N --retries N --backoff-ms N --stall-timeout S --progress */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "fetch.h"
#include "osm_log.h"
#include "planfile.h"
#include "sigcheck.h"
#include "stage.h"
#include "target_txn.h"
#include "userspace.h"
#include "verify.h"

static int show_progress;

static void on_progress(const struct osm_progress *p, void *ud)
{
    (void)ud;
    if (show_progress)
        printf("progress phase=%s pkgs=%zu/%zu bytes=%llu/%llu current=%s\n", p->phase, p->pkgs_done, p->pkgs_total,
               (unsigned long long)p->bytes_done, (unsigned long long)p->bytes_total, p->current ? p->current : "-");
}

static int fail(const struct osm_err *err)
{
    fprintf(stderr, "error: %s\n", err->msg);
    return 1;
}

int main(int argc, char **argv)
{
    osm_log_init_from_env();
    if (argc < 3) {
        fprintf(stderr, "usage: osm_stage_tool fetch|stage|userspace|target-txn|apply|verify|rpmdb-prepare|sigcheck ARGS...\n");
        return 2;
    }
    struct osm_fetch_opts fo = {.progress = on_progress};
    struct osm_stage_opts so = {.progress = on_progress};
    const char *pos[4] = {0};
    int npos = 0;
    char *core = NULL;
    int by_root_rpm = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-signature-check") == 0)
            so.no_signature_check = 1;
        else if (strcmp(a, "--by-root-rpm") == 0)
            by_root_rpm = 1;
        else if (strcmp(a, "--progress") == 0)
            show_progress = 1;
        else if (strcmp(a, "--reserve") == 0 && v)
            so.reserve_bytes = strtoll(argv[++i], NULL, 10);
        else if (strcmp(a, "--parallel") == 0 && v)
            fo.parallel = atoi(argv[++i]);
        else if (strcmp(a, "--retries") == 0 && v)
            fo.max_retries = atoi(argv[++i]);
        else if (strcmp(a, "--backoff-ms") == 0 && v)
            fo.backoff_ms = (unsigned)atoi(argv[++i]);
        else if (strcmp(a, "--stall-timeout") == 0 && v)
            fo.stall_timeout_s = atol(argv[++i]);
        else if (strcmp(a, "--core") == 0 && v)
            core = argv[++i];
        else if (a[0] == '-' || npos == 4) {
            fprintf(stderr, "osm_stage_tool: unexpected argument %s\n", a);
            return 2;
        } else
            pos[npos++] = a;
    }
    so.fetch = fo;
    const char *cmd = argv[1];
    struct osm_err err = OSM_ERR_INIT;
    if (strcmp(cmd, "fetch") == 0 && npos >= 2) {
        char *type = NULL, *hex = NULL;
        if (pos[2] && strchr(pos[2], ':')) {
            type = strndup(pos[2], (size_t)(strchr(pos[2], ':') - pos[2]));
            hex = strchr(pos[2], ':') + 1;
        }
        int rc = osm_fetch_file(pos[0], pos[1], type, hex, &fo, &err);
        free(type);
        return rc < 0 ? fail(&err) : 0;
    }
    if (strcmp(cmd, "rpmdb-prepare") == 0 && npos == 1) {
        int rebuilt = 0;
        if (osm_rpmdb_prepare(pos[0], &rebuilt, &err) < 0)
            return fail(&err);
        printf("rpmdb %s\n", rebuilt ? "rebuilt as sqlite" : "already sqlite");
        return 0;
    }
    if (strcmp(cmd, "sigcheck") == 0 && npos == 2) {
        struct osm_keyring *kr = NULL;
        if (osm_keyring_load(&pos[0], 1, &kr, &err) < 0)
            return fail(&err);
        int rc = osm_sigcheck_package(kr, pos[1], NULL, &err);
        osm_keyring_free(kr);
        return rc < 0 ? fail(&err) : (printf("signature ok\n"), 0);
    }
    if (npos != 2) {
        fprintf(stderr, "osm_stage_tool %s: expected PLAN ROOT\n", cmd);
        return 2;
    }
    struct osm_planfile plan;
    if (osm_planfile_load(pos[0], &plan, &err) < 0)
        return fail(&err);
    int rc = 0;
    if (strcmp(cmd, "stage") == 0) {
        struct osm_stage_result r;
        rc = osm_stage(&plan, pos[1], &so, &r, &err);
        if (rc == 0)
            printf("staged packages=%zu reused=%zu bytes=%llu signatures=%s\n", r.packages, r.reused,
                   (unsigned long long)r.bytes, r.signatures_checked ? "verified" : "NOT CHECKED");
    } else if (strcmp(cmd, "apply") == 0) {
        struct osm_apply_opts ao = {.progress = on_progress};
        struct osm_apply_result r;
        rc = osm_apply(&plan, pos[1], &ao, &r, &err);
        if (rc == 0)
            printf("applied elements=%zu skipped=%zu rpmdb_rebuilt=%d scriptlet_warnings=%zu\n", r.elements,
                   r.skipped, r.rpmdb_rebuilt, r.scriptlet_warnings);
    } else if (strcmp(cmd, "userspace") == 0) {
        struct osm_userspace_result r;
        rc = osm_userspace_build(&plan, pos[1], &r, &err);
        if (rc == 0)
            printf("userspace packages=%zu reused=%d\n", r.packages, r.reused);
    } else if (strcmp(cmd, "target-txn") == 0) {
        struct osm_ttx_opts to = {.no_signature_check = so.no_signature_check, .progress = on_progress};
        struct osm_ttx_result r;
        rc = osm_target_transaction(&plan, pos[1], &to, &r, &err);
        if (rc == 0)
            printf("target transaction erased=%zu installed=%zu skipped=%zu keys_imported=%zu keys_removed=%zu "
                   "dirs_replaced=%zu rpmdb_rebuilt=%d\n",
                   r.erased, r.installed, r.skipped, r.keys_imported, r.keys_removed, r.dirs_replaced,
                   r.rpmdb_rebuilt);
    } else if (strcmp(cmd, "verify") == 0) {
        const char *names[64] = {0};
        size_t n = 0;
        for (char *tok = core ? strtok(core, ",") : NULL; tok && n < 63; tok = strtok(NULL, ","))
            names[n++] = tok;
        struct osm_verify_opts vo = {.core_packages = core ? names : NULL, .progress = on_progress,
                                     .by_root_rpm = by_root_rpm};
        struct osm_buf report;
        osm_buf_init(&report);
        rc = osm_verify(&plan, pos[1], &vo, &report, &err);
        fputs(report.s, stdout);
        osm_buf_free(&report);
    } else {
        fprintf(stderr, "osm_stage_tool: unknown command %s\n", cmd);
        osm_planfile_free(&plan);
        return 2;
    }
    osm_planfile_free(&plan);
    return rc < 0 ? fail(&err) : 0;
}
