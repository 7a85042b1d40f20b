#!/usr/bin/env bash
# Proves: Ctrl-C (SIGINT) while `osmig migrate` runs its prechecks, before
# the instance changes, cancels the task and says so; the root is as it
# was, the task is cancelled with the signal in its audit trail, and the
# command exits 1. SIGHUP once the instance is changing (staging) does not
# stop it half-way: the command says the migration goes on, and it ends
# succeeded. A reader that goes away (SIGPIPE on the output) does not leave
# the task running with nobody to run it.
. "$(dirname "$0")/lib.sh"
sample_setup
R=$WORK/root; fresh_root "$R"
original=$(digest "$R")
# Slow metadata (the prechecks read the target's repository): they are
# still under way when the signal comes.
httpd_start "$REPO" 2
write_matrix "$WORK/matrix.json" "http://127.0.0.1:$HTTPD_PORT/"
# osmig itself in the background (not through the shell function: $! must
# be the process the signal is for).
bg_migrate() { # ROOT OUT ERR ARGS...
  local root=$1 out=$2 errf=$3; shift 3
  "$OSMIG_BIN" migrate "dir:$root" --to sample-alinux3 --yes --state-dir "$WORK/state" \
    --snapshot-store "$WORK/snaps" --cache-dir "$WORK/cache" "$@" >"$out" 2>"$errf" &
  pid=$!
}
bg_migrate "$R" "$WORK/out" "$WORK/err" --matrix "$WORK/matrix.json"
for _ in $(seq 600); do
  grep -q "^== prechecking" "$WORK/out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
assert_grep "^== prechecking" "$WORK/out"
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/out" "$WORK/err"; fail "interrupted migrate: exit $rc, want 1"; }
assert_grep "SIGINT (Ctrl-C): task t-[0-9a-f]* is cancelled; its instance was not changed" "$WORK/err"
id=$(last_task)
[ "$(task_field "$id" state)" = cancelled ] || fail "task $(task_field "$id" state), not cancelled"
"$OSMIG_BIN" task show "$id" --state-dir "$WORK/state" >"$WORK/show"
assert_grep "cancelled  *by local:.*SIGINT (Ctrl-C) before any change" "$WORK/show"
[ "$(digest "$R")" = "$original" ] || fail "the interrupted migration changed the root"

# SIGHUP while staging (the instance is changing): it goes on and says so.
R2=$WORK/root2; fresh_root "$R2"
bg_migrate "$R2" "$WORK/out2" "$WORK/err2" --matrix "$WORK/matrix.json"
for _ in $(seq 600); do
  grep -q "^== staging" "$WORK/out2" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
assert_grep "^== staging" "$WORK/out2"
kill -HUP "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/out2" "$WORK/err2"; fail "migrate after SIGHUP while staging: exit $rc, want 0"; }
assert_grep "SIGHUP: task t-[0-9a-f]* is already changing its instance: the migration goes on to its end" "$WORK/err2"
assert_grep "succeeded" "$WORK/out2"
id2=$(last_task)
[ "$(task_field "$id2" state)" = succeeded ] || fail "task $id2 $(task_field "$id2" state) after SIGHUP, not succeeded"

# The output's reader gone at once: the task still ends (here at the
# prechecks of an empty root), never left running.
mkdir -p "$WORK/empty"
"$OSMIG_BIN" migrate "dir:$WORK/empty" --to sample-alinux3 --yes --matrix "$WORK/matrix.json" \
  --state-dir "$WORK/state2" --snapshot-store "$WORK/snaps" 2>/dev/null | head -c 1 >/dev/null || true
state=$("$OSMIG_BIN" tasks --json --state-dir "$WORK/state2" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["state"])')
[ "$state" = failed ] || fail "with its reader gone the task is $state, not failed"
echo PASS
