#!/usr/bin/env bash
# The main job on the embedded default: build a sample CentOS-7-like root
# from real RPMs and a sample Alibaba Cloud Linux 3 repository (both signed
# with a test key), assess the root and write its migration plan, then
# migrate it for real (snapshot, stage, upgrade, verify) and show the task.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
work=${OSMIG_DEMO_DIR:-$PWD/build/demo}
export OSMIG_FIXTURE_CACHE=${OSMIG_FIXTURE_CACHE:-$PWD/build/fixture-cache}
export OSMIG_CACHE_DIR=${OSMIG_CACHE_DIR:-$work/cache}
bash tests/fixtures/make-sample.sh "$work" >/dev/null
sed -e "s#@WORKDIR@#$work#g" -e "s#@MATRICES@#$src/matrices#g" \
  tests/fixtures/sample-matrix.json.in > "$work/sample-matrix.json"
echo "== osmig inspect dir:$work/root (first lines)"
./build/osmig inspect "dir:$work/root" | head -8
echo
echo "== osmig assess dir:$work/root --to sample-alinux3"
rc=0
./build/osmig assess "dir:$work/root" --to sample-alinux3 --matrix "$work/sample-matrix.json" || rc=$?
echo
echo "== osmig plan dir:$work/root --to sample-alinux3 -o $work/plan.json"
./build/osmig plan "dir:$work/root" --to sample-alinux3 --matrix "$work/sample-matrix.json" -o "$work/plan.json"
echo "assess exit status: $rc (0: can migrate, 3: inhibited)"
[ "$rc" = 0 ] || [ "$rc" = 3 ]
echo
# The task store and the snapshot sets live in the demo directory; the
# target's packages are signed with $work/RPM-GPG-KEY-sample.
echo "== osmig migrate dir:$work/root --to sample-alinux3 --yes"
rm -rf "$work/state" "$work/snapshots"
./build/osmig migrate "dir:$work/root" --to sample-alinux3 --matrix "$work/sample-matrix.json" --yes \
  --state-dir "$work/state" --snapshot-store "$work/snapshots"
echo
id=$(./build/osmig tasks --json --state-dir "$work/state" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["id"])')
echo "== osmig task show $id"
./build/osmig task show "$id" --state-dir "$work/state"
