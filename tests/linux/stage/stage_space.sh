#!/usr/bin/env bash
# Proves: staging space running out. The free-space check refuses a plan
# whose packages plus reserve do not fit, before any download; a plan that
# understates sizes and fills the disk mid-download fails naming the
# package and the error, leaving no partial file and no manifest.
. "$(dirname "$0")/fixture.sh"
stage_fixture
R="$WORK/root"; new_root "$R"
mkdir -p "$R/var/lib/osmig/stage"
if ! mount -t tmpfs -o size=2m osm-stage-test "$R/var/lib/osmig/stage" 2>/dev/null; then
  echo "SKIP: cannot mount a small tmpfs here (needs root and mount rights)"; exit 77
fi
MOUNTS+=("$R/var/lib/osmig/stage")
httpd_start "$FIX/repo"
make_plan "$WORK/plan.json" "http://127.0.0.1:$HTTPD_PORT/" "file://$FIX/key.asc" "${MAIN_ACTIONS[@]}"

# Default reserve (500 MiB) cannot fit in 2 MiB.
expect_fail "$WORK/e1" "$TOOL" stage "$WORK/plan.json" "$R"
assert_grep "not enough free space in $R/var/lib/osmig/stage: staging needs .* 524288000 reserve" "$WORK/e1"
[ -z "$(ls -A "$R/var/lib/osmig/stage")" ] || fail "files written despite the space check"
httpd_log | grep -q 'GET /Packages' && fail "downloaded despite the space check"

# A 3 MiB package the plan says is small: the disk fills during the download.
make_plan "$WORK/big.json" "http://127.0.0.1:$HTTPD_PORT/" "file://$FIX/key.asc" install:osm-big
python3 - "$WORK/big.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); p["actions"][0]["download_size"] = 1000
json.dump(p, open(sys.argv[1], "w"))
PY
expect_fail "$WORK/e2" "$TOOL" stage "$WORK/big.json" "$R" --reserve 1
assert_grep "osm-big-0:1.0-1.osmt3.noarch: writing .*osm-big-1.0-1.osmt3.noarch.rpm.part: No space left on device" "$WORK/e2"
[ -z "$(ls -A "$R/var/lib/osmig/stage")" ] || { ls -la "$R/var/lib/osmig/stage"; fail "partial files left"; }
echo PASS
