#!/usr/bin/python3
"""full_disk.py: a real `osmig serve` whose store (SQLite) is on a small
tmpfs that fills up. Proves: signed reads keep working while no write can
be made (their nonces are kept in memory meanwhile, a replay still refused);
/healthz turns "degraded" naming the cause; a write is refused with 507 and
a clear message; once space is freed the WAL has been checkpointed, writes
work again without a restart and /healthz is "ok". Needs root (mount);
SKIP otherwise. A task whose engine died while the disk was full (its
lease ran out meanwhile) is taken over once space returns, without a
restart, and run to its end with its osmig.log."""
import http.client
import json
import os
import sqlite3
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import apicase  # noqa: E402
fail = apicase.fail


def fill(path):
    """Write until the file system is full."""
    with open(path, "wb") as f:
        block = b"\0" * 65536
        try:
            while True:
                f.write(block)
                f.flush()
        except OSError:
            pass
    try:
        with open(path + "2", "wb") as f:
            while True:
                f.write(b"\0" * 512)
                f.flush()
    except OSError:
        pass


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root to mount a small tmpfs")
        sys.exit(apicase.SKIP)
    work = tempfile.mkdtemp(prefix="osm-full-disk.")
    mounted = False
    runner = None
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", work], capture_output=True, text=True)
        if r.returncode != 0:
            print("SKIP: cannot mount a tmpfs here: " + r.stderr.strip())
            sys.exit(apicase.SKIP)
        mounted = True
        os.makedirs(os.path.join(work, "roots", "a"))
        os.makedirs(os.path.join(work, "roots", "b"))
        os.makedirs(os.path.join(work, "roots", "c"))
        runner = apicase.Runner({"steps": []}, work)
        runner.srv = apicase.Server(work, {"workers": 1})

        def req(method, path, body=None, replay=False):
            return runner.request(method, path, json.dumps(body).encode() if body is not None else b"", replay=replay)

        def health():
            c = runner.srv.conn()
            c.request("GET", "/healthz")
            r = c.getresponse()
            return r.status, json.loads(r.read())

        st, _, data = req("POST", "/v1/jobs", {"target": "alinux3", "instances": ["dir:%s/roots/a" % work],
                                               "schedule": {"not_before": "2099-01-01T00:00:00Z"}})
        if st != 201:
            fail("job create: %d %s" % (st, data[:500]))
        task = json.loads(data)["task_ids"][0]
        print("ok a job before the disk fills")

        # A task an engine on another host runs; its lease ends while the
        # disk is full (that engine died).
        st, _, data = req("POST", "/v1/jobs", {"target": "alinux3", "instances": ["dir:%s/roots/c" % work],
                                               "schedule": {"not_before": "2099-01-01T00:00:00Z"}})
        if st != 201:
            fail("job create: %d %s" % (st, data[:500]))
        orphan = json.loads(data)["task_ids"][0]

        def task_doc(tid):
            st, _, data = req("GET", "/v1/tasks/" + tid)
            if st != 200:
                fail("GET task %s: %d %s" % (tid, st, data[:300]))
            return json.loads(data)

        deadline = time.monotonic() + 30
        while task_doc(orphan)["state"] != "scheduled":
            if time.monotonic() > deadline:
                fail("task %s not scheduled" % orphan)
            time.sleep(0.2)
        lease_end = int(time.time()) + 3
        db = sqlite3.connect(os.path.join(runner.srv.state, "state.db"), timeout=30)
        db.execute("UPDATE tasks SET state='running', phase='prechecking', owner='0f0e0d0c-other-host-boot:4242', "
                   "lease_until=? WHERE id=?", (lease_end, orphan))
        db.commit()
        # The WAL cut to nothing, as before this setup: a full disk then
        # leaves no room in it for a write.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        db.close()

        fill(os.path.join(work, "filler"))
        print("ok the file system is full: %s" % subprocess.run(["df", "-h", work], capture_output=True,
                                                                  text=True).stdout.splitlines()[-1])
        for path in ("/v1/tasks", "/v1/tasks/" + task, "/v1/jobs"):
            st, _, data = req("GET", path)
            if st != 200:
                fail("GET %s on a full disk: %d %s" % (path, st, data[:500]))
        print("ok signed reads keep working on a full disk")
        st, _, data = req("GET", "/v1/tasks", replay=True)
        if st != 401 or json.loads(data)["Code"] != "SignatureNonceUsed":
            fail("a replay on a full disk: %d %s" % (st, data[:300]))
        print("ok a replayed read is still refused")
        during = runner.last
        st, _, data = req("POST", "/v1/jobs", {"target": "alinux3", "instances": ["dir:%s/roots/b" % work]})
        doc = json.loads(data)
        if st != 507 or doc["Code"] != "InsufficientStorage" or "space" not in doc["Message"]:
            fail("a write on a full disk: %d %s" % (st, data[:500]))
        print("ok a write is refused: %d %s: %s" % (st, doc["Code"], doc["Message"]))
        st, h = health()
        if h.get("status") != "degraded" or "space" not in h.get("cause", ""):
            fail("/healthz on a full disk: %d %s" % (st, h))
        print("ok /healthz: %s" % h)
        while time.time() < lease_end + 3:  # the lease ended, and the worker looked since (interval 1 s)
            time.sleep(0.5)
        doc = task_doc(orphan)
        print("ok the dead engine's lease ended while the disk is full: task %s %s (owner %s)" %
              (orphan, doc["state"], doc.get("owner")))

        os.unlink(os.path.join(work, "filler"))
        os.unlink(os.path.join(work, "filler2"))
        wal = os.path.join(runner.srv.state, "state.db-wal")
        print("ok space freed (WAL %d bytes)" % (os.path.getsize(wal) if os.path.exists(wal) else 0))
        st, _, data = req("POST", "/v1/tasks/%s/cancel" % task)
        if st != 202:
            fail("a write once space is back: %d %s" % (st, data[:500]))
        deadline = time.monotonic() + 20
        while health()[1].get("status") != "ok":
            if time.monotonic() > deadline:
                fail("/healthz stays %s once space is back" % (health(),))
            time.sleep(0.5)
        print("ok writes work again without a restart; /healthz ok")
        deadline = time.monotonic() + 60
        while True:
            doc = task_doc(orphan)
            if doc["state"] == "failed" and doc.get("owner") is None and doc["journal"]:
                break
            if time.monotonic() > deadline:
                fail("the dead engine's task is not taken over once space is back: %s" % json.dumps(doc)[:800])
            time.sleep(0.5)
        log = os.path.join(runner.srv.state, "tasks", orphan, "osmig.log")
        if not os.path.isfile(log) or ("task=%s" % orphan) not in open(log).read():
            fail("the taken-over task has no osmig.log at %s" % log)
        print("ok the dead engine's task is taken over once space is back and run to its end (%s: %s), "
              "with its osmig.log" % (doc["state"], doc.get("error", {}).get("code")))
        runner.last = during
        st, _, data = req("GET", "/v1/tasks", replay=True)
        if st != 401:
            fail("a read of the full-disk time replayed once space is back: %d %s" % (st, data[:300]))
        print("ok a nonce kept in memory meanwhile is still refused once the store writes again")
        runner.srv.stop()
        runner = None
    finally:
        if runner and getattr(runner, "srv", None):
            runner.srv.proc.kill()
            runner.srv.log.close()
        if mounted:
            subprocess.run(["umount", "-l", work])
        shutil.rmtree(work, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
