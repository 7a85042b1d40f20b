#!/usr/bin/env bash
# bench/snapshot.sh: `osmig snapshot` against tar + zstd, side by side, one run.
#
#   bench/snapshot.sh [--size full|small] [OSMIG_BIN]
#                                      (as root; needs ~4 GiB free in $BENCH_DIR)
#
# --size full (the default; also BENCH_SIZE=full|small): the tree (>= 1 GiB)
# mixes many small files (a copy of /usr/share and /usr/include, like a
# system's /usr), a few large files (random and compressible) and sparse
# files. Prints wall time, throughput over the
# tree's data bytes, ratios to the baseline, sizes and peak memory for:
#   first snapshot          vs  tar -I 'zstd -T0 -3' -cf
#   re-snapshot, unchanged  (goal: < 10% of the first)
#   re-snapshot, 1% changed
#   restore into an empty tree  vs  tar -I zstd -xf (and + sync: osmig's restore
#                                   is durable, it ends with syncfs)
# --size small: the same mix with a fifth of the entries and a quarter of the
# data (/usr/include and /usr/share/doc, 30 MiB random, 40 MiB of binaries,
# two 256 MiB sparse files), for quick iterations; the goals are judged on the
# full tree.
# Page cache is warm for both sides (the tree is read once before timing).
set -euo pipefail
SIZE=${BENCH_SIZE:-full}
if [ "${1:-}" = --size ]; then SIZE=${2:?--size needs full or small}; shift 2; fi
case $SIZE in
full) SRC=(/usr/share /usr/include) RANDOM_MIB=150 BLOB_MIB=200 SPARSE=2G SPARSE_OFFS=(10 500 1500) ;;
small) SRC=(/usr/include /usr/share/doc) RANDOM_MIB=30 BLOB_MIB=40 SPARSE=256M SPARSE_OFFS=(10 100 200) ;;
*) echo "bench/snapshot.sh: --size must be full or small, not '$SIZE'" >&2; exit 2 ;;
esac
BIN=${1:-${OSMIG_BIN:-$(dirname "$0")/../build/osmig}}
BIN=$(realpath "$BIN")
B=${BENCH_DIR:-/var/tmp/osmig-bench}
[ "$(id -u)" = 0 ] || { echo "run as root (the tree keeps owners and device files)"; exit 1; }
command -v zstd >/dev/null || { echo "zstd is needed for the baseline"; exit 1; }
mkdir -p "$B"
T=$B/tree
[ "$SIZE" = full ] || T=$B/tree-$SIZE
if [ ! -f "$T.ready" ]; then
    echo "building the tree in $T ..."
    rm -rf "$T"; mkdir -p "$T/usr" "$T/var/lib" "$T/srv"
    cp -a "${SRC[@]}" "$T/usr/"
    head -c $((RANDOM_MIB << 20)) /dev/urandom >"$T/srv/random.bin"
    { find /usr/lib -type f -size +1M 2>/dev/null | head -n 200 | xargs cat 2>/dev/null | head -c $((BLOB_MIB << 20)) >"$T/srv/binaries.blob"; } || true  # SIGPIPE is expected
    for i in 1 2; do
        truncate -s "$SPARSE" "$T/var/lib/sparse$i.img"
        for off in "${SPARSE_OFFS[@]}"; do head -c $((4 << 20)) /dev/urandom | dd of="$T/var/lib/sparse$i.img" bs=1M seek=$off conv=notrunc status=none; done
    done
    touch "$T.ready"
fi
export OSMIG_SNAPSHOT_STORE=$B/store
data_bytes=$(du -sb --apparent-size "$T" | cut -f1)
alloc_bytes=$(du -sB1 "$T" | cut -f1)
files=$(find "$T" | wc -l)
tar -cf - -C "$T" . >/dev/null   # warm the page cache for both sides

# run LABEL CMD...: prints and records seconds and peak RSS (KiB).
declare -A SEC MEM
run() {
    local label=$1; shift
    sync
    /usr/bin/time -f "%e %M" -o "$B/time.out" "$@" >/dev/null
    read -r SEC[$label] MEM[$label] <"$B/time.out"
}
mbps() { python3 -c "import sys; print(f'{int(sys.argv[1])/1e6/max(float(sys.argv[2]),1e-3):8.1f}')" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/max(float(sys.argv[2]),1e-3):6.2f}')" "$1" "$2"; }

rm -rf "$B/store" "$B/out.tar.zst" "$B/x"
run tar_c tar -I 'zstd -T0 -3' -cf "$B/out.tar.zst" -C "$T" .
run tar_cs tar -S -I 'zstd -T0 -3' -cf "$B/out-sparse.tar.zst" -C "$T" .   # fairer: skips holes too
rm -f "$B/out-sparse.tar.zst"
# osmig's create ends with syncfs (the set must be durable); so does this one
run tar_css bash -c "tar -S -I 'zstd -T0 -3' -cf '$B/out-sparse.tar.zst' -C '$T' . && sync"
rm -f "$B/out-sparse.tar.zst"
run osm_c "$BIN" snapshot create "dir:$T" --quiet
run osm_c2 "$BIN" snapshot create "dir:$T" --quiet
# change 1% of the files (content rewritten)
find "$T/usr" -type f | awk 'NR % 100 == 0' | while read -r f; do echo "changed" >>"$f"; done
run osm_c3 "$BIN" snapshot create "dir:$T" --quiet
first=$(ls "$B/store/sets" | sort | head -1)
store_bytes=$(du -sB1 "$B/store" | cut -f1)
tar_bytes=$(stat -c %s "$B/out.tar.zst")

mkdir -p "$B/x"
run tar_x tar -I zstd -xf "$B/out.tar.zst" -C "$B/x"
rm -rf "$B/x"; mkdir -p "$B/x"
run tar_xs bash -c "tar -I zstd -xf '$B/out.tar.zst' -C '$B/x' && sync"
rm -rf "$B/x"
# osmig restores the instance itself: empty it, then restore the first set.
find "$T" -mindepth 1 -delete
run osm_r "$BIN" snapshot restore "dir:$T" "$first" --quiet
ok=$("$BIN" snapshot digest "$T")
# the tree matches the first set again (restore checked the digest): kept for the next run

cat <<REPORT

osmig snapshot benchmark, $SIZE tree  ($(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))
tree: $files entries, $((data_bytes >> 20)) MiB apparent, $((alloc_bytes >> 20)) MiB allocated (sparse files included)

operation                         seconds    MB/s   vs baseline   peak RSS MiB
tar -I 'zstd -T0 -3' -cf         $(printf %8s "${SEC[tar_c]}") $(mbps $alloc_bytes "${SEC[tar_c]}")        1.00   $(( MEM[tar_c] / 1024 ))
tar -S (sparse-aware) same       $(printf %8s "${SEC[tar_cs]}") $(mbps $alloc_bytes "${SEC[tar_cs]}")        $(ratio "${SEC[tar_cs]}" "${SEC[tar_c]}")   $(( MEM[tar_cs] / 1024 ))
tar -S ... && sync                $(printf %8s "${SEC[tar_css]}") $(mbps $alloc_bytes "${SEC[tar_css]}")        $(ratio "${SEC[tar_css]}" "${SEC[tar_c]}")
osmig snapshot create (first)    $(printf %8s "${SEC[osm_c]}") $(mbps $alloc_bytes "${SEC[osm_c]}")      $(ratio "${SEC[osm_c]}" "${SEC[tar_c]}") (vs tar -S: $(ratio "${SEC[osm_c]}" "${SEC[tar_cs]}"), vs tar -S+sync: $(ratio "${SEC[osm_c]}" "${SEC[tar_css]}"))   $(( MEM[osm_c] / 1024 ))
osmig re-snapshot, unchanged     $(printf %8s "${SEC[osm_c2]}")          $(ratio "${SEC[osm_c2]}" "${SEC[osm_c]}") of first   $(( MEM[osm_c2] / 1024 ))
osmig re-snapshot, 1% changed    $(printf %8s "${SEC[osm_c3]}")          $(ratio "${SEC[osm_c3]}" "${SEC[osm_c]}") of first   $(( MEM[osm_c3] / 1024 ))
tar -I zstd -xf                  $(printf %8s "${SEC[tar_x]}") $(mbps $alloc_bytes "${SEC[tar_x]}")        1.00   $(( MEM[tar_x] / 1024 ))
tar -I zstd -xf && sync          $(printf %8s "${SEC[tar_xs]}") $(mbps $alloc_bytes "${SEC[tar_xs]}")
osmig snapshot restore (empty)   $(printf %8s "${SEC[osm_r]}") $(mbps $alloc_bytes "${SEC[osm_r]}")      $(ratio "${SEC[osm_r]}" "${SEC[tar_x]}")   $(( MEM[osm_r] / 1024 ))

sizes: tar.zst $((tar_bytes >> 20)) MiB, store with 3 sets $((store_bytes >> 20)) MiB
restore digest: $ok
(ratios < 1 mean osmig is faster; MB/s over allocated data bytes)
REPORT
rm -rf "$B/store" "$B/out.tar.zst"
