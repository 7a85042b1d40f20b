#!/usr/bin/env bash
# Proves: the CLI names an instance by its canonical identity, whatever the
# spelling. A task left unfinished on dir:R holds the instance for
# dir:R/, dir:R/., a '//' and a symlink to R alike (one task per instance);
# the task records the canonical URI; the snapshot sets of R are one list for
# every spelling; `osmig inspect` names the canonical URI.
set -euo pipefail
: "${OSMIG_BIN:?run under ctest}"
export OSMIG_NO_AUTO_RESUME=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/osm-sec-cli.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
R=$WORK/roots/r1
mkdir -p "$R/etc" "$WORK/state" "$WORK/roots/x"
echo 'ID="centos"' >"$R/etc/os-release"
ln -s "$R" "$WORK/alias"
S=(--state-dir "$WORK/state")

# A task whose engine died right after it committed its first intent.
rc=0; OSMIG_CRASH_AT=1 "$OSMIG_BIN" migrate "dir:$R" --to alinux3 --yes "${S[@]}" >"$WORK/first" 2>&1 || rc=$?
[ "$rc" = 137 ] || { cat "$WORK/first"; fail "the first migrate was to die at crash point 1 (exit $rc)"; }
"$OSMIG_BIN" tasks --json "${S[@]}" >"$WORK/tasks.json"
grep -q "\"instance\": *\"dir:$R\"" "$WORK/tasks.json" || { cat "$WORK/tasks.json"; fail "the task does not record dir:$R"; }

for spelling in "dir:$R/" "dir:$R/." "dir:$WORK/roots//r1" "dir:$WORK/roots/./r1/" "dir:$WORK/roots/x/../r1" "dir:$WORK/alias"; do
  rc=0; "$OSMIG_BIN" migrate "$spelling" --to alinux3 --yes "${S[@]}" >"$WORK/second" 2>&1 || rc=$?
  grep -q "already has an unfinished task" "$WORK/second" ||
    { cat "$WORK/second"; fail "$spelling: a second task ran on the held instance (exit $rc)"; }
  echo "ok held for $spelling"
done
n=$("$OSMIG_BIN" tasks --json "${S[@]}" | grep -c '"instance"' || true)
[ "$n" = 1 ] || fail "$n tasks, want the one"

# Snapshot sets: one list, whatever the spelling.
SS=(--snapshot-store "$WORK/snaps" --quiet)
"$OSMIG_BIN" snapshot create "dir:$R/" --label one "${SS[@]}" >/dev/null
"$OSMIG_BIN" snapshot create "dir:$WORK/alias" --label two "${SS[@]}" >/dev/null
for spelling in "dir:$R" "dir:$R/./" "dir:$WORK/alias/"; do
  "$OSMIG_BIN" snapshot list "$spelling" --json "${SS[@]}" >"$WORK/list"
  for l in one two; do
    grep -q "\"$l\"" "$WORK/list" || { cat "$WORK/list"; fail "$spelling: the set labelled $l is not listed"; }
  done
  echo "ok both sets listed for $spelling"
done

# (The root is no full system: inspect says why, naming the instance.)
"$OSMIG_BIN" inspect "dir:$WORK/alias/." --json >"$WORK/inspect" 2>&1 || true
grep -q "dir:$R\b" "$WORK/inspect" && ! grep -q alias "$WORK/inspect" ||
  { cat "$WORK/inspect"; fail "inspect does not name the canonical URI"; }
echo PASS
