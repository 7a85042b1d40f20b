/* report_write.c: where reports go (REPORT_DIR/INSTANCE/RUN) and how they
 * get there: a run directory made whole under a temporary name and renamed,
 * then INSTANCE/latest replaced by rename, so a reader sees a complete run
 * or none and `latest` always names a complete one. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_fs.h"
#include "osm_hash.h"
#include "osm_log.h"
#include "osm_time.h"
#include "report.h"

char *osm_report_base_dir(void)
{
    const char *e = getenv("OSMIG_REPORT_DIR");
    return osm_xstrdup(e && *e ? e : OSM_REPORT_DEFAULT_DIR);
}

/* The URI's tail as a plain name (its last 48 characters are the ones that
 * tell instances apart: /srv/web01), and a hash of the whole URI so that
 * two URIs never share a directory. */
char *osm_report_instance_name(const char *uri)
{
    struct osm_buf b;
    osm_buf_init(&b);
    int sep = 0;
    for (const char *p = uri; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    *p == '.' || *p == '-' || *p == '+';
        if (plain) {
            if (sep && b.len)
                osm_buf_addc(&b, '_');
            osm_buf_addc(&b, *p);
            sep = 0;
        } else {
            sep = 1;
        }
    }
    const char *tail = b.s;
    if (b.len > 48) {
        tail = b.s + b.len - 48;
        const char *u = strchr(tail, '_');
        if (u && u[1])
            tail = u + 1;
    }
    while (*tail == '.' || *tail == '-')
        tail++;
    char hex[65];
    osm_sha256_hex(uri, strlen(uri), hex);
    char *name = osm_xasprintf("%s%s%.8s", tail, *tail ? "-" : "", hex);
    osm_buf_free(&b);
    return name;
}

static int write_one(const char *dir, const char *name, const json_t *r,
                     void (*print)(FILE *, const json_t *), struct osm_err *err)
{
    char *data = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&data, &len);
    if (!m) {
        osm_err_errno(err, "rendering %s", name);
        return -1;
    }
    if (print) {
        print(m, r);
    } else {
        json_dumpf(r, m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', m);
    }
    fclose(m);
    char *path = osm_path_join(dir, name);
    int rc = osm_write_file_atomic(path, data, len, 0644, err);
    free(path);
    free(data);
    return rc;
}

static char *run_name(const json_t *r, int n)
{
    int64_t when = 0;
    const char *created = json_string_value(json_object_get(r, "created"));
    if (!created || osm_time_parse(created, &when) != 0)
        when = (int64_t)time(NULL);
    time_t t = (time_t)when;
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    const char *cmd = json_string_value(json_object_get(r, "command"));
    const char *task = json_string_value(json_object_get(json_object_get(r, "task"), "id"));
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_addf(&b, "%s-%s", stamp, cmd && osm_name_is_plain(cmd, 32) ? cmd : "run");
    if (task && osm_name_is_plain(task, 64))
        osm_buf_addf(&b, "-%s", task);
    if (n > 1)
        osm_buf_addf(&b, "-%d", n);
    return osm_buf_detach(&b);
}

static long env_number(const char *name, long def, long min)
{
    const char *e = getenv(name);
    char *end = NULL;
    long v = e && *e ? strtol(e, &end, 10) : def;
    return e && *e && (*end || v < min) ? def : v;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A run's name starts with its time, YYYYMMDDTHHMMSSZ: -1 when it does not
 * (then it is no run of ours and is left alone). */
static int64_t run_time(const char *name)
{
    struct tm tm = {0};
    const char *end = strptime(name, "%Y%m%dT%H%M%SZ-", &tm);
    return end ? (int64_t)timegm(&tm) : -1;
}

/* Remove the runs of `idir` beyond the retention (report.h); `keep_name`
 * (the run `latest` names) always stays. A run that cannot be removed is
 * a warning: the report just written is what counts. */
static void prune_runs(const char *idir, const char *keep_name, int64_t now)
{
    long keep = env_number("OSMIG_REPORT_KEEP", OSM_REPORT_DEFAULT_KEEP, 1);
    long days = env_number("OSMIG_REPORT_KEEP_DAYS", OSM_REPORT_DEFAULT_KEEP_DAYS, 0);
    DIR *d = opendir(idir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || run_time(e->d_name) < 0 || !osm_name_is_plain(e->d_name, 255))
            continue;
        names = osm_xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = osm_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name); /* oldest first: names start with the time */
    long kept = 1; /* `latest`'s run, whatever its time */
    for (size_t i = n; i-- > 0;) {
        if (strcmp(names[i], keep_name) == 0) {
            free(names[i]);
            continue;
        }
        int too_old = days > 0 && run_time(names[i]) < now - (int64_t)days * 86400;
        if (!too_old && kept < keep) {
            kept++;
        } else {
            char *p = osm_path_join(idir, names[i]);
            struct stat sb;
            struct osm_err err = OSM_ERR_INIT;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode) && osm_remove_tree(p, &err) != 0)
                osm_warn("report.prune", "dir=%s msg=\"%s\"", p, err.msg);
            free(p);
        }
        free(names[i]);
    }
    free(names);
}

int osm_report_write(const char *base, const json_t *r, char **run_dir, struct osm_err *err)
{
    const char *uri = json_string_value(json_object_get(r, "instance"));
    char *iname = osm_report_instance_name(uri ? uri : "unknown");
    char *idir = osm_path_join(base, iname);
    char *tmp = NULL, *final = NULL;
    int rc = -1;
    if (osm_mkdir_p(idir, 0755, err) != 0) {
        osm_err_prefix(err, "report directory");
        goto out;
    }
    tmp = osm_xasprintf("%s/.run.tmp.XXXXXX", idir);
    if (!mkdtemp(tmp)) {
        osm_err_errno(err, "report directory: creating %s", tmp);
        free(tmp);
        tmp = NULL;
        goto out;
    }
    chmod(tmp, 0755); /* mkdtemp makes it 0700; reports are for every admin to read */
    if (write_one(tmp, "osmig-report.json", r, NULL, err) != 0 ||
        write_one(tmp, "osmig-report.txt", r, osm_report_print_text, err) != 0 ||
        write_one(tmp, "osmig-report.html", r, osm_report_print_html, err) != 0)
        goto out;
    /* Two runs in the same second get -2, -3...: rename never replaces a
     * non-empty directory, so the first to claim a name keeps it. */
    char *name = NULL;
    for (int n = 1; n < 1000; n++) {
        name = run_name(r, n);
        final = osm_path_join(idir, name);
        if (rename(tmp, final) == 0)
            break;
        int e = errno;
        free(final);
        final = NULL;
        if (e != EEXIST && e != ENOTEMPTY) {
            errno = e;
            osm_err_errno(err, "report directory: renaming %s to %s/%s", tmp, idir, name);
            free(name);
            goto out;
        }
        free(name);
        name = NULL;
    }
    if (!final) {
        osm_err_set(err, OSM_EIO, "report directory %s: no free run name", idir);
        goto out;
    }
    free(tmp);
    tmp = NULL;
    char *link_tmp = osm_xasprintf("%s/.latest.tmp.%ld", idir, (long)getpid());
    char *latest = osm_path_join(idir, "latest");
    unlink(link_tmp);
    if (symlink(name, link_tmp) != 0 || rename(link_tmp, latest) != 0) {
        osm_err_errno(err, "report directory: pointing %s at %s", latest, name);
        unlink(link_tmp);
    } else {
        rc = 0;
    }
    if (rc == 0)
        prune_runs(idir, name, (int64_t)time(NULL));
    osm_fsync_dir(idir);
    free(link_tmp);
    free(latest);
    free(name);
    if (rc == 0 && run_dir) {
        *run_dir = final;
        final = NULL;
    }
out:
    if (tmp) {
        struct osm_err ignored = OSM_ERR_INIT;
        osm_remove_tree(tmp, &ignored);
        free(tmp);
    }
    free(final);
    free(idir);
    free(iname);
    return rc;
}
