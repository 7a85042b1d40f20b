/* win_provider_double.c: the setup-outcome double (see the header). */
#include <stdio.h>
#include <string.h>

#include "osm_buf.h"
#include "win_provider_double.h"

static time_t fake_now(void *ctx)
{
    return ((struct win_double *)ctx)->now;
}

static void fake_sleep(void *ctx, unsigned s)
{
    ((struct win_double *)ctx)->now += s;
}

static int d_attach(struct osm_instance *inst, const char *image, struct osm_err *err)
{
    (void)image, (void)err;
    ((struct win_double *)inst->priv)->attached++;
    return 0;
}

static int d_detach(struct osm_instance *inst, const char *image, struct osm_err *err)
{
    (void)image, (void)err;
    ((struct win_double *)inst->priv)->detached++;
    return 0;
}

static void add_log(struct osm_buf *out, const char *log)
{
    for (const char *p = log; p && *p;) {
        size_t n = strcspn(p, "\n");
        osm_buf_adds(out, "err=");
        osm_buf_add(out, p, n);
        osm_buf_addc(out, '\n');
        p += n + (p[n] == '\n');
    }
}

static int d_run(struct osm_instance *inst, const char *const argv[], struct osm_buf *out, struct osm_err *err)
{
    struct win_double *d = inst->priv;
    const char *script = argv[6] ? argv[6] : "";
    if (d->play == DOUBLE_AGENT_DOWN)
        return osm_err_set(err, OSM_ENET, "double: the agent does not answer");
    if (strstr(script, "start the in-place upgrade")) {
        d->starts++;
        snprintf(d->last_start_script, sizeof d->last_start_script, "%s", script);
        if (d->play == DOUBLE_COMPAT_BLOCK) {
            osm_buf_addf(out, "compat=%s\n", d->compat);
            return 3;
        }
        if (d->nbuilds > d->starts) {
            d->old_build = d->builds[d->starts - 1];
            d->new_build = d->builds[d->starts];
            d->polls = 0;
        }
        osm_buf_adds(out, "compat=0xC1900210\nresult=started\n");
        return 0;
    }
    if (!strstr(script, "where the upgrade stands"))
        return osm_err_set(err, OSM_EUNSUPPORTED, "double: unexpected command");
    int step = d->polls++;
    switch (d->play) {
    case DOUBLE_SUCCESS:
        if (step == 2 || step == 3)
            return osm_err_set(err, OSM_ENET, "double: rebooting");
        if (step < 2)
            osm_buf_addf(out, "build=%ld\nbt=1\nsetup_running=1\n", d->old_build);
        else
            osm_buf_addf(out, "build=%ld\nbt=%d\nsetup_running=0\n", d->new_build, step == 4);
        return 0;
    case DOUBLE_ROLLBACK:
        if (step == 2 || step == 3)
            return osm_err_set(err, OSM_ENET, "double: rebooting");
        osm_buf_addf(out, "build=%ld\nbt=1\nsetup_running=%d\n", d->old_build, step < 2);
        if (step >= 4)
            add_log(out, d->log);
        return 0;
    case DOUBLE_SETUP_EXIT:
        osm_buf_addf(out, "build=%ld\nbt=1\nsetup_running=%d\n", d->old_build, step == 0);
        if (step >= 1) {
            osm_buf_addf(out, "setup_exit=%s\n", d->setup_exit);
            add_log(out, d->log);
        }
        return 0;
    case DOUBLE_HANG:
    default:
        osm_buf_addf(out, "build=%ld\nbt=1\nsetup_running=1\n", d->old_build);
        return 0;
    }
}

static const struct osm_provider double_provider = {
    .scheme = "windows-double",
    .run = d_run,
    .attach_disk = d_attach,
    .detach_disk = d_detach,
};

void win_double_open(struct osm_instance *inst, struct win_double *d)
{
    inst->uri = "windows-double:test";
    inst->name = "double";
    inst->provider = &double_provider;
    inst->priv = d;
    d->now = 1000000;
    d->clock = (struct win_clock){fake_now, fake_sleep, d};
}
