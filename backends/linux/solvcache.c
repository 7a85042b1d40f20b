/* solvcache.c: see solvcache.h. */
#include "solvcache.h"

#include <solv/knownid.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>
#include <solv/repodata.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osm_buf.h"
#include "osm_log.h"

static int keyfilter(Repo *repo, Repokey *key, void *kfdata)
{
    switch (key->name) {
    case SOLVABLE_SUMMARY:
    case SOLVABLE_DESCRIPTION:
    case SOLVABLE_URL:
    case SOLVABLE_LICENSE:
    case SOLVABLE_GROUP:
    case SOLVABLE_PACKAGER:
    case SOLVABLE_BUILDHOST:
    case SOLVABLE_BUILDTIME:
    case SOLVABLE_HEADEREND:
    case SOLVABLE_SOURCEARCH:
    case SOLVABLE_SOURCEEVR:
    case SOLVABLE_SOURCENAME:
        return KEY_STORAGE_DROPPED;
    default:
        return repo_write_stdkeyfilter(repo, key, kfdata);
    }
}

int osm_solvcache_read(Repo *repo, const char *path)
{
    FILE *fp = fopen(path, "re");
    if (!fp)
        return -1;
    int r = repo_add_solv(repo, fp, 0);
    fclose(fp);
    if (r != 0)
        osm_warn("solvcache.unreadable", "file=%s error=\"%s\"", path, pool_errstr(repo->pool));
    return r == 0 ? 0 : -1;
}

int osm_solvcache_write_fp(Repo *repo, FILE *fp)
{
    return repo_write_filtered(repo, fp, keyfilter, NULL, NULL) == 0 ? 0 : -1;
}

/* A temporary file beside `path`, unique per writer: several threads of one
 * process may write caches at once. */
static FILE *open_temp(const char *path, char **tmp)
{
    *tmp = osm_xasprintf("%s.tmp.XXXXXX", path);
    int fd = mkostemp(*tmp, O_CLOEXEC);
    if (fd < 0)
        return NULL;
    fchmod(fd, 0644);
    FILE *fp = fdopen(fd, "w");
    if (!fp)
        close(fd);
    return fp;
}

static void finish(FILE *fp, int ok, char *tmp, const char *path)
{
    if (fp) {
        ok &= fflush(fp) == 0;
        ok &= fclose(fp) == 0;
        if (ok && rename(tmp, path) == 0) {
            free(tmp);
            return;
        }
    }
    osm_warn("solvcache.write_failed", "file=%s", path);
    unlink(tmp);
    free(tmp);
}

void osm_solvcache_write(Repo *repo, const char *path)
{
    char *tmp;
    FILE *fp = open_temp(path, &tmp);
    finish(fp, fp && osm_solvcache_write_fp(repo, fp) == 0, tmp, path);
}

void osm_solvcache_write_bytes(const void *buf, size_t len, const char *path)
{
    char *tmp;
    FILE *fp = open_temp(path, &tmp);
    finish(fp, fp && fwrite(buf, 1, len, fp) == len, tmp, path);
}

char *osm_solvcache_write_temp(Repo *repo, const char *path)
{
    char *tmp;
    FILE *fp = open_temp(path, &tmp);
    int ok = fp && osm_solvcache_write_fp(repo, fp) == 0;
    if (fp) {
        ok &= fflush(fp) == 0;
        ok &= fclose(fp) == 0;
    }
    if (ok)
        return tmp;
    osm_warn("solvcache.write_failed", "file=%s", path);
    unlink(tmp);
    free(tmp);
    return NULL;
}

int osm_solvcache_commit(const char *tmp, const char *path)
{
    if (rename(tmp, path) == 0)
        return 0;
    osm_warn("solvcache.write_failed", "file=%s", path);
    unlink(tmp);
    return -1;
}

/* The thread count from /proc/self/stat (field 20), or -1. */
static long threads(void)
{
    FILE *fp = fopen("/proc/self/stat", "re");
    if (!fp)
        return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    /* Fields after the command name, which may hold blanks: from its ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    long v = -1;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %ld", &v) != 1)
        return -1;
    return v;
}

pid_t osm_solvcache_fork(void)
{
    if (threads() != 1)
        return -1;
    fflush(NULL); /* nothing buffered twice: the child leaves by _exit anyway */
    return fork();
}
