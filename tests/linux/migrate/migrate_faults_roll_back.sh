#!/usr/bin/env bash
# Proves: each fault of the issue's list, once the instance has changed,
# ends the task rolled_back with the cause in words and the root's digest
# (content + metadata) equal to the one before the migration:
#   a %pre scriptlet failing in the middle of the transaction (set scriptlet-fault),
#   a package whose digest does not match the repository metadata,
#   an unsigned package (and --no-signature-check then migrates, saying so),
#   staging space running out (a 2 MiB tmpfs as the stage directory),
#   verification failing (the target repo delivers release 3, the matrix promises 4).
. "$(dirname "$0")/lib.sh"
R=$WORK/root

# --- a %pre scriptlet that fails mid-transaction
sample_setup scriptlet-fault scriptlet-fault
fresh_root "$R"; before=$(digest "$R")
write_matrix "$WORK/m-pre.json" "file://$REPO"
rc=0; migrate "$R" --matrix "$WORK/m-pre.json" >"$WORK/pre.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/pre.out"; fail "scriptlet fault: exit $rc"; }
expect_rolled_back scriptlet "$R" "$before" "step upgrade failed: .*fault-pre-1.0-1.al8.noarch: %pre scriptlet failed"
assert_grep "failed and was rolled back" "$WORK/pre.out"
assert_grep "logs: $WORK/state/tasks/.*/osmig.log" "$WORK/pre.out"

# The sample for the rest.
sample_setup
good=$REPO

# --- a package whose digest does not match the metadata
cp -a "$good" "$WORK/repo-bad"
pkg=$(ls "$WORK/repo-bad/Packages/" | grep '^bash-' | head -1)
"$PY" - "$WORK/repo-bad/Packages/$pkg" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xff
open(p, "wb").write(b)
PY
fresh_root "$R"; before=$(digest "$R")
write_matrix "$WORK/m-bad.json" "file://$WORK/repo-bad"
rc=0; migrate "$R" --matrix "$WORK/m-bad.json" >"$WORK/bad.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/bad.out"; fail "digest fault: exit $rc"; }
expect_rolled_back digest "$R" "$before" "step stage failed: .*bash.*\(checksum\|digest\)"

# --- an unsigned package
cp -a "$good" "$WORK/repo-unsigned"
pkg=$(ls "$WORK/repo-unsigned/Packages/" | grep '^bash-' | head -1)
rpmsign --delsign "$WORK/repo-unsigned/Packages/$pkg" >/dev/null
createrepo_c --quiet --update "$WORK/repo-unsigned" >/dev/null
fresh_root "$R"; before=$(digest "$R")
write_matrix "$WORK/m-uns.json" "file://$WORK/repo-unsigned"
rc=0; migrate "$R" --matrix "$WORK/m-uns.json" >"$WORK/uns.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/uns.out"; fail "unsigned fault: exit $rc"; }
expect_rolled_back unsigned "$R" "$before" "step stage failed: signature check: bash-.*: package is not signed"
# ... which --no-signature-check accepts, and the report says so.
fresh_root "$R"
migrate "$R" --matrix "$WORK/m-uns.json" --no-signature-check >"$WORK/nosig.out" 2>&1 || { cat "$WORK/nosig.out"; fail "--no-signature-check migration failed"; }
assert_grep "signatures NOT checked (--no-signature-check)" "$WORK/nosig.out"
grep -q '^ID="alinux"' "$R/etc/os-release" || fail "--no-signature-check: not migrated"

# --- staging space running out
write_matrix "$WORK/m.json" "file://$good"
fresh_root "$R"
mkdir -p "$R/var/lib/osmig/stage"
if mount -t tmpfs -o size=2m,mode=0755 osm-migrate-test "$R/var/lib/osmig/stage" 2>/dev/null; then
  MOUNTS+=("$R/var/lib/osmig/stage")
  before=$(digest "$R")
  rc=0; migrate "$R" --matrix "$WORK/m.json" >"$WORK/space.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] || { cat "$WORK/space.out"; fail "space fault: exit $rc"; }
  expect_rolled_back space "$R" "$before" "step stage failed: not enough free space in $R/var/lib/osmig/stage"
  umount "$R/var/lib/osmig/stage"; MOUNTS=()
else
  echo "skip space: cannot mount a small tmpfs here (needs root)"
fi

# --- verification failing
write_matrix "$WORK/m-v4.json" "file://$good" 4
fresh_root "$R"; before=$(digest "$R")
rc=0; migrate "$R" --matrix "$WORK/m-v4.json" >"$WORK/ver.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/ver.out"; fail "verify fault: exit $rc"; }
expect_rolled_back verify "$R" "$before" "step verify failed: .*os-release: ID=alinux VERSION_ID=3, target sample-alinux3 4"
echo PASS
