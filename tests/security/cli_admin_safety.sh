#!/usr/bin/env bash
# Proves: destructive commands ask first (rollback, retry, task release and
# a job cancel that rolls back refuse without --yes when no terminal can
# ask, changing nothing); a typo'd target on migrate is a usage error before
# any task or store exists; a store this user may not read says "permission
# denied", never "no task store"; an instance stuck in rollback_failed is
# released by an admin with a recorded reason; deleting a snapshot set a
# task still needs is refused, and --force is recorded on the task.
set -euo pipefail
: "${OSMIG_BIN:?run under ctest}"
B=$OSMIG_BIN
WORK=$(mktemp -d "${TMPDIR:-/tmp}/osm-admin-safety.XXXXXX")
chmod 755 "$WORK"
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # STATUS CMD...: stdout and stderr in $WORK/out, $WORK/err; stdin is no terminal
  local want=$1 rc=0; shift
  "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
  [ "$rc" = "$want" ] || { cat "$WORK/out" "$WORK/err"; fail "exit $rc, want $want: $*"; }
}
said() { grep -q -- "$1" "$WORK/err" || fail "stderr lacks '$1': $(cat "$WORK/err")"; }
unset OSMIG_SERVER
export OSMIG_NO_AUTO_RESUME=1 OSMIG_STATE_DIR=$WORK/state
mkdir -p "$WORK/inst/a" "$WORK/inst/b"
sql() { python3 -c 'import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); r=d.execute(sys.argv[2]).fetchall(); d.commit(); print("\n".join("|".join(map(str,x)) for x in r))' "$OSMIG_STATE_DIR/state.db" "$1"; }

# A typo'd target: a usage error, and no store, no task.
expect 2 "$B" migrate "dir:$WORK/inst/a" --to alinux33 --yes
said "--to alinux33: not a known target"
[ ! -e "$OSMIG_STATE_DIR/state.db" ] || fail "a store was made for a typo'd target"

# A task of each kind to act on: one job of two, then states set as a run would leave them.
printf 'dir:%s/inst/a alinux3\ndir:%s/inst/b alinux3\n' "$WORK" "$WORK" >"$WORK/list"
expect 0 "$B" jobs create "$WORK/list" --json
A=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["task_ids"][0])' "$WORK/out")
Bt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["task_ids"][1])' "$WORK/out")
sql "UPDATE tasks SET state='rollback_failed', phase='rolling_back', changed=1, cause='restore of disk 0 failed' WHERE id='$A'" >/dev/null
sql "UPDATE tasks SET state='failed', phase='failed' WHERE id='$Bt'" >/dev/null
before=$(sql "SELECT id, state, rev FROM tasks ORDER BY id")

# No terminal, no --yes: refused, nothing changed.
expect 2 "$B" rollback "$A";                        said "pass --yes to confirm the rollback of task $A"
expect 2 "$B" retry "$Bt";                          said "pass --yes to confirm the retry of task $Bt"
expect 2 "$B" task release "$A" --reason "checked by hand"; said "pass --yes to confirm the release of task $A"
expect 2 "$B" task release "$A" --yes;              said "needs --reason"
[ "$(sql "SELECT id, state, rev FROM tasks ORDER BY id")" = "$before" ] || fail "a refused command changed a task"

# Released, with the reason recorded; its instance is free again.
expect 1 "$B" task release "$Bt" --reason x --yes;  said "only a task whose rollback failed is released"
expect 0 "$B" task release "$A" --reason "disk checked by hand" --yes
expect 0 "$B" task show "$A" --json
python3 - "$WORK/out" <<'PY' || fail "the released task: $(cat "$WORK/out")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["state"] == "failed" and t["error"]["code"] == "released", t
assert "disk checked by hand" in t["error"]["cause"] and "restore of disk 0 failed" in t["error"]["cause"], t
assert t["history"][-1]["type"] == "released", t["history"]
assert t["audit"][-1]["action"] == "released" and t["audit"][-1]["by"].startswith("local:"), t["audit"]
assert t["audit"][-1]["detail"] == "disk checked by hand", t["audit"]
PY
expect 0 "$B" task show "$A"
grep -q "released  *by local:.* (disk checked by hand)" "$WORK/out" || fail "task show audit: $(cat "$WORK/out")"
printf 'dir:%s/inst/a alinux3 not_before=2099-01-01T00:00:00Z\n' "$WORK" >"$WORK/again"
expect 0 "$B" jobs create "$WORK/again"

# A snapshot set a succeeded task would roll back from.
S=$WORK/snapstore
echo data >"$WORK/inst/b/file"
expect 0 "$B" snapshot create "dir:$WORK/inst/b" --snapshot-store "$S" --quiet
SET=$(cat "$WORK/out")
sql "UPDATE tasks SET state='succeeded', phase='succeeded', snapshot_set='$SET' WHERE id='$Bt'" >/dev/null
expect 1 "$B" snapshot delete "dir:$WORK/inst/b" "$SET" --snapshot-store "$S"
said "snapshot set $SET is what task $Bt (succeeded) restores"
expect 0 "$B" snapshot list "dir:$WORK/inst/b" --snapshot-store "$S"
grep -q "^$SET " "$WORK/out" || fail "the refused delete removed the set"
expect 0 "$B" snapshot delete "dir:$WORK/inst/b" "$SET" --snapshot-store "$S" --force
grep -q "deleted snapshot set $SET (with --force" "$WORK/out" || fail "delete --force: $(cat "$WORK/out")"
expect 0 "$B" task show "$Bt" --json
python3 - "$WORK/out" "$SET" <<'PY' || fail "the task does not record the forced delete: $(cat "$WORK/out")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t.get("snapshot_set") is None, t
ev = t["history"][-1]
assert ev["type"] == "snapshot.deleted" and sys.argv[2] in ev["message"] and "--force" in ev["message"], ev
assert t["audit"][-1]["action"] == "snapshot.deleted", t["audit"]
PY

# Permission: another user reading root's store is told so.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  chmod 700 "$OSMIG_STATE_DIR"
  for cmd in "tasks" "task show $A" "cancel $A" "jobs list"; do
    # shellcheck disable=SC2086
    expect 1 setpriv --reuid=nobody --regid=nogroup --clear-groups "$B" $cmd
    said "permission denied"
    ! grep -q "no task store" "$WORK/err" || fail "$cmd said 'no task store'"
  done
else
  echo "SKIP (part): permission denied needs root and setpriv"
fi
echo PASS
