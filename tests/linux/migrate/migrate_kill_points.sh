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
KP_DIR=$WORK/k R=$WORK/k/root
kp_prepare() { rm -rf "$KP_DIR"; mkdir -p "$KP_DIR"; fresh_root "$R"; }
kp_run() {
  "$OSMIG_BIN" migrate "dir:$R" --to sample-alinux3 --yes --state-dir "$KP_DIR/state" \
    --snapshot-store "$KP_DIR/snaps" --cache-dir "$WORK/cache" --matrix "$MATRIX"
}
kp_resume() { "$OSMIG_BIN" resume --state-dir "$KP_DIR/state"; }
kp_task() {
  "$OSMIG_BIN" tasks --json --state-dir "$KP_DIR/state" |
    "$PY" -c 'import json,sys; t=json.load(sys.stdin)["tasks"][0]; print(t["id"], t["state"])'
}
kp_show() { "$OSMIG_BIN" task show "$1" --state-dir "$KP_DIR/state"; }
kp_check() {
  case $1 in
    succeeded) grep -q '^ID="alinux"' "$R/etc/os-release" || { echo "succeeded but the root is not the target"; return 1; } ;;
    rolled_back) [ "$(digest "$R")" = "$BEFORE" ] || { echo "rolled back but the root differs"; return 1; } ;;
  esac
}

sample_setup
write_matrix "$WORK/m-ok.json" "file://$REPO"
MATRIX=$WORK/m-ok.json BEFORE=$(digest "$SRC_ROOT") # cp -a keeps content and metadata: every copy has this digest
kill_points success succeeded
sample_setup scriptlet-fault scriptlet-fault
write_matrix "$WORK/m-pre.json" "file://$REPO"
MATRIX=$WORK/m-pre.json BEFORE=$(digest "$SRC_ROOT")
kill_points rollback rolled_back
echo "kill points exercised: $total"
echo PASS
