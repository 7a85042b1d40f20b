#!/usr/bin/env bash
# Proves: osmig killed at every crash point of a full migration (before and
# after every record the runner writes, and inside the steps: after the
# snapshot set is made, between noting a boot and rebooting) and started
# again with `osmig resume` always finishes the task: succeeded (the root is
# the target) or rolled_back (the root's digest equals the one before). Two
# runs: the sample migration (success path), and the scriptlet-fault set
# whose %pre fails (rollback path). OSMIG_CRASH_AT=N makes osmig _exit(137)
# at its Nth crash point, as SIGKILL would; N walks 1, 2, ... until a run
# passes every point without dying. Prints the number of kill points.
# OSMIG_KILL_STRIDE=K (the sanitizer build) takes every Kth point only.
. "$(dirname "$0")/lib.sh"
total=0
newest_task() { # "ID STATE" of the newest task
  "$OSMIG_BIN" tasks --json --state-dir "$WORK/k/state" |
    "$PY" -c 'import json,sys; t=json.load(sys.stdin)["tasks"][0]; print(t["id"], t["state"])'
}
kill_loop() { # NAME MATRIX EXPECT(succeeded|rolled_back)
  local name=$1 matrix=$2 expect=$3 n=1 rc id state count=0 stride=${OSMIG_KILL_STRIDE:-1}
  local R=$WORK/k/root before
  before=$(digest "$SRC_ROOT") # cp -a keeps content and metadata: every copy has this digest
  while :; do
    rm -rf "$WORK/k"; mkdir -p "$WORK/k"
    fresh_root "$R"
    rc=0
    OSMIG_CRASH_AT=$n "$OSMIG_BIN" migrate "dir:$R" --to sample-alinux3 --yes --state-dir "$WORK/k/state" \
      --snapshot-store "$WORK/k/snaps" --cache-dir "$WORK/cache" --matrix "$matrix" >"$WORK/k/run.out" 2>&1 || rc=$?
    if [ "$rc" != 137 ]; then
      # No crash point left: the run went through all of them.
      read -r id state < <(newest_task)
      [ "$state" = "$expect" ] || { cat "$WORK/k/run.out"; fail "$name: uninterrupted run ended $state"; }
      break
    fi
    "$OSMIG_BIN" resume --state-dir "$WORK/k/state" >"$WORK/k/resume.out" 2>&1 || { cat "$WORK/k/resume.out"; fail "$name: resume after kill point $n failed"; }
    read -r id state < <(newest_task)
    case "$state" in
      succeeded)
        [ "$expect" = succeeded ] || fail "$name: kill point $n: succeeded although the %pre fails"
        grep -q '^ID="alinux"' "$R/etc/os-release" || fail "$name: kill point $n: succeeded but the root is not the target"
        ;;
      rolled_back)
        [ "$(digest "$R")" = "$before" ] || fail "$name: kill point $n: rolled back but the root differs"
        ;;
      *)
        cat "$WORK/k/run.out" "$WORK/k/resume.out"
        "$OSMIG_BIN" task show "$id" --state-dir "$WORK/k/state"
        fail "$name: kill point $n: task ended $state"
        ;;
    esac
    echo "$name kill point $n: $state"
    count=$((count + 1))
    n=$((n + stride))
  done
  echo "$name: $count kill points exercised (stride $stride)"
  total=$((total + count))
}

sample_setup
write_matrix "$WORK/m-ok.json" "file://$REPO"
kill_loop success "$WORK/m-ok.json" succeeded
sample_setup scriptlet-fault scriptlet-fault
write_matrix "$WORK/m-pre.json" "file://$REPO"
kill_loop rollback "$WORK/m-pre.json" rolled_back
echo "kill points exercised: $total"
echo PASS
