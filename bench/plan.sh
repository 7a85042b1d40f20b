#!/usr/bin/env bash
# bench/plan.sh: osmig plan against dnf distro-sync, side by side, in one run.
#
# Target: the real CentOS Stream 9 BaseOS + AppStream metadata in
# $OSMIG_REALDATA/repos (about 18,700 packages). Source: a root whose rpmdb
# holds the real NEVRAs of $OSMIG_REALDATA/pkglists/$BENCH_LIST.tsv as stub
# RPMs (tests/fixtures/make-pkglist-root.py, cached). Both tools get the same
# root copy and the same two repositories as file:// URLs.
#
#   cold: each run with an empty tool cache (osmig: a fresh OSMIG_CACHE_DIR;
#         dnf: a fresh --setopt=cachedir). The OS page cache stays warm.
#   warm: one priming run fills each tool's cache, then the timed runs.
# Runs alternate osmig/dnf so that a noisy machine hurts both alike. Prints
# per-run figures, then medians, ratios dnf/osmig, and peak RSS (GNU time).
#
# With -i it also counts osmig's instructions (valgrind --tool=callgrind, all
# threads) for one cold and one warm run: a figure a busy machine does not
# blur, unlike wall time.
#
# Usage: bench/plan.sh [-n RUNS] [-k] [-i]  (RUNS default 5; -k keeps the work dir)
# Env:   OSMIG_REALDATA (default ../shared/realdata), OSMIG_BIN (default build/osmig),
#        OSMIG_FIXTURE_CACHE (default build/fixture-cache), BENCH_LIST
#        (default CentOS8Modularitylabel), BENCH_MATRIX (a matrix file to use
#        instead of the generated one), BENCH_DNF_ARGS (extra dnf arguments,
#        e.g. --allowerasing to let dnf erase what it cannot upgrade, as osmig's
#        plan does; split on spaces).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
runs=5 keep=0 instr=0
while getopts "n:ki" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    k) keep=1 ;;
    i) instr=1 ;;
    *) echo "usage: $0 [-n RUNS] [-k] [-i]" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench/plan.sh: -n wants a positive number, got '$runs'" >&2; exit 2; }

realdata=${OSMIG_REALDATA:-$src/../shared/realdata}
list=${BENCH_LIST:-CentOS8Modularitylabel}
osmig=${OSMIG_BIN:-$src/build/osmig}
export OSMIG_FIXTURE_CACHE=${OSMIG_FIXTURE_CACHE:-$src/build/fixture-cache}
baseos=$realdata/repos/cs9-baseos
appstream=$realdata/repos/cs9-appstream
for d in "$baseos/repodata/repomd.xml" "$appstream/repodata/repomd.xml" "$realdata/pkglists/$list.tsv"; do
  if [ ! -f "$d" ]; then
    echo "SKIP: bench/plan.sh needs the real data ($d not found); set OSMIG_REALDATA" >&2
    exit 0
  fi
done
[ -x /usr/bin/time ] || { echo "bench/plan.sh: /usr/bin/time missing (Debian package 'time', see scripts/install-deps.sh)" >&2; exit 1; }
command -v dnf >/dev/null || { echo "bench/plan.sh: dnf missing (Debian package 'dnf')" >&2; exit 1; }
have_osmig=1
if [ ! -x "$osmig" ]; then
  echo "note: $osmig not built; measuring dnf only" >&2
  have_osmig=0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/osmig-bench.XXXXXX")
cleanup() { if [ "$keep" = 1 ]; then echo "work dir kept: $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

echo "== source root: $list (stub RPMs with the real NEVRAs)"
fixture=$(OSMIG_REALDATA=$realdata /usr/bin/python3 tests/fixtures/make-pkglist-root.py "$list")
root=$work/root
cp -a "$fixture/root" "$root"
# Debian's rpm (under dnf) looks for the rpmdb at ROOT/root/.rpmdb.
mkdir -p "$root/root"
ln -s ../var/lib/rpm "$root/root/.rpmdb"
installed=$(rpm --root "$root" --dbpath /var/lib/rpm -qa | wc -l)
osrel() { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$root/etc/os-release"; }
src_id=$(osrel ID) src_version=$(osrel VERSION_ID)
echo "   $installed packages installed, os-release ID=$src_id VERSION_ID=$src_version"

matrix=${BENCH_MATRIX:-$work/cs9-matrix.json}
if [ -z "${BENCH_MATRIX:-}" ]; then
  cat > "$matrix" <<EOF
{
  "osmig_matrix": 1,
  "comment": "bench/plan.sh: CentOS Stream 9 from the real metadata in \$OSMIG_REALDATA/repos",
  "targets": {
    "cs9": {
      "name": "CentOS Stream 9",
      "os_id": "centos",
      "version": "9",
      "el_version": "9.0",
      "arches": ["x86_64"],
      "release_package": "centos-stream-release",
      "vendors": ["CentOS"],
      "repos": [
        {"id": "cs9-baseos", "name": "CentOS Stream 9 - BaseOS", "baseurl": "file://$baseos", "gpgcheck": false},
        {"id": "cs9-appstream", "name": "CentOS Stream 9 - AppStream", "baseurl": "file://$appstream", "gpgcheck": false}
      ]
    }
  },
  "paths": [
    {"from": {"id": "$src_id", "versions": ["$src_version"]}, "to": "cs9", "arches": ["x86_64"]}
  ]
}
EOF
fi

mkdir -p "$work/empty-reposdir"
printf '[main]\ngpgcheck=0\n' > "$work/dnf.conf"

# run_tool TOOL CACHEDIR LOG: one timed run; prints "WALL_MS RSS_KIB CPU_MS STATUS".
# CPU time (user + system) is printed beside wall time because a shared
# machine stretches wall time for both tools alike.
run_tool() {
  local tool=$1 cache=$2 log=$3 t0 t1 rc=0
  local -a cmd
  if [ "$tool" = osmig ]; then
    cmd=(env OSMIG_CACHE_DIR="$cache" "$osmig" plan "dir:$root" --to cs9 --matrix "$matrix"
         --repo "cs9-baseos=file://$baseos" --repo "cs9-appstream=file://$appstream"
         -o "$work/plan.json")
  else
    cmd=(dnf -c "$work/dnf.conf" --installroot "$root" --releasever 9 --noplugins --nogpgcheck
         --setopt=reposdir="$work/empty-reposdir" --setopt=cachedir="$cache"
         --repofrompath="cs9-baseos,file://$baseos" --repofrompath="cs9-appstream,file://$appstream"
         ${BENCH_DNF_ARGS:-} distro-sync --assumeno)
  fi
  t0=$(date +%s%N)
  /usr/bin/time -f '%M %U %S' -o "$work/rss" "${cmd[@]}" > "$log" 2>&1 || rc=$?
  t1=$(date +%s%N)
  # /usr/bin/time appends "Command exited with non-zero status N" before its line.
  local kib u s
  read -r kib u s < <(tail -n1 "$work/rss")
  echo "$(( (t1 - t0) / 1000000 )) $kib $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%d", (u + s) * 1000 }') $rc"
}

# A run counts when the tool got as far as a transaction or a solver verdict:
# osmig exits 0 (plan) or 3 (plan with inhibitors); dnf --assumeno exits 1
# after printing its transaction ("Operation aborted") or its problems.
ran_ok() {
  local tool=$1 rc=$2 log=$3
  if [ "$tool" = osmig ]; then [ "$rc" = 0 ] || [ "$rc" = 3 ]; return; fi
  grep -qE 'Operation aborted|Transaction Summary|Problem|Nothing to do|Dependencies resolved' "$log"
}

results=$work/results.tsv
: > "$results"
record() {  # MODE TOOL "MS KIB CPU_MS RC" LOG
  local mode=$1 tool=$2 ms kib cpu rc
  read -r ms kib cpu rc <<< "$3"
  if ran_ok "$tool" "$rc" "$4"; then
    printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$tool" "$ms" "$kib" "$cpu" >> "$results"
    awk -v m="$mode" -v t="$tool" -v ms="$ms" -v kib="$kib" -v cpu="$cpu" -v rc="$rc" \
      'BEGIN { printf "   %-5s %-5s %8.3f s wall %8.3f s cpu %8.1f MiB  exit %s\n", m, t, ms / 1000, cpu / 1000, kib / 1024, rc }'
  else
    printf '   %-5s %-5s FAILED (exit %s), last lines of its output:\n' "$mode" "$tool" "$rc"
    tail -n 5 "$4" | sed 's/^/      /'
  fi
}

tools=(dnf)
[ "$have_osmig" = 1 ] && tools=(osmig dnf)

echo "== cold: $runs runs each, empty caches"
for i in $(seq "$runs"); do
  for t in "${tools[@]}"; do
    record cold "$t" "$(run_tool "$t" "$work/cold-$t-$i" "$work/cold-$t-$i.log")" "$work/cold-$t-$i.log"
    rm -rf "$work/cold-$t-$i"
  done
done

echo "== warm: 1 priming run, then $runs runs each"
for t in "${tools[@]}"; do
  run_tool "$t" "$work/warm-$t" "$work/prime-$t.log" > /dev/null
done
for i in $(seq "$runs"); do
  for t in "${tools[@]}"; do
    record warm "$t" "$(run_tool "$t" "$work/warm-$t" "$work/warm-$t-$i.log")" "$work/warm-$t-$i.log"
  done
done

if [ "$instr" = 1 ] && [ "$have_osmig" = 1 ]; then
  command -v valgrind >/dev/null || { echo "bench/plan.sh: -i needs valgrind (Debian package 'valgrind')" >&2; exit 1; }
  echo "== osmig instructions (callgrind, all threads)"
  count_instr() {  # MODE CACHEDIR
    env OSMIG_CACHE_DIR="$2" valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$1" "$osmig" plan \
      "dir:$root" --to cs9 --matrix "$matrix" --repo "cs9-baseos=file://$baseos" \
      --repo "cs9-appstream=file://$appstream" -o "$work/plan-$1.json" 2>&1 |
      sed -n 's/.*Collected : \([0-9]*\).*/\1/p' |
      awk -v m="$1" '{ printf "   %-5s osmig %8.3f G instructions\n", m, $1 / 1e9 }'
  }
  count_instr cold "$work/instr-cold"
  count_instr warm "$work/warm-osmig"
fi

# What each tool decided (last warm run), to show they solved the same problem.
echo "== what they computed"
if [ "$have_osmig" = 1 ] && [ -f "$work/plan.json" ]; then
  /usr/bin/python3 - "$work/plan.json" <<'PY' || true
import collections, json, sys
d = json.load(open(sys.argv[1]))
acts = d.get("actions") or d.get("transaction") or []
c = collections.Counter(a.get("action", "?") for a in acts if isinstance(a, dict))
inh = [i.get("id") for i in d.get("inhibitors", []) if isinstance(i, dict)]
print("   osmig:", ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "no actions",
      "| inhibitors:", ", ".join(inh) or "none")
PY
fi
last_dnf=$work/warm-dnf-$runs.log
if [ -f "$last_dnf" ]; then
  summary=$(grep -E '^(Install|Upgrade|Downgrade|Remove|Reinstall|Obsolet)[a-z]* +[0-9]+ Package' "$last_dnf" | tr -s ' ' | paste -sd, - || true)
  problems=$(grep -c '^ Problem' "$last_dnf" || true)
  echo "   dnf: ${summary:-no transaction} | problems: $problems"
fi

echo "== results ($installed installed packages, $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
/usr/bin/python3 - "$results" "${tools[*]}" <<'PY'
import collections, statistics, sys
times, rss, cpu = collections.defaultdict(list), collections.defaultdict(list), collections.defaultdict(list)
for line in open(sys.argv[1]):
    mode, tool, ms, kib, c = line.split()
    times[mode, tool].append(int(ms))
    rss[mode, tool].append(int(kib))
    cpu[mode, tool].append(int(c))
tools = sys.argv[2].split()
print(f"   {'mode':5} {'tool':5} {'median':>9} {'min':>9} {'max':>9} {'cpu med':>9} {'peak RSS':>10}")
for mode in ("cold", "warm"):
    for t in tools:
        v = times.get((mode, t))
        if not v:
            print(f"   {mode:5} {t:5} {'failed':>9}")
            continue
        print(f"   {mode:5} {t:5} {statistics.median(v)/1000:8.3f}s {min(v)/1000:8.3f}s {max(v)/1000:8.3f}s "
              f"{statistics.median(cpu[mode, t])/1000:8.3f}s {statistics.median(rss[mode, t])/1024:8.1f}MiB")
if "osmig" in tools:
    for mode, goal in (("cold", 2), ("warm", 5)):
        o, d = times.get((mode, "osmig")), times.get((mode, "dnf"))
        if o and d:
            r = statistics.median(d) / statistics.median(o)
            rc = statistics.median(cpu[mode, "dnf"]) / max(1, statistics.median(cpu[mode, "osmig"]))
            m = statistics.median(rss[mode, "osmig"]) / statistics.median(rss[mode, "dnf"])
            print(f"   {mode}: dnf/osmig wall time {r:.2f}x, cpu time {rc:.2f}x (goal >= {goal}x), "
                  f"osmig/dnf peak memory {m:.2f} (goal < 0.5)")
PY
