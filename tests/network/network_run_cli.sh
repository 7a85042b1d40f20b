#!/usr/bin/env bash
# `osmig network run`: a plan with errors creates nothing (exit 3, each error
# named); a migrating instance without its osmig instance, or a vSwitch
# without a local network, is refused naming the instance (exit 1) and
# creates nothing; a later migration time makes a scheduled task that waits
# (exit 0), visible in `osmig tasks`. No VM: nothing here reaches a task's
# steps (tests/vm/netcase.py runs them on real guests).
set -euo pipefail
bin=${OSMIG_BIN:?}
d=$(mktemp -d "${TMPDIR:-/tmp}/osmig-netrun-XXXXXX")
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export OSMIG_NO_AUTO_RESUME=1

. "${OSMIG_SOURCE_DIR:?}/tests/network/runlib.sh"
net_run_fixture "$d"
tasks() { "$bin" tasks --json --state-dir "$d/state" 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tasks"]))' || echo 0; }

plan bad '[{"id": "i-db", "instance": "qemu:'"$d"'/vm.json"}]' ', "bridge": "brv"'
rc=0; "$bin" network run "$d/bad.json" --state-dir "$d/state" > "$d/out" 2> "$d/err" || rc=$?
[ "$rc" = 3 ] || fail "plan with errors: exit $rc, 3 expected: $(cat "$d/err")"
grep -q "instance.local-disks i-db" "$d/err" || fail "plan with errors: the finding is not named: $(cat "$d/err")"
[ "$(tasks)" = 0 ] || fail "plan with errors: tasks were created"

plan nouri '["i-web"]' ', "bridge": "brv"'
rc=0; "$bin" network run "$d/nouri.json" --state-dir "$d/state" > "$d/out" 2> "$d/err" || rc=$?
[ "$rc" = 1 ] || fail "instance without its osmig instance: exit $rc, 1 expected"
grep -q 'instance i-web has no "instance"' "$d/err" || fail "no instance: $(cat "$d/err")"
[ "$(tasks)" = 0 ] || fail "no instance: tasks were created"

plan nobridge '[{"id": "i-web", "instance": "qemu:'"$d"'/vm.json"}]'
rc=0; "$bin" network run "$d/nobridge.json" --state-dir "$d/state" > "$d/out" 2> "$d/err" || rc=$?
[ "$rc" = 1 ] || fail "vSwitch without a network: exit $rc, 1 expected"
grep -q 'has no "bridge"' "$d/err" || fail "no bridge: $(cat "$d/err")"
[ "$(tasks)" = 0 ] || fail "no bridge: tasks were created"

plan later '[{"id": "i-web", "instance": "qemu:'"$d"'/vm.json"}]' ', "bridge": "brv"'
rc=0; "$bin" network run "$d/later.json" --state-dir "$d/state" > "$d/out" 2> "$d/err" || rc=$?
[ "$rc" = 0 ] || fail "later plan: exit $rc: $(cat "$d/err")"
grep -q "waits for 2099-01-01T00:00:00Z" "$d/out" || fail "later plan: $(cat "$d/out")"
"$bin" tasks --json --state-dir "$d/state" | python3 -c '
import json, sys
t = json.load(sys.stdin)["tasks"]
assert len(t) == 1 and t[0]["kind"] == "network-migration" and t[0]["state"] == "scheduled", t
o = t[0]["options"]
assert (o["ip"], o["gateway"], o["network"], o["mac"]) == ("10.77.1.1", "10.77.1.253", "brv", "52:54:00:aa:00:01"), o
' || fail "later plan: the scheduled task"

# The job's rate limits and maintenance window, as POST /v1/network-plans
# takes them (the same builder, engine/fleet/netplan_job.c): a bad window or
# limit is a usage error creating nothing; the task starts at the window's
# first opening after its migration time; the job carries the limits.
qemu-img create -q -f qcow2 "$d/system2.qcow2" 16M
sed "s|$d/system.qcow2|$d/system2.qcow2|; s|$d/q.sock|$d/q2.sock|; s|$d/a.sock|$d/a2.sock|" "$d/vm.json" > "$d/vm2.json"
plan windowed '[{"id": "i-web", "instance": "qemu:'"$d"'/vm2.json"}]' ', "bridge": "brv"'
rc=0; "$bin" network run "$d/windowed.json" --window '{"timezone": "UTC", "start": "25:00", "duration": "2h"}' \
  --state-dir "$d/state" > "$d/out" 2> "$d/err" || rc=$?
[ "$rc" = 2 ] || fail "bad --window: exit $rc, 2 expected"
grep -q "start" "$d/err" || fail "bad --window: the member is not named: $(cat "$d/err")"
rc=0; "$bin" network run "$d/windowed.json" --max-concurrency lots --state-dir "$d/state" > "$d/out" 2> "$d/err" || rc=$?
[ "$rc" = 2 ] || fail "bad --max-concurrency: exit $rc, 2 expected"
[ "$(tasks)" = 1 ] || fail "bad options: tasks were created"
"$bin" network run "$d/windowed.json" --max-concurrency 1 --max-errors 0 --state-dir "$d/state" \
  --window '{"timezone": "UTC", "days_of_week": ["sun"], "start": "02:00", "duration": "2h"}' > "$d/out" 2> "$d/err" \
  || fail "windowed plan: $(cat "$d/err")"
grep -q "waits for 2099-01-04T02:00:00Z" "$d/out" || fail "windowed plan: not at the window's opening: $(cat "$d/out")"
job=$(sed -n 's/^plan windowed: job \([^,]*\),.*/\1/p' "$d/out")
"$bin" jobs show "$job" --json --state-dir "$d/state" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["name"] == "network plan windowed" and j["max_concurrency"] == "1" and j["max_errors"] == "0", j
assert j["counts"]["scheduled"] == 1, j
' || fail "windowed plan: the job's limits"
echo "PASS"
