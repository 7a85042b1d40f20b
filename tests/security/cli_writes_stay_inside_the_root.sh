#!/usr/bin/env bash
# Proves: every write osmig makes into an instance resolves inside its root.
# A root whose /var/lib/osmig is a symlink to a host directory, and one whose
# /var/lib/rpm is a symlink to a host copy of its rpmdb: the migration fails
# or stays inside the root, and the host files are untouched (same digest).
. "$OSMIG_SOURCE_DIR/tests/linux/migrate/lib.sh"
sample_setup
write_matrix "$WORK/matrix.json" "file://$REPO"

# 1. /var/lib/osmig -> a host directory holding a file of the host.
R=$WORK/root1; fresh_root "$R"
mkdir -p "$WORK/host-osmig"; echo "host's file" >"$WORK/host-osmig/keep"
rm -rf "$R/var/lib/osmig"; ln -s "$WORK/host-osmig" "$R/var/lib/osmig"
before=$(digest "$WORK/host-osmig")
rc=0; migrate "$R" --matrix "$WORK/matrix.json" >"$WORK/out1" 2>&1 || rc=$?
[ "$(digest "$WORK/host-osmig")" = "$before" ] || { ls -lR "$WORK/host-osmig"; fail "var/lib/osmig symlink: the host directory changed (exit $rc)"; }
echo "ok var/lib/osmig symlink: host untouched (migrate exit $rc)"

# 2. /var/lib/rpm -> a host copy of the rpmdb.
R=$WORK/root2; fresh_root "$R"
cp -a "$R/var/lib/rpm" "$WORK/host-rpm"
rm -rf "$R/var/lib/rpm"; ln -s "$WORK/host-rpm" "$R/var/lib/rpm"
before=$(digest "$WORK/host-rpm")
rc=0; migrate "$R" --matrix "$WORK/matrix.json" >"$WORK/out2" 2>&1 || rc=$?
[ "$(digest "$WORK/host-rpm")" = "$before" ] || { tail -20 "$WORK/out2"; fail "var/lib/rpm symlink: the host rpmdb changed (exit $rc)"; }
echo "ok var/lib/rpm symlink: host untouched (migrate exit $rc)"
echo PASS
