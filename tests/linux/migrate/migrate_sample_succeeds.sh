#!/usr/bin/env bash
# Proves: `osmig migrate` takes the sample CentOS-7-like root to the sample
# Alibaba Cloud Linux 3 target over a real HTTP server: the task succeeds,
# the root is the target (os-release, rpmdb), the run went through every
# phase with both boots recorded, the snapshot set is kept and verifies, and
# the summary says how to delete it. A second migration of the same root to
# the same target is refused by the prechecks (no path from alinux 3), and
# `osmig rollback` of the succeeded task puts the original root back.
. "$(dirname "$0")/lib.sh"
sample_setup
R=$WORK/root; fresh_root "$R"
original=$(digest "$R")
httpd_start "$REPO"
write_matrix "$WORK/matrix.json" "http://127.0.0.1:$HTTPD_PORT/"
migrate "$R" --matrix "$WORK/matrix.json" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/out" "$WORK/err"; fail "migrate failed"; }
for phase in prechecking snapshotting staging rebooting upgrading verifying succeeded; do
  assert_grep "^== $phase" "$WORK/out"
done
assert_grep "signatures verified against the target's keys" "$WORK/out"
assert_grep "^progress .* staging: download" "$WORK/out"
assert_grep "^progress .* upgrading: install" "$WORK/out"
assert_grep "succeeded: dir:$R is now sample-alinux3" "$WORK/out"
assert_grep "new release: Sample Alibaba Cloud Linux 3" "$WORK/out"
assert_grep "packages changed: install [0-9]*, upgrade [1-9]" "$WORK/out"
assert_grep "osmig snapshot delete dir:$R " "$WORK/out"
grep -q '^ID="alinux"' "$R/etc/os-release" || fail "os-release is not the target's"
rpm --root "$R" --dbpath /var/lib/rpm -q alinux-release >/dev/null || fail "alinux-release not installed"
rpm --root "$R" --dbpath /var/lib/rpm -q centos-release >/dev/null 2>&1 && fail "centos-release still installed"
id=$(last_task)
[ "$(task_field "$id" state)" = succeeded ] || fail "task not succeeded"
set_id=$(task_field "$id" snapshot_set)
[ -n "$set_id" ] || fail "no snapshot set on the task"
"$OSMIG_BIN" task show "$id" --state-dir "$WORK/state" >"$WORK/show"
[ "$(grep -c 'boot.*boot id' "$WORK/show")" = 2 ] || { cat "$WORK/show"; fail "two boots not recorded"; }
"$OSMIG_BIN" snapshot verify "dir:$R" "$set_id" --snapshot-store "$WORK/snaps" >/dev/null || fail "kept set does not verify"
[ -f "$WORK/state/tasks/$id/plan.json" ] || fail "no plan in the task's directory"
assert_grep "^ok os-release" "$WORK/state/tasks/$id/verify.txt"

# The target is not a source of any path: the prechecks stop it, nothing changes.
before=$(digest "$R")
rc=0; migrate "$R" --matrix "$WORK/matrix.json" >"$WORK/out2" 2>&1 || rc=$?
[ "$rc" = 3 ] || { cat "$WORK/out2"; fail "second migrate: exit $rc, want 3"; }
assert_grep "inhibitor no-path" "$WORK/out2"
[ "$(digest "$R")" = "$before" ] || fail "a refused migration changed the root"

# The kept set takes the instance back to before the migration.
"$OSMIG_BIN" rollback "$id" --yes --state-dir "$WORK/state" >"$WORK/rb.out" 2>&1 || { cat "$WORK/rb.out"; fail "osmig rollback failed"; }
[ "$(task_field "$id" state)" = rolled_back ] || fail "task not rolled_back after osmig rollback"
[ "$(digest "$R")" = "$original" ] || fail "osmig rollback did not restore the original root"
echo PASS
