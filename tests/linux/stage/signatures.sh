#!/usr/bin/env bash
# Proves: staging checks signatures against the plan's keys only. An
# unsigned package and one signed with a key outside the plan are refused
# with the package's name and the reason; --no-signature-check accepts them
# and the result and manifest say the check was off; a bad key file is an
# error naming it.
. "$(dirname "$0")/fixture.sh"
stage_fixture
R="$WORK/root"; new_root "$R"
httpd_start "$FIX/repo"
base="http://127.0.0.1:$HTTPD_PORT/"

make_plan "$WORK/unsigned.json" "$base" "file://$FIX/key.asc" "${MAIN_ACTIONS[@]}" install:osm-unsigned
expect_fail "$WORK/e1" "$TOOL" stage "$WORK/unsigned.json" "$R" --reserve 1
assert_grep "signature check: osm-unsigned-0:1.0-1.osmt3.noarch: package is not signed" "$WORK/e1"
[ -e "$R/var/lib/osmig/stage/manifest.json" ] && fail "manifest written"

make_plan "$WORK/other.json" "$base" "file://$FIX/key.asc" "${MAIN_ACTIONS[@]}" install:osm-othersig
expect_fail "$WORK/e2" "$TOOL" stage "$WORK/other.json" "$R" --reserve 1
assert_grep "osm-othersig-0:1.0-1.osmt3.noarch: signed with a key that is not among the target's keys" "$WORK/e2"
assert_grep "NOKEY" "$WORK/e2"

# The same package passes when its key is the plan's (keys fetched over HTTP too).
cp "$FIX/other-key.asc" "$WORK/other-key.asc"
make_plan "$WORK/otherkey.json" "$base" "file://$FIX/other-key.asc" install:osm-othersig
"$TOOL" stage "$WORK/otherkey.json" "$WORK/root" --reserve 1 >/dev/null

"$TOOL" stage "$WORK/unsigned.json" "$R" --reserve 1 --no-signature-check >"$WORK/o1" 2>"$WORK/o1.err"
assert_grep "signatures=NOT CHECKED" "$WORK/o1"
grep -q '"signature_check": false' "$R/var/lib/osmig/stage/manifest.json" || fail "manifest does not record the override"
grep -q '"signature": "not checked"' "$R/var/lib/osmig/stage/manifest.json" || fail "manifest entries do not record the override"

make_plan "$WORK/keyhttp.json" "$base" "http://127.0.0.1:$HTTPD_PORT/nokey.asc" "${MAIN_ACTIONS[@]}"
expect_fail "$WORK/e3" "$TOOL" stage "$WORK/keyhttp.json" "$R" --reserve 1 --retries -1
assert_grep "gpg key of repo osmt-os: .*nokey.asc: HTTP 404" "$WORK/e3"
echo "not a key" >"$WORK/junk.asc"
make_plan "$WORK/junk.json" "$base" "file://$WORK/junk.asc" "${MAIN_ACTIONS[@]}"
expect_fail "$WORK/e4" "$TOOL" stage "$WORK/junk.json" "$R" --reserve 1
assert_grep "$WORK/junk.asc: not an ASCII-armored OpenPGP public key" "$WORK/e4"
make_plan "$WORK/nokeys.json" "$base" "" "${MAIN_ACTIONS[@]}"
expect_fail "$WORK/e5" "$TOOL" stage "$WORK/nokeys.json" "$R" --reserve 1
assert_grep "no gpgkeys" "$WORK/e5"
echo PASS
