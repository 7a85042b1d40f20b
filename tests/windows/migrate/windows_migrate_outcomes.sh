#!/usr/bin/env bash
# Proves: `osmig migrate` of a Windows instance runs the whole task through
# the engine (precheck, snapshot of every disk, stage, hop by hop: transit
# disk built, attached, online, scan, setup detached, reboots followed, logs
# back, disk released; verify) and ends succeeded on every good outcome and
# rolled_back, with the cause decoded and the root as before, on every bad
# one; precheck refusals change nothing. Windows is the test double
# (backends/windows/win_double.h); everything else is real.
. "$(dirname "$0")/lib.sh"

expect_succeeded() { # NAME
  local id state; read -r id state < <(newest_task)
  [ "$state" = succeeded ] || { cat "$WORK/run.out"; fail "$1: ended $state"; }
  all_detached || { events; fail "$1: a transit disk was left attached"; }
  [ ! -e "$OSMIG_STATE_DIR/tasks/$id/transit" ] || fail "$1: transit disks left in the task directory"
  [ "$(result_field end)" = succeeded ] || fail "$1: windows-result.json does not say succeeded"
}

expect_rolled_back() { # NAME BEFORE_DIGEST CAUSE_RE
  local id state; read -r id state < <(newest_task)
  [ "$state" = rolled_back ] || { cat "$WORK/run.out"; fail "$1: ended $state"; }
  [ "$("$OSMIG_BIN" snapshot digest "$R")" = "$2" ] || fail "$1: rolled back but the root differs"
  all_detached || { events; fail "$1: a transit disk was left attached"; }
  result_field cause | grep -Eq -- "$3" || fail "$1: cause '$(result_field cause)' does not match $3"
  # Read whole, then matched: grep -q stops at the first match, and under
  # pipefail the writer's SIGPIPE would fail a task show that said why.
  "$OSMIG_BIN" task show "$id" >"$WORK/show.out" || fail "$1: task show failed"
  grep -Eq -- "$3" "$WORK/show.out" || fail "$1: the task does not say why ($3)"
}

# 2008 R2 SP1 Standard -> 2019 Datacenter: two setup hops, 2012 R2's setup then 2019's.
win_setup w2008r2-std-en '{"builds": [7601, 9600, 17763], "edition": "ServerStandard", "plays": ["success", "success"]}'
win_migrate 2019-datacenter >"$WORK/run.out" 2>&1 || { cat "$WORK/run.out"; fail "2008r2 -> 2019 exit $?"; }
expect_succeeded two-hops
events | grep -q '^start unattend index=4 key=W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9$' || { events; fail "hop 1 not driven by 2012 R2's setup"; }
events | grep -q '^start auto upgrade index=4 key=WMDGN-G9PQG-XVVXX-R3X43-63DFG$' || { events; fail "hop 2 not driven by 2019's setup"; }
[ "$(count '^attach ')" = 2 ] || fail "two hops, two transit disks"
[ "$(result_field build)" = 17763 ] || fail "verify did not see build 17763"
echo "two hops: ok"

# 2012 R2 volume-licence media (ei.cfg: Volume): setup /auto:upgrade, no answer file.
"$OSMIG_BIN" media add "$FX/media/2012r2-vl-en" --id 2012r2-en-US --replace >/dev/null || fail "media add vl"
win_setup w2008r2-std-en '{"builds": [7601, 9600], "edition": "ServerStandard", "plays": ["success"]}'
win_migrate 2012r2 >"$WORK/run.out" 2>&1 || { cat "$WORK/run.out"; fail "2008r2 -> 2012r2 (volume licence) exit"; }
expect_succeeded volume-licence
events | grep -q '^start auto:upgrade index= key=$' || { events; fail "volume-licence media not driven by /auto:upgrade"; }
"$OSMIG_BIN" media add "$FX/media/2012r2-en" --id 2012r2-en-US --replace >/dev/null || fail "media add back"
echo "volume licence: ok"

# $WINDOWS.~BT staying after a good upgrade is still success.
win_setup w2012r2-dc-en '{"builds": [9600, 17763], "edition": "ServerDatacenter", "plays": ["bt-stays"]}'
win_migrate 2019 >"$WORK/run.out" 2>&1 || { cat "$WORK/run.out"; fail "bt-stays exit"; }
expect_succeeded bt-stays
echo "bt stays: ok"

# 2012 R2 Standard -> 2019: a DISM licence conversion (no setup, no disk), then setup.
win_setup w2012r2-std-en '{"builds": [9600, 17763], "edition": "ServerStandard", "plays": ["success", "success"]}'
win_migrate 2019-datacenter >"$WORK/run.out" 2>&1 || { cat "$WORK/run.out"; fail "conversion exit"; }
expect_succeeded conversion
events | head -2 | tr '\n' ' ' | grep -q '^convert edition=ServerDatacenter reboot ' || { events; fail "the conversion is not DISM then a restart"; }
[ "$(count '^attach ')" = 1 ] || fail "a conversion needs no transit disk"
echo "conversion: ok"

# Every bad outcome: rolled back, root as before, disk released, the cause decoded.
bad() { # NAME ROOT TARGET SCENARIO CAUSE_RE
  win_setup "$2" "$4"
  local before; before=$("$OSMIG_BIN" snapshot digest "$R")
  win_migrate "$3" >"$WORK/run.out" 2>&1 || true
  expect_rolled_back "$1" "$before" "$5"
  echo "$1: rolled back"
}
bad rollback-on-hop-2 w2008r2-std-en 2019 \
  '{"builds": [7601, 9600, 17763], "plays": ["success", "rollback"], "setuperr": "2019-03-12 11:40:10, Error  MOUPG  Setup failed: 0xC1900101 - 0x4000D"}' \
  'MOSETUP|SECOND_BOOT phase during the MIGRATE_DATA operation \(0xC1900101 - 0x4000D\)'
bad compat-block w2012r2-dc-en 2019 '{"builds": [9600, 17763], "plays": ["compat-block"], "compat": "-1047526904"}' \
  'compatibility scan: an incompatible application or driver'
bad setup-exit-edition-mismatch w2012r2-dc-en 2019 '{"builds": [9600, 17763], "plays": ["setup-exit"], "setup_exit": "-1047526908"}' \
  'the media does not match the installed system'
bad setup-exit-corrupt-payload w2012r2-dc-en 2019 '{"builds": [9600, 17763], "plays": ["setup-exit"], "setup_exit": "-1047526397"}' \
  'installation files are damaged'
bad hang w2012r2-dc-en 2019 '{"builds": [9600, 17763], "plays": ["hang"]}' "no progress: still in phase 'setup'"
bad reboot-loop w2012r2-dc-en 2019 '{"builds": [9600, 17763], "plays": ["reboot-loop"]}' 'reboot loop'
bad build-never-changes w2012r2-dc-en 2019 '{"builds": [9600, 17763], "plays": ["never-changes"]}' 'no progress'
bad conversion-fails w2016-std-en 2016-datacenter '{"builds": [14393], "edition": "ServerStandard", "plays": ["conversion-fails"], "convert_exit": "1605"}' \
  'DISM /Set-Edition failed with exit code 1605'
bad conversion-no-change w2016-std-en 2016-datacenter '{"builds": [14393], "edition": "ServerStandard", "plays": ["conversion-no-change"]}' \
  'the edition is still ServerStandard'

# Refused at precheck: nothing changes, no snapshot, the double never asked.
refused() { # NAME ROOT TARGET RE [ENV...]
  local name=$1 root=$2 target=$3 re=$4; shift 4
  win_setup "$root" '{"builds": [9600, 17763]}'
  local rc=0
  env "$@" "$OSMIG_BIN" migrate "dir:$INST" --to "$target" --yes --snapshot-store "$WORK/snaps" >"$WORK/run.out" 2>&1 || rc=$?
  [ "$rc" != 0 ] || fail "$name: migrate exit 0"
  grep -Eq -- "$re" "$WORK/run.out" || { cat "$WORK/run.out"; fail "$name: '$re' not said"; }
  [ -z "$(events)" ] || fail "$name: the instance was acted on"
  [ ! -d "$WORK/snaps" ] || [ -z "$(ls -A "$WORK/snaps")" ] || fail "$name: a snapshot was taken"
  echo "$name: refused"
}
refused rtm-needs-sp1 w2008r2-rtm-en 2012r2 'windows_service_pack'
refused no-media w2012r2-dc-en 2019 'windows_media|no installation media registered' OSMIG_STATE_DIR="$WORK/empty-state"
refused no-double-no-disks w2012r2-dc-en 2019 'cannot attach and detach a disk' OSMIG_WINDOWS_DOUBLE=
echo PASS
