#!/usr/bin/env bash
# Proves: a plan staged over real HTTP from a signed repo, applied with librpm
# into a root made by `rpm --root`, verifies; a second stage re-uses every
# file; a second apply changes nothing; verify fails on a tampered file of
# the release package, a broken fstab and an old package left behind.
. "$(dirname "$0")/fixture.sh"
stage_fixture
R="$WORK/root"; new_root "$R"
httpd_start "$FIX/repo"
make_plan "$WORK/plan.json" "http://127.0.0.1:$HTTPD_PORT/" "file://$FIX/key.asc" "${MAIN_ACTIONS[@]}"

"$TOOL" stage "$WORK/plan.json" "$R" --reserve 1 --progress >"$WORK/stage1.out"
assert_grep "staged packages=4 reused=0" "$WORK/stage1.out"
assert_grep "signatures=verified" "$WORK/stage1.out"
assert_grep "progress phase=download pkgs=4/4" "$WORK/stage1.out"
[ -f "$R/var/lib/osmig/stage/manifest.json" ] || fail "no manifest"
ls "$R/var/lib/osmig/stage/" | grep -q '\.part$' && fail ".part file left behind"
n_get=$(httpd_log | grep -c '^GET ')

"$TOOL" stage "$WORK/plan.json" "$R" --reserve 1 >"$WORK/stage2.out"
assert_grep "staged packages=4 reused=4" "$WORK/stage2.out"
[ "$(httpd_log | grep -c '^GET ')" = "$n_get" ] || fail "second stage downloaded again"

"$TOOL" verify "$WORK/plan.json" "$R" --core "$CORE" >"$WORK/verify0.out" 2>&1 && fail "verify passed before apply"
assert_grep "FAIL os-release: ID=osmsource" "$WORK/verify0.out"

"$TOOL" apply "$WORK/plan.json" "$R" --progress >"$WORK/apply.out"
assert_grep "applied elements=" "$WORK/apply.out"
assert_grep "progress phase=install" "$WORK/apply.out"
rpm --root "$R" --dbpath /var/lib/rpm -qa | sort >"$WORK/after.txt"
for p in osmt-release-3-1 osm-core-2.0-1.osmt3 osm-new-1.0-1.osmt3 osm-extra-1.0-1.osmt3 acme-agent-1.0-1; do
  assert_grep "^$p.noarch$" "$WORK/after.txt"
done
for p in osm-release-7 osm-core-1.0 osm-old osm-gone; do
  grep -q "^$p" "$WORK/after.txt" && fail "$p still installed"
done
grep -q 'ID=osmt$' "$R/etc/os-release" || fail "os-release not the target's"

"$TOOL" verify "$WORK/plan.json" "$R" --core "$CORE" >"$WORK/verify.out"
assert_grep "ok os-release: ID=osmt" "$WORK/verify.out"
assert_grep "ok rpm verify osm-core-2.0-1.osmt3.noarch" "$WORK/verify.out"
assert_grep "ok /etc/fstab parses" "$WORK/verify.out"

"$TOOL" apply "$WORK/plan.json" "$R" >"$WORK/apply2.out"
assert_grep "applied elements=0 skipped=5" "$WORK/apply2.out"

# Verification failing: a changed file of the release package.
echo tampered >>"$R/usr/share/osmt-release/notes"
expect_fail "$WORK/v1.err" "$TOOL" verify "$WORK/plan.json" "$R" --core "$CORE"
assert_grep "rpm verify osmt-release-3-1.noarch: /usr/share/osmt-release/notes" "$WORK/v1.err"
echo 'OSM Target release 3' >"$R/usr/share/osmt-release/notes"
"$TOOL" verify "$WORK/plan.json" "$R" --core "$CORE" >/dev/null

# ... a broken fstab
cp "$R/etc/fstab" "$WORK/fstab"
echo "/dev/vdc1 /broken" >>"$R/etc/fstab"
expect_fail "$WORK/v2.err" "$TOOL" verify "$WORK/plan.json" "$R" --core "$CORE"
assert_grep "fstab:4: 2 fields" "$WORK/v2.err"
cp "$WORK/fstab" "$R/etc/fstab"

# ... a package of the old release still installed
rpm --root "$R" --dbpath /var/lib/rpm -i --nodeps --replacefiles "$FIX/src/osm-gone-1.0-1.noarch.rpm"
expect_fail "$WORK/v3.err" "$TOOL" verify "$WORK/plan.json" "$R" --core "$CORE"
assert_grep "osm-gone-1.0-1.noarch of the old release is still installed (plan: erase)" "$WORK/v3.err"
echo "PASS"
