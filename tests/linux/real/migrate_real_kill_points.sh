#!/usr/bin/env bash
# Proves: the real CentOS 7.9 -> RHEL 8.5 migration killed (as SIGKILL
# would) at one point of every recorded phase of the run, at each named
# point inside the steps (the snapshot made, a boot noted, the target's keys
# imported, the erasures done, half way through the target rpm's erasures
# and installs, the installs done) and started again with `osmig resume`
# always ends succeeded (the root is RHEL 8.5) or rolled_back (the root
# byte-exact as before). The target's rpm dies with osmig, so a kill half
# way through its transaction is a real interrupted rpm transaction.
# A first uninterrupted run lists the points (OSMIG_CRASH_TRACE).
# (The sample migration's test, tests/linux/migrate, walks every point.)
. "$(dirname "$0")/lib.sh"
real_setup
K=$WORK/k
run() { # N: one run killed at point N (0: none), then resumed
  rm -rf "$K"; mkdir -p "$K"; fresh_root "$K/root"
  digest "$K/root" >"$WORK/before" # of the copy: a directory's size depends on its history
  local rc=0
  OSMIG_CRASH_AT=${1:-0} OSMIG_CRASH_TRACE=${2:-} "$OSMIG_BIN" migrate "dir:$K/root" --to rhel8 --yes \
    --matrix "$MATRIX" --state-dir "$K/state" --snapshot-store "$K/snaps" --cache-dir "$WORK/cache" \
    "${ALLOW_ERASE[@]}" >"$K/run.out" 2>&1 || rc=$?
  echo "$rc"
}
# OSMIG_CRASH_AT=-1 is off; a huge N passes every point and traces them all.
rc=$(run 1000000 "$WORK/trace.txt")
[ "$rc" = 0 ] && [ "$(task_state "$K/state")" = succeeded ] || { cat "$K/run.out"; fail "the uninterrupted run did not succeed"; }
# Each named point once, and one record of each phase (the first).
# OSMIG_KILL_STRIDE=K (the sanitizer build) takes every Kth of those.
mapfile -t points < <(awk -F'\t' -v k="${OSMIG_KILL_STRIDE:-1}" '
  { key = ($2 ~ /record/) ? "record" FS $3 : $2 }
  !seen[key]++ && (n++ % k) == 0 { print $1 "\t" $2 "\t" $3 }' "$WORK/trace.txt")
echo "${#points[@]} kill points chosen of $(wc -l <"$WORK/trace.txt")"
count=0
for p in "${points[@]}"; do
  IFS=$'\t' read -r n where phase <<<"$p"
  rc=$(run "$n")
  if [ "$rc" != 137 ]; then cat "$K/run.out"; fail "kill point $n ($where, $phase) was not reached"; fi
  # A resume that hangs (an rpm waiting for a dead rpm's lock) fails here.
  timeout 900 "$OSMIG_BIN" resume --state-dir "$K/state" >"$K/resume.out" 2>&1 ||
    { cat "$K/resume.out"; fail "resume after $n ($where) failed or hung"; }
  state=$(task_state "$K/state")
  case "$state" in
    succeeded) grep -q '^ID="rhel"' "$K/root/etc/os-release" || fail "point $n ($where): succeeded but not RHEL" ;;
    rolled_back) [ "$(digest "$K/root")" = "$(cat "$WORK/before")" ] || fail "point $n ($where): rolled back but the root differs" ;;
    *) cat "$K/run.out" "$K/resume.out"; fail "point $n ($where, $phase): task ended $state" ;;
  esac
  echo "kill point $n ($where, $phase): $state"
  count=$((count + 1))
done
echo "kill points exercised: $count"
echo PASS
