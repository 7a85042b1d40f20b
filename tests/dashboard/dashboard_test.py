#!/usr/bin/python3
"""dashboard_test.py: the fleet dashboard in a real browser. A real `osmig
serve` on loopback runs a job of three sample instances: two whose prechecks
fail (instance descriptors give one a single vCPU and both a stale agent
heartbeat) and one scheduled for next year. Then:

- GET /v1/findings groups what blocks them: the heartbeat blocks 2 instances,
  the vCPUs 1; a viewer sees the same; an operator scoped to one instance
  sees only that one.
- Debian's Chromium, headless, driven by puppeteer-core (npm, installed into
  the build tree) through tests/dashboard/drive.js: a wrong secret is
  refused; signed in, the jobs view lists the job; the job view shows the
  blocking findings with their counts and the tasks; cancelling the
  scheduled task in the page cancels it in the store, and pausing the job
  pauses it there; the findings view
  lists both findings; an instance's view shows its history and opens the
  report the worker left for its failed task (through the signed API); a
  host-maintenance task is rescheduled in the page's form in its window's
  zone, a time past its latest schedule time refused inline in the seed's
  words. Nothing of the
  key is left in the browser's storage. Screenshots of each view are kept in
  the build tree (their paths are printed).

SKIP (77) without chromium, node/npm, a reachable npm registry, or the
sample fixtures' tools."""
import base64
import hashlib
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

PUPPETEER = "puppeteer-core@25.19.0"


def skip(why):
    print("SKIP: " + why)
    sys.exit(apicase.SKIP)


def node_modules():
    """puppeteer-core in the build tree (the working directory under ctest),
    installed once."""
    if not shutil.which("node") or not shutil.which("npm"):
        skip("node and npm are needed (Debian: nodejs npm)")
    d = os.path.abspath(os.environ.get("OSMIG_DASHBOARD_NODE_DIR", "dashboard-node"))
    if os.path.isdir(os.path.join(d, "node_modules", "puppeteer-core")):
        return os.path.join(d, "node_modules")
    os.makedirs(d, exist_ok=True)
    r = subprocess.run(["npm", "install", "--prefix", d, "--no-audit", "--no-fund", "--no-save", PUPPETEER],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        skip("npm could not install %s (is npm's registry reachable?): %s" % (PUPPETEER, r.stderr.strip()[-600:]))
    return os.path.join(d, "node_modules")


def call(runner, method, path, body=None, key="admin", want=200):
    status, _, data = runner.request(method, path, json.dumps(body).encode() if body is not None else b"", key=key)
    if status != want:
        fail("%s %s as %s: %d, not %d: %s" % (method, path, key, status, want, data[:1500]))
    return json.loads(data) if data else None


def instance_dir(work, letter, sample_root, facts=None):
    """WORK/LETTER/root (the sample root moved there) and, with facts, the
    descriptor WORK/LETTER/instance.json: everything of the instance under
    WORK/LETTER, so a scope WORK/LETTER/* covers it."""
    d = os.path.join(work, letter)
    os.makedirs(d)
    root = os.path.join(d, "root")
    os.rename(sample_root, root)
    if facts is None:
        return "dir:" + root
    p = os.path.join(d, "instance.json")
    with open(p, "w") as f:
        json.dump({"name": letter, "root": root, "facts": facts}, f)
    return "dir:" + p


def drive(modules, plan_file):
    r = subprocess.run(["node", os.path.join(HERE, "drive.js"), plan_file], capture_output=True, text=True,
                       timeout=240, env=dict(os.environ, NODE_PATH=modules))
    if r.returncode != 0:
        fail("drive.js failed: %s\n%s" % (r.stderr[-3000:], r.stdout[-1000:]))
    return json.loads(r.stdout.strip().splitlines()[-1])


def tls_run(runner, modules, work, chromium, shots, instance, opts):
    """The same page behind TLS (a server with its own certificate, trusted
    by its key's SPKI hash): signing in and the jobs view work."""
    tls_work = os.path.join(work, "tls")
    os.makedirs(tls_work)
    srv = apicase.Server(tls_work, {"tls": True})
    try:
        main_srv, runner.srv = runner.srv, srv
        job = call(runner, "POST", "/v1/jobs", {"name": "tls wave", "target": "sample-alinux3", "options": opts,
                                                "instances": [instance],
                                                "schedule": {"not_before": "2099-01-01T00:00:00Z"}}, want=201)
        empty = call(runner, "GET", "/v1/findings")
        if empty["findings"] != [] or empty["failed_tasks_examined"] != 0:
            fail("a fleet with no failed task has findings: %s" % empty)
        runner.srv = main_srv
        der = subprocess.run(["openssl", "x509", "-in", os.path.join(tls_work, "cert.pem"), "-pubkey", "-noout"],
                             capture_output=True, check=True).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=der, capture_output=True,
                             check=True).stdout
        spki = base64.b64encode(hashlib.sha256(der).digest()).decode()
        kid, secret = srv.keys["admin"]
        plan = {"url": "https://127.0.0.1:%d" % srv.port, "chromium": chromium, "key_id": kid, "secret": secret,
                "shots": shots, "sign_in_only": True, "ca_spki": spki}
        pf = os.path.join(work, "plan-tls.json")
        with open(pf, "w") as fh:
            json.dump(plan, fh)
        got = drive(modules, pf)
        if not any(row["id"] == job["job_id"] for row in got["views"]["jobs"]) or got["console_errors"]:
            fail("behind TLS the page did not list the job: %s" % got)
        print("ok: behind TLS (https://127.0.0.1) the page signs in and lists the job")
    finally:
        srv.stop()


def main():
    chromium = shutil.which("chromium")
    if not chromium:
        skip("chromium is needed (Debian: chromium)")
    modules = node_modules()
    work = tempfile.mkdtemp(prefix="osm-dashboard-test.")
    runner = apicase.Runner({"sample": 4}, work)
    runner.setup_fixtures()
    v = runner.vars
    stale = "2020-01-01T00:00:00Z"
    i1 = instance_dir(work, "a", v["SAMPLE_ROOT"], {"vcpus": 1, "heartbeat": stale})
    i2 = instance_dir(work, "b", v["SAMPLE_ROOT2"], {"heartbeat": stale})
    i3 = instance_dir(work, "c", v["SAMPLE_ROOT3"])
    i4 = instance_dir(work, "d", v["SAMPLE_ROOT4"])
    runner.srv = apicase.Server(work, {"workers": 1})
    ok = False
    try:
        opts = {"matrix": [v["SAMPLE_MATRIX"]], "snapshot_store": v["SAMPLE_SNAPS"], "cache_dir": v["SAMPLE_CACHE"]}
        job = call(runner, "POST", "/v1/jobs", {
            "name": "wave 1", "target": "sample-alinux3", "options": opts, "max_errors": "100%",
            "instances": [i1, i2, {"instance": i3, "schedule": {"not_before": "2099-01-01T00:00:00Z"}}],
        }, want=201)
        job_id, tasks = job["job_id"], job["task_ids"]
        deadline = time.time() + 240
        while True:
            states = [call(runner, "GET", "/v1/tasks/" + t)["state"] for t in tasks]
            if states[0] == states[1] == "failed":
                break
            if time.time() > deadline:
                fail("the prechecks did not fail in 240 s: %s; job %s" % (states, call(runner, "GET", "/v1/jobs/" + job_id)))
            time.sleep(0.5)
        if states[2] not in ("scheduled", "submitted"):
            fail("the task for next year is %s, not waiting" % states[2])
        # A host-maintenance event on the fourth instance, whose window is in
        # Asia/Shanghai (UTC+8, no DST): the page reschedules it in that zone.
        ev = call(runner, "POST", "/v1/events", {
            "windows": {i4: {"timezone": "Asia/Shanghai", "days_of_week": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                             "start": "02:00", "duration": "2h"}},
            "events": [{"id": "e-dash-1", "instance": i4, "kind": "SystemMaintenance.Redeploy",
                        "scheduled": "2098-12-01T00:00:00Z", "latest": "2098-12-05T00:00:00Z"}]}, want=201)
        hm_task = ev["events"][0]["task"]
        for t in tasks[:2]:  # the worker leaves a report of each run, as `osmig migrate` does
            deadline = time.time() + 60
            while not call(runner, "GET", "/v1/tasks/" + t).get("reports"):
                if time.time() > deadline:
                    fail("no report of the failed task %s: %s" % (t, call(runner, "GET", "/v1/tasks/" + t)))
                time.sleep(0.3)

        # The API view.
        f = call(runner, "GET", "/v1/findings?job=" + job_id)
        by = {x["id"]: x for x in f["findings"]}
        if set(by) != {"heartbeat", "vcpus"}:
            fail("findings %s, not heartbeat and vcpus: %s" % (sorted(by), f))
        if by["heartbeat"]["instances_blocked"] != 2 or by["vcpus"]["instances_blocked"] != 1:
            fail("counts are wrong: %s" % f)
        if f["findings"][0]["id"] != "heartbeat":
            fail("the finding that blocks most does not come first: %s" % f)
        if sorted(by["heartbeat"]["tasks"]) != sorted(tasks[:2]) or "vCPUs" not in by["vcpus"]["summary"]:
            fail("tasks or summary wrong: %s" % f)
        print("ok: /v1/findings groups the prechecks: heartbeat blocks 2, vcpus 1")
        keys = {}
        scope = "dir:" + os.path.realpath(os.path.join(work, "a")) + "/*"
        for name, spec in (("viewer", {"role": "viewer"}), ("scoped", {"role": "operator", "scope": scope})):
            r = call(runner, "POST", "/v1/keys", spec, want=201)
            keys[name] = (r["key_id"], r["secret"])
        runner.srv.keys.update(keys)
        fv = call(runner, "GET", "/v1/findings", key="viewer")
        if {x["id"]: x["instances_blocked"] for x in fv["findings"]} != {"heartbeat": 2, "vcpus": 1}:
            fail("a viewer sees other findings: %s" % fv)
        fs = call(runner, "GET", "/v1/findings", key="scoped")
        if {x["id"]: x["instances_blocked"] for x in fs["findings"]} != {"heartbeat": 1, "vcpus": 1}:
            fail("a scoped operator sees instances out of its scope: %s" % fs)
        status, _, data = runner.request("GET", "/v1/findings?state=failed")
        if status != 400:
            fail("an unknown query parameter was accepted: %d %s" % (status, data[:300]))
        print("ok: a viewer sees all; a scoped operator only its instance; bad query refused")

        # The page is served unsigned, with its policy; its files only.
        status, headers, data = runner.request("GET", "/dashboard", unsigned=True)
        if status != 200 or "text/html" not in headers.get("content-type", "") or b"app.js" not in data:
            fail("GET /dashboard: %d %s" % (status, headers))
        if "default-src 'self'" not in headers.get("content-security-policy", ""):
            fail("the page has no content security policy: %s" % headers)
        if runner.request("GET", "/dashboard/../v1/jobs", unsigned=True)[0] not in (400, 401, 404):
            fail("a path outside the dashboard's files was served")
        if runner.request("GET", "/dashboard/state.db", unsigned=True)[0] != 404:
            fail("an unknown dashboard file was not 404")
        print("ok: the page and its files are served unsigned with a CSP; nothing else")

        # The browser.
        shots = os.path.abspath(os.path.join("dashboard-shots"))
        shutil.rmtree(shots, ignore_errors=True)
        os.makedirs(shots)
        admin_id, admin_secret = runner.srv.keys["admin"]
        plan = {"url": "http://127.0.0.1:%d" % runner.srv.port, "chromium": chromium, "key_id": admin_id,
                "secret": admin_secret, "job": job_id, "cancel_task": tasks[2], "shots": shots,
                "reschedule": {"instance": i4, "task": hm_task, "too_late": "2098-12-06T10:00",
                               "when": "2098-12-03T10:00"}}
        pf = os.path.join(work, "plan.json")
        with open(pf, "w") as fh:
            json.dump(plan, fh)
        got = drive(modules, pf)
        views = got["views"]
        print("screenshots:\n  " + "\n  ".join(got["shots"]))
        if "refused" not in views["wrong_secret"]:
            fail("a wrong secret was not refused in the page: %r" % views["wrong_secret"])
        if not any(row["id"] == job_id and "wave 1" in row["cells"][0] for row in views["jobs"]):
            fail("the jobs view does not list the job: %s" % views["jobs"])
        jf = {row["id"]: row["cells"] for row in views["job_findings"]}
        if jf.get("heartbeat", [None, None, None])[2] != "2" or jf.get("vcpus", [None, None, None])[2] != "1":
            fail("the job view does not show the blocking findings with their counts: %s" % views["job_findings"])
        if not any("precheck" in c or "heartbeat" in c for c in jf["heartbeat"]):
            fail("the heartbeat finding's row says nothing of it: %s" % jf["heartbeat"])
        ts = {row["id"]: row["cells"] for row in views["job_tasks"]}
        if ts.get(tasks[0], [None] * 3)[2] != "failed" or set(ts) != set(tasks):
            fail("the job view's tasks are wrong: %s" % views["job_tasks"])
        if call(runner, "GET", "/v1/jobs/" + job_id).get("state") != "paused" or views["pause_status"] != "pause job: done":
            fail("pause in the page did not pause the job in the store: %s" % views["pause_status"])
        stored = call(runner, "GET", "/v1/tasks/" + tasks[2])["state"]
        if stored != "cancelled":
            fail("cancel in the page left the task %s in the store" % stored)
        if {row["id"] for row in views["findings"]} != {"heartbeat", "vcpus"}:
            fail("the findings view: %s" % views["findings"])
        if not any(row["cells"][1].startswith("precheck.") for row in views.get("history", [])):
            fail("the instance view shows no precheck in its history: %s" % views.get("history"))
        rep = views.get("report_text", "")
        if "osmig migrate report" not in rep or "Result: failed" not in rep or "agent heartbeat" not in rep:
            fail("the instance view did not open its task's report through the API: %r" % rep[:500])
        if not views.get("reports"):
            fail("the instance view lists no report: %s" % views.get("reports"))
        rs = views["reschedule"]
        if rs["zone_note"].find("Asia/Shanghai") < 0:
            fail("the reschedule form does not say the task's zone: %r" % rs["zone_note"])
        if "cannot be later than the Latest Schedule Time" not in rs["refusal"]:
            fail("a time past the latest schedule time was not refused inline in the seed's words: %r" % rs["refusal"])
        nb = call(runner, "GET", "/v1/tasks/" + hm_task)["schedule"]["not_before"]
        if nb != "2098-12-03T02:00:00Z":
            fail("10:00 in Asia/Shanghai in the form became %s in the store, not 2098-12-03T02:00:00Z" % nb)
        if views["storage_after_signin"] not in ("{}{}",):
            fail("the key was left in the browser's storage: %s" % views["storage_after_signin"])
        if got["console_errors"]:
            fail("the page logged errors: %s" % got["console_errors"])
        print("ok: in Chromium the views show the job, its blocking findings, the fleet's findings and an "
              "instance's history; pause and cancel in the page paused the job and cancelled the task in the store")
        print("ok: the instance view opens its task's report through the signed API; the reschedule form takes "
              "a time in the task's zone (Asia/Shanghai), shows the seed's refusal inline, and moves the task")
        tls_run(runner, modules, work, chromium, shots, i3, opts)
        ok = True
    finally:
        runner.srv.stop()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("work directory kept: " + work)
    print("PASS")


if __name__ == "__main__":
    main()
