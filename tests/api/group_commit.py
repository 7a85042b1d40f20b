"""group_commit.py: writes of concurrent requests share commits, and an
acknowledged one is never lost: 48 clients create jobs at once against a real
`osmig serve` (SQLite store); right after the last answer the server is
killed with SIGKILL, and every job answered 201 is in the store, with its
task. Meanwhile one request signed once is sent on two connections at once:
one is served, the other refused as a replay (SignatureNonceUsed), also after
a restart.
"""
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apicase  # noqa: E402

N = 48


def post(server, key, path, body, headers=None):
    key_id, secret = key
    data = json.dumps(body).encode()
    h = {"host": "127.0.0.1:%d" % server.port, "content-type": "application/json"}
    if headers is None:
        apicase.sign("POST", path, "", h, data, key_id, secret)
    else:
        h = dict(headers)
    c = server.conn()
    c.request("POST", path, body=data, headers=h)
    r = c.getresponse()
    out = (r.status, json.loads(r.read() or b"{}"))
    c.close()
    return out, h


def main():
    work = tempfile.mkdtemp(prefix="osm-group-test.")
    try:
        run(work)
    finally:
        if not os.environ.get("KEEP_WORK"):
            shutil.rmtree(work, ignore_errors=True)
    print("PASS")


def run(work):
    roots = os.path.join(work, "roots")
    for i in range(N + 1):
        os.makedirs(os.path.join(roots, "i%d" % i))
    server = apicase.Server(work, {"workers": 1})
    key = server.keys["admin"]
    results = [None] * N
    barrier = threading.Barrier(N)

    def create(i):
        barrier.wait()
        body = {"client_token": "tok-%d" % i, "target": "alinux3",
                "instances": ["dir:%s/i%d" % (roots, i)], "schedule": {"not_before": "2099-01-01T00:00:00Z"}}
        results[i] = post(server, key, "/v1/jobs", body)[0]

    threads = [threading.Thread(target=create, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    server.log.close()

    acked = {}
    for i, (status, doc) in enumerate(results):
        if status != 201:
            apicase.fail("create %d answered %d: %s" % (i, status, doc))
        acked[doc["job_id"]] = doc["task_ids"]
    db = sqlite3.connect(os.path.join(server.state, "state.db"))
    jobs = {r[0] for r in db.execute("SELECT id FROM jobs")}
    tasks = {r[0]: r[1] for r in db.execute("SELECT id, job_id FROM tasks")}
    db.close()
    for job, task_ids in acked.items():
        if job not in jobs:
            apicase.fail("job %s was acknowledged but is not in the store after SIGKILL" % job)
        for t in task_ids:
            if tasks.get(t) != job:
                apicase.fail("task %s of job %s was acknowledged but is not in the store" % (t, job))
    print("%d acknowledged creates, all in the store after SIGKILL" % len(acked))

    # One signed request on two connections at once: served once.
    work2 = os.path.join(work, "again")
    os.makedirs(work2)
    os.rename(server.state, os.path.join(work2, "state"))
    server2 = Server2(work2, key)
    body = {"target": "alinux3", "instances": ["dir:%s/i%d" % (roots, N)],
            "schedule": {"not_before": "2099-01-01T00:00:00Z"}}
    h = {"host": "127.0.0.1:%d" % server2.port, "content-type": "application/json"}
    apicase.sign("POST", "/v1/jobs", "", h, json.dumps(body).encode(), key[0], key[1])
    twice = [None, None]
    barrier2 = threading.Barrier(2)

    def replay(k):
        barrier2.wait()
        twice[k] = post(server2, key, "/v1/jobs", body, headers=h)[0]

    ts = [threading.Thread(target=replay, args=(k,)) for k in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    statuses = sorted(s for s, _ in twice)
    if statuses != [201, 401]:
        apicase.fail("one request sent twice at once: answers %s, %s" % twice)
    refused = [d for s, d in twice if s == 401][0]
    if refused["error"]["code"] != "SignatureNonceUsed":
        apicase.fail("the replay was refused as %s" % refused)
    server2.proc.send_signal(signal.SIGKILL)
    server2.proc.wait()
    server2.log.close()
    # and after a restart (after a crash of the process) it is still refused;
    # the host header carries the new port, so the request is signed again
    # with the same nonce and date: only the nonce can make it refused
    server3 = Server2(work2, key, fresh=False)
    h3 = {"host": "127.0.0.1:%d" % server3.port, "content-type": "application/json",
          "x-acs-signature-nonce": h["x-acs-signature-nonce"], "x-acs-date": h["x-acs-date"]}
    (status, doc), _ = post(server3, key, "/v1/jobs", body, headers=resign(h3, key, body))
    if status != 401 or doc["error"]["code"] != "SignatureNonceUsed":
        apicase.fail("the nonce was accepted again after a restart: %d %s" % (status, doc))
    server3.stop()
    print("a nonce used once, also by two requests at once and after SIGKILL and a restart")


def resign(h, key, body):
    """Sign `h` (with its own nonce and date) for POST /v1/jobs."""
    data = json.dumps(body).encode()
    h["x-acs-content-sha256"] = hashlib.sha256(data).hexdigest()
    names = sorted(k for k in h if k != "authorization")
    canon_headers = "".join("%s:%s\n" % (n, h[n].strip()) for n in names)
    signed = ";".join(names)
    canon = "\n".join(["POST", apicase.canonical_path("/v1/jobs"), apicase.canonical_query(""), canon_headers,
                       signed, h["x-acs-content-sha256"]])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canon.encode()).hexdigest()
    sig = hmac.new(key[1].encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s" % (key[0], signed, sig)
    return h


class Server2(apicase.Server):
    """A server on an existing state directory (its admin key kept)."""

    def __init__(self, work, key, fresh=True):
        self.work, self.state, self.tls, self.ctx, self.pg = work, os.path.join(work, "state"), False, None, None
        self.keys = {"admin": key}
        self.log = open(os.path.join(work, "serve%s.log" % ("" if fresh else "-2")), "w")
        argv = [apicase.OSMIG, "serve", "--listen", "127.0.0.1:0", "--state-dir", self.state, "--workers", "1"]
        env = dict(os.environ, OSMIG_LOG="info", OSMIG_NO_AUTO_RESUME="1")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        line = self.proc.stdout.readline()
        m = re.search(r":(\d+) \(", line)
        if not m:
            apicase.fail("osmig serve did not start: %r" % line)
        self.port = int(m.group(1))


if __name__ == "__main__":
    main()
