/* qmp.c: QMP and guest-agent JSON lines over a unix socket (qmp.h). */
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "osm_buf.h"

struct osm_qmp {
    int fd;
    enum osm_qmp_kind kind;
    char *path;
    struct osm_buf in;     /* bytes read and not yet parsed */
    json_t *events;        /* queued monitor events, oldest first */
    int desynced;          /* agent: a call timed out; resync before the next */
    long long sync_id;
    unsigned long long seq; /* the "id" of the last command sent */
};

static const char *who(const struct osm_qmp *c)
{
    return c->kind == OSM_QMP_MONITOR ? "QMP" : "guest agent";
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *osm_qmp_path(const struct osm_qmp *c)
{
    return c->path;
}

static int write_all(struct osm_qmp *c, const char *what, const char *data, size_t n, struct osm_err *err)
{
    while (n) {
        ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return osm_err_errno(err, "%s %s: %s: write", who(c), c->path, what);
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more bytes before `deadline`. 1 read, 0 timed out, -1 error or EOF
 * (err set; EOF has code OSM_EIO and says "closed"). */
static int read_more(struct osm_qmp *c, const char *what, long long deadline, struct osm_err *err)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return osm_err_errno(err, "%s %s: %s: poll", who(c), c->path, what);
        if (r == 0)
            continue;
        osm_buf_grow(&c->in, 65536);
        ssize_t n = recv(c->fd, c->in.s + c->in.len, 65536, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return osm_err_errno(err, "%s %s: %s: read", who(c), c->path, what);
        if (n == 0)
            return osm_err_set(err, OSM_EIO, "%s %s: %s: the peer closed the connection", who(c), c->path, what);
        c->in.len += (size_t)n;
        c->in.s[c->in.len] = '\0';
        return 1;
    }
}

static void consume(struct osm_qmp *c, size_t n)
{
    memmove(c->in.s, c->in.s + n, c->in.len - n);
    c->in.len -= n;
    c->in.s[c->in.len] = '\0';
}

/* The next JSON message (one line) before `deadline`: 1 got, 0 timed out, -1 error. */
static int read_message(struct osm_qmp *c, const char *what, long long deadline, json_t **msg, struct osm_err *err)
{
    for (;;) {
        char *nl = memchr(c->in.s, '\n', c->in.len);
        if (nl) {
            size_t n = (size_t)(nl - c->in.s);
            /* The agent's 0xFF (guest-sync-delimited) starts its answer; a
             * line cut by a restarted agent may precede it. */
            size_t skip = 0;
            for (size_t i = 0; c->kind == OSM_QMP_AGENT && i < n; i++)
                if ((unsigned char)c->in.s[i] == 0xff)
                    skip = i + 1;
            json_error_t jerr;
            json_t *m = json_loadb(c->in.s + skip, n - skip, 0, &jerr);
            if (!m && c->kind == OSM_QMP_AGENT) {
                consume(c, n + 1);
                continue; /* stale bytes of an earlier boot or call */
            }
            if (!m && n > 0 && strspn(c->in.s, " \t\r") != n) {
                osm_err_set(err, OSM_EINPUT, "%s %s: %s: not JSON: %s (%.80s)", who(c), c->path, what, jerr.text,
                            c->in.s);
                consume(c, n + 1);
                return -1;
            }
            consume(c, n + 1);
            if (!m)
                continue; /* an empty line */
            *msg = m;
            return 1;
        }
        int r = read_more(c, what, deadline, err);
        if (r <= 0)
            return r;
    }
}

static void queue_event(struct osm_qmp *c, json_t *m)
{
    if (!c->events)
        c->events = json_array();
    json_array_append_new(c->events, m);
}

/* The answer to the command just sent (its "id" is c->seq), events queued
 * on the way; answers to earlier commands (a call that timed out, a
 * previous boot's agent) are dropped. */
static int read_answer(struct osm_qmp *c, const char *cmd, long long deadline, json_t **ret, struct osm_err *err)
{
    for (;;) {
        json_t *m = NULL;
        int r = read_message(c, cmd, deadline, &m, err);
        if (r < 0)
            return -1;
        if (r == 0) {
            c->desynced = 1;
            return osm_err_set(err, OSM_EIO, "%s %s: %s: no answer within the time limit", who(c), c->path, cmd);
        }
        if (json_object_get(m, "event")) {
            queue_event(c, m);
            continue;
        }
        json_t *id = json_object_get(m, "id");
        if (!json_is_integer(id) || (unsigned long long)json_integer_value(id) != c->seq) {
            json_decref(m);
            continue;
        }
        json_t *e = json_object_get(m, "error");
        if (e) {
            osm_err_set(err, OSM_EFAIL, "%s %s: %s: %s: %s", who(c), c->path, cmd,
                        json_string_value(json_object_get(e, "class")) ?: "error",
                        json_string_value(json_object_get(e, "desc")) ?: "(no description)");
            json_decref(m);
            return -1;
        }
        json_t *v = json_object_get(m, "return");
        if (!v) {
            json_decref(m);
            continue;
        }
        if (ret)
            *ret = json_incref(v);
        json_decref(m);
        return 0;
    }
}

static int send_cmd(struct osm_qmp *c, const char *cmd, json_t *args, struct osm_err *err)
{
    json_t *m = json_pack("{s:s,s:I}", "execute", cmd, "id", (json_int_t)++c->seq);
    if (args)
        json_object_set_new(m, "arguments", args);
    char *s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (!s)
        return osm_err_set(err, OSM_EFAIL, "%s %s: %s: cannot encode the arguments", who(c), c->path, cmd);
    struct osm_buf b;
    osm_buf_init(&b);
    osm_buf_adds(&b, s);
    osm_buf_addc(&b, '\n');
    free(s);
    int r = write_all(c, cmd, b.s, b.len, err);
    osm_buf_free(&b);
    return r;
}

/* Agent: 0xFF resets the agent's parser (a half-written command of a call
 * that timed out is dropped); its answer follows its own 0xFF and carries
 * our id and sync value, and whatever comes before it is stale. */
static int agent_sync(struct osm_qmp *c, long long deadline, struct osm_err *err)
{
    c->sync_id = ((long long)getpid() << 20) ^ now_ms();
    c->sync_id &= 0x3fffffffffffLL;
    if (write_all(c, "guest-sync-delimited", "\xff", 1, err) != 0)
        return -1;
    if (send_cmd(c, "guest-sync-delimited", json_pack("{s:I}", "id", (json_int_t)c->sync_id), err) != 0)
        return -1;
    for (;;) {
        json_t *v = NULL;
        if (read_answer(c, "guest-sync-delimited", deadline, &v, err) != 0)
            return -1;
        int ok = json_is_integer(v) && json_integer_value(v) == c->sync_id;
        json_decref(v);
        if (ok) {
            c->desynced = 0;
            return 0;
        }
    }
}

int osm_qmp_connect(const char *path, enum osm_qmp_kind kind, int timeout_ms, struct osm_qmp **out,
                    struct osm_err *err)
{
    *out = NULL;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *name = kind == OSM_QMP_MONITOR ? "QMP" : "guest agent";
    if (strlen(path) >= sizeof sa.sun_path)
        return osm_err_set(err, OSM_EINPUT, "%s socket %s: path longer than %zu bytes", name, path,
                           sizeof sa.sun_path - 1);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    long long deadline = now_ms() + timeout_ms;
    int fd;
    for (;;) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return osm_err_errno(err, "%s socket %s", name, path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            break;
        int e = errno;
        close(fd);
        if ((e != ENOENT && e != ECONNREFUSED && e != EAGAIN) || now_ms() >= deadline) {
            errno = e;
            return osm_err_errno(err, "%s socket %s: connect", name, path);
        }
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    /* The handshake gets its own time: a caller that only asks "is it
     * there" (timeout 0) still needs an answer to its greeting. */
    long long hs = now_ms() + (timeout_ms > 1000 ? timeout_ms : 1000);
    if (hs > deadline)
        deadline = hs;
    struct osm_qmp *c = osm_xcalloc(1, sizeof *c);
    c->fd = fd;
    c->kind = kind;
    c->path = osm_xstrdup(path);
    osm_buf_init(&c->in);
    /* Ids unique across connections: the agent answers whoever is connected,
     * even commands an earlier connection sent. */
    c->seq = (((unsigned long long)now_ms() << 16) ^ (unsigned long long)getpid()) & 0xfffffffffffffULL;
    int r;
    if (kind == OSM_QMP_MONITOR) {
        json_t *greet = NULL;
        r = read_message(c, "greeting", deadline, &greet, err);
        if (r == 0)
            osm_err_set(err, OSM_EIO, "QMP %s: no greeting within %d ms", path, timeout_ms);
        if (r > 0 && !json_object_get(greet, "QMP")) {
            osm_err_set(err, OSM_EINPUT, "QMP %s: the first message is not a QMP greeting", path);
            r = -1;
        }
        json_decref(greet);
        r = r > 0 ? 0 : -1;
        if (r == 0 && send_cmd(c, "qmp_capabilities", NULL, err) != 0)
            r = -1;
        if (r == 0)
            r = read_answer(c, "qmp_capabilities", deadline, NULL, err);
    } else {
        r = agent_sync(c, deadline, err);
    }
    if (r != 0) {
        osm_qmp_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

void osm_qmp_close(struct osm_qmp *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->path);
    osm_buf_free(&c->in);
    json_decref(c->events);
    free(c);
}

int osm_qmp_call(struct osm_qmp *c, const char *cmd, json_t *args, int timeout_ms, json_t **ret, struct osm_err *err)
{
    long long deadline = now_ms() + timeout_ms;
    if (ret)
        *ret = NULL;
    if (c->kind == OSM_QMP_AGENT && c->desynced && agent_sync(c, deadline, err) != 0) {
        json_decref(args);
        osm_err_prefix(err, "before %s", cmd);
        return -1;
    }
    if (send_cmd(c, cmd, args, err) != 0)
        return -1;
    if (read_answer(c, cmd, deadline, ret, err) != 0) {
        if (strstr(err->msg, "time limit"))
            osm_err_set(err, OSM_EIO, "%s %s: %s: no answer within %d ms", who(c), c->path, cmd, timeout_ms);
        return -1;
    }
    return 0;
}

int osm_qmp_call_noreply(struct osm_qmp *c, const char *cmd, json_t *args, int timeout_ms, struct osm_err *err)
{
    long long deadline = now_ms() + timeout_ms;
    if (send_cmd(c, cmd, args, err) != 0)
        return -1;
    struct osm_err e2 = OSM_ERR_INIT;
    if (read_answer(c, cmd, deadline, NULL, &e2) == 0)
        return 1;
    if (e2.code == OSM_EFAIL) { /* an {"error": ...} answer */
        *err = e2;
        return -1;
    }
    c->desynced = 1;
    return 0; /* no answer, or the peer went away: what success looks like */
}

int osm_qmp_wait_event(struct osm_qmp *c, const char *event, int timeout_ms, json_t **ev, struct osm_err *err)
{
    long long deadline = now_ms() + timeout_ms;
    if (ev)
        *ev = NULL;
    for (;;) {
        size_t i;
        json_t *m;
        json_array_foreach(c->events, i, m)
        {
            const char *name = json_string_value(json_object_get(m, "event"));
            if (!event || (name && strcmp(name, event) == 0)) {
                if (ev)
                    *ev = json_incref(m);
                json_array_remove(c->events, i);
                return 0;
            }
        }
        json_t *msg = NULL;
        int r = read_message(c, event ? event : "event", deadline, &msg, err);
        if (r < 0)
            return -1;
        if (r == 0)
            return osm_err_set(err, OSM_EIO, "%s %s: no %s event within %d ms", who(c), c->path,
                               event ? event : "", timeout_ms);
        if (json_object_get(msg, "event"))
            queue_event(c, msg);
        else
            json_decref(msg); /* an answer nobody waits for */
    }
}

void osm_qmp_clear_events(struct osm_qmp *c)
{
    if (c->events)
        json_array_clear(c->events);
}

long long osm_qmp_event_usec(const json_t *ev)
{
    json_t *t = json_object_get(ev, "timestamp");
    return (long long)json_integer_value(json_object_get(t, "seconds")) * 1000000 +
           json_integer_value(json_object_get(t, "microseconds"));
}
