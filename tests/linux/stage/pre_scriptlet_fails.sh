#!/usr/bin/env bash
# Proves: a %pre scriptlet failing in the middle of a transaction makes
# apply fail with an error naming the package and the scriptlet.
. "$(dirname "$0")/fixture.sh"
stage_fixture
R="$WORK/root"; new_root "$R"
make_plan "$WORK/plan.json" "file://$FIX/repo/" "file://$FIX/key.asc" "${MAIN_ACTIONS[@]}" install:osm-prefail
"$TOOL" stage "$WORK/plan.json" "$R" --reserve 1 >/dev/null
expect_fail "$WORK/err" "$TOOL" apply "$WORK/plan.json" "$R"
assert_grep "the rpm transaction failed in $R: osm-prefail-1.0-1.osmt3.noarch: %pre scriptlet failed" "$WORK/err"
rpm --root "$R" --dbpath /var/lib/rpm -q osm-prefail >/dev/null 2>&1 && fail "osm-prefail got installed"
echo PASS
