#!/usr/bin/env bash
# Proves: `osmig network run PLAN --server URL` posts the plan (its
# inventory file inlined) to a real `osmig serve`, which makes the same job
# and tasks as a local run of the same plan (one builder: kind, target,
# options but the plan's source, start time and window, the job's limits);
# a plan with errors exits 3 and the server creates nothing; --server
# excludes --wait and --state-dir.
set -euo pipefail
: "${OSMIG_BIN:?run under ctest}"
B=$OSMIG_BIN
. "${OSMIG_SOURCE_DIR:?run under ctest}/tests/scaleout/serve_lib.sh"
serve_work netrun-server
unset OSMIG_SERVER OSMIG_ACCESS_KEY_ID OSMIG_ACCESS_KEY_SECRET
export HOME=$WORK/home OSMIG_NO_AUTO_RESUME=1
mkdir -p "$HOME"
d=$WORK
. "$OSMIG_SOURCE_DIR/tests/network/runlib.sh"
net_run_fixture "$d"
plan good '[{"id": "i-web", "instance": "qemu:'"$d"'/vm.json"}]' ', "bridge": "brv"'
plan bad '[{"id": "i-db", "instance": "qemu:'"$d"'/vm.json"}]' ', "bridge": "brv"'
WINDOW='{"timezone": "UTC", "days_of_week": ["sun"], "start": "02:00", "duration": "2h"}'

export OSMIG_STATE_DIR=$WORK/served
serve_admin

expect 2 "$B" network run "$d/good.json" --wait "${SRV[@]}"
expect 2 "$B" network run "$d/good.json" --state-dir "$WORK/local" "${SRV[@]}"
expect 3 "$B" network run "$d/bad.json" "${SRV[@]}"
grep -q "instance.local-disks i-db" "$WORK/err" || fail "plan with errors: the finding is not named: $(cat "$WORK/err")"
expect 0 "$B" tasks --json "${SRV[@]}"
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tasks"]; assert t == [], t' "$WORK/out" \
  || fail "plan with errors: the server created tasks: $(cat "$WORK/out")"

expect 0 "$B" network run "$d/good.json" --max-concurrency 2 --window "$WINDOW" "${SRV[@]}"
grep -q "^plan good: job .*, 1 task(s) on $URL" "$WORK/out" || fail "served run: $(cat "$WORK/out")"
grep -q " 2099-01-04T02:00:00Z$" "$WORK/out" || fail "served run: not at the window's opening: $(cat "$WORK/out")"
expect 0 "$B" tasks --json "${SRV[@]}"
cp "$WORK/out" "$WORK/served.json"
expect 0 "$B" jobs list --json "${SRV[@]}"
cp "$WORK/out" "$WORK/served-jobs.json"
unset OSMIG_STATE_DIR
expect 0 "$B" network run "$d/good.json" --max-concurrency 2 --window "$WINDOW" --state-dir "$WORK/local"
expect 0 "$B" tasks --json --state-dir "$WORK/local"
cp "$WORK/out" "$WORK/local.json"
expect 0 "$B" jobs list --json --state-dir "$WORK/local"
cp "$WORK/out" "$WORK/local-jobs.json"
python3 - "$WORK" <<'PY' || fail "the served and the local run differ"
import json, sys
w = sys.argv[1]
def one(name):
    t = json.load(open(f"{w}/{name}.json"))["tasks"]
    assert len(t) == 1, t
    t = t[0]
    return {k: t.get(k) for k in ("kind", "instance", "target", "state", "options", "schedule")}
served, local = one("served"), one("local")
# the plan's source is all that differs: the request, or the file
assert served["options"].pop("plan_file") == "plan" and local["options"].pop("plan_file").endswith("/good.json")
assert served == local, (served, local)
assert served["kind"] == "network-migration" and served["options"]["ip"] == "10.77.1.1", served
def job(name):
    j = json.load(open(f"{w}/{name}-jobs.json"))["jobs"]
    assert len(j) == 1, j
    return {k: j[0].get(k) for k in ("name", "max_concurrency", "n_tasks")}
assert job("served") == job("local") == {"name": "network plan good", "max_concurrency": "2", "n_tasks": 1}, \
    (job("served"), job("local"))
PY
echo PASS
