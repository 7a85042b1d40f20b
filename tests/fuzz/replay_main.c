/* replay_main.c: runs a libFuzzer target's inputs without libFuzzer (any
 * compiler), so the suite checks the target's properties on its seeds and
 * on every input a fuzzing run once found (tests/fuzz/seeds): each
 * argument is a file or a directory of files. A failed property aborts. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "osm_fs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    struct osm_buf b;
    osm_buf_init(&b);
    struct osm_err err = OSM_ERR_INIT;
    if (osm_read_file(path, &b, &err) != 0) {
        fprintf(stderr, "replay: %s\n", err.msg);
        return -1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)(b.s ? b.s : ""), b.len);
    osm_buf_free(&b);
    printf("ok %s\n", path);
    return 0;
}

int main(int argc, char **argv)
{
    /* Paths first: the target may change directory when it starts. */
    char **abs = calloc((size_t)argc, sizeof *abs);
    for (int i = 1; i < argc; i++)
        abs[i] = realpath(argv[i], NULL);
    LLVMFuzzerInitialize(&argc, &argv);
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (!abs[i]) {
            fprintf(stderr, "replay: %s: not found\n", argv[i]);
            return 1;
        }
        DIR *d = opendir(abs[i]);
        if (!d) {
            if (run_file(abs[i]) != 0)
                return 1;
            n++;
            continue;
        }
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            char *p = osm_path_join(abs[i], e->d_name);
            int rc = run_file(p);
            free(p);
            if (rc != 0)
                return 1;
            n++;
        }
        closedir(d);
    }
    for (int i = 1; i < argc; i++)
        free(abs[i]);
    free(abs);
    printf("%d inputs replayed, every property held\n", n);
    return n > 0 ? 0 : 1;
}
