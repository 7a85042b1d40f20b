#!/usr/bin/python3
"""connection_limits.py: a real `osmig serve` on 127.0.0.1 and idle
connections held open without a key, as an attacker would. Proves: 64 idle
connections from each of four loopback addresses (127.0.0.2-5) do not lock
out a client from another address (its unsigned and signed requests are
answered); 16 more connections from one of them, past its limit, get 503
ServiceUnavailable, in Alibaba Cloud's error shape, and are closed, as
docs/api.md says; an idle connection that has not carried an authenticated
request is closed by the server after --idle-timeout, one that has is kept
past it."""
import http.client
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import apicase  # noqa: E402
fail = apicase.fail

ATTACKERS = ["127.0.0.%d" % i for i in range(2, 6)]
PER_ATTACKER = 64
PER_ADDRESS_LIMIT = 64  # the server's default (docs/api.md, Limits)
PAST_LIMIT = 16        # more connections from the first attacker


def connect(srv, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(60)
    s.connect(("127.0.0.1", srv.port))
    return s


def request(sock, srv, path="/healthz", signed=False):
    """One request on an open socket: (status, headers, body), or None when
    the server closed or reset the connection."""
    headers = {"host": "127.0.0.1:%d" % srv.port}
    if signed:
        kid, secret = srv.keys["admin"]
        apicase.sign("GET", path, "", headers, b"", kid, secret)
    text = "GET %s HTTP/1.1\r\n%s\r\n" % (path, "".join("%s: %s\r\n" % kv for kv in headers.items()))
    try:
        sock.sendall(text.encode())
        r = http.client.HTTPResponse(sock)
        r.begin()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine, socket.timeout):
        return None


def closed_by_server(sock, within):
    """True when the server closes the idle connection within `within` s."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def lockout(work):
    # Idle connections must outlive the test's own steps: a long idle time.
    srv = apicase.Server(work, {"extra": ["--idle-timeout", "300"]})
    held = {}
    try:
        for a in ATTACKERS:
            held[a] = []
            for _ in range(PER_ATTACKER):
                try:
                    held[a].append(connect(srv, a))
                except OSError as e:
                    fail("connection %d from %s refused: %s" % (len(held[a]) + 1, a, e))
        print("ok %d idle connections from each of %s" % (PER_ATTACKER, ", ".join(ATTACKERS)), flush=True)
        for _ in range(PAST_LIMIT):
            held[ATTACKERS[0]].append(connect(srv, ATTACKERS[0]))

        # A client from another address is served, unsigned and signed.
        for signed, path in ((False, "/healthz"), (True, "/v1/tasks")):
            s = connect(srv, "127.0.0.1")
            r = request(s, srv, path, signed)
            s.close()
            if not r or r[0] != 200:
                fail("a new client from 127.0.0.1 was locked out (%s %s): %s" %
                     ("signed" if signed else "unsigned", path, r and (r[0], r[2][:300])))
        print("ok a new client from 127.0.0.1 is answered 200 (healthz, signed task list)", flush=True)

        # The connections of one attacker: those within its limit are
        # answered, those past it get 503 and are closed.
        statuses = {}
        for s in held[ATTACKERS[0]]:
            r = request(s, srv)
            if r is None:
                fail("a connection from %s was closed without an answer" % ATTACKERS[0])
            statuses[r[0]] = statuses.get(r[0], 0) + 1
            if r[0] == 503:
                body = json.loads(r[2])
                if body.get("Code") != "ServiceUnavailable" or "too many connections" not in body.get("Message", ""):
                    fail("503 without Alibaba Cloud's error shape: %s" % r[2][:300])
                if r[1].get("connection", "").lower() != "close" or not r[1].get("x-acs-request-id"):
                    fail("503 headers: %s" % r[1])
                if not closed_by_server(s, 30):
                    fail("a connection answered 503 stays open")
        want = {200: PER_ADDRESS_LIMIT, 503: PER_ATTACKER + PAST_LIMIT - PER_ADDRESS_LIMIT}
        if statuses != want:
            fail("answers on the %d connections of %s: %s, want %s" % (PER_ATTACKER + PAST_LIMIT, ATTACKERS[0],
                                                                        statuses, want))
        print("ok %s: %d connections answered, %d past its limit answered 503 ServiceUnavailable and closed" %
              (ATTACKERS[0], want[200], want[503]), flush=True)
        s = connect(srv, "127.0.0.1")
        r = request(s, srv, "/metrics", signed=True)
        s.close()
        m = r and re.search(rb"^osmig_api_connections_over_limit_total (\d+)", r[2], re.M)
        if not m or int(m.group(1)) < want[503]:
            fail("the connections past the limit are not counted in /metrics: %s" % (r and r[2][-1500:]))
        print("ok /metrics counts %s connections past a limit" % m.group(1).decode(), flush=True)
    finally:
        for socks in held.values():
            for s in socks:
                s.close()
        srv.stop()


def idle_timeout(work):
    srv = apicase.Server(work, {"extra": ["--idle-timeout", "1"]})
    try:
        s = connect(srv, "127.0.0.2")
        if not closed_by_server(s, 60):
            fail("an idle connection without a request was not closed after --idle-timeout 1")
        s.close()
        print("ok an idle connection that never sent a request is closed by the server", flush=True)

        s = connect(srv, "127.0.0.2")
        r = request(s, srv, "/v1/tasks", signed=True)
        if not r or r[0] != 200:
            fail("signed request: %s" % (r and (r[0], r[2][:300])))
        time.sleep(3)  # three idle timeouts of an unauthenticated connection
        r = request(s, srv, "/v1/tasks", signed=True)
        if not r or r[0] != 200:
            fail("a connection that carried an authenticated request was closed after the short idle time: %s" %
                 (r and r[0]))
        s.close()
        print("ok a connection that carried an authenticated request stays open past the short idle time", flush=True)
    finally:
        srv.stop()


def main():
    for a in ATTACKERS:
        try:
            socket.socket().bind((a, 0))
        except OSError as e:
            print("SKIP: cannot use loopback address %s: %s" % (a, e))
            sys.exit(apicase.SKIP)
    work = tempfile.mkdtemp(prefix="osm-conn-limits.")
    try:
        lockout(os.path.join(work, "a"))
        idle_timeout(os.path.join(work, "b"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
