/* solvcache.c: see solvcache.h. */
#include "solvcache.h"

#include <solv/knownid.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>
#include <solv/repodata.h>
#include <stdio.h>
#include <stdlib.h>
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

void osm_solvcache_write(Repo *repo, const char *path)
{
    char *tmp = osm_xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "we");
    if (fp) {
        int ok = repo_write_filtered(repo, fp, keyfilter, NULL, NULL) == 0;
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
