/* solv_dump FILE: print every package of a .solv file, in order, with all
 * its attributes (dependencies, location, checksum, sizes, file list), one
 * line each, so that two cache files can be compared by what they hold
 * rather than by their bytes (the order of directory and string ids may
 * differ between files of the same packages). For slices_same_plan.py. */
#include <solv/dataiterator.h>
#include <solv/pool.h>
#include <solv/repo.h>
#include <solv/repo_solv.h>
#include <solv/knownid.h>
#include <solv/repodata.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: solv_dump FILE.solv\n");
        return 2;
    }
    FILE *fp = fopen(argv[1], "re");
    if (!fp) {
        perror(argv[1]);
        return 1;
    }
    Pool *pool = pool_create();
    pool_setdisttype(pool, DISTTYPE_RPM);
    Repo *repo = repo_create(pool, "dump");
    if (repo_add_solv(repo, fp, 0) != 0) {
        fprintf(stderr, "solv_dump: %s: %s\n", argv[1], pool_errstr(pool));
        fclose(fp);
        pool_free(pool);
        return 1;
    }
    fclose(fp);
    Id p;
    Solvable *s;
    int n = 0;
    FOR_REPO_SOLVABLES(repo, p, s) {
        printf("package %d %s\n", n++, pool_solvable2str(pool, s));
        Dataiterator di;
        dataiterator_init(&di, pool, repo, p, 0, 0, SEARCH_FILES | SEARCH_CHECKSUMS);
        while (dataiterator_step(&di)) {
            /* Dependencies as text with their versions (stringify drops them). */
            int dep = di.key->type == REPOKEY_TYPE_ID || di.key->type == REPOKEY_TYPE_IDARRAY;
            const char *v = dep ? pool_dep2str(pool, di.kv.id)
                                : repodata_stringify(pool, di.data, di.key, &di.kv, SEARCH_FILES | SEARCH_CHECKSUMS);
            if (di.key->type == REPOKEY_TYPE_NUM || di.key->type == REPOKEY_TYPE_CONSTANT)
                printf("  %s %llu\n", pool_id2str(pool, di.key->name), (unsigned long long)SOLV_KV_NUM64(&di.kv));
            else
                printf("  %s %s %s\n", pool_id2str(pool, di.key->name), pool_id2str(pool, di.key->type), v ? v : "");
        }
        dataiterator_free(&di);
    }
    pool_free(pool);
    return 0;
}
