#!/usr/bin/env bash
# `osmig events import` and `osmig events reschedule` on a real local store:
# events become host-maintenance tasks in one job, placed in the instance's
# window; a second import creates nothing; an event past its latest time is
# left out; a second event for a held instance fails the import with nothing
# written; reschedule refuses a time after the latest one with the seed's
# words, takes a local time in the window's zone, and says what it did.
set -euo pipefail
bin=${OSMIG_BIN:?}
d=$(mktemp -d "${TMPDIR:-/tmp}/osmig-events-XXXXXX")
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export OSMIG_NO_AUTO_RESUME=1
state="$d/state"
mkdir -p "$d/web01" "$d/web02" "$d/web03"

cat > "$d/events.json" <<J
{"windows": {"dir:$d/web01": {"timezone": "America/New_York", "days_of_week": ["sun"], "start": "01:30", "duration": "2h"}},
 "events": [
  {"id": "e-1", "instance": "dir:$d/web01", "kind": "SystemMaintenance.Redeploy",
   "scheduled": "2098-12-31T12:00:00Z", "latest": "2099-01-09T12:00:00Z"},
  {"id": "e-2", "instance": "dir:$d/web02/", "kind": "SystemMaintenance.Redeploy",
   "scheduled": "2099-01-02T12:00:00Z", "latest": "2099-01-05T12:00:00Z"},
  {"id": "e-old", "instance": "dir:$d/web03", "kind": "SystemMaintenance.Redeploy",
   "scheduled": "2020-01-01T00:00:00Z", "latest": "2020-01-02T00:00:00Z"}]}
J
"$bin" events import "$d/events.json" --state-dir "$state" --json > "$d/out.json" || fail "import: exit $?"
python3 - "$d/out.json" "$d" <<'PY' || fail "import: $(cat "$d/out.json")"
import json, sys
o, d = json.load(open(sys.argv[1])), sys.argv[2]
ev = {e["id"]: e for e in o["events"]}
assert o["job"], o
# 2099-01-04 is a Sunday: 01:30 EST is 06:30 UTC
assert ev["e-1"]["status"] == "created" and ev["e-1"]["starts"] == "2099-01-04T06:30:00Z" and ev["e-1"]["in_window"], ev
assert ev["e-2"]["status"] == "created" and ev["e-2"]["starts"] == "2099-01-02T12:00:00Z", ev
assert ev["e-2"]["instance"] == f"dir:{d}/web02", ev   # canonical: no trailing slash
assert ev["e-old"]["status"] == "latest-time-passed" and "task" not in ev["e-old"], ev
open(sys.argv[1] + ".task", "w").write(ev["e-1"]["task"])
PY
task=$(cat "$d/out.json.task")

"$bin" events import "$d/events.json" --state-dir "$state" > "$d/out" || fail "import again: exit $?"
grep -q "^e-1 .*imported before as task $task" "$d/out" || fail "import again: $(cat "$d/out")"
grep -q "^job " "$d/out" && fail "import again made a job: $(cat "$d/out")"
n=$("$bin" tasks --state-dir "$state" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tasks"]))')
[ "$n" = 2 ] || fail "$n tasks after two imports, 2 expected"

# another event for a held instance: refused whole, nothing written
cat > "$d/more.json" <<J
{"events": [
  {"id": "e-3", "instance": "dir:$d/web03", "kind": "SystemMaintenance.Reboot",
   "scheduled": "2099-02-01T00:00:00Z", "latest": "2099-02-02T00:00:00Z"},
  {"id": "e-4", "instance": "dir:$d/web02", "kind": "SystemMaintenance.Reboot",
   "scheduled": "2099-02-01T00:00:00Z", "latest": "2099-02-02T00:00:00Z"}]}
J
rc=0; "$bin" events import "$d/more.json" --state-dir "$state" > "$d/out" 2> "$d/err" || rc=$?
[ "$rc" = 1 ] || fail "held instance: exit $rc"
grep -q "web02" "$d/err" || fail "held instance: $(cat "$d/err")"
n=$("$bin" tasks --state-dir "$state" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tasks"]))')
[ "$n" = 2 ] || fail "a refused import wrote: $n tasks"

# reschedule: after the latest time, refused with the seed's words
rc=0; "$bin" events reschedule "$task" 2099-01-09T12:00:01Z --state-dir "$state" 2> "$d/err" || rc=$?
[ "$rc" = 1 ] || fail "after latest: exit $rc"
grep -q "The new migration time cannot be later than the Latest Schedule Time" "$d/err" || fail "after latest: $(cat "$d/err")"
rc=0; "$bin" events reschedule "$task" 2020-01-01T00:00:00Z --state-dir "$state" 2> "$d/err" || rc=$?
[ "$rc" = 1 ] && grep -q "in the past" "$d/err" || fail "in the past: exit $rc: $(cat "$d/err")"
# a local time in the window's zone (New York, EST in January): 01:30 -> 06:30 UTC
"$bin" events reschedule "$task" 2099-01-08T01:30 --state-dir "$state" > "$d/out" || fail "local time: exit $?"
grep -q "$task rescheduled to 2099-01-08T06:30:00Z (latest schedule time 2099-01-09T12:00:00Z)" "$d/out" \
  || fail "local time: $(cat "$d/out")"
"$bin" task show "$task" --state-dir "$state" --json > "$d/task.json"
python3 - "$d/task.json" <<'PY' || fail "task after reschedule: $(cat "$d/task.json")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["kind"] == "host-maintenance" and t["state"] == "scheduled", t
assert t["schedule"]["not_before"] == "2099-01-08T06:30:00Z", t["schedule"]
PY
# a local time without a zone to read it in
e2=$(python3 -c 'import json,sys; print([e["task"] for e in json.load(open(sys.argv[1]))["events"] if e["id"]=="e-2"][0])' "$d/out.json")
rc=0; "$bin" events reschedule "$e2" 2099-01-03T01:30 --state-dir "$state" 2> "$d/err" || rc=$?
[ "$rc" = 2 ] && grep -q "give --timezone ZONE" "$d/err" || fail "no zone: exit $rc: $(cat "$d/err")"
"$bin" events reschedule "$e2" 2099-01-03T01:30 --timezone Asia/Shanghai --state-dir "$state" > "$d/out" \
  || fail "--timezone: exit $?"
grep -q "rescheduled to 2099-01-02T17:30:00Z" "$d/out" || fail "--timezone: $(cat "$d/out")"

# malformed: named, nothing written
echo '{"events": [{"id": "e-9", "instance": "dir:/nonexistent-osmig-x", "kind": "k", "scheduled": "soon", "latest": "later"}]}' > "$d/bad.json"
rc=0; "$bin" events import "$d/bad.json" --state-dir "$state" 2> "$d/err" || rc=$?
[ "$rc" = 1 ] && grep -q "bad.json: events\[0\].scheduled: 'soon' is not an RFC 3339 time" "$d/err" \
  || fail "malformed: exit $rc: $(cat "$d/err")"
rc=0; "$bin" events import --state-dir "$state" > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "no file: exit $rc"
echo PASS
