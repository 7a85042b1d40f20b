# lib.sh: sourced by the real-package migration tests. A real CentOS 7.9 root
# (its rpmdb written by CentOS 7's own rpm) and a repository of the real,
# Red Hat-signed RHEL 8.5 packages, built by tests/fixtures/build-real.py
# from $OSMIG_REALDATA/rpms; the stand-ins it builds for the packages the
# real data lacks are named in its output. Skips (77) without the real data.
#
#   real_setup            -> $EL7 (pristine root), $EL8_REPO, $STANDINS, $MATRIX, $FIXDIR
#   fresh_root DIR        a copy of the pristine root
#   migrate_real ROOT ARGS...   osmig migrate --to rhel8 with this test's state
#   digest DIR            tree digest (content + metadata)
#   task_state            state of the newest task
set -euo pipefail
: "${OSMIG_BIN:?run under ctest}" "${OSMIG_SOURCE_DIR:?run under ctest}"
PY=$(command -v /usr/bin/python3 || command -v python3)
REALDATA=${OSMIG_REALDATA:-$OSMIG_SOURCE_DIR/../shared/realdata}
if [ ! -d "$REALDATA/rpms/el7" ] || [ ! -d "$REALDATA/rpms/el8" ]; then
  echo "SKIP: the real packages are absent ($REALDATA/rpms); set OSMIG_REALDATA"
  exit 77
fi
export OSMIG_REALDATA=$REALDATA
export OSMIG_NO_AUTO_RESUME=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/osm-real-test.XXXXXX")
export OSMIG_CACHE_DIR=$WORK/cache
cleanup() { [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# The removals assess inhibits and an administrator accepts here: the real
# el8 data has no openssh-server, yum/dnf, initscripts or grub2-pc.
ALLOW_ERASE=()
for n in openssh-server yum initscripts grub2-pc grub2-pc-modules grub2-tools-extra; do
  ALLOW_ERASE+=(--allow-erase "$n")
done

real_setup() {
  local out
  out=$("$PY" "$OSMIG_SOURCE_DIR/tests/fixtures/build-real.py" el7-root el8-repo el8-standins el8-matrix) ||
    fail "building the real fixtures failed"
  mapfile -t dirs <<<"$out"
  FIXDIR=${dirs[0]}
  EL7=${dirs[0]}/root
  EL8_REPO=${dirs[1]}
  STANDINS=${dirs[2]}
  MATRIX=${dirs[3]}/matrix.json
  [ -d "$EL7" ] && [ -f "$MATRIX" ] || fail "real fixtures incomplete: $out"
  echo "stand-ins (not real packages): $(tr '\n' ' ' <"$STANDINS/standins.txt" 2>/dev/null)$(tr '\n' ' ' <"$FIXDIR/standins.txt" 2>/dev/null)"
}

fresh_root() { rm -rf "$1"; cp -a "$EL7" "$1"; }

migrate_real() { # ROOT ARGS...
  local root=$1; shift
  "$OSMIG_BIN" migrate "dir:$root" --to rhel8 --yes --matrix "$MATRIX" --state-dir "$WORK/state" \
    --snapshot-store "$WORK/snaps" --cache-dir "$WORK/cache" "${ALLOW_ERASE[@]}" "$@"
}

digest() { "$OSMIG_BIN" snapshot digest "$1"; }

task_state() {
  "$OSMIG_BIN" tasks --json --state-dir "${1:-$WORK/state}" |
    "$PY" -c 'import json,sys; t=json.load(sys.stdin)["tasks"][0]; print(t["state"])'
}
