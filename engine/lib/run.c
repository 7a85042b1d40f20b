/* run.c: see osm_run.h. Uses fork/exec with pipes and poll so that large
 * outputs on both streams cannot deadlock. */
#include "osm_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Hand each newly completed line of `b` (from `*start`) to the callback. */
static void emit_lines(struct osm_buf *b, size_t from, size_t *start, const struct osm_run_opts *opts)
{
    for (size_t i = from; i < b->len; i++) {
        if (b->s[i] != '\n')
            continue;
        b->s[i] = '\0';
        opts->on_line(b->s + *start, opts->line_ud);
        b->s[i] = '\n';
        *start = i + 1;
    }
}

int osm_run(const char *const argv[], const struct osm_run_opts *opts, struct osm_err *err)
{
    static const struct osm_run_opts defaults;
    if (!opts)
        opts = &defaults;
    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    if ((opts->stdin_data && pipe2(in_pipe, O_CLOEXEC) != 0) || (opts->out && pipe2(out_pipe, O_CLOEXEC) != 0) ||
        (opts->errout && pipe2(err_pipe, O_CLOEXEC) != 0))
        return osm_err_errno(err, "pipe for %s", argv[0]);

    pid_t pid = fork();
    if (pid < 0)
        return osm_err_errno(err, "fork for %s", argv[0]);
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(opts->stdin_data ? in_pipe[0] : devnull, 0);
        if (opts->out)
            dup2(out_pipe[1], 1);
        else if (!opts->pass_through)
            dup2(devnull, 1);
        if (opts->errout)
            dup2(err_pipe[1], 2);
        else if (!opts->pass_through)
            dup2(devnull, 2);
        /* A program run inside an instance (the target's rpm) dies with us,
         * as it would when the machine went down: a resumed task must never
         * find it still writing. */
        if (opts->chroot_dir && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1))
            _exit(127);
        if (opts->chroot_dir && (chroot(opts->chroot_dir) != 0 || chdir("/") != 0))
            _exit(127);
        if (opts->cwd && chdir(opts->cwd) != 0)
            _exit(127);
        if (opts->env)
            for (const char *const *e = opts->env; *e; e++)
                putenv((char *)*e);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (in_pipe[0] >= 0)
        close(in_pipe[0]);
    if (out_pipe[1] >= 0)
        close(out_pipe[1]);
    if (err_pipe[1] >= 0)
        close(err_pipe[1]);

    size_t in_off = 0, line_start = 0;
    struct pollfd fds[3];
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    for (;;) {
        int n = 0, idx_in = -1, idx_out = -1, idx_err = -1;
        if (in_pipe[1] >= 0) {
            fds[n] = (struct pollfd){in_pipe[1], POLLOUT, 0};
            idx_in = n++;
        }
        if (out_pipe[0] >= 0) {
            fds[n] = (struct pollfd){out_pipe[0], POLLIN, 0};
            idx_out = n++;
        }
        if (err_pipe[0] >= 0) {
            fds[n] = (struct pollfd){err_pipe[0], POLLIN, 0};
            idx_err = n++;
        }
        if (n == 0)
            break;
        if (poll(fds, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (idx_in >= 0 && fds[idx_in].revents) {
            ssize_t w = write(in_pipe[1], opts->stdin_data + in_off, opts->stdin_len - in_off);
            if (w > 0)
                in_off += (size_t)w;
            if (w < 0 || in_off >= opts->stdin_len) {
                close(in_pipe[1]);
                in_pipe[1] = -1;
            }
        }
        int *fdp[2] = {&out_pipe[0], &err_pipe[0]};
        int idx[2] = {idx_out, idx_err};
        struct osm_buf *dst[2] = {opts->out, opts->errout};
        for (int k = 0; k < 2; k++) {
            if (idx[k] < 0 || !fds[idx[k]].revents)
                continue;
            char tmp[16384];
            ssize_t r = read(*fdp[k], tmp, sizeof tmp);
            if (r > 0) {
                size_t before = dst[k]->len;
                osm_buf_add(dst[k], tmp, (size_t)r);
                if (k == 0 && opts->on_line)
                    emit_lines(dst[k], before, &line_start, opts);
            } else if (r == 0 || errno != EINTR) {
                close(*fdp[k]);
                *fdp[k] = -1;
            }
        }
    }
    signal(SIGPIPE, old_pipe);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return osm_err_errno(err, "waiting for %s", argv[0]);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}
