/* qemu_guest.c: inside a `qemu:` guest through its agent: run a command
 * (guest-exec and its status), copy a file in and out (guest-file-* in
 * chunks of QEMU_FILE_CHUNK), read the boot id. These are the only two
 * doors a cloud agent gives too, so what works here works there. */
#include "qemu_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "osm_fs.h"
#include "osm_log.h"

#define QEMU_FILE_CHUNK (4u << 20) /* bytes per guest-file-read/write */
#define QEMU_RUN_LIMIT_MS (6LL * 3600 * 1000) /* a command inside the guest */
#define QEMU_STATUS_TRIES 4 /* status polls in a row without an answer before run gives up */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *b64_encode(const unsigned char *p, size_t n)
{
    char *s = osm_xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)s, p, (int)n);
    return s;
}

/* Appends the decoded bytes of `s` to `out`; -1 when it is not base64. */
static int b64_decode(const char *s, struct osm_buf *out)
{
    size_t n = strlen(s);
    if (n == 0)
        return 0;
    if (n % 4)
        return -1;
    osm_buf_grow(out, n / 4 * 3 + 1);
    int r = EVP_DecodeBlock((unsigned char *)out->s + out->len, (const unsigned char *)s, (int)n);
    if (r < 0)
        return -1;
    size_t pad = (s[n - 1] == '=') + (n > 1 && s[n - 2] == '=');
    out->len += (size_t)r - pad;
    out->s[out->len] = '\0';
    return 0;
}

int qemu_guest_run(struct osm_instance *inst, const char *const argv[], struct osm_buf *out, struct osm_err *err)
{
    struct osm_qmp *ga = qemu_agent(inst, QEMU_CALL_MS, err);
    if (!ga)
        return -1;
    json_t *args = json_array();
    for (size_t i = 1; argv[i]; i++)
        json_array_append_new(args, json_string(argv[i]));
    json_t *r = NULL;
    if (osm_qmp_call(ga, "guest-exec",
                     json_pack("{s:s,s:o,s:b}", "path", argv[0], "arg", args, "capture-output", 1), QEMU_CALL_MS,
                     &r, err) != 0) {
        osm_err_prefix(err, "instance %s: running %s", inst->uri, argv[0]);
        return -1;
    }
    json_int_t pid = json_integer_value(json_object_get(r, "pid"));
    json_decref(r);
    long long t0 = now_ms(), deadline = t0 + QEMU_RUN_LIMIT_MS;
    int missed = 0, polls = 0;
    for (;;) {
        polls++;
        if (osm_qmp_call(ga, "guest-exec-status", json_pack("{s:I}", "pid", pid), QEMU_CALL_MS, &r, err) != 0) {
            /* A guest busy with the command (one vCPU, emulated, a loaded
             * host) may leave its agent silent for a while: the command
             * still runs; ask again, a few times, before giving up. */
            if (++missed < QEMU_STATUS_TRIES && now_ms() < deadline) {
                osm_warn("qemu.exec_status", "instance=%s pid=%lld missed=%d error=\"%s\"", inst->uri, (long long)pid,
                         missed, err->msg);
                osm_err_clear(err);
                continue;
            }
            osm_err_prefix(err, "instance %s: waiting for %s", inst->uri, argv[0]);
            return -1;
        }
        missed = 0;
        if (json_is_true(json_object_get(r, "exited")))
            break;
        json_decref(r);
        if (now_ms() > deadline)
            return osm_err_set(err, OSM_EIO, "instance %s: %s still runs after %lld s", inst->uri, argv[0],
                               QEMU_RUN_LIMIT_MS / 1000);
        /* The end of a command is seen only by asking: the next ask comes a
         * quarter of its run time later (5 to 100 ms), so a short command
         * is seen to end within about a quarter of its time, and a long
         * one within 100 ms at ten asks a second. (Doubling up to 200 ms
         * lost up to the command's own time on short ones, and a guest
         * migration runs dozens.) */
        long long wait_ms = (now_ms() - t0) / 4;
        wait_ms = wait_ms < 5 ? 5 : wait_ms > 100 ? 100 : wait_ms;
        struct timespec ts = {0, (long)wait_ms * 1000000};
        nanosleep(&ts, NULL);
    }
    int status;
    json_t *code = json_object_get(r, "exitcode"), *sig = json_object_get(r, "signal");
    status = json_is_integer(code) ? (int)json_integer_value(code)
                                   : 128 + (json_is_integer(sig) ? (int)json_integer_value(sig) : 0);
    for (int i = 0; i < 2 && out; i++) {
        const char *d = json_string_value(json_object_get(r, i ? "err-data" : "out-data"));
        if (d && b64_decode(d, out) != 0) {
            json_decref(r);
            return osm_err_set(err, OSM_EINPUT, "instance %s: %s: the agent's output is not base64", inst->uri,
                               argv[0]);
        }
    }
    if (json_is_true(json_object_get(r, "out-truncated")) || json_is_true(json_object_get(r, "err-truncated")))
        osm_buf_adds(out, "\n[output truncated by the guest agent]\n");
    json_decref(r);
    /* What each command costs in the guest (bench/vm-migrate.sh sums them):
     * the program and its first argument (a script's text), its quotes as '. */
    char cmd[96];
    snprintf(cmd, sizeof cmd, "%s %s", argv[0],
             argv[1] ? (strcmp(argv[1], "-c") == 0 && argv[2] ? argv[2] : argv[1]) : "");
    for (char *c = cmd; *c; c++)
        *c = *c == '"' ? '\'' : *c == '\n' ? ' ' : *c;
    osm_debug("qemu.exec", "instance=%s cmd=\"%s\" status=%d ms=%lld polls=%d", inst->uri, cmd, status,
              now_ms() - t0, polls);
    return status;
}

static int file_open(struct osm_qmp *ga, const char *path, const char *mode, json_int_t *h, struct osm_err *err)
{
    json_t *r = NULL;
    if (osm_qmp_call(ga, "guest-file-open", json_pack("{s:s,s:s}", "path", path, "mode", mode), QEMU_CALL_MS, &r,
                     err) != 0)
        return -1;
    *h = json_integer_value(r);
    json_decref(r);
    return 0;
}

static void file_close(struct osm_qmp *ga, json_int_t h)
{
    struct osm_err e = OSM_ERR_INIT;
    osm_qmp_call(ga, "guest-file-close", json_pack("{s:I}", "handle", h), QEMU_CALL_MS, NULL, &e);
}

/* A guest path must be absolute: the agent would resolve a relative one
 * against its own working directory. */
static int guest_path_ok(struct osm_instance *inst, const char *p, struct osm_err *err)
{
    if (p[0] != '/')
        return osm_err_set(err, OSM_EUSAGE, "instance %s: guest path '%s' must be absolute", inst->uri, p);
    return 0;
}

int qemu_guest_copy_in(struct osm_instance *inst, const char *host_path, const char *guest_path, struct osm_err *err)
{
    if (guest_path_ok(inst, guest_path, err) != 0)
        return -1;
    int fd = open(host_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return osm_err_errno(err, "copying %s into %s", host_path, inst->uri);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return osm_err_set(err, OSM_EINPUT, "copying %s into %s: not a regular file", host_path, inst->uri);
    }
    struct osm_qmp *ga = qemu_agent(inst, QEMU_CALL_MS, err);
    if (!ga) {
        close(fd);
        return -1;
    }
    /* Written beside the destination, then renamed over it: the guest never
     * sees half a file under its name. */
    char *part = osm_xasprintf("%s.osmig-part", guest_path);
    json_int_t h;
    int rc = -1;
    unsigned char *buf = osm_xmalloc(QEMU_FILE_CHUNK);
    if (file_open(ga, part, "w", &h, err) != 0)
        goto out;
    for (;;) {
        ssize_t n = read(fd, buf, QEMU_FILE_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            osm_err_errno(err, "reading %s", host_path);
            break;
        }
        if (n == 0) {
            rc = 0;
            break;
        }
        char *b64 = b64_encode(buf, (size_t)n);
        json_t *r = NULL;
        int w = osm_qmp_call(ga, "guest-file-write", json_pack("{s:I,s:s}", "handle", h, "buf-b64", b64),
                             QEMU_CALL_MS * 3, &r, err);
        free(b64);
        if (w == 0 && json_integer_value(json_object_get(r, "count")) != n)
            w = osm_err_set(err, OSM_EIO, "guest agent %s: guest-file-write: a short write to %s",
                            osm_qmp_path(ga), part);
        json_decref(r);
        if (w != 0)
            break;
    }
    file_close(ga, h);
    if (rc == 0) {
        /* The agent creates files with its own umask: the host file's mode;
         * then the rename. One command (each is a round trip through the
         * agent, a process start in the guest); exit 3 says chmod failed. */
        char mode[16];
        snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
        const char *argv[] = {"/bin/sh", "-c", "/bin/chmod \"$1\" \"$2\" || exit 3; exec /bin/mv -f \"$2\" \"$3\"",
                              "sh", mode, part, guest_path, NULL};
        struct osm_buf o;
        osm_buf_init(&o);
        int st1 = qemu_guest_run(inst, argv, &o, err);
        if (st1 == 3)
            osm_err_set(err, OSM_EIO, "instance %s: chmod %s %s: %s", inst->uri, mode, part, osm_trim(o.s));
        else if (st1 > 0)
            osm_err_set(err, OSM_EIO, "instance %s: renaming %s to %s: %s", inst->uri, part, guest_path,
                        osm_trim(o.s));
        if (st1 != 0)
            rc = -1;
        osm_buf_free(&o);
    }
    if (rc != 0) {
        const char *rm[] = {"/bin/rm", "-f", part, NULL};
        struct osm_err e = OSM_ERR_INIT;
        qemu_guest_run(inst, rm, NULL, &e);
        osm_err_prefix(err, "copying %s to %s:%s", host_path, inst->uri, guest_path);
    }
out:
    free(buf);
    free(part);
    close(fd);
    return rc;
}

int qemu_guest_copy_out(struct osm_instance *inst, const char *guest_path, const char *host_path,
                        struct osm_err *err)
{
    if (guest_path_ok(inst, guest_path, err) != 0)
        return -1;
    struct osm_qmp *ga = qemu_agent(inst, QEMU_CALL_MS, err);
    if (!ga)
        return -1;
    json_int_t h;
    if (file_open(ga, guest_path, "r", &h, err) != 0) {
        osm_err_prefix(err, "copying %s:%s out", inst->uri, guest_path);
        return -1;
    }
    struct osm_buf data;
    osm_buf_init(&data);
    int rc = 0;
    for (;;) {
        json_t *r = NULL;
        json_t *args = json_pack("{s:I,s:I}", "handle", h, "count", (json_int_t)QEMU_FILE_CHUNK);
        if (osm_qmp_call(ga, "guest-file-read", args, QEMU_CALL_MS * 3, &r, err) != 0) {
            rc = -1;
            break;
        }
        const char *b = json_string_value(json_object_get(r, "buf-b64"));
        int eof = json_is_true(json_object_get(r, "eof"));
        size_t before = data.len;
        if (b && b64_decode(b, &data) != 0) {
            json_decref(r);
            rc = osm_err_set(err, OSM_EINPUT, "guest agent %s: guest-file-read: not base64", osm_qmp_path(ga));
            break;
        }
        json_decref(r);
        if (eof || data.len == before)
            break;
    }
    file_close(ga, h);
    if (rc == 0)
        rc = osm_write_file_atomic(host_path, data.s, data.len, 0644, err);
    if (rc != 0)
        osm_err_prefix(err, "copying %s:%s to %s", inst->uri, guest_path, host_path);
    osm_buf_free(&data);
    return rc;
}

int qemu_guest_boot_id(struct osm_qmp *ga, char out[64], struct osm_err *err)
{
    json_int_t h;
    if (file_open(ga, "/proc/sys/kernel/random/boot_id", "r", &h, err) != 0)
        return -1;
    json_t *r = NULL;
    int rc = osm_qmp_call(ga, "guest-file-read", json_pack("{s:I,s:i}", "handle", h, "count", 64), QEMU_CALL_MS, &r,
                          err);
    file_close(ga, h);
    if (rc != 0)
        return -1;
    struct osm_buf b;
    osm_buf_init(&b);
    const char *s = json_string_value(json_object_get(r, "buf-b64"));
    if (!s || b64_decode(s, &b) != 0 || b.len < 8) {
        json_decref(r);
        osm_buf_free(&b);
        return osm_err_set(err, OSM_EINPUT, "guest agent %s: no boot id in /proc/sys/kernel/random/boot_id",
                           osm_qmp_path(ga));
    }
    json_decref(r);
    snprintf(out, 64, "%s", osm_trim(b.s));
    osm_buf_free(&b);
    return 0;
}
