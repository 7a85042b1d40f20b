# lib.sh: sourced by the Windows migration tests. Real parts: the real osmig
# binary, real hives and WIMs (make-fixtures.sh), real transit disks, the
# real store, runner and snapshot sets. Windows itself cannot run here: the
# test double of backends/windows/win_double.h plays it (OSMIG_WINDOWS_DOUBLE).
#
#   win_setup ROOTNAME SCENARIO_JSON  -> $R (a fresh copy of the fixture root,
#                                 the instance $INST), the double's scenario,
#                                 media 2012r2-en and 2019-en registered
#   win_migrate TARGET [ARGS...]  osmig migrate $INST with this test's state
#   newest_task                   "ID STATE" of the newest task
#   events                        the double's events.log
#   count RE                      lines of events.log matching RE
#   all_detached                  every transit disk the double saw attached was
#                                 detached after its last attach
#   result_field KEY              TASK_DIR/windows-result.json's KEY
. "${OSMIG_SOURCE_DIR:?run under ctest}/tests/linux/testlib.sh"
: "${OSMIG_BIN:?run under ctest}"
bash "$OSMIG_SOURCE_DIR/tests/windows/make-fixtures.sh" || exit $?
FX=${OSMIG_FIXTURE_CACHE:?}/windows
export OSMIG_NO_AUTO_RESUME=1
make_work windows-migrate
# The server's worker (windows_fleet_api.sh) keeps this test's sets too.
export OSMIG_STATE_DIR=$WORK/state OSMIG_WINDOWS_DOUBLE=$WORK/double OSMIG_SNAPSHOT_STORE=$WORK/snaps
INST=$WORK/instance.json
R=$WORK/root

win_setup() { # ROOTNAME SCENARIO
  rm -rf "$R" "$WORK/double" "$WORK/snaps"
  cp -a "$FX/roots/$1" "$R"
  mkdir -p "$WORK/double"
  printf '%s\n' "$2" >"$WORK/double/scenario.json"
  printf '{"name": "win", "root": "%s", "facts": {"vcpus": 4, "memory_mib": 8192, "region": "cn-hangzhou", "system_disk_free_mib": 61440}}\n' "$R" >"$INST"
  if [ ! -f "$OSMIG_STATE_DIR/media.json" ]; then
    "$OSMIG_BIN" media add "$FX/media/2012r2-en" >/dev/null || fail "media add 2012r2-en"
    "$OSMIG_BIN" media add "$FX/media/2019-en" >/dev/null || fail "media add 2019-en"
  fi
}

win_migrate() { # TARGET [ARGS...]
  local t=$1; shift
  "$OSMIG_BIN" migrate "dir:$INST" --to "$t" --yes --snapshot-store "$WORK/snaps" "$@"
}

newest_task() {
  "$OSMIG_BIN" tasks --json | "$PY" -c 'import json,sys; t=json.load(sys.stdin)["tasks"][0]; print(t["id"], t["state"])'
}

events() { cat "$WORK/double/events.log" 2>/dev/null || true; }
count() { events | grep -c -- "$1" || true; }

all_detached() {
  events | "$PY" -c '
import sys
last = {}
for line in sys.stdin:
    verb, _, image = line.rstrip("\n").partition(" ")
    if verb in ("attach", "detach"):
        last[image] = verb
sys.exit(1 if "attach" in last.values() else 0)'
}

result_field() { # KEY
  local id; read -r id _ < <(newest_task)
  "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
    "$OSMIG_STATE_DIR/tasks/$id/windows-result.json" "$1"
}
