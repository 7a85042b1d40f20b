#!/usr/bin/env bash
# Proves: a package whose digest does not match the plan is fetched a
# second time, then staging fails naming the package and both digests, the
# bad file is not kept and no manifest is written; a file corrupted in the
# stage between runs is detected and fetched again.
. "$(dirname "$0")/fixture.sh"
stage_fixture
R="$WORK/root"; new_root "$R"
httpd_start "$FIX/repo"
make_plan "$WORK/plan.json" "http://127.0.0.1:$HTTPD_PORT/" "file://$FIX/key.asc" "${MAIN_ACTIONS[@]}"
bad=0000000000000000000000000000000000000000000000000000000000000000
python3 - "$WORK/plan.json" "$bad" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
for a in p["actions"]:
    if a["name"] == "osm-extra":
        a["checksum"]["value"] = sys.argv[2]
json.dump(p, open(sys.argv[1] + ".bad", "w"))
PY
real=$(sha256sum "$FIX/repo/Packages/osm-extra-1.0-1.osmt3.noarch.rpm" | cut -d' ' -f1)
expect_fail "$WORK/err" "$TOOL" stage "$WORK/plan.json.bad" "$R" --reserve 1 --retries 1 --backoff-ms 50
assert_grep "osm-extra-0:1.0-1.osmt3.noarch: checksum mismatch" "$WORK/err"
assert_grep "expected sha256:$bad, got sha256:$real (fetched twice)" "$WORK/err"
[ "$(httpd_log | grep -c 'GET /Packages/osm-extra')" = 2 ] || fail "not fetched exactly twice"
ls "$R/var/lib/osmig/stage" | grep -q osm-extra && fail "mismatching file kept"
[ -e "$R/var/lib/osmig/stage/manifest.json" ] && fail "manifest written by a failed stage"

# A good stage, then a staged file corrupted on disk: re-fetched on the next run.
"$TOOL" stage "$WORK/plan.json" "$R" --reserve 1 >"$WORK/s1"
echo garbage >>"$R/var/lib/osmig/stage/osm-core-2.0-1.osmt3.noarch.rpm"
"$TOOL" stage "$WORK/plan.json" "$R" --reserve 1 >"$WORK/s2"
assert_grep "reused=3" "$WORK/s2"
# ... and apply refuses a file changed after staging.
echo garbage >>"$R/var/lib/osmig/stage/osm-core-2.0-1.osmt3.noarch.rpm"
expect_fail "$WORK/aerr" "$TOOL" apply "$WORK/plan.json" "$R"
assert_grep "osm-core-0:2.0-1.osmt3.noarch: staged file .* changed since staging" "$WORK/aerr"
rpm --root "$R" --dbpath /var/lib/rpm -q osm-core-1.0-1 >/dev/null || fail "apply changed the root"
echo PASS
