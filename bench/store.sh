#!/usr/bin/env bash
# bench/store.sh [BUILD_DIR] [N]: the cost of a runner record (task update +
# history event + journal entry in one transaction) in osmig's SQLite store,
# side by side with the sqlite3 shell running the same statements on a
# database with the same pragmas: the floor. On the disk of $TMPDIR (fsync
# for real) and on /dev/shm (fsync free).
#
# Then the fleet operations (fleet_store_bench) over FLEET_N tasks (default
# 100000; 0 skips them): create_job of 1,000 and of FLEET_N tasks, a page of
# a job's tasks, a page by state, per-state counts, list_waiting and a claim,
# in milliseconds; on SQLite (disk of $TMPDIR) and on PostgreSQL (a throwaway
# server from tests/fleet/pg_server.sh, fsync off: the disk is left out).
set -euo pipefail
build=${1:-build}
n=${2:-2000}
bench="$build/tests/unit/store_bench"
[ -x "$bench" ] || { echo "bench/store.sh: build first ($bench missing)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench/store.sh: needs the sqlite3 shell (Debian package sqlite3)" >&2; exit 1; }

floor() { # DB N
  local db=$1 n=$2 sql
  sql=$(mktemp)
  {
    echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
    echo "CREATE TABLE tasks(id TEXT PRIMARY KEY, state TEXT, phase TEXT, step INT, attempted INT, rev INT, updated INT);"
    echo "CREATE TABLE task_events(seq INTEGER PRIMARY KEY, task_id TEXT, at INT, type TEXT, message TEXT);"
    echo "CREATE TABLE step_journal(seq INTEGER PRIMARY KEY, task_id TEXT, at INT, step_index INT, step TEXT, what TEXT, result TEXT, detail TEXT);"
    echo "INSERT INTO tasks VALUES('t-1','running','staging',0,0,0,0);"
    for ((i = 0; i < n; i++)); do
      echo "BEGIN IMMEDIATE; UPDATE tasks SET step=$((i / 2)), attempted=$((1 - i % 2)), rev=rev+1, updated=$i WHERE id='t-1' AND state='running';"
      echo "INSERT INTO task_events(task_id, at, type, message) VALUES('t-1', $i, 'step.start', 'stage');"
      echo "INSERT INTO step_journal(task_id, at, step_index, step, what) VALUES('t-1', $i, 2, 'stage', 'intent'); COMMIT;"
    done
  } >"$sql"
  local t0 t1
  t0=$(date +%s.%N)
  sqlite3 "$db" <"$sql" >/dev/null
  t1=$(date +%s.%N)
  rm -f "$sql"
  awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "sqlite3 shell (floor): %d records in %.3f s = %.0f records/s\n", n, b - a, n / (b - a) }'
}

for where in "${TMPDIR:-/tmp}" /dev/shm; do
  [ -w "$where" ] || continue
  d=$(mktemp -d "$where/osmig-bench-XXXXXX")
  echo "== $where ($n records)"
  "$bench" "$d/store" "$n"
  floor "$d/floor.db" "$n"
  rm -rf "$d"
done

fleet_n=${FLEET_N:-100000}
fleet="$build/tests/fleet/fleet_store_bench"
if [ "$fleet_n" != 0 ]; then
  [ -x "$fleet" ] || { echo "bench/store.sh: build first ($fleet missing)" >&2; exit 1; }
  d=$(mktemp -d "${TMPDIR:-/tmp}/osmig-bench-XXXXXX")
  echo "== fleet, SQLite on ${TMPDIR:-/tmp}"
  "$fleet" "$d/store" "$fleet_n"
  rm -rf "$d"
  echo "== fleet, PostgreSQL"
  src=$(cd "$(dirname "$0")/.." && pwd)
  rc=0
  bash "$src/tests/fleet/with_pg.sh" sh -c '"$0" "$OSMIG_TEST_PG_URL" "$1"' "$fleet" "$fleet_n" || rc=$?
  [ "$rc" = 77 ] && echo "(PostgreSQL is not installed: skipped)"
  [ "$rc" = 0 ] || [ "$rc" = 77 ] || exit "$rc"
fi
