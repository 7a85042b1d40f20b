#!/usr/bin/env bash
# bench/api.sh [BUILD_DIR]: the fleet API under load on loopback.
#
# Fills a store with $N tasks (default 100,000; bench/api_fill, jobs of
# 1,000 through the store's create_job), starts `osmig serve` on it and runs
# wrk (Debian package wrk) against it, every request signed:
#   (a) GET /v1/tasks/{id} over random ids of the store, as fast as the
#       server answers $CONNS connections (the throughput), then (a') paced
#       at the goal's 5,000 requests/s (api.lua's open loop, as wrk2 does:
#       the latency of a server offered that rate, the goal's p99),
#   (b) POST /v1/jobs, each a job of one instance on its own directory,
#       scheduled for the next day (a submission for a maintenance window,
#       the usual fleet submission: this measures the API's path; the goal
#       line), flat out and then (b') paced at 1,000 a second,
#   (c) the same with jobs that start at once: the server's workers claim
#       the tasks and run them in child processes meanwhile, whose writes
#       take the store's write lock too (the API competing with the work),
# then times scheduler passes over the $N waiting tasks (the server's
# osmig_scheduler_pass_seconds histogram). (a), (a'), (b) and (b') run twice
# in the one run, on one store: first without the request log, then with
# `serve --audit-log` (a JSON line per request, on the same file system as
# the store), and both are printed. wrk's Lua cannot compute an HMAC
# and the server never accepts a nonce twice, so bench/api_presign signs
# every request beforehand and bench/api.lua replays each one once.
# Prints goal and measured side by side.
#
# Environment: OSMIG_BENCH_TASKS (N), OSMIG_BENCH_SECONDS (wrk duration,
# default 10), OSMIG_BENCH_CONNECTIONS (default 16), OSMIG_BENCH_WORKERS
# (serve --workers, default 2), OSMIG_BENCH_STORE (a postgresql:// URL to
# use instead of SQLite in the state directory), OSMIG_BENCH_PERF=1 or dwarf
# (record the server with perf during each run and print where its time
# goes). Build with -DCMAKE_BUILD_TYPE=RelWithDebInfo for figures.
set -euo pipefail
build=${1:-build}
bin=$build/osmig
presign=$build/bench/api_presign
fill=$build/bench/api_fill
N=${OSMIG_BENCH_TASKS:-100000}
DUR=${OSMIG_BENCH_SECONDS:-10}
CONNS=${OSMIG_BENCH_CONNECTIONS:-16}
WORKERS=${OSMIG_BENCH_WORKERS:-2}
here=$(cd "$(dirname "$0")" && pwd)
for f in "$bin" "$presign" "$fill"; do
  [ -x "$f" ] || { echo "bench/api.sh: build first ($f missing)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "bench/api.sh: needs wrk (Debian package wrk; scripts/install-deps.sh)" >&2; exit 1; }
PY=$(command -v /usr/bin/python3 || command -v python3)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/osmig-bench-api.XXXXXX")
SERVE_PID=
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export OSMIG_STATE_DIR=$WORK/state OSMIG_NO_AUTO_RESUME=1
mkdir -p "$OSMIG_STATE_DIR"
STORE=${OSMIG_BENCH_STORE:-$OSMIG_STATE_DIR}

echo "== filling the store with $N tasks"
"$fill" "$STORE" "$N" "$WORK/ids"

# An admin key; `osmig key create` prints the id and the secret once.
"$bin" key create --role admin --store "$STORE" >"$WORK/key" 2>&1 || { cat "$WORK/key"; exit 1; }
OSMIG_ACCESS_KEY_ID=$(sed -n 's/^key_id[:=][[:space:]]*//p' "$WORK/key" | head -1)
OSMIG_ACCESS_KEY_SECRET=$(sed -n 's/^secret[:=][[:space:]]*//p' "$WORK/key" | head -1)
[ -n "$OSMIG_ACCESS_KEY_ID" ] && [ -n "$OSMIG_ACCESS_KEY_SECRET" ] || { cat "$WORK/key"; echo "bench/api.sh: no key in the output above" >&2; exit 1; }
export OSMIG_ACCESS_KEY_ID OSMIG_ACCESS_KEY_SECRET

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$port
# start_server [ARGS...]: `osmig serve` on the store, ready.
start_server() {
  "$bin" serve --listen "127.0.0.1:$port" --store "$STORE" --workers "$WORKERS" --public-metrics "$@" \
    >>"$WORK/serve.log" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 100); do
    curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.log"; echo "bench/api.sh: osmig serve died" >&2; exit 1; }
    sleep 0.1
  done
}
stop_server() {
  kill "$SERVE_PID" && wait "$SERVE_PID" 2>/dev/null || true
  SERVE_PID=
}

# The server's CPU time so far (user + system, clock ticks): the machine is
# shared, so requests per CPU-second of the server say more than wall rates.
server_cpu() { awk '{ print $14 + $15 }' "/proc/$SERVE_PID/stat"; }
# per_cpu NAME -> "CPU_SECONDS REQUESTS_PER_CPU_SECOND"
per_cpu() {
  local ticks; ticks=$(cat "$WORK/$1.cpu")
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" '/ requests in / { n = $1 } END { s = t / hz; printf "%.2f %.0f\n", s, (s > 0 ? n / s : 0) }' "$WORK/$1.wrk"
}

# run_wrk NAME FILE [RATE]: wrk replaying FILE (paced at RATE requests/s
# when given); its output in $WORK/NAME.wrk, and with OSMIG_BENCH_PERF the
# server's profile in $WORK/NAME.perf.txt.
run_wrk() {
  local name=$1 file=$2 rate=${3:-} perf_pid=
  if [ -n "${OSMIG_BENCH_PERF:-}" ]; then
    # OSMIG_BENCH_PERF=dwarf: full stacks through libraries built without
    # frame pointers (bigger, slower to record).
    local cg=-g
    [ "$OSMIG_BENCH_PERF" = dwarf ] && cg="--call-graph=dwarf,16384"
    perf record -F 499 "$cg" -p "$SERVE_PID" -o "$WORK/$name.perf" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  # The setup's own writes (the signed requests, 40,000 instance
  # directories) reach the disk now, not as writeback during the run.
  sync
  local cpu0; cpu0=$(server_cpu)
  wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s "$here/api.lua" "$URL" -- "$file" 2 $rate >"$WORK/$name.wrk" 2>&1
  echo "$(( $(server_cpu) - cpu0 ))" >"$WORK/$name.cpu"
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    perf report -i "$WORK/$name.perf" --no-children --sort dso,symbol -g none --stdio 2>/dev/null |
      grep -E '^ +[0-9.]+%' | head -30 >"$WORK/$name.perf.txt" || true
    # Inclusive time of osmig's own functions and the libraries' entry
    # points: which part of a request the time goes to.
    perf report -i "$WORK/$name.perf" --children --sort symbol -g none --stdio 2>/dev/null |
      grep -E '^ +[0-9.]+% +[0-9.]+%' |
      grep -E ' (osm_|api_|apij_|serve|authenticate|on_access|sqlite3_(step|prepare_v[23]|exec)|json_(dumps|loads?b?)|HMAC|EVP_(Decrypt|Digest)|MHD_|PQ)' |
      head -40 >"$WORK/$name.perf-incl.txt" || true
    [ -n "${OSMIG_BENCH_PERF_OUT:-}" ] && cp "$WORK/$name.perf" "$OSMIG_BENCH_PERF_OUT.$name.data"
  fi
  cat "$WORK/$name.wrk"
}
# wrk_summary NAME -> "RPS P99_MS NON2XX"
wrk_summary() {
  awk '
    /Requests\/sec:/ { rps = $2 }
    $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                  ms = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    END { printf "%s %s %d\n", rps, ms, bad + 0 }' "$WORK/$1.wrk"
}

# measure VAR NAME FILE [RATE]: run_wrk, then VAR_rps_$log, VAR_p99_$log
# and VAR_bad_$log from its summary.
measure() {
  local var=$1; shift
  run_wrk "$@"
  read -r "${var}_rps_$log" "${var}_p99_$log" "${var}_bad_$log" < <(wrk_summary "$1")
}

# Enough signed requests for three times the goal rate (a thread that runs
# out stops rather than replay a nonce).
echo "== signing requests"
n_desc=$((DUR * 5000 * 3))
n_create=$((DUR * 1000 * 4))
for log in off on; do
  "$presign" describe "$URL" "$WORK/ids" "$n_desc" "$WORK/describe-$log.req"
  "$presign" create "$URL" "$WORK/instances-$log" alinux3 "$n_create" "$WORK/create-$log.req"
  "$presign" describe "$URL" "$WORK/ids" $((DUR * 5000 * 5 / 4)) "$WORK/describe-paced-$log.req"
  "$presign" create "$URL" "$WORK/instances-paced-$log" alinux3 $((DUR * 1000 * 5 / 4)) "$WORK/create-paced-$log.req"
done
"$presign" create "$URL" "$WORK/instances-now" alinux3 "$n_create" "$WORK/create-now.req" now

# (a) to (b') without the request log, then with it.
for log in off on; do
  if [ "$log" = on ]; then
    stop_server
    start_server --audit-log "$OSMIG_STATE_DIR/requests.log"
  else
    start_server
  fi
  echo "== request log $log: (a) GET /v1/tasks/{id}, $CONNS connections, ${DUR}s"
  measure d "describe-$log" "$WORK/describe-$log.req"
  echo "== request log $log: (a') the same, offered 5,000 requests/s"
  measure dp "describe-paced-$log" "$WORK/describe-paced-$log.req" 5000
  echo "== request log $log: (b) POST /v1/jobs for a maintenance window, $CONNS connections, ${DUR}s"
  measure c "create-$log" "$WORK/create-$log.req"
  echo "== request log $log: (b') the same, offered 1,000 requests/s"
  measure cp "create-paced-$log" "$WORK/create-paced-$log.req" 1000
done
logged=$(wc -l <"$OSMIG_STATE_DIR/requests.log")
echo "== (c) POST /v1/jobs that start at once, $CONNS connections, ${DUR}s (request log on)"
run_wrk create-now "$WORK/create-now.req"
read -r n_rps n_p99 n_bad < <(wrk_summary create-now)
# Let the tasks started above end (each a child process) before the
# scheduler is timed.
for _ in $(seq 600); do
  running=$(curl -sf "$URL/metrics" | awk '/^osmig_tasks\{state="running"\}/ { n += $2 } END { print n + 0 }')
  [ "$running" -eq 0 ] && break
  sleep 0.1
done

# Scheduler passes: the server's own histogram of pass durations over the
# waiting tasks (N filled + those created above), over the next 3 passes
# once wrk is done (the difference of the histogram's sum and count).
echo "== scheduler passes over the waiting tasks"
pass_stats() {
  curl -sf "$URL/metrics" | awk '
    /^osmig_scheduler_pass_seconds_sum/ { s = $2 } /^osmig_scheduler_pass_seconds_count/ { c = $2 }
    END { printf "%d %.6f\n", c, s }'
}
read -r c0 s0 < <(pass_stats)
for _ in $(seq 300); do
  read -r c1 s1 < <(pass_stats)
  [ "$c1" -ge $((c0 + 3)) ] && break
  sleep 0.1
done
n_pass=$((c1 - c0))
pass_ms=$(awk -v a="$s0" -v b="$s1" -v n="$n_pass" 'BEGIN { printf "%.1f", n ? (b - a) * 1000 / n : -1 }')
waiting=$(curl -sf "$URL/metrics" | awk '/^osmig_tasks\{state="(submitted|scheduled)"\}/ { n += $2 } END { print n + 0 }')

echo
echo "== goal vs measured (N=$N tasks, store $STORE, $CONNS connections, ${DUR}s per run, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
for log in off on; do
  eval "d_rps=\$d_rps_$log d_p99=\$d_p99_$log d_bad=\$d_bad_$log dp_rps=\$dp_rps_$log dp_p99=\$dp_p99_$log"
  eval "dp_bad=\$dp_bad_$log c_rps=\$c_rps_$log c_p99=\$c_p99_$log c_bad=\$c_bad_$log cp_rps=\$cp_rps_$log"
  eval "cp_p99=\$cp_p99_$log cp_bad=\$cp_bad_$log"
  read -r d_cpu d_per < <(per_cpu "describe-$log")
  read -r c_cpu c_per < <(per_cpu "create-$log")
  printf "%-36s %-12s %s\n" "request log $log" "goal" "measured$([ "$log" = on ] && echo " ($logged lines logged)")"
  printf "%-36s %-12s %s\n" "describe GET /v1/tasks/{id}, at most" ">= 5000/s" "$d_rps/s (non-2xx: $d_bad; server CPU $d_cpu s = $d_per per CPU-s)"
  printf "%-36s %-12s %s\n" "  p99 latency at 5000/s offered" "< 20 ms" "$dp_p99 ms ($dp_rps/s answered; non-2xx: $dp_bad)"
  printf "%-36s %-12s %s\n" "  p99 latency, driven flat out" "(no goal)" "$d_p99 ms"
  printf "%-36s %-12s %s\n" "create POST /v1/jobs (window), at most" ">= 1000/s" "$c_rps/s (non-2xx: $c_bad; server CPU $c_cpu s = $c_per per CPU-s)"
  printf "%-36s %-12s %s\n" "  p99 latency at 1000/s offered" "< 20 ms" "$cp_p99 ms ($cp_rps/s answered; non-2xx: $cp_bad)"
  printf "%-36s %-12s %s\n" "  p99 latency, driven flat out" "(no goal)" "$c_p99 ms"
done
read -r n_cpu n_per < <(per_cpu create-now)
printf "%-36s %-12s %s\n" "create, tasks start at once" "(no goal)" "$n_rps/s (non-2xx: $n_bad; server CPU $n_cpu s = $n_per per CPU-s)"
printf "%-36s %-12s %s\n" "  p99 latency" "" "$n_p99 ms"
printf "%-36s %-12s %s\n" "scheduler pass ($waiting waiting)" "< 100 ms" "$pass_ms ms (mean of $n_pass passes)"
if [ -n "${OSMIG_BENCH_PERF:-}" ]; then
  for name in describe-off describe-paced-off create-off create-paced-off describe-on describe-paced-on create-on \
    create-paced-on create-now; do
    echo; echo "== perf: the server during $name (top symbols, self time)"; cat "$WORK/$name.perf.txt"
    echo; echo "== perf: the server during $name (inclusive time of osmig's functions and library entry points)"
    cat "$WORK/$name.perf-incl.txt"
  done
fi
exit 0
