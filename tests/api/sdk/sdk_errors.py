#!/usr/bin/python3
"""sdk_errors.py: the official Alibaba Cloud Node SDK (@alicloud/openapi-client,
from npm, installed into the build tree) drives a real `osmig serve`: its ACS3
signatures are accepted, a success reads as one, and an error reads as the
SDK's own error (Code, Message, RequestId) with osmig's field path kept in
its data. SKIP (77) when node or npm is missing or npm's registry cannot be
reached."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("OSMIG_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", "..", ".."))
spec = importlib.util.spec_from_file_location("apicase", os.path.join(SRC, "tests", "api", "apicase.py"))
apicase = importlib.util.module_from_spec(spec)
spec.loader.exec_module(apicase)
fail = apicase.fail

SDK = "@alicloud/openapi-client@0.4.15"


def sdk_dir():
    """node_modules in the build tree (the working directory under ctest),
    installed once; None (after saying why) when it cannot be."""
    if not shutil.which("node") or not shutil.which("npm"):
        print("SKIP: node and npm are needed (Debian: nodejs npm)")
        return None
    d = os.path.abspath(os.environ.get("OSMIG_NODE_SDK_DIR", "node-sdk"))
    if os.path.isdir(os.path.join(d, "node_modules", "@alicloud", "openapi-client")):
        return d
    os.makedirs(d, exist_ok=True)
    r = subprocess.run(["npm", "install", "--prefix", d, "--no-audit", "--no-fund", "--no-save", SDK],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        print("SKIP: npm could not install %s (is npm's registry reachable?): %s" % (SDK, r.stderr.strip()[-600:]))
        return None
    return d


def main():
    d = sdk_dir()
    if not d:
        sys.exit(apicase.SKIP)
    work = tempfile.mkdtemp(prefix="osm-sdk-test.")
    srv = None
    try:
        srv = apicase.Server(work, {"workers": 1})
        kid, secret = srv.keys["admin"]
        calls = [
            {"method": "GET", "path": "/v1/jobs"},
            {"method": "GET", "path": "/v1/jobs/no-such-job"},
            {"method": "POST", "path": "/v1/jobs", "body": {"instances": [{"instance": "dir:/x", "target": 7}]}},
        ]
        env = dict(os.environ, NODE_PATH=os.path.join(d, "node_modules"), OSMIG_SDK_ENDPOINT="127.0.0.1:%d" % srv.port,
                   OSMIG_SDK_KEY_ID=kid, OSMIG_SDK_SECRET=secret)
        r = subprocess.run(["node", os.path.join(HERE, "sdk_calls.js"), json.dumps(calls)], capture_output=True,
                           text=True, env=env, timeout=120)
        if r.returncode != 0:
            fail("node: exit %d: %s" % (r.returncode, r.stderr[-2000:]))
        got = [json.loads(line) for line in r.stdout.splitlines()]
        if len(got) != len(calls):
            fail("expected %d answers, got: %s" % (len(calls), r.stdout))
        ok, missing, bad = got

        # A success: the SDK's signature is accepted and the body is the list.
        if not ok["ok"] or ok["status"] != 200 or not isinstance(ok["body"].get("jobs"), list):
            fail("GET /v1/jobs through the SDK: %s" % json.dumps(ok)[:1500])
        if not ok["headers"].get("x-acs-request-id"):
            fail("a success has no x-acs-request-id header: %s" % ok["headers"])
        print("ok the SDK's signed GET /v1/jobs succeeds (request id %s)" % ok["headers"]["x-acs-request-id"])

        # A 404: the SDK reads Code, Message and RequestId.
        if missing["ok"] or missing["code"] != "NotFound.Job":
            fail("GET of a missing job: the SDK's error code is %r, expected NotFound.Job: %s" % (
                missing.get("code"), json.dumps(missing)[:1500]))
        data = missing["data"]
        if data.get("statusCode") != 404 or not data.get("RequestId") or data["RequestId"] not in missing["message"]:
            fail("the SDK's error lacks the status or the request id: %s" % json.dumps(missing)[:1500])
        if "undefined" in missing["message"]:
            fail("the SDK could not read the message: %r" % missing["message"])
        print("ok a 404 reads as the SDK error %s: %s" % (missing["code"], missing["message"]))

        # A 400: osmig's field path is still there, in the error's data.
        field = (bad.get("data") or {}).get("error", {}).get("field")
        if bad["ok"] or not bad["code"].startswith("InvalidParameter") or field != "instances[0].target":
            fail("a bad target: expected InvalidParameter* on instances[0].target, got: %s" % json.dumps(bad)[:1500])
        print("ok a 400 reads as the SDK error %s, field %s" % (bad["code"], field))
        srv.stop()
        srv = None
    finally:
        if srv:
            srv.proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
