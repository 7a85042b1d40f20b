#!/usr/bin/env bash
# Proves: a root whose rpmdb is Berkeley DB (a real RHEL 8 rpmdb) is
# converted to sqlite for this librpm, with the original kept byte for byte
# in /var/lib/osmig/rpmdb.orig for rollback, and the package still listed;
# running it again is a no-op.
set -euo pipefail
TOOL=${OSM_STAGE_TOOL:?}
src="${OSMIG_REALDATA:-}/rpmdb/rhel8-libuuid/Packages"
[ -f "$src" ] || { echo "SKIP: real data absent ($src); set OSMIG_REALDATA"; exit 77; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/var/lib/rpm"; cp "$src" "$W/var/lib/rpm/Packages"; chmod u+w "$W/var/lib/rpm/Packages"
"$TOOL" rpmdb-prepare "$W" | grep -q "rebuilt as sqlite" || { echo "FAIL: not rebuilt"; exit 1; }
[ -f "$W/var/lib/rpm/rpmdb.sqlite" ] || { echo "FAIL: no sqlite rpmdb"; exit 1; }
[ ! -e "$W/var/lib/rpm/Packages" ] || { echo "FAIL: Berkeley DB left beside the sqlite one"; exit 1; }
cmp "$src" "$W/var/lib/osmig/rpmdb.orig/Packages" || { echo "FAIL: original not kept"; exit 1; }
rpm --root "$W" --dbpath /var/lib/rpm -qa | grep -qx "libuuid-2.32.1-42.el8_8.x86_64" || { echo "FAIL: package lost"; exit 1; }
"$TOOL" rpmdb-prepare "$W" | grep -q "already sqlite" || { echo "FAIL: second run not a no-op"; exit 1; }
echo PASS
