#!/usr/bin/env bash
# Proves: osmig killed at every crash point of a Windows migration (before
# and after every record the runner writes, and inside the steps: transit
# disk built, attached, scan passed, setup started, setup finished, hop done,
# conversion noted, failure recorded) and started again with `osmig resume`
# always finishes the task: succeeded (the double's Windows runs the last
# hop's build and edition) or rolled_back (the root's digest equals the one
# before); in both, every transit disk attached was detached and setup was
# never started twice in one hop. Three runs: a conversion and a setup hop
# (success), two setup hops (success), and a second hop whose setup rolls
# back (rollback path). OSMIG_CRASH_AT=N makes osmig _exit(137) at its Nth
# crash point, as SIGKILL would; N walks 1, 2, ... until a run passes every
# point. OSMIG_KILL_STRIDE=K takes every Kth point only.
. "$(dirname "$0")/lib.sh"
total=0
kill_loop() { # NAME ROOT TARGET SCENARIO EXPECT(succeeded|rolled_back) BUILD
  local name=$1 root=$2 target=$3 scenario=$4 expect=$5 build=$6 n=1 rc id state count=0 stride=${OSMIG_KILL_STRIDE:-1}
  local before
  while :; do
    rm -rf "$OSMIG_STATE_DIR/tasks" "$OSMIG_STATE_DIR"/osmig.db*
    win_setup "$root" "$scenario"
    before=$("$OSMIG_BIN" snapshot digest "$R")
    rc=0
    OSMIG_CRASH_AT=$n win_migrate "$target" >"$WORK/run.out" 2>&1 || rc=$?
    if [ "$rc" != 137 ]; then
      read -r id state < <(newest_task)
      [ "$state" = "$expect" ] || { cat "$WORK/run.out"; fail "$name: uninterrupted run ended $state"; }
      break
    fi
    "$OSMIG_BIN" resume >"$WORK/resume.out" 2>&1 || { cat "$WORK/resume.out"; fail "$name: resume after kill point $n failed"; }
    read -r id state < <(newest_task)
    case "$state" in
      succeeded)
        [ "$expect" = succeeded ] || fail "$name: kill point $n: succeeded although setup rolls back"
        "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["build"]==int(sys.argv[2]) and s["edition"]=="ServerDatacenter" else 1)' \
          "$R/osmig-windows-double.json" "$build" || fail "$name: kill point $n: succeeded but Windows is not on build $build Datacenter"
        ;;
      rolled_back)
        [ "$("$OSMIG_BIN" snapshot digest "$R")" = "$before" ] || fail "$name: kill point $n: rolled back but the root differs"
        ;;
      *)
        cat "$WORK/run.out" "$WORK/resume.out"
        "$OSMIG_BIN" task show "$id"
        fail "$name: kill point $n: task ended $state"
        ;;
    esac
    all_detached || { events; fail "$name: kill point $n: a transit disk was left attached"; }
    # setup starts once per hop: a second start script finds it running
    local starts setups
    starts=$(events | grep -c '^start ' || true)
    setups=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("setups", 0))' "$R/osmig-windows-double.json" 2>/dev/null || echo 0)
    [ "$expect" = rolled_back ] || [ "$setups" -le 2 ] || fail "$name: kill point $n: setup ran $setups times"
    echo "$name kill point $n: $state ($starts start calls)"
    count=$((count + 1))
    n=$((n + stride))
  done
  echo "$name: $count kill points exercised (stride $stride)"
  total=$((total + count))
}
kill_loop conversion-then-setup w2012r2-std-en 2019-datacenter \
  '{"builds": [9600, 17763], "edition": "ServerStandard", "plays": ["success", "success"]}' succeeded 17763
kill_loop two-setup-hops w2008r2-std-en 2019-datacenter \
  '{"builds": [7601, 9600, 17763], "edition": "ServerStandard", "plays": ["success", "success"]}' succeeded 17763
kill_loop rollback-on-hop-2 w2008r2-std-en 2019-datacenter \
  '{"builds": [7601, 9600, 17763], "edition": "ServerStandard", "plays": ["success", "rollback"], "setuperr": "2019-03-12 11:40:10, Error  MOUPG  0xC1900101 - 0x40017"}' rolled_back 0
echo "kill points exercised: $total"
echo PASS
