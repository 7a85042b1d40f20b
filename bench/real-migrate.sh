#!/usr/bin/env bash
# bench/real-migrate.sh: the real CentOS 7.9 root (tests/fixtures/build-real.py,
# rpmdb by CentOS 7's rpm) migrated to the real, Red Hat-signed RHEL 8.5
# packages by `osmig migrate` (signatures checked), against the floor: the
# target's own rpm running the same transaction into a copy of the same root
# the same way (chrooted from the same target userspace: `rpm -e --nodeps` of
# the plan's erasures, then `rpm -Uvh` of the same staged files). osmig's
# figure is the time from the start of staging to the end of verification
# (what `osmig migrate` prints as "time:"); the floor's staging of the files
# and its userspace are prepared beforehand, untimed. Goal: osmig's overhead
# over the floor <= 15%. Wall and CPU (user+sys, children included); ROUNDS
# (default 3) rounds, the side that runs first alternating; medians compared.
# Each run gets a freshly made ext4 file system (a loop file, journaled like a
# real system disk): on a file system that has just had trees deleted, ext4's
# inode allocation slows for minutes, and that noise (the floor alone swung
# 7.5-12.3 s CPU between rounds) would decide the comparison.
# OSMIG_BENCH_LOOP=0 runs in $OSMIG_BENCH_DIR as it is instead.
# Usage: bench/real-migrate.sh [--root DIR --matrix FILE]   (default: the fixtures)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
src_dir=$PWD
OSMIG=${OSMIG_BIN:-$src_dir/build/osmig}
TOOL=${OSM_STAGE_TOOL:-$src_dir/build/tests/linux/stage/osm_stage_tool}
W=${OSMIG_BENCH_DIR:-/var/tmp/osmig-bench-real}
export OSMIG_FIXTURE_CACHE=${OSMIG_FIXTURE_CACHE:-$src_dir/build/fixture-cache}
export OSMIG_NO_AUTO_RESUME=1
PY=$(command -v /usr/bin/python3 || command -v python3)
ROOT= MATRIX=
while [ $# -gt 0 ]; do
  case $1 in
    --root) ROOT=$2; shift 2 ;;
    --matrix) MATRIX=$2; shift 2 ;;
    *) echo "usage: $0 [--root DIR --matrix FILE]" >&2; exit 2 ;;
  esac
done
[ -x "$OSMIG" ] && [ -x "$TOOL" ] || { echo "build osmig first ($OSMIG, $TOOL)"; exit 1; }
if [ -z "$ROOT" ]; then
  realdata=${OSMIG_REALDATA:-$src_dir/../shared/realdata}
  [ -d "$realdata/rpms/el7" ] || { echo "SKIP: the real packages are absent ($realdata/rpms); set OSMIG_REALDATA"; exit 77; }
  echo "== building the real fixtures (cached in $OSMIG_FIXTURE_CACHE)"
  mapfile -t dirs < <("$PY" tests/fixtures/build-real.py el7-root el8-repo el8-standins el8-matrix)
  ROOT=${dirs[0]}/root MATRIX=${dirs[3]}/matrix.json
fi
mkdir -p "$W"
FS=$W/fs
LOOP=${OSMIG_BENCH_LOOP:-1}
if [ "$LOOP" = 1 ] && { [ "$(id -u)" != 0 ] || ! command -v mkfs.ext4 >/dev/null; }; then
  echo "note: not root or no mkfs.ext4: running on $W as it is (OSMIG_BENCH_LOOP=0)"
  LOOP=0
fi
cleanup_fs() { if mountpoint -q "$FS"; then umount "$FS"; fi; rm -f "$W/fs.img"; }
trap cleanup_fs EXIT
fresh_fs() { # a new, empty file system at $FS
  if [ "$LOOP" = 1 ]; then
    if mountpoint -q "$FS"; then umount "$FS"; fi
    rm -f "$W/fs.img"
    truncate -s 4G "$W/fs.img"
    mkfs.ext4 -q -F "$W/fs.img"
    mkdir -p "$FS"
    mount -o loop "$W/fs.img" "$FS"
  else
    rm -rf "$FS"
    mkdir -p "$FS"
  fi
}
ALLOW=()
for n in ${OSMIG_BENCH_ALLOW_ERASE:-}; do ALLOW+=(--allow-erase "$n"); done

us=/var/lib/osmig/userspace
target_rpm() { # ROOT ARGS...: the target's rpm from the userspace, as osmig runs it
  local r=$1; shift
  chroot "$r" env RPM_CONFIGDIR=$us/usr/lib/rpm LC_ALL=C $us/lib64/ld-linux-x86-64.so.2 \
    --library-path $us/usr/lib64:$us/lib64:$us/usr/lib:$us/lib $us/usr/bin/rpm \
    --define "__plugindir $us/usr/lib64/rpm-plugins" "$@"
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
cpu_now() { awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat; } # ticks of this shell and waited children

run_osmig() {
  fresh_fs
  cp -a "$ROOT" "$FS/osmig-root"
  sync
  "$OSMIG" migrate "dir:$FS/osmig-root" --to rhel8 --matrix "$MATRIX" --yes --state-dir "$FS/state" \
    --snapshot-store "$FS/snaps" --cache-dir "$W/cache" "${ALLOW[@]}" >"$W/osmig.out" 2>&1 ||
    { tail -20 "$W/osmig.out"; echo "osmig migrate failed"; exit 1; }
  local line
  line=$(grep "time: snapshot" "$W/osmig.out")
  snaps+=("$(sed -E 's/.*snapshot ([0-9.]+) s;.*/\1/' <<<"$line")")
  o_walls+=("$(sed -E 's/.*verification ([0-9.]+) s wall.*/\1/' <<<"$line")")
  o_cpus+=("$(sed -E 's/.* s wall, ([0-9.]+) s CPU.*/\1/' <<<"$line")")
  cp "$FS"/state/tasks/*/plan.json "$W/plan.json"
  n_osmig=$(chroot "$FS/osmig-root" rpm -qa | grep -vc '^gpg-pubkey')
}
run_floor() {
  fresh_fs
  local R=$FS/rpm-root
  cp -a "$ROOT" "$R"
  # Untimed: the same verified files and the same userspace in the copy.
  "$TOOL" stage "$W/plan.json" "$R" >/dev/null
  "$TOOL" userspace "$W/plan.json" "$R" >/dev/null
  rm -f "$R"/var/lib/rpm/__db.*
  "$PY" - "$W/plan.json" "$W/erase.txt" "$W/install.txt" <<'PYEOF'
import json, re, sys
p = json.load(open(sys.argv[1]))
strip = lambda n: re.sub(r'-\d+:', '-', n)
with open(sys.argv[2], "w") as e, open(sys.argv[3], "w") as i:
    for a in p["actions"]:
        if a["action"] in ("erase", "replace") and a.get("from"):
            e.write(strip(a["from"]) + "\n")
        if a.get("to") and a["action"] != "keep":
            i.write("/var/lib/osmig/stage/" + a["location"].split("/")[-1] + "\n")
PYEOF
  sync
  local t0 c0 t1 c1
  t0=$(date +%s.%N) c0=$(cpu_now)
  target_rpm "$R" -e -vh --nodeps $(cat "$W/erase.txt") >"$W/rpm.out" 2>&1 || { tail "$W/rpm.out"; exit 1; }
  target_rpm "$R" -U -vh $(cat "$W/install.txt") >>"$W/rpm.out" 2>&1 || { tail "$W/rpm.out"; exit 1; }
  t1=$(date +%s.%N) c1=$(cpu_now)
  r_walls+=("$(secs "$t0" "$t1")")
  r_cpus+=("$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')")
  n_after=$(chroot "$R" rpm -qa | grep -vc '^gpg-pubkey')
}
ROUNDS=${ROUNDS:-3}
snaps=() o_walls=() o_cpus=() r_walls=() r_cpus=()
run_osmig # the plan the floor replays; not counted
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then run_osmig; run_floor; else run_floor; run_osmig; fi
  echo "round $round: osmig staging->verify ${o_walls[-1]} s wall ${o_cpus[-1]} s CPU; target rpm ${r_walls[-1]} s wall ${r_cpus[-1]} s CPU"
done
o_wall=$(median "${o_walls[@]:1}") o_cpu=$(median "${o_cpus[@]:1}") snap=$(median "${snaps[@]:1}")
r_wall=$(median "${r_walls[@]}") r_cpu=$(median "${r_cpus[@]}")
echo
echo "== results, medians of $ROUNDS rounds ($(wc -l <"$W/install.txt") packages installed, $(wc -l <"$W/erase.txt") erased; osmig's root has $n_osmig packages, the floor's $n_after)"
overhead_table 52 "osmig: start of staging -> end of verify" "target rpm -e + rpm -U from the userspace (floor)" \
  "$o_wall" "$o_cpu" "$r_wall" "$r_cpu" "$snap"
