#!/usr/bin/env bash
# Proves: Ctrl-C (SIGINT) while `osmig migrate` runs its prechecks, before
# the instance changes, cancels the task and says so; the root is as it
# was, the task is cancelled with the signal in its audit trail, and the
# command exits 1. SIGHUP once the instance is changing (staging) does not
# stop it half-way: the command says the migration goes on, and it ends
# succeeded; a second Ctrl-C there leaves at once (130) and `osmig resume`
# finishes the task. A reader that goes away (SIGPIPE on the output) does not leave
# the task running with nobody to run it.
. "$(dirname "$0")/lib.sh"
sample_setup
R=$WORK/root; fresh_root "$R"
original=$(digest "$R")

# The target's repository from a real HTTP server on 127.0.0.1 that holds
# requests while a gate file exists (GATE.md: metadata, the prechecks;
# GATE.rpm: packages, staging), so a signal lands in the step the test
# means, whatever the machine's load.
GATE=$WORK/gate
cat >"$WORK/gated_http.py" <<'PY'
import functools, http.server, os, sys, time
root, gate, port_file = sys.argv[1:4]
class H(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        g = gate + (".rpm" if self.path.endswith(".rpm") else ".md")
        while os.path.exists(g):
            open(g + ".held", "w").close()
            time.sleep(0.05)
        super().do_GET()
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(H, directory=root))
open(port_file + ".tmp", "w").write(str(s.server_address[1]))
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
PY
"$PY" "$WORK/gated_http.py" "$REPO" "$GATE" "$WORK/port" &
gated_pid=$!
trap 'kill $gated_pid 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
write_matrix "$WORK/matrix.json" "http://127.0.0.1:$(cat "$WORK/port")/"

# osmig itself in the background (not through the shell function: $! must
# be the process the signal is for).
bg_migrate() { # ROOT OUT ERR ARGS...
  local root=$1 out=$2 errf=$3; shift 3
  "$OSMIG_BIN" migrate "dir:$root" --to sample-alinux3 --yes --state-dir "$WORK/state" \
    --snapshot-store "$WORK/snaps" --cache-dir "$WORK/cache" "$@" >"$out" 2>"$errf" &
  pid=$!
}
# wait_for FILE [PATTERN]: FILE exists (and has PATTERN), or fail.
wait_for() {
  for _ in $(seq 600); do
    if [ -e "$1" ] && { [ -z "${2:-}" ] || grep -q -- "$2" "$1"; }; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -e "$1" ] && { [ -z "${2:-}" ] || grep -q -- "$2" "$1"; } || fail "waited in vain for ${2:-$1}${2:+ in $1}"
}
# interrupt ROOT TAG GATE SIGNAL NAME PHASE RC: migrate ROOT (output in
# WORK/out.TAG, err.TAG); once a request of the step waits at the gate,
# signal it; once the command said what it does about NAME, open the gate;
# it was in PHASE and exits RC.
interrupt() {
  local out=$WORK/out.$2 errf=$WORK/err.$2 gate=$GATE.$3
  touch "$gate"
  bg_migrate "$1" "$out" "$errf" --matrix "$WORK/matrix.json"
  wait_for "$gate.held"
  kill "-$4" "$pid"
  wait_for "$errf" "$5: task"
  rm -f "$gate" "$gate.held"
  rc=0; wait "$pid" || rc=$?
  assert_grep "^== $6" "$out"
  [ "$rc" = "$7" ] || { cat "$out" "$errf"; fail "migrate after $5 while $6: exit $rc, want $7"; }
}

interrupt "$R" 1 md INT "SIGINT (Ctrl-C)" prechecking 1
assert_grep "SIGINT (Ctrl-C): task t-[0-9a-f]* is cancelled; its instance was not changed" "$WORK/err.1"
id=$(last_task)
[ "$(task_field "$id" state)" = cancelled ] || fail "task $(task_field "$id" state), not cancelled"
"$OSMIG_BIN" task show "$id" --state-dir "$WORK/state" >"$WORK/show"
assert_grep "cancelled  *by local:.*SIGINT (Ctrl-C) before any change" "$WORK/show"
[ "$(digest "$R")" = "$original" ] || fail "the interrupted migration changed the root"
echo "ok SIGINT during the prechecks: cancelled, said so, root unchanged"

# SIGHUP while staging (the instance is changing): it goes on and says so.
R2=$WORK/root2; fresh_root "$R2"
interrupt "$R2" 2 rpm HUP SIGHUP staging 0
assert_grep "SIGHUP: task t-[0-9a-f]* is already changing its instance: the migration goes on to its end" "$WORK/err.2"
assert_grep "succeeded" "$WORK/out.2"
id2=$(last_task)
[ "$(task_field "$id2" state)" = succeeded ] || fail "task $id2 $(task_field "$id2" state) after SIGHUP, not succeeded"
echo "ok SIGHUP while staging: goes on, said so, succeeded"

# Ctrl-C twice while staging: the second leaves at once (exit 130) and
# says how to go on; the task is left running, and `osmig resume` finishes it.
R3=$WORK/root3; fresh_root "$R3"
touch "$GATE.rpm"
bg_migrate "$R3" "$WORK/out.3" "$WORK/err.3" --matrix "$WORK/matrix.json"
wait_for "$GATE.rpm.held"
kill -INT "$pid"
wait_for "$WORK/err.3" "already changing its instance"
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 130 ] || { cat "$WORK/out.3" "$WORK/err.3"; fail "a second Ctrl-C while staging: exit $rc, want 130"; }
assert_grep "second SIGINT (Ctrl-C): leaving now" "$WORK/err.3"
assert_grep "osmig resume" "$WORK/err.3"
id3=$(last_task)
[ "$(task_field "$id3" state)" = running ] || fail "task $id3 $(task_field "$id3" state) after a second Ctrl-C, not left running"
rm -f "$GATE.rpm" "$GATE.rpm.held"
"$OSMIG_BIN" resume --state-dir "$WORK/state" >"$WORK/resume.3" 2>&1 || { cat "$WORK/resume.3"; fail "resume after a second Ctrl-C failed"; }
[ "$(task_field "$id3" state)" = succeeded ] || { cat "$WORK/resume.3"; fail "task $id3 $(task_field "$id3" state) after resume, not succeeded"; }
grep -q '^ID="alinux"' "$R3/etc/os-release" || fail "resumed after a second Ctrl-C but the root is not the target"
echo "ok Ctrl-C twice while staging: left at once (130), resume finished it"

# The output's reader gone at once: the task still ends (here at the
# prechecks of an empty root), never left running.
mkdir -p "$WORK/empty"
"$OSMIG_BIN" migrate "dir:$WORK/empty" --to sample-alinux3 --yes --matrix "$WORK/matrix.json" \
  --state-dir "$WORK/state2" --snapshot-store "$WORK/snaps" 2>/dev/null | head -c 1 >/dev/null || true
state=$("$OSMIG_BIN" tasks --json --state-dir "$WORK/state2" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["state"])')
[ "$state" = failed ] || fail "with its reader gone the task is $state, not failed"
echo "ok with its reader gone the task still ends"
echo PASS
