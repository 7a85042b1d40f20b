#!/usr/bin/env bash
# Transit disk throughput: `osmig media transit` (GPT + NTFS holding the media,
# written through wimlib's NTFS-3G extraction) against the floor, a plain `cp`
# of the same install.wim onto the same file system. Both end with an fsync.
# install.wim is SIZE_GIB (default 4) of random-ish data captured by wimlib.
# Goal: transit throughput >= 0.8 x cp.
# usage: bench/transit.sh [SIZE_GIB]   (env: OSMIG_BIN, BENCH_DIR, BENCH_FAT32=1)
set -euo pipefail
size_gib=${1:-4}
here=$(cd "$(dirname "$0")/.." && pwd)
osmig=${OSMIG_BIN:-$here/build/osmig}
[[ -x $osmig ]] || { echo "build osmig first (or set OSMIG_BIN)" >&2; exit 1; }
PATH=$PATH:/usr/sbin:/sbin
w=$(mktemp -d "${BENCH_DIR:-/var/tmp}/osmig-bench-transit-XXXXXX")
trap 'rm -rf "$w"' EXIT

echo "# making a ${size_gib} GiB install.wim (random-ish data, wimlib capture, no compression)"
mkdir -p "$w/src/Windows/System32" "$w/media/sources" "$w/media/boot"
echo setup >"$w/media/setup.exe"; echo bcd >"$w/media/boot/bcd"
n=$((size_gib * 4))
for i in $(seq 1 $n); do   # 256 MiB files: random 1 MiB block repeated with a counter, so no two blocks match
  python3 - "$w/src/Windows/System32/blob$i.bin" "$i" <<'PY'
import os, sys
block = bytearray(os.urandom(1 << 20))
with open(sys.argv[1], "wb") as f:
    for k in range(256):
        block[0:16] = (int(sys.argv[2]) * 1000 + k).to_bytes(16, "little")
        f.write(block)
PY
done
wimlib-imagex capture "$w/src" "$w/media/sources/install.wim" "Windows Server 2019 SERVERDATACENTER" \
  --compress=none --image-property WINDOWS/EDITIONID=ServerDatacenter \
  --image-property WINDOWS/INSTALLATIONTYPE=Server --image-property WINDOWS/LANGUAGES/DEFAULT=en-US \
  --image-property WINDOWS/VERSION/BUILD=17763 >/dev/null
rm -rf "$w/src"
bytes=$(stat -c %s "$w/media/sources/install.wim")
sync

now() { date +%s.%N; }
mbps() { python3 -c "import sys; print('%.1f' % ($bytes / 1e6 / (float(sys.argv[2]) - float(sys.argv[1]))))" "$1" "$2"; }

run_cp() { local t0 t1; t0=$(now); cp "$w/media/sources/install.wim" "$w/copy.wim"; sync -f "$w/copy.wim"; t1=$(now)
  rm -f "$w/copy.wim"; sync; mbps "$t0" "$t1"; }
run_transit() { local t0 t1; t0=$(now); "$osmig" media transit "$w/media" "$w/transit.img" >/dev/null; t1=$(now)
  rm -f "$w/transit.img" "$w/transit.img.osmig.json"; sync; mbps "$t0" "$t1"; }
# alternate the two, ROUNDS times, so neither side gets a quieter machine or a warmer cache
rounds=${ROUNDS:-3}
cps=(); trs=()
for r in $(seq 1 "$rounds"); do cps+=("$(run_cp)"); trs+=("$(run_transit)"); done
best() { printf '%s\n' "$@" | sort -g | tail -1; }
printf '%-34s %10s\n' "install.wim bytes" "$bytes"
printf '%-34s %s MB/s\n' "cp + fsync (floor), each round" "${cps[*]}" "osmig media transit, each round" "${trs[*]}"
cp_best=$(best "${cps[@]}"); tr_best=$(best "${trs[@]}")
printf '%-34s %10s MB/s\n' "cp + fsync (floor), best" "$cp_best" "osmig media transit (NTFS), best" "$tr_best"
printf '%-34s %10s   (goal >= 0.80)\n' "ratio transit / cp (best of each)" "$(python3 -c "print('%.2f' % ($tr_best / $cp_best))")"
if [[ ${BENCH_FAT32:-0} == 1 ]]; then
  t0=$(now); "$osmig" media transit "$w/media" "$w/fat.img" --fat32 >/dev/null; t1=$(now)
  printf '%-34s %10s MB/s\n' "osmig media transit (FAT32, .swm)" "$(mbps "$t0" "$t1")"
fi
