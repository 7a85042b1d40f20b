#!/usr/bin/env bash
# bench/snapshot.sh: `osmig snapshot` against tar + zstd and restic, on three
# tree shapes, side by side, in one run.
#
#   bench/snapshot.sh [--size full|small] [--shapes usr,large,mixed]
#                     [--rounds N] [OSMIG_BIN]     (as root)
#
# Shapes (--size full; --size small or BENCH_SIZE=small is about a fifth, for
# quick iterations; the goals are judged on full):
#   usr    a copy of /usr/share (~58,000 files, ~900 MiB, no sparse files):
#          where real systems spend their files
#   large  four large files: two random, two compressible (binaries), 1 GiB
#   mixed  /usr/share + /usr/include, 150 MiB random, 200 MiB binaries, two
#          2 GiB sparse files with 12 MiB of data each (the old bench tree)
# For each: first snapshot, unchanged re-snapshot, re-snapshot with 1% of the
# files changed, restore into an empty tree, store size and peak memory
# (max RSS), against
#   tar -S -I 'zstd -T0 -3' -cf ... && sync  (osmig's set is durable: so is this;
#                                            -S: tar skips holes too, as osmig does)
#   tar -I zstd -xf ... && sync              (osmig's restore ends with syncfs)
#   restic backup ... && sync, first and unchanged (Debian's restic; installed
#   with apt-get when missing, else that column is skipped, saying so)
#
# Filesystem: by default a fresh journaled ext4 on a loop file in a directory
# of its own under $BENCH_DIR (/var/tmp/osmig-bench; two runs at once must not
# share a loop file: one's mkfs and cleanup would pull the other's filesystem
# away), loop device with direct I/O so that a sync reaches
# the disk. Why: servers run journaled filesystems, and on a filesystem
# without a journal (like this build machine's root) ext4 slows every inode
# allocation for minutes after a mass delete (it skips "recently deleted"
# inodes), which made figures depend on what ran before. BENCH_FS=dir runs
# in $BENCH_DIR directly instead. Page cache is warm for every side (each
# tree is read once before timing). Everything is removed at the end.
#
# --rounds N (or BENCH_ROUNDS): on a shared, loaded machine one run of each
# says little. Each round runs every timed step of osmig right after its
# baseline's (tar, then osmig; restic in the first round only: it is far
# behind), from a fresh store; the table shows the median of the rounds and
# the spread (min-max), the peak RSS the largest.
set -eEuo pipefail
# A failing step names itself (set -e alone ended the run without a word).
trap 'echo "bench/snapshot.sh: line $LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR
SIZE=${BENCH_SIZE:-full}
SHAPES=usr,large,mixed
ROUNDS=${BENCH_ROUNDS:-1}
while [ $# -gt 0 ]; do
    case $1 in
    --size) SIZE=${2:?--size needs full or small}; shift 2 ;;
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift 2 ;;
    --shapes) SHAPES=${2:?--shapes needs a list}; shift 2 ;;
    -*) echo "bench/snapshot.sh: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
    esac
done
case $SIZE in full | small) ;; *) echo "bench/snapshot.sh: --size must be full or small, not '$SIZE'" >&2; exit 2 ;; esac
case $ROUNDS in '' | *[!0-9]* | 0) echo "bench/snapshot.sh: --rounds must be a positive number, not '$ROUNDS'" >&2; exit 2 ;; esac
BIN=$(realpath "${1:-${OSMIG_BIN:-$(dirname "$0")/../build/osmig}}")
B=${BENCH_DIR:-/var/tmp/osmig-bench}
[ "$(id -u)" = 0 ] || { echo "run as root (the trees keep owners and device files)"; exit 1; }
command -v zstd >/dev/null || { echo "zstd is needed for the baseline"; exit 1; }
if ! command -v restic >/dev/null; then
    echo "restic not found: installing Debian's package ..."
    apt-get install -y -qq restic >/dev/null 2>&1 || true
fi
RESTIC=$(command -v restic || true)
[ -n "$RESTIC" ] || echo "NOTE: restic is not installed and could not be: the restic column is skipped"

mkdir -p "$B"
B=$(mktemp -d "$B/run.XXXXXX")
M=$B
LOOP=
cleanup() {
    cd /
    if [ -n "$LOOP" ]; then umount "$M" 2>/dev/null || true; losetup -d "$LOOP" 2>/dev/null || true; rm -f "$B/fs.img"; rmdir "$M" 2>/dev/null || true; fi
    rm -rf "$B/work" "$B/time.out" "$B/run.out"
    rmdir "$B" 2>/dev/null || true
}
trap cleanup EXIT
if [ "${BENCH_FS:-loop}" = loop ]; then
    truncate -s 12G "$B/fs.img"
    LOOP=$(losetup --direct-io=on -f --show "$B/fs.img")
    mkfs.ext4 -q -E nodiscard "$LOOP"
    M=$B/mnt; mkdir -p "$M"; mount "$LOOP" "$M"
else
    M=$B/work; mkdir -p "$M"
fi
export OSMIG_SNAPSHOT_STORE=$M/store RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$M/restic-cache
T=$M/tree

# run LABEL CMD...: records seconds (one more round's), CPU seconds (user +
# system) and peak RSS (KiB, the largest of the rounds) of CMD; SEC[label]
# and CPU[label] are then the medians. Measured with wait4() (MEASURE):
# /usr/bin/time rounds both times to 10 ms, a sixth of an unchanged
# re-snapshot.
declare -A SEC ALL CPU ALLCPU MEM SIZE_OF INFO
MEASURE='
import os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
t1 = time.perf_counter()
with open(out, "w") as f:
    f.write(f"{t1 - t0:.4f} {ru.ru_utime + ru.ru_stime:.4f} {ru.ru_maxrss}\n")
sys.exit(os.waitstatus_to_exitcode(status))
'
median() { python3 -c "import statistics,sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }
run() {
    local label=$1; shift
    sync
    if ! python3 -c "$MEASURE" "$B/time.out" "$@" >"$B/run.out"; then
        echo "bench/snapshot.sh: step $label failed: $*" >&2
        tail -n 5 "$B/run.out" >&2
        exit 1
    fi
    local sec cpu mem
    read -r sec cpu mem <"$B/time.out"
    ALL[$label]="${ALL[$label]:-} $sec"
    ALLCPU[$label]="${ALLCPU[$label]:-} $cpu"
    [ "${MEM[$label]:-0}" -ge "$mem" ] || MEM[$label]=$mem
    SEC[$label]=$(median ${ALL[$label]})
    CPU[$label]=$(median ${ALLCPU[$label]})
}
# spread LABEL: "min-max" of the rounds (empty for one round).
spread() {
    [ "$ROUNDS" -gt 1 ] || return 0
    python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; print(f'{min(v):.3f}-{max(v):.3f}')" ${ALL[$1]}
}
# "${SYNCED[@]}" CMD...: CMD, then a sync of the bench filesystem.
SYNCED=(bash -c '"$@" && sync -f "$0"' "$M")
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/max(b,1e-3):.2f}')" "$1" "$2"; }
share() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{100*a/max(b,1e-3):.1f}%')" "$1" "$2"; }

build_tree() { # SHAPE
    rm -rf "$T"; mkdir -p "$T"
    local big=0
    [ "$SIZE" = full ] && big=1
    case $1 in
    usr)
        if [ $big = 1 ]; then cp -a /usr/share "$T/"; else mkdir -p "$T/share"; cp -a /usr/share/doc /usr/share/man "$T/share/"; fi ;;
    large)
        local mib=$((big ? 256 : 48))
        head -c $((mib << 20)) /dev/urandom >"$T/random1.bin"
        head -c $((mib << 20)) /dev/urandom >"$T/random2.bin"
        { find /usr/lib -type f -size +1M 2>/dev/null | sort | xargs cat 2>/dev/null | head -c $((mib << 20)) >"$T/binaries1.blob"; } || true
        { find /usr/lib /usr/share -type f -size +100k 2>/dev/null | sort -r | xargs cat 2>/dev/null | head -c $((mib << 20)) >"$T/binaries2.blob"; } || true ;;
    mixed)
        mkdir -p "$T/usr" "$T/var/lib" "$T/srv"
        if [ $big = 1 ]; then cp -a /usr/share /usr/include "$T/usr/"; else cp -a /usr/include /usr/share/doc "$T/usr/"; fi
        head -c $(((big ? 150 : 30) << 20)) /dev/urandom >"$T/srv/random.bin"
        { find /usr/lib -type f -size +1M 2>/dev/null | head -n 200 | xargs cat 2>/dev/null | head -c $(((big ? 200 : 40) << 20)) >"$T/srv/binaries.blob"; } || true
        local offs=(10 500 1500); [ $big = 1 ] || offs=(10 100 200)
        for i in 1 2; do
            truncate -s $((big ? 2048 : 256))M "$T/var/lib/sparse$i.img"
            for off in "${offs[@]}"; do head -c $((4 << 20)) /dev/urandom | dd of="$T/var/lib/sparse$i.img" bs=1M seek="$off" conv=notrunc status=none; done
        done ;;
    esac
    sync
}

# change_1pct: append to every 100th file (at least one).
change_1pct() {
    local n
    n=$(find "$T" -type f | wc -l)
    if [ "$n" -lt 100 ]; then find "$T" -type f | head -n 1 | while read -r f; do echo changed >>"$f"; done
    else find "$T" -type f | awk 'NR % 100 == 0' | while read -r f; do echo changed >>"$f"; done; fi
}

bench_shape() { # SHAPE
    local s=$1
    echo "[$s] building the tree ..." >&2
    build_tree "$s"
    INFO[$s]="$(find "$T" | wc -l) entries, $(($(du -sb --apparent-size "$T" | cut -f1) >> 20)) MiB apparent, $(($(du -sB1 "$T" | cut -f1) >> 20)) MiB allocated"
    tar -cf - -C "$T" . | cat >/dev/null   # warm the page cache for every side
    local round
    for round in $(seq 1 "$ROUNDS"); do
        bench_round "$s" "$round"
    done
    rm -rf "$T" "$M/store" "$M/out.tar.zst"
}

bench_round() { # SHAPE ROUND
    local s=$1 round=$2
    rm -rf "$M/store" "$M/out.tar.zst" "$M/restic" "$M/restic-cache" "$M/x"

    echo "[$s] round $round: tar + zstd ..." >&2
    run $s.tar_c "${SYNCED[@]}" tar -S -I 'zstd -T0 -3' -cf "$M/out.tar.zst" -C "$T" .
    SIZE_OF[$s.tar]=$(stat -c %s "$M/out.tar.zst")
    if [ -n "$RESTIC" ] && [ "$round" = 1 ]; then
        echo "[$s] restic ..." >&2
        "$RESTIC" init -q -r "$M/restic" >/dev/null
        run $s.restic_c "${SYNCED[@]}" "$RESTIC" backup -q -r "$M/restic" "$T"
        run $s.restic_c2 "${SYNCED[@]}" "$RESTIC" backup -q -r "$M/restic" "$T"
        SIZE_OF[$s.restic]=$(du -sB1 "$M/restic" | cut -f1)
        rm -rf "$M/restic" "$M/restic-cache"
    fi
    echo "[$s] osmig snapshot create ..." >&2
    run $s.osm_c "$BIN" snapshot create "dir:$T" --quiet
    run $s.osm_c2 "$BIN" snapshot create "dir:$T" --quiet
    SIZE_OF[$s.osm1]=$(du -sB1 "$M/store" | cut -f1)
    change_1pct
    run $s.osm_c3 "$BIN" snapshot create "dir:$T" --quiet
    SIZE_OF[$s.osm]=$(du -sB1 "$M/store" | cut -f1)
    local first
    first=$(ls "$M/store/sets" | sort | head -1)

    echo "[$s] restore ..." >&2
    mkdir -p "$M/x"
    run $s.tar_x "${SYNCED[@]}" tar -I zstd -xf "$M/out.tar.zst" -C "$M/x"
    rm -rf "$M/x"
    find "$T" -mindepth 1 -delete   # osmig restores the instance itself: empty it first
    run $s.osm_r "$BIN" snapshot restore "dir:$T" "$first" --quiet
    grep -q "digest matches" "$B/run.out" || { echo "restore of $s did not match its digest" >&2; exit 1; }
}

IFS=, read -r -a shape_list <<<"$SHAPES"
for s in "${shape_list[@]}"; do
    case $s in usr | large | mixed) bench_shape "$s" ;; *) echo "unknown shape '$s'" >&2; exit 2 ;; esac
done

mib() { echo $(($1 >> 20)); }
goal() { python3 -c "import sys; print('met' if eval(sys.argv[1]) else 'NOT met')" "$1"; }
echo
echo "osmig snapshot benchmark, $SIZE trees ($(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at the end, ${BENCH_FS:-loop} filesystem, $ROUNDS round(s): medians${RESTIC:+; restic: round 1})"
for s in "${shape_list[@]}"; do
    echo
    echo "== $s: ${INFO[$s]}"
    printf '%-32s %9s %9s %8s %9s\n' operation osmig_s baseline_s ratio "RSS MiB"
    printf '%-32s %9s %9s %8s %9s\n' "first snapshot vs tar+zstd+sync" "${SEC[$s.osm_c]}" "${SEC[$s.tar_c]}" "$(ratio "${SEC[$s.osm_c]}" "${SEC[$s.tar_c]}")" "$((MEM[$s.osm_c] / 1024)) (tar $((MEM[$s.tar_c] / 1024)))"
    if [ -n "$RESTIC" ]; then
        printf '%-32s %9s %9s %8s %9s\n' "first snapshot vs restic" "${SEC[$s.osm_c]}" "${SEC[$s.restic_c]}" "$(ratio "${SEC[$s.osm_c]}" "${SEC[$s.restic_c]}")" "(restic $((MEM[$s.restic_c] / 1024)))"
        printf '%-32s %9s %9s %8s %9s\n' "unchanged vs restic unchanged" "${SEC[$s.osm_c2]}" "${SEC[$s.restic_c2]}" "$(ratio "${SEC[$s.osm_c2]}" "${SEC[$s.restic_c2]}")" "$((MEM[$s.osm_c2] / 1024)) (restic $((MEM[$s.restic_c2] / 1024)))"
    else
        printf '%-32s %9s\n' "unchanged re-snapshot" "${SEC[$s.osm_c2]}"
    fi
    printf '%-32s %9s %9s %8s %9s\n' "unchanged, share of first" "" "" "$(share "${SEC[$s.osm_c2]}" "${SEC[$s.osm_c]}")" ""
    printf '%-32s %9s %9s %8s %9s\n' "  CPU s (user+sys): unchanged, first" "${CPU[$s.osm_c2]}" "${CPU[$s.osm_c]}" "$(share "${CPU[$s.osm_c2]}" "${CPU[$s.osm_c]}")" ""
    printf '%-32s %9s %9s %8s %9s\n' "1% changed, share of first" "${SEC[$s.osm_c3]}" "" "$(ratio "${SEC[$s.osm_c3]}" "${SEC[$s.osm_c]}")" "$((MEM[$s.osm_c3] / 1024))"
    printf '%-32s %9s %9s %8s %9s\n' "restore vs tar -xf + sync" "${SEC[$s.osm_r]}" "${SEC[$s.tar_x]}" "$(ratio "${SEC[$s.osm_r]}" "${SEC[$s.tar_x]}")" "$((MEM[$s.osm_r] / 1024)) (tar $((MEM[$s.tar_x] / 1024)))"
    [ "$ROUNDS" -gt 1 ] && echo "spread of $ROUNDS rounds, s: first osmig $(spread $s.osm_c), tar $(spread $s.tar_c); unchanged $(spread $s.osm_c2); 1% changed $(spread $s.osm_c3); restore osmig $(spread $s.osm_r), tar $(spread $s.tar_x)"
    echo "sizes MiB: store after first $(mib "${SIZE_OF[$s.osm1]}"), after 3 sets $(mib "${SIZE_OF[$s.osm]}"); tar.zst $(mib "${SIZE_OF[$s.tar]}")${RESTIC:+; restic repo after 2 backups $(mib "${SIZE_OF[$s.restic]:-0}")}"
    peak=$(printf '%s\n' "${MEM[$s.osm_c]}" "${MEM[$s.osm_c2]}" "${MEM[$s.osm_c3]}" "${MEM[$s.osm_r]}" | sort -n | tail -1)
    echo "goals: first <= tar: $(goal "${SEC[$s.osm_c]} <= ${SEC[$s.tar_c]}"); unchanged < 3% of first: $(goal "${SEC[$s.osm_c2]} < 0.03 * ${SEC[$s.osm_c]}"); restore <= tar -x: $(goal "${SEC[$s.osm_r]} <= ${SEC[$s.tar_x]}"); peak RSS < 100 MiB: $(goal "$peak < 100 * 1024")${RESTIC:+; ahead of restic (first, unchanged): $(goal "${SEC[$s.osm_c]} < ${SEC[$s.restic_c]:-0} and ${SEC[$s.osm_c2]} < ${SEC[$s.restic_c2]:-0}")}"
done
echo
echo "(ratio < 1: osmig is faster; seconds are wall time; RSS is the peak resident set)"
