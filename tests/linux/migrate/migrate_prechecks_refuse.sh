#!/usr/bin/env bash
# Proves: the prechecks take their facts from the provider with the
# descriptor's overrides, name each failing fact with its limit and remedy,
# stop the task before any change (state failed, exit 3, no snapshot set,
# root unchanged); bad command lines change nothing either.
. "$(dirname "$0")/lib.sh"
sample_setup
R=$WORK/root; fresh_root "$R"
write_matrix "$WORK/matrix.json" "file://$REPO"
before=$(digest "$R")
cat >"$WORK/web01.json" <<JSON
{"name": "web01", "root": "$R",
 "facts": {"vcpus": 1, "memory_mib": 1024, "heartbeat": "2020-01-01T00:00:00Z", "authorized": false}}
JSON
rc=0
"$OSMIG_BIN" migrate "dir:$WORK/web01.json" --to sample-alinux3 --yes --matrix "$WORK/matrix.json" \
  --state-dir "$WORK/state" --snapshot-store "$WORK/snaps" >"$WORK/out" 2>&1 || rc=$?
[ "$rc" = 3 ] || { cat "$WORK/out"; fail "exit $rc, want 3"; }
assert_grep "vCPUs: the instance has 1, sample-alinux3 needs at least 2 (remedy: resize" "$WORK/out"
assert_grep "memory: the instance has 1024 MiB, sample-alinux3 needs at least 2048 MiB" "$WORK/out"
assert_grep "agent heartbeat: last seen [0-9]* hours ago, it must be within the last 24 hours (remedy:" "$WORK/out"
assert_grep "authorisation: osmig is not authorised" "$WORK/out"
id=$(last_task)
[ "$(task_field "$id" state)" = failed ] || fail "task not failed"
[ -z "$(task_field "$id" snapshot_set)" ] || fail "a snapshot set was made"
[ "$(task_field "$id" changed_instance)" = False ] || fail "task says it changed the instance"
[ ! -e "$WORK/snaps" ] || [ -z "$(ls -A "$WORK/snaps/sets" 2>/dev/null)" ] || fail "snapshot store has sets"
[ "$(digest "$R")" = "$before" ] || fail "the root changed"

# Bad command lines: usage errors, nothing created.
rc=0; "$OSMIG_BIN" migrate "dir:$R" --yes --state-dir "$WORK/s2" >"$WORK/u1" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q -- "--to TARGET is required" "$WORK/u1" || fail "missing --to: exit $rc"
rc=0; "$OSMIG_BIN" migrate "dir:$R" --to sample-alinux3 --matrix "$WORK/matrix.json" --state-dir "$WORK/s2" </dev/null >"$WORK/u2" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q -- "pass --yes" "$WORK/u2" || fail "no terminal, no --yes: exit $rc"
rc=0; "$OSMIG_BIN" migrate "dir:$R" --to sample-alinux3 --yes --matrix "$WORK/nope.json" --state-dir "$WORK/s2" >"$WORK/u3" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "nope.json: no such file" "$WORK/u3" || fail "missing matrix file: exit $rc"
rc=0; "$OSMIG_BIN" migrate "dir:$WORK/missing-root" --to sample-alinux3 --yes --matrix "$WORK/matrix.json" --state-dir "$WORK/s2" >"$WORK/u4" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "missing-root" "$WORK/u4" || { cat "$WORK/u4"; fail "missing root: exit $rc"; }
[ ! -e "$WORK/s2" ] || fail "a bad command line created a state directory"
[ "$(digest "$R")" = "$before" ] || fail "the root changed"
echo PASS
