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
KP_DIR=$WORK
kp_prepare() {
  rm -rf "$OSMIG_STATE_DIR/tasks" "$OSMIG_STATE_DIR"/osmig.db*
  win_setup "$KP_ROOT" "$KP_SCENARIO"
  BEFORE=$("$OSMIG_BIN" snapshot digest "$R")
}
kp_run() { win_migrate "$KP_TARGET"; }
kp_resume() { "$OSMIG_BIN" resume; }
kp_task() { newest_task; }
kp_show() { "$OSMIG_BIN" task show "$1"; }
kp_check() {
  case $1 in
    succeeded)
      "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["build"]==int(sys.argv[2]) and s["edition"]=="ServerDatacenter" else 1)' \
        "$R/osmig-windows-double.json" "$KP_BUILD" || { echo "succeeded but Windows is not on build $KP_BUILD Datacenter"; return 1; }
      ;;
    rolled_back) [ "$("$OSMIG_BIN" snapshot digest "$R")" = "$BEFORE" ] || { echo "rolled back but the root differs"; return 1; } ;;
  esac
  all_detached || { events >&2; echo "a transit disk was left attached"; return 1; }
  # setup starts once per hop: a second start script finds it running
  local starts setups
  starts=$(events | grep -c '^start ' || true)
  setups=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("setups", 0))' "$R/osmig-windows-double.json" 2>/dev/null || echo 0)
  [ "$KP_EXPECT" = rolled_back ] || [ "$setups" -le 2 ] || { echo "setup ran $setups times"; return 1; }
  echo "($starts start calls)"
}
kill_loop() { # NAME ROOT TARGET SCENARIO EXPECT(succeeded|rolled_back) BUILD
  KP_ROOT=$2 KP_TARGET=$3 KP_SCENARIO=$4 KP_EXPECT=$5 KP_BUILD=$6
  kill_points "$1" "$5"
}
kill_loop conversion-then-setup w2012r2-std-en 2019-datacenter \
  '{"builds": [9600, 17763], "edition": "ServerStandard", "plays": ["success", "success"]}' succeeded 17763
kill_loop two-setup-hops w2008r2-std-en 2019-datacenter \
  '{"builds": [7601, 9600, 17763], "edition": "ServerStandard", "plays": ["success", "success"]}' succeeded 17763
kill_loop rollback-on-hop-2 w2008r2-std-en 2019-datacenter \
  '{"builds": [7601, 9600, 17763], "edition": "ServerStandard", "plays": ["success", "rollback"], "setuperr": "2019-03-12 11:40:10, Error  MOUPG  0xC1900101 - 0x40017"}' rolled_back 0
echo "kill points exercised: $total"
echo PASS
