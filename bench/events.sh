#!/bin/bash
# bench/events.sh: time loading + replaying the real PES file over a real
# CentOS 7 package list, osmig (build/tests/linux/events_bench) against the
# same replay in Python (bench/events_replay.py, json.load + sets, as Leapp
# does it), in one run; checks both give the same changes. Prints figures,
# asserts no times.
#
#   bench/events.sh [BUILD_DIR] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
runs=${2:-11}
real=${OSMIG_REALDATA:-$here/../../shared/realdata}
pes=$real/pes/centos-pes-events.json
list=$real/pkglists/CentOS7Many.tsv
if [ ! -f "$pes" ] || [ ! -f "$list" ]; then
    echo "events.sh: needs $pes and $list (set OSMIG_REALDATA)" >&2
    exit 77
fi
bin=$build/tests/linux/events_bench
[ -x "$bin" ] || { echo "events.sh: build first ($bin missing)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "PES file: $pes ($(stat -c %s "$pes") bytes); installed: $list ($(wc -l <"$list") packages); CentOS 7.9 -> EL 8.6 x86_64"
"$bin" "$pes" "$list" 7.9 8.6 x86_64 "$runs" --dump >"$tmp/osmig.out" 2>"$tmp/osmig.err"
python3 "$here/events_replay.py" "$pes" "$list" 7.9 8.6 x86_64 "$runs" >"$tmp/py.out" 2>"$tmp/py.err"
cat "$tmp/osmig.err" "$tmp/py.err"

# Same result? (names only; the Python baseline has no reasons)
for kind in REMOVE INSTALL; do
    diff <(awk -v k=$kind '$1 == k {print $2}' "$tmp/osmig.out" | LC_ALL=C sort) \
         <(awk -v k=$kind '$1 == k {for (i = 2; i <= NF; i++) print $i}' "$tmp/py.out" | LC_ALL=C sort) >/dev/null ||
        { echo "events.sh: osmig and the Python replay disagree on $kind" >&2; exit 1; }
done
osmig_ms=$(sed -n 's/.*total \([0-9.]*\) ms.*/\1/p' "$tmp/osmig.err")
osmig_mb=$(sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p' "$tmp/osmig.err")
py_ms=$(sed -n 's/.*load + apply \([0-9.]*\) ms.*/\1/p' "$tmp/py.err")
py_mb=$(sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p' "$tmp/py.err")
awk -v o="$osmig_ms" -v p="$py_ms" -v om="$osmig_mb" -v pm="$py_mb" 'BEGIN {
    printf "same changes: yes\nosmig %.1f ms, %.1f MiB | python %.1f ms, %.1f MiB | osmig is %.1fx faster, %.1fx less memory\n",
        o, om, p, pm, p / o, pm / om }'
