/* test_qmp: the QMP and guest-agent framing of engine/core/providers/qmp.c
 * against a real peer on a loopback unix socket (a thread of this test
 * that speaks as QEMU or as the agent would, including what they do wrong
 * at the worst moment: events before answers, stale answers, half lines,
 * silence). */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "providers/qmp.h"

struct peer {
    char path[108];
    int lfd, fd;
    void (*script)(struct peer *);
    pthread_t th;
    char in[65536];
    size_t len;
};

static void peer_send(struct peer *p, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_int_equal(send(p->fd, buf, (size_t)n, MSG_NOSIGNAL), n);
}

/* The next command the client sent (0xFF bytes dropped, as the agent
 * does); *saw_ff tells whether one came before it. NULL on hang-up. */
static json_t *peer_read(struct peer *p, int *saw_ff)
{
    if (saw_ff)
        *saw_ff = 0;
    for (;;) {
        char *nl = memchr(p->in, '\n', p->len);
        if (nl) {
            size_t n = (size_t)(nl - p->in), k = 0;
            while (k < n && (unsigned char)p->in[k] == 0xff) {
                k++;
                if (saw_ff)
                    *saw_ff = 1;
            }
            json_t *m = json_loadb(p->in + k, n - k, 0, NULL);
            memmove(p->in, nl + 1, p->len - n - 1);
            p->len -= n + 1;
            return m;
        }
        ssize_t r = recv(p->fd, p->in + p->len, sizeof p->in - p->len, 0);
        if (r <= 0)
            return NULL;
        p->len += (size_t)r;
    }
}

static json_int_t id_of(json_t *m)
{
    return json_integer_value(json_object_get(m, "id"));
}

static const char *cmd_of(json_t *m)
{
    return json_string_value(json_object_get(m, "execute"));
}

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    p->fd = accept(p->lfd, NULL, NULL);
    if (p->fd >= 0) {
        p->script(p);
        close(p->fd);
    }
    return NULL;
}

static void peer_start(struct peer *p, void (*script)(struct peer *))
{
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "/tmp/osmig-test-qmp-%d-%p.sock", (int)getpid(), (void *)p);
    unlink(p->path);
    p->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, p->path, strlen(p->path) + 1);
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(p->lfd, 1), 0);
    p->script = script;
    assert_int_equal(pthread_create(&p->th, NULL, peer_main, p), 0);
}

static void peer_join(struct peer *p)
{
    pthread_join(p->th, NULL);
    close(p->lfd);
    unlink(p->path);
}

/* QMP: greeting, qmp_capabilities. */
static void qmp_hello(struct peer *p)
{
    peer_send(p, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
    json_t *m = peer_read(p, NULL);
    assert_string_equal(cmd_of(m), "qmp_capabilities");
    peer_send(p, "{\"return\": {}, \"id\": %lld}\r\n", (long long)id_of(m));
    json_decref(m);
}

/* ---- monitor ---- */

static void script_events(struct peer *p)
{
    qmp_hello(p);
    json_t *m = peer_read(p, NULL);
    assert_string_equal(cmd_of(m), "query-status");
    /* An event and another call's answer come first, then ours. */
    peer_send(p, "{\"timestamp\": {\"seconds\": 100, \"microseconds\": 250}, \"event\": \"STOP\"}\r\n");
    peer_send(p, "{\"return\": {\"status\": \"stale\"}, \"id\": %lld}\r\n", (long long)id_of(m) - 1);
    peer_send(p, "{\"return\": {\"status\": \"paused\"}, \"id\": %lld}\r\n", (long long)id_of(m));
    json_decref(m);
    m = peer_read(p, NULL); /* hang up after the next command */
    json_decref(m);
}

static void monitor_queues_events_and_takes_only_its_own_answer(void **state)
{
    (void)state;
    struct peer p;
    peer_start(&p, script_events);
    struct osm_qmp *c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_qmp_connect(p.path, OSM_QMP_MONITOR, 2000, &c, &err), 0);
    json_t *r = NULL;
    assert_int_equal(osm_qmp_call(c, "query-status", NULL, 2000, &r, &err), 0);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "paused");
    json_decref(r);
    json_t *ev = NULL;
    assert_int_equal(osm_qmp_wait_event(c, "STOP", 10, &ev, &err), 0);
    assert_int_equal(osm_qmp_event_usec(ev), 100000250LL);
    json_decref(ev);
    /* The peer hangs up on the next command: the error says so. */
    assert_int_equal(osm_qmp_call(c, "cont", NULL, 2000, NULL, &err), -1);
    assert_non_null(strstr(err.msg, p.path));
    assert_non_null(strstr(err.msg, "cont"));
    assert_non_null(strstr(err.msg, "closed"));
    osm_qmp_close(c);
    peer_join(&p);
}

static void script_error(struct peer *p)
{
    qmp_hello(p);
    json_t *m = peer_read(p, NULL);
    peer_send(p, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"node 'x' exists\"}, \"id\": %lld}\r\n",
              (long long)id_of(m));
    json_decref(m);
    m = peer_read(p, NULL); /* silence for the next one */
    json_decref(m);
    m = peer_read(p, NULL);
    json_decref(m);
}

static void monitor_error_and_silence_name_socket_and_command(void **state)
{
    (void)state;
    struct peer p;
    peer_start(&p, script_error);
    struct osm_qmp *c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_qmp_connect(p.path, OSM_QMP_MONITOR, 2000, &c, &err), 0);
    assert_int_equal(osm_qmp_call(c, "blockdev-add", json_pack("{s:s}", "node-name", "x"), 2000, NULL, &err), -1);
    assert_non_null(strstr(err.msg, p.path));
    assert_non_null(strstr(err.msg, "blockdev-add: GenericError: node 'x' exists"));
    assert_int_equal(osm_qmp_call(c, "query-status", NULL, 150, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "query-status: no answer within 150 ms"));
    assert_int_equal(osm_qmp_wait_event(c, "DEVICE_DELETED", 50, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "no DEVICE_DELETED event within 50 ms"));
    osm_qmp_close(c);
    peer_join(&p);
}

/* ---- guest agent ---- */

/* Answers guest-sync-delimited as the agent does: its 0xFF, then the
 * answer; `junk` first (what a previous boot's agent left). */
static void agent_sync_answer(struct peer *p, json_t *m, const char *junk)
{
    assert_string_equal(cmd_of(m), "guest-sync-delimited");
    json_int_t v = json_integer_value(json_object_get(json_object_get(m, "arguments"), "id"));
    peer_send(p, "%s\xff{\"return\": %lld, \"id\": %lld}\n", junk, (long long)v, (long long)id_of(m));
}

static void script_agent(struct peer *p)
{
    int ff;
    json_t *m = peer_read(p, &ff);
    assert_true(ff); /* the parser reset came first */
    agent_sync_answer(p, m, "{\"return\": 7}\n{\"return\": {}, \"id\": 1}\n{\"retu");
    json_decref(m);
    /* guest-info: no answer (the call times out) */
    m = peer_read(p, NULL);
    assert_string_equal(cmd_of(m), "guest-info");
    json_decref(m);
    /* the client resynchronises before its next call */
    m = peer_read(p, &ff);
    assert_true(ff);
    agent_sync_answer(p, m, "");
    json_decref(m);
    m = peer_read(p, NULL);
    assert_string_equal(cmd_of(m), "guest-ping");
    peer_send(p, "{\"return\": {}, \"id\": %lld}\n", (long long)id_of(m));
    json_decref(m);
    /* guest-shutdown: the guest goes away without an answer */
    m = peer_read(p, NULL);
    assert_string_equal(cmd_of(m), "guest-shutdown");
    json_decref(m);
}

static void agent_resyncs_after_stale_bytes_and_timeouts(void **state)
{
    (void)state;
    struct peer p;
    peer_start(&p, script_agent);
    struct osm_qmp *c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_qmp_connect(p.path, OSM_QMP_AGENT, 2000, &c, &err), 0);
    assert_int_equal(osm_qmp_call(c, "guest-info", NULL, 150, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "guest agent"));
    assert_non_null(strstr(err.msg, p.path));
    assert_non_null(strstr(err.msg, "guest-info: no answer within 150 ms"));
    assert_int_equal(osm_qmp_call(c, "guest-ping", NULL, 2000, NULL, &err), 0);
    /* No answer, the peer gone: what a reboot looks like. */
    assert_int_equal(osm_qmp_call_noreply(c, "guest-shutdown", json_pack("{s:s}", "mode", "reboot"), 300, &err), 0);
    osm_qmp_close(c);
    peer_join(&p);
}

static void connect_names_a_missing_socket(void **state)
{
    (void)state;
    struct osm_qmp *c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_qmp_connect("/nonexistent/osmig/qmp.sock", OSM_QMP_MONITOR, 100, &c, &err), -1);
    assert_non_null(strstr(err.msg, "QMP socket /nonexistent/osmig/qmp.sock: connect"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(monitor_queues_events_and_takes_only_its_own_answer),
        cmocka_unit_test(monitor_error_and_silence_name_socket_and_command),
        cmocka_unit_test(agent_resyncs_after_stale_bytes_and_timeouts),
        cmocka_unit_test(connect_names_a_missing_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
