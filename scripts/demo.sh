#!/usr/bin/env bash
# The main job on the embedded default: build a sample CentOS-7-like root
# from real RPMs and a sample target repository, then assess and plan it.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${OSMIG_DEMO_DIR:-$PWD/build/demo}
bash tests/fixtures/make-sample.sh "$work"
./build/osmig assess "dir:$work/root" --to sample-alinux3 \
  --matrix "$work/sample-matrix.json" --repo "sample-os=file://$work/repo" || rc=$?
./build/osmig plan "dir:$work/root" --to sample-alinux3 \
  --matrix "$work/sample-matrix.json" --repo "sample-os=file://$work/repo" -o "$work/plan.json"
echo "plan written to $work/plan.json"
exit "${rc:-0}"
