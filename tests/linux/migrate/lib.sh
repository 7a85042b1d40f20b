# lib.sh: sourced by the migrate tests. Real parts only: the sample root and
# target repo built by tests/fixtures (rpmbuild, rpmsign, createrepo_c), a
# real lighttpd on 127.0.0.1 when a test needs HTTP, the real osmig binary.
#
#   sample_setup [SET_SRC SET_TGT]  -> $SRC_ROOT (pristine root), $REPO, $KEY
#   fresh_root DIR               a copy of the pristine root
#   write_matrix OUT BASEURL [VERSION]   the sample target with that repo URL
#   migrate ROOT ARGS...         osmig migrate with this test's state and snapshots
#   task_field ID FIELD          a field (a.b for nested) of `osmig task show ID --json`
#   last_task                    the newest task id
#   digest DIR                   tree digest (content + metadata)
# and what tests/linux/testlib.sh gives (fail, assert_grep, httpd_start, ...).
. "${OSMIG_SOURCE_DIR:?run under ctest}/tests/linux/testlib.sh"
: "${OSMIG_BIN:?run under ctest}"
need_progs rpmbuild rpmsign createrepo_c gpg "$PY" rpm
export OSMIG_NO_AUTO_RESUME=1
make_work migrate-test
export OSMIG_CACHE_DIR=$WORK/cache

sample_setup() {
  local sets=("${1:-centos7-base}" "${2:-alinux3-target}")
  mapfile -t dirs < <("$PY" "$OSMIG_SOURCE_DIR/tests/fixtures/build-set.py" "${sets[@]}")
  SRC_ROOT=${dirs[0]}/roots/installed
  REPO=${dirs[1]}/repos/target
  KEY=${dirs[1]}/RPM-GPG-KEY-osmig-test
  [ -d "$SRC_ROOT" ] && [ -d "$REPO" ] || fail "fixture sets ${sets[*]} not built"
}

fresh_root() { rm -rf "$1"; cp -a "$SRC_ROOT" "$1"; }

write_matrix() { # OUT BASEURL [VERSION]
  sed -e "s#file://@WORKDIR@/repo#$2#" -e "s#file://@WORKDIR@/RPM-GPG-KEY-sample#file://$KEY#" \
    -e "s#@EVENTS@#$OSMIG_SOURCE_DIR/matrices/linux/events/alinux3.json#" \
    "$OSMIG_SOURCE_DIR/tests/fixtures/sample-matrix.json.in" >"$1"
  if [ -n "${3:-}" ]; then sed -i "s#\"version\": \"3\"#\"version\": \"$3\"#" "$1"; fi
}

migrate() { # ROOT ARGS...
  local root=$1; shift
  "$OSMIG_BIN" migrate "dir:$root" --to sample-alinux3 --yes --state-dir "$WORK/state" \
    --snapshot-store "$WORK/snaps" --cache-dir "$WORK/cache" "$@"
}

last_task() {
  "$OSMIG_BIN" tasks --json --state-dir "$WORK/state" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["id"])'
}

task_field() { # ID FIELD
  "$OSMIG_BIN" task show "$1" --json --state-dir "$WORK/state" |
    "$PY" -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$2"
}

digest() { "$OSMIG_BIN" snapshot digest "$1"; }

# expect_rolled_back NAME ROOT DIGEST CAUSE_RE: the newest task rolled back,
# saying why, and the root is exactly as before.
expect_rolled_back() {
  local name=$1 root=$2 before=$3 cause=$4 id state
  id=$(last_task)
  state=$(task_field "$id" state)
  [ "$state" = rolled_back ] || { "$OSMIG_BIN" task show "$id" --state-dir "$WORK/state" >&2; fail "$name: task $id is $state, not rolled_back"; }
  task_field "$id" error.cause >"$WORK/$name.cause"
  assert_grep "$cause" "$WORK/$name.cause"
  [ "$(digest "$root")" = "$before" ] || fail "$name: the root differs from before the migration after the rollback"
  echo "ok $name: rolled back ($(head -c 160 "$WORK/$name.cause"))"
}
