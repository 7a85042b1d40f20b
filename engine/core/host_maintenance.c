/* host_maintenance.c: see host_maintenance.h. */
#include "host_maintenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "provider.h"
#include "runner.h"

#define MIN_FREE_MIB 500

/* Agents the seed asks to disable (its "ECS instance security software"),
 * by where they install: Alibaba Cloud Security Center, and two common
 * others. Found only on providers whose root is a host path. */
static const char *const security_software[] = {"/usr/local/aegis", "/opt/CrowdStrike", "/opt/microsoft/mdatp", NULL};

static int precheck_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    struct osm_instance *inst = osm_step_instance(ctx, err);
    if (!inst)
        return -1;
    struct osm_facts f;
    if (osm_instance_facts(inst, &f, err) != 0)
        return -1;
    struct osm_buf why;
    osm_buf_init(&why);
    if (f.system_disk_free_bytes >= 0 && f.system_disk_free_bytes < (int64_t)MIN_FREE_MIB * 1048576)
        osm_buf_addf(&why, "%s%lld MiB free on the system disk: Reserve at least 500 MiB system disk space",
                     why.len ? "; " : "", (long long)(f.system_disk_free_bytes / 1048576));
    for (size_t i = 0; inst->root && security_software[i]; i++) {
        char *p = osm_root_path_follow(inst->root, security_software[i]);
        if (p && osm_is_dir(p)) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "%s is on the instance: disable or uninstall ECS instance security software (the migration "
                     "updates the instance's drivers)",
                     security_software[i]);
            struct osm_err e = OSM_ERR_INIT;
            osm_step_event(ctx, "precheck.security-software", msg, &e);
        }
        free(p);
    }
    /* moving off the physical server is the provider's; none can yet */
    osm_buf_addf(&why, "%sprovider '%s' cannot move instance %s off its physical server", why.len ? "; " : "",
                 inst->provider->scheme, inst->uri);
    osm_err_set(err, OSM_EUNSUPPORTED, "%s", why.s);
    osm_buf_free(&why);
    return -1;
}

/* Nothing of the instance changes before a move, so nothing to restore. */
static int rollback_run(struct osm_step_ctx *ctx, struct osm_err *err)
{
    (void)ctx;
    (void)err;
    return 0;
}

static const struct osm_step steps[] = {
    {"precheck", "prechecking", precheck_run, NULL, 1, 0},
};

const struct osm_task_kind osm_host_maintenance_kind = {
    OSM_KIND_HOST_MAINTENANCE,
    steps,
    sizeof steps / sizeof *steps,
    {"rollback", "rolling_back", rollback_run, NULL, 1, 1},
};
