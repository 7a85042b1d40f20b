/* rpmutil.c: see rpmutil.h. */
#include "rpmutil.h"

#include "rpmsetup.h"
#include "osm_fs.h"

#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmdb.h>
#include <stdlib.h>
#include <string.h>

static struct osm_buf *capture_sink;
static rpmlogCallback saved_cb;
static rpmlogCallbackData saved_data;

int osm_rpm_init(struct osm_err *err)
{
    return osm_rpm_setup(err);
}

void osm_rpm_el_dbpath_begin(const char *root)
{
    /* librpm joins the root and %_dbpath and follows the host's view of any
     * symlink on the way: give it /var/lib/rpm as resolved inside the root
     * (osm_root_path), whose prefix then has no symlink left. */
    char *host = osm_root_path_follow(root, "/var/lib/rpm");
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    const char *guest = "/var/lib/rpm";
    if (strncmp(host, root, rl) == 0 && host[rl] == '/')
        guest = host + rl;
    else if (strcmp(root, "/") != 0)
        guest = "/nonexistent/osmig-rpmdb-outside-root";
    rpmPushMacro(NULL, "_dbpath", NULL, strcmp(root, "/") == 0 ? host : guest, RMIL_CMDLINE);
    free(host);
}

void osm_rpm_el_dbpath_end(void)
{
    rpmPopMacro(NULL, "_dbpath");
}

void osm_rpmlog_append(struct osm_buf *sink, rpmlogRec rec)
{
    const char *m = rpmlogRecMessage(rec);
    size_t n = strlen(m);
    while (n && m[n - 1] == '\n')
        n--;
    if (sink->len)
        osm_buf_adds(sink, "; ");
    osm_buf_add(sink, m, n);
}

static int capture_cb(rpmlogRec rec, rpmlogCallbackData data)
{
    (void)data;
    if (capture_sink && rpmlogRecPriority(rec) <= RPMLOG_WARNING)
        osm_rpmlog_append(capture_sink, rec);
    return 0; /* swallowed: the caller reports it */
}

void osm_rpmlog_capture_begin(struct osm_buf *sink)
{
    capture_sink = sink;
    saved_cb = rpmlogSetCallback(capture_cb, NULL);
    (void)saved_data;
}

void osm_rpmlog_capture_end(void)
{
    rpmlogSetCallback(saved_cb, saved_data);
    capture_sink = NULL;
}

/* Installed instances matching a label ("name-V-R.A", epoch spelled or not). */
rpmdbMatchIterator osm_rpm_find_installed(rpmts ts, const char *label)
{
    /* RPMDBI_LABEL does not take an epoch: drop "E:" after the name. */
    char *copy = osm_xstrdup(label);
    char *colon = strchr(copy, ':');
    if (colon) {
        char *dash = colon;
        while (dash > copy && *dash != '-')
            dash--;
        if (*dash == '-')
            memmove(dash + 1, colon + 1, strlen(colon + 1) + 1);
    }
    rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_LABEL, copy, 0);
    free(copy);
    return mi;
}

int osm_rpm_is_installed(rpmts ts, const char *label)
{
    rpmdbMatchIterator mi = osm_rpm_find_installed(ts, label);
    int n = mi ? rpmdbGetIteratorCount(mi) : 0;
    rpmdbFreeIterator(mi);
    return n > 0;
}

