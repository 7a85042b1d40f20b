#!/usr/bin/env bash
# Proves: a root whose rpmdb is Berkeley DB (a real RHEL 8 rpmdb) is never
# converted to sqlite by osmig's librpm (RHEL 8's rpm could not write the
# result): the librpm path refuses it, naming the format, and changes nothing.
set -euo pipefail
TOOL=${OSM_STAGE_TOOL:?}
src="${OSMIG_REALDATA:-}/rpmdb/rhel8-libuuid/Packages"
[ -f "$src" ] || { echo "SKIP: real data absent ($src); set OSMIG_REALDATA"; exit 77; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/var/lib/rpm"; cp "$src" "$W/var/lib/rpm/Packages"; chmod u+w "$W/var/lib/rpm/Packages"
before=$(sha256sum "$W/var/lib/rpm/Packages")
if out=$("$TOOL" rpmdb-prepare "$W" 2>&1); then echo "FAIL: a Berkeley DB rpmdb was accepted for osmig's librpm: $out"; exit 1; fi
echo "$out" | grep -q "Berkeley DB format, which only the target's own rpm may write" || { echo "FAIL: unclear refusal: $out"; exit 1; }
[ ! -e "$W/var/lib/rpm/rpmdb.sqlite" ] || { echo "FAIL: an sqlite rpmdb was written"; exit 1; }
[ ! -e "$W/var/lib/osmig" ] || { echo "FAIL: something was written under /var/lib/osmig"; exit 1; }
[ "$(sha256sum "$W/var/lib/rpm/Packages")" = "$before" ] || { echo "FAIL: the rpmdb changed"; exit 1; }
echo PASS
