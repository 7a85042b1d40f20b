#!/usr/bin/env bash
# bench/migrate.sh [LIST]: a full `osmig migrate` of a root holding a real
# distribution's package list (default CentOS7Many from $OSMIG_REALDATA,
# 396 packages, built as stub RPMs by tests/fixtures/make-pkglist-root.py) to
# a target repository with a newer release of every one of them (built the
# same way, release + ".osm8", os-release CentOS 8), compared in one run with
# the floor: `rpm -Uvh --root` of the same package files into a copy of the
# same root. osmig's figure is the time from the start of staging to the end
# of verification (what `osmig migrate` prints as "time:"); the snapshot is
# reported on its own. Goal: osmig's overhead over the floor <= 15%.
# The stubs are unsigned, so osmig runs with --no-signature-check (and rpm
# checks none either). Wall and CPU (user+sys, with children) for both: the
# machine may be shared, so compare CPU too. ROUNDS (default 3) rounds, the
# side that runs first alternating; the medians are compared.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
src_dir=$PWD
OSMIG=${OSMIG_BIN:-$src_dir/build/osmig}
LIST=${1:-CentOS7Many}
W=${OSMIG_BENCH_DIR:-/var/tmp/osmig-bench-migrate}
export OSMIG_FIXTURE_CACHE=${OSMIG_FIXTURE_CACHE:-$src_dir/build/fixture-cache}
export OSMIG_NO_AUTO_RESUME=1
PY=$(command -v /usr/bin/python3 || command -v python3)
realdata=${OSMIG_REALDATA:-$src_dir/../shared/realdata}
tsv=$realdata/pkglists/$LIST.tsv
[ -f "$tsv" ] || { echo "SKIP: $tsv not found (set OSMIG_REALDATA)"; exit 77; }
[ -x "$OSMIG" ] || { echo "build osmig first ($OSMIG)"; exit 1; }
mkdir -p "$W"

echo "== building the source root ($LIST) and the target repository (cached in $OSMIG_FIXTURE_CACHE)"
src=$("$PY" tests/fixtures/make-pkglist-root.py "$LIST" | tail -1)
awk -F'\t' 'BEGIN { OFS = "\t" } { $4 = $4 ".osm8"; print }' "$tsv" >"$W/$LIST-next.tsv"
tgt=$("$PY" tests/fixtures/make-pkglist-root.py --distro centos8 --os-version 8.2.2004 "$W/$LIST-next.tsv" | tail -1)
rm -rf "$W/repo" && mkdir -p "$W/repo/Packages"
cp "$tgt"/rpms/*.rpm "$W/repo/Packages/"
createrepo_c --quiet "$W/repo" >/dev/null
n_src=$(rpm --root "$src/root" --dbpath /var/lib/rpm -qa | wc -l)
n_pkgs=$(ls "$W/repo/Packages" | wc -l)
cat >"$W/matrix.json" <<JSON
{"osmig_matrix": 1,
 "targets": {"bench-el8": {"name": "Bench EL 8", "os_id": "centos", "version": "8", "el_version": "8.2",
   "arches": ["x86_64"], "release_package": "centos-release", "vendors": ["CentOS"],
   "repos": [{"id": "bench-os", "name": "bench", "baseurl": "file://$W/repo", "gpgcheck": false}]}},
 "paths": [{"from": {"id": "centos", "versions": ["7"]}, "to": "bench-el8", "arches": ["x86_64"]}]}
JSON
echo "source root: $n_src installed packages; target repository: $n_pkgs packages"

ROUNDS=${ROUNDS:-3}
run_osmig() {
  rm -rf "$W/osmig-root" "$W/state" "$W/snaps" "$W/cache"
  cp -a "$src/root" "$W/osmig-root"
  sync
  /usr/bin/time -f "%e %U %S" -o "$W/osmig.time" "$OSMIG" migrate "dir:$W/osmig-root" --to bench-el8 \
    --matrix "$W/matrix.json" --yes --no-signature-check --state-dir "$W/state" --snapshot-store "$W/snaps" \
    --cache-dir "$W/cache" >"$W/osmig.out" 2>&1 || { tail -20 "$W/osmig.out"; echo "osmig migrate failed"; exit 1; }
  local line
  line=$(grep "time: snapshot" "$W/osmig.out")
  snaps+=("$(sed -E 's/.*snapshot ([0-9.]+) s;.*/\1/' <<<"$line")")
  o_walls+=("$(sed -E 's/.*verification ([0-9.]+) s wall.*/\1/' <<<"$line")")
  o_cpus+=("$(sed -E 's/.* s wall, ([0-9.]+) s CPU.*/\1/' <<<"$line")")
  local w _u _s
  read -r w _u _s <"$W/osmig.time"
  a_walls+=("$w")
  n_osmig=$(rpm --root "$W/osmig-root" --dbpath /var/lib/rpm -qa | wc -l)
}
run_rpm() {
  rm -rf "$W/rpm-root"
  cp -a "$src/root" "$W/rpm-root"
  sync
  /usr/bin/time -f "%e %U %S" -o "$W/rpm.time" rpm -Uvh --root "$W/rpm-root" --dbpath /var/lib/rpm \
    "$W"/repo/Packages/*.rpm >"$W/rpm.out" 2>&1 || { tail -20 "$W/rpm.out"; echo "rpm -Uvh failed"; exit 1; }
  local w u s
  read -r w u s <"$W/rpm.time"
  r_walls+=("$w")
  r_cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')")
  n_after=$(rpm --root "$W/rpm-root" --dbpath /var/lib/rpm -qa | wc -l)
}
snaps=() o_walls=() o_cpus=() a_walls=() r_walls=() r_cpus=()
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then run_osmig; run_rpm; else run_rpm; run_osmig; fi
  echo "round $round: osmig staging->verify ${o_walls[-1]} s wall ${o_cpus[-1]} s CPU; rpm -Uvh ${r_walls[-1]} s wall ${r_cpus[-1]} s CPU"
done
o_wall=$(median "${o_walls[@]}") o_cpu=$(median "${o_cpus[@]}") r_wall=$(median "${r_walls[@]}")
r_cpu=$(median "${r_cpus[@]}") snap=$(median "${snaps[@]}") a_wall=$(median "${a_walls[@]}")

echo
echo "== results, medians of $ROUNDS rounds ($n_src packages, $n_pkgs upgraded; osmig root has $n_osmig packages, rpm root $n_after)"
overhead_table 44 "osmig: start of staging -> end of verify" "rpm -Uvh --root (floor)" \
  "$o_wall" "$o_cpu" "$r_wall" "$r_cpu" "$snap"
printf '%-44s %9s\n' "osmig migrate, whole command" "$a_wall"
