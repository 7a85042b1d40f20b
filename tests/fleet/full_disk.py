#!/usr/bin/python3
"""full_disk.py: a real `osmig serve` whose store (SQLite) is on a small
tmpfs that fills up. Proves: signed reads keep working while no write can
be made (their nonces are kept in memory meanwhile, a replay still refused);
/healthz turns "degraded" naming the cause; a write is refused with 507 and
a clear message; once space is freed the WAL has been checkpointed, writes
work again without a restart and /healthz is "ok". Needs root (mount);
SKIP otherwise. Tasks of a dead owner are taken over once writes work
(tests/api/cases/worker_orphan.json) whatever stopped them."""
import http.client
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("OSMIG_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
spec = importlib.util.spec_from_file_location("apicase", os.path.join(SRC, "tests", "api", "apicase.py"))
apicase = importlib.util.module_from_spec(spec)
spec.loader.exec_module(apicase)
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
