/* osm_run: run a program from an argv array (never a shell string built from
 * input), optionally capturing stdout/stderr and feeding stdin. */
#ifndef OSM_RUN_H
#define OSM_RUN_H

#include "osm_buf.h"
#include "osm_error.h"

struct osm_run_opts {
    const char *cwd;          /* NULL: inherit */
    const char *const *env;   /* extra "K=V" entries, NULL-terminated; NULL: none */
    const char *stdin_data;   /* NULL: /dev/null */
    size_t stdin_len;
    struct osm_buf *out;      /* NULL: stdout to /dev/null (or inherited if pass_through) */
    struct osm_buf *errout;   /* NULL: stderr to /dev/null (or inherited if pass_through) */
    int pass_through;         /* inherit stdout/stderr when not captured */
    const char *chroot_dir;   /* NULL: none; else the child chroots here (then argv[0] is a path inside it) */
    void (*on_line)(const char *line, void *ud); /* each complete stdout line as it arrives (needs `out`) */
    void *line_ud;
};

/* Runs argv[0] (searched in PATH). Returns the exit status (0..255), 128+sig
 * when killed by a signal, or -1 with `err` set when it could not be started. */
int osm_run(const char *const argv[], const struct osm_run_opts *opts, struct osm_err *err);

#endif
