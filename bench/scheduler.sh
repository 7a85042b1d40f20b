#!/usr/bin/env bash
# bench/scheduler.sh [BUILD_DIR] [POSTGRES_URL]: the cost of one scheduler
# pass over 100,000 waiting tasks in 100 jobs (a few window specs, one of
# them open now; then again with every task due), a server with room for 8
# tasks, median of 5 passes, against the goal of 100 ms. SQLite on
# the disk of $TMPDIR and on /dev/shm; PostgreSQL too when a URL is given
# (instance names are unique to the run, so a database used before will do).
# N_TASKS / N_JOBS / PASSES in the environment change the sizes.
set -euo pipefail
build=${1:-build}
pg=${2:-}
n=${N_TASKS:-100000}
jobs=${N_JOBS:-100}
passes=${PASSES:-5}
bench="$build/tests/sched/scheduler_bench"
[ -x "$bench" ] || { echo "bench/scheduler.sh: build first ($bench missing)" >&2; exit 1; }
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for where in "${TMPDIR:-/tmp}" /dev/shm; do
  [ -w "$where" ] || continue
  d=$(mktemp -d "$where/osmig-sched-bench-XXXXXX")
  echo "== SQLite in $where"
  "$bench" "$d" "$n" "$jobs" "$passes" || { rm -rf "$d"; exit 1; }
  rm -rf "$d"
  d=$(mktemp -d "$where/osmig-sched-bench-XXXXXX")
  echo "== SQLite in $where, every task due"
  "$bench" "$d" "$n" "$jobs" "$passes" all-due || { rm -rf "$d"; exit 1; }
  rm -rf "$d"
done
if [ -n "$pg" ]; then
  echo "== PostgreSQL"
  "$bench" "$pg" "$n" "$jobs" "$passes"
  echo "== PostgreSQL, every task due"
  "$bench" "$pg" "$n" "$jobs" "$passes" all-due
fi
