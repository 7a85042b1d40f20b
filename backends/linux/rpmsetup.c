/* rpmsetup.c: see rpmsetup.h. */
#include "rpmsetup.h"

#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <string.h>

#include "osm_buf.h"
#include "rpmutil.h"

static int configured;
static struct osm_buf captured;
static int capturing;

static int log_cb(rpmlogRec rec, rpmlogCallbackData data)
{
    (void)data;
    if (capturing && rpmlogRecPriority(rec) <= RPMLOG_ERR)
        osm_rpmlog_append(&captured, rec);
    return 0; /* handled: nothing goes to stderr */
}

int osm_rpm_setup(struct osm_err *err)
{
    if (configured)
        return 0;
    if (rpmReadConfigFiles(NULL, NULL) != 0)
        return osm_err_set(err, OSM_EFAIL, "librpm: cannot read its configuration");
    rpmlogSetCallback(log_cb, NULL);
    osm_buf_init(&captured);
    configured = 1;
    return 0;
}

void osm_rpm_capture_begin(void)
{
    osm_buf_reset(&captured);
    capturing = 1;
}

char *osm_rpm_capture_end(void)
{
    capturing = 0;
    char *s = osm_xstrdup(captured.s);
    osm_buf_reset(&captured);
    return s;
}
