#!/usr/bin/env bash
# Proves: on the real CentOS 7.9 root and the real RHEL 8.5 packages, a
# package whose payload is damaged (its repository metadata regenerated, so
# only the package's own digests can tell) is refused at staging, naming the
# package, before anything changes; a package missing from the repository
# stops staging; both end rolled back with the root byte-exact as before.
. "$(dirname "$0")/lib.sh"
real_setup

bad_repo() { # NAME: a copy of the el8 repository under $WORK/NAME (hard links)
  rm -rf "$WORK/$1"; cp -al "$EL8_REPO" "$WORK/$1"; rm -rf "$WORK/$1/repodata"
  sed "s#file://$EL8_REPO#file://$WORK/$1#g" "$MATRIX" >"$WORK/$1.json"
  grep -q "$WORK/$1" "$WORK/$1.json" || fail "matrix does not name the el8 repository as file://$EL8_REPO"
}
run_case() { # NAME EXPECTED-TEXT
  local R=$WORK/root-$1 rc=0 before
  fresh_root "$R"
  before=$(digest "$R") # of the copy: a directory's size depends on its history
  "$OSMIG_BIN" migrate "dir:$R" --to rhel8 --yes --matrix "$WORK/$1.json" --state-dir "$WORK/state-$1" \
    --snapshot-store "$WORK/snaps-$1" --cache-dir "$WORK/cache-$1" "${ALLOW_ERASE[@]}" >"$WORK/$1.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] || { cat "$WORK/$1.out"; fail "$1: exit $rc, expected 1"; }
  [ "$(task_state "$WORK/state-$1")" = rolled_back ] || { cat "$WORK/$1.out"; fail "$1: not rolled back"; }
  grep -q "step stage failed" "$WORK/$1.out" || { cat "$WORK/$1.out"; fail "$1: not stopped at staging"; }
  grep -q -- "$2" "$WORK/$1.out" || { cat "$WORK/$1.out"; fail "$1: the cause does not say '$2'"; }
  [ "$(digest "$R")" = "$before" ] || fail "$1: the root differs from before"
  echo "$1: refused at staging, rolled back byte-exact"
}

# A damaged payload: flip bytes near the end of zlib's compressed payload.
bad_repo payload
pkg=$(cd "$WORK/payload/Packages" && ls zlib-1.2.11-*.x86_64.rpm | head -1)
f=$WORK/payload/Packages/$pkg
cp --remove-destination "$EL8_REPO/Packages/$pkg" "$f"
size=$(stat -c %s "$f")
printf '\xde\xad\xbe\xef' | dd of="$f" bs=1 seek=$((size - 200)) conv=notrunc status=none
createrepo_c -q "$WORK/payload"
run_case payload "zlib-.*does not verify"

# A package the metadata lists but the repository lost.
bad_repo missing
createrepo_c -q "$WORK/missing"
rm "$WORK/missing/Packages/$(cd "$WORK/missing/Packages" && ls bash-4.4.20-*.rpm | head -1)"
run_case missing "bash-"
echo PASS
