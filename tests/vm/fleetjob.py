#!/usr/bin/python3
"""fleetjob.py: a job of the fleet API migrates a `qemu:` guest, like any
other instance.

Usage: fleetjob.py --vmctl PATH --work DIR fleet-job-migrates-a-guest

A real `osmig serve` on loopback (tests/api/apicase.py's server: its own
store, one worker) is asked with signed requests (ACS3-HMAC-SHA256):
  - by an operator key whose scope names the descriptor but not its disks:
    403 Forbidden.Instance naming the first disk, nothing created (a key's
    scope covers every path an instance is made of);
  - by the admin key: POST /v1/jobs of the running CentOS 7 test guest to
    RHEL 8.5 (the real packages, tests/vm/vmmigrate.py's fixture and
    choices), then GET /v1/tasks/ID until the task ends.
The server's worker migrates the guest in the guest (the target's rpm, real
reboots); the case then judges the guest through its agent by the target's
own tools, as vm/migrate-real-reboots does (vmmigrate.check_migrated).

Exit 0 passed, 1 failed, 77 skipped (no guest, QEMU or real data).
"""

import importlib.util
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vmcase as vc  # noqa: E402
import vmmigrate as vm  # noqa: E402

_spec = importlib.util.spec_from_file_location("apicase", os.path.join(HERE, "..", "api", "apicase.py"))
apicase = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(apicase)

TERMINAL = ("succeeded", "failed", "rolled_back", "rollback_failed", "cancelled", "expired")


class Api:
    """Signed requests to the server as apicase's cases make them."""

    def __init__(self, srv):
        self.runner = apicase.Runner("fleet-job", srv.work)
        self.runner.srv = srv

    def call(self, method, path, doc=None, key="admin"):
        body = json.dumps(doc).encode() if doc is not None else b""
        status, _, data = self.runner.request(method, path, body, key=key)
        try:
            return status, json.loads(data) if data else {}
        except ValueError:
            raise vc.Fail(f"{method} {path}: {status}, not JSON: {data[:300]!r}")


def operator_key(srv, scope):
    p = subprocess.run([apicase.OSMIG, "key", "create", "--role", "operator", "--scope", scope, "--state-dir",
                        srv.state], capture_output=True, text=True, check=True)
    kv = dict(ln.split("=", 1) for ln in p.stdout.split() if "=" in ln)
    return kv["key_id"], kv["secret"]


def case_fleet_job_migrates_a_guest(e):
    vm.boot_guest(e)
    matrix = vm.real_matrix(e)
    boot0 = e.boot_id()
    data0 = e.guest("sha256sum /srv/data/hello.txt")
    # The descriptor's canonical name: what the task records and scopes match.
    desc = os.path.realpath(e.desc)
    srv = apicase.Server(e.work, {"workers": 1, "interval": 1})
    try:
        api = Api(srv)
        srv.keys["narrow"] = operator_key(srv, f"qemu:{desc}")
        job = {"instances": [f"qemu:{desc}"], "target": "rhel8", "name": "guest wave"}
        status, doc = api.call("POST", "/v1/jobs", job, key="narrow")
        vc.check(status == 403 and doc.get("Code") == "Forbidden.Instance" and "system.qcow2" in doc.get("Message", ""),
                 f"a key that does not cover the disks: {status} {doc}")
        status, doc = api.call("GET", "/v1/jobs")
        vc.check(status == 200 and not doc.get("jobs"), f"the refused job left something: {doc}")

        job["options"] = {"matrix": [matrix], "cache_dir": os.path.join(e.work, "cache"),
                          "allow_erase": list(vm.ALLOW_ERASE)}
        status, doc = api.call("POST", "/v1/jobs", job)
        vc.check(status == 201 and len(doc.get("task_ids", [])) == 1, f"POST /v1/jobs: {status} {doc}")
        tid = doc["task_ids"][0]
        deadline = time.monotonic() + 3000
        while True:
            status, t = api.call("GET", f"/v1/tasks/{tid}")
            vc.check(status == 200, f"GET /v1/tasks/{tid}: {status} {t}")
            if t.get("state") in TERMINAL:
                break
            vc.check(time.monotonic() < deadline, f"the task did not end: {t.get('state')} {t.get('phase')}")
            time.sleep(5)
        vc.check(t["instance"] == f"qemu:{desc}", f"the task's instance: {t['instance']}")
        vc.check(t["state"] == "succeeded", f"the job's task: {t.get('state')} {t.get('error')}")
        status, log = api.call("GET", f"/v1/jobs/{doc['job_id']}")
        vc.check(status == 200 and log.get("counts", {}).get("succeeded") == 1, f"the job: {status} {log}")
    finally:
        srv.stop()
    vm.check_migrated(e, boot0, data0)
    e.ctl("stop")


CASES = {"fleet-job-migrates-a-guest": case_fleet_job_migrates_a_guest}


if __name__ == "__main__":
    sys.exit(vm.main(CASES))
