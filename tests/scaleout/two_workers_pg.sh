#!/usr/bin/env bash
# Proves: two `osmig serve` processes sharing one PostgreSQL store, as if on
# two hosts (OSMIG_OWNER_HOST), split a job's tasks without running any
# twice; when the one running a task is killed with SIGKILL mid-step, the
# other takes the task over only once the dead one's lease has run out
# (serve --lease, short here), resumes it from its recorded step (the
# steps whose outcome was recorded before the kill are not run again), and
# every task of the job ends succeeded exactly once, with no step outcome
# recorded twice in any journal. Then `osmig rollback --server` of one of
# them restores its root exactly.
#
# Real parts: PostgreSQL (tests/fleet/pg_server.sh), the sample root and
# target repository from tests/fixtures, lighttpd serving the repository
# slowly (so that staging takes a while), the real osmig binary.
. "${OSMIG_SOURCE_DIR:?run under ctest}/tests/linux/migrate/lib.sh"
command -v lighttpd >/dev/null || { echo "SKIP: lighttpd not installed (scripts/install-deps.sh)"; exit 77; }
HERE=$OSMIG_SOURCE_DIR/tests/scaleout
. "$HERE/serve_lib.sh"
LEASE=6 # seconds
PGDIR=$(mktemp -d /tmp/osmig-pg-XXXXXX)
PIDS=()
scale_cleanup() {
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && { kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }
  done
  bash "$OSMIG_SOURCE_DIR/tests/fleet/pg_server.sh" stop "$PGDIR" >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap 'scale_cleanup; cleanup' EXIT

command -v psql >/dev/null || { echo "SKIP: psql not installed (package postgresql-client)"; exit 77; }
rc=0; PG=$(bash "$OSMIG_SOURCE_DIR/tests/fleet/pg_server.sh" start "$PGDIR") || rc=$?
[ "$rc" = 0 ] || exit "$rc"
sample_setup
httpd_start "$REPO" 6 # KB/s per connection: staging takes seconds
write_matrix "$WORK/matrix.json" "http://127.0.0.1:$HTTPD_PORT/"
unset OSMIG_SERVER
export OSMIG_STATE_DIR=$WORK/state
mkdir -p "$OSMIG_STATE_DIR"
"$OSMIG_BIN" key create --role admin --store "$PG" >"$WORK/key" 2>/dev/null || { cat "$WORK/key"; fail "key create"; }
export OSMIG_ACCESS_KEY_ID=$(sed -n 's/^key_id=//p' "$WORK/key") OSMIG_ACCESS_KEY_SECRET=$(sed -n 's/^secret=//p' "$WORK/key")

# serve NAME: a server "on host NAME"; sets URL_NAME and PID_NAME.
serve() {
  local name=$1 url=
  OSMIG_OWNER_HOST=$name OSMIG_LOG=info "$OSMIG_BIN" serve --listen 127.0.0.1:0 --store "$PG" --state-dir "$OSMIG_STATE_DIR" \
    --workers 1 --scheduler-interval 1 --lease "$LEASE" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  url=$(listening_url "osmig serve $name" "$WORK/$name.out" "$WORK/$name.err" "$pid") || exit 1
  printf -v "URL_$name" %s "$url"
  printf -v "PID_$name" %s "$pid"
}
serve hosta
serve hostb

roots=()
for i in 1 2 3; do fresh_root "$WORK/r$i"; roots+=("\"dir:$WORK/r$i\""); done
original=$(digest "$WORK/r1")
body=$(printf '{"name":"scale-out","target":"sample-alinux3","instances":[%s],"max_concurrency":"3","max_errors":"0",
 "options":{"matrix":["%s"],"snapshot_store":"%s","cache_dir":"%s"}}' \
  "$(IFS=,; echo "${roots[*]}")" "$WORK/matrix.json" "$WORK/snaps" "$WORK/cache")
python3 "$HERE/api_call.py" "$URL_hosta" POST /v1/jobs "$body" >"$WORK/job.json" || fail "job not created"
mapfile -t ids < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["task_ids"]))' "$WORK/job.json")
[ "${#ids[@]}" = 3 ] || fail "job has ${#ids[@]} tasks, want 3"

show() { # URL ID -> the task's JSON in $WORK/show.json
  "$OSMIG_BIN" task show "$2" --json --server "$1" >"$WORK/show.json" 2>"$WORK/show.err" || { cat "$WORK/show.err"; fail "task show $2"; }
}
field() { # top-level string or boolean KEY of $WORK/show.json (osmig prints one member a line)
  sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$WORK/show.json" | head -1
}

# Wait until a task runs staging with its snapshot recorded, then kill the
# server that runs it, mid-step.
victim= owner= deadline=$((SECONDS + 240))
while [ -z "$victim" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no task reached staging in time"
  for id in "${ids[@]}"; do
    show "$URL_hosta" "$id"
    # Once the claim is the heartbeat's (at most --lease ahead), not the
    # runner's first one.
    if [ "$(field phase)" = staging ] && [ -n "$(field owner)" ] &&
      [ "$(psql "$PG" -Atc "SELECT lease_until - extract(epoch FROM now())::bigint <= $LEASE FROM tasks WHERE id = '$id'")" = t ]; then
      victim=$id owner=$(field owner)
      break
    fi
  done
  sleep 0.1
done
case $owner in
  hosta/*) dead=hosta survivor=hostb ;;
  hostb/*) dead=hostb survivor=hosta ;;
  *) fail "task $victim is owned by '$owner', not by a server of this test" ;;
esac
dead_pid_var=PID_$dead
# The host dies: the server and the processes it runs tasks in (each in
# its own process group, so they are named by their parent).
dead_pid=${!dead_pid_var}
kill -9 "$dead_pid" $(pgrep -P "$dead_pid" || true)
killed_at=$(date +%s)
# The dead server's claim as the store has it: nobody may take the task
# before this (a renewal racing the kill can only make it later).
lease_until=$(psql "$PG" -Atc "SELECT lease_until FROM tasks WHERE id = '$victim'")
URL_survivor_var=URL_$survivor
SURVIVOR=${!URL_survivor_var}
cp "$WORK/show.json" "$WORK/at-kill.json"
echo "killed $dead (pid ${!dead_pid_var}) at $(date -u -d @$killed_at +%H:%M:%S) while it ran $victim in staging; $survivor goes on"

# Every task ends; the survivor does the rest.
deadline=$((SECONDS + 480))
for id in "${ids[@]}"; do
  while :; do
    show "$SURVIVOR" "$id"
    [ "$(field finished)" = true ] && break
    [ "$SECONDS" -lt "$deadline" ] || { cat "$WORK/show.json"; fail "task $id did not finish"; }
    sleep 0.5
  done
  cp "$WORK/show.json" "$WORK/final-$id.json"
done

python3 - "$WORK" "$victim" "$killed_at" "$lease_until" "$survivor" "${ids[@]}" <<'EOF' || fail "the tasks' records are wrong (above; logs in $WORK/host*.err)"
import collections, json, sys, time
work, victim, killed_at, lease_until, survivor, ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6:]
def t(s):
    return int(time.mktime(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone)
bad = []
for id in ids:
    d = json.load(open("%s/final-%s.json" % (work, id)))
    if d["state"] != "succeeded":
        bad.append("%s is %s: %s" % (id, d["state"], d.get("error")))
    n = sum(1 for e in d["history"] if e["type"] == "succeeded")
    if n != 1:
        bad.append("%s: %d 'succeeded' events" % (id, n))
    outcomes = collections.Counter(e["step"] for e in d["journal"] if e["what"] == "outcome")
    twice = [s for s, c in outcomes.items() if c > 1]
    if twice:
        bad.append("%s: step outcomes recorded twice: %s" % (id, twice))
at_kill = json.load(open("%s/at-kill.json" % work))
final = json.load(open("%s/final-%s.json" % (work, victim)))
done_before = [e["step"] for e in at_kill["journal"] if e["what"] == "outcome"]
if "snapshot" not in done_before:
    bad.append("the snapshot outcome was not recorded before the kill: %s" % done_before)
for step in done_before:
    intents = [e for e in final["journal"] if e["step"] == step and e["what"] == "intent"]
    if len(intents) != 1:
        bad.append("%s: step %s was begun %d times; it was done before the kill" % (victim, step, len(intents)))
# The survivor began staging again after the kill. Times are whole
# seconds: a record of the dying server's runner in the second of the kill
# is not the survivor's, and the survivor cannot take over within that
# second (the lease runs beyond it), so "after" starts with the next one.
later = [e for e in final["journal"] if t(e["at"]) > killed_at]
if not any(e["step"] == "stage" and e["what"] == "intent" for e in later):
    bad.append("%s: staging was not begun again after the kill: %s" % (victim, later))
if not (final.get("owner") or "").startswith(survivor + "/") and final.get("owner") is not None:
    bad.append("%s ends owned by %s, not %s" % (victim, final.get("owner"), survivor))
# Nothing happened to the task between the kill and the end of the dead
# server's lease (store times, both from the store's clock).
first_after = min((t(e["at"]) for e in later), default=None)
if first_after is None:
    bad.append("%s: nothing recorded after the kill" % victim)
elif first_after <= lease_until:
    bad.append("%s: taken over at %d, killed at %d, but the lease ran until %d" % (victim, first_after, killed_at, lease_until))
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
EOF

# Nothing ran twice across the two servers: each step intent of a task that
# did not die mid-way appears once.
for id in "${ids[@]}"; do
  [ "$id" = "$victim" ] && continue
  python3 -c '
import collections, json, sys
d = json.load(open(sys.argv[1]))
c = collections.Counter(e["step"] for e in d["journal"] if e["what"] == "intent")
twice = [s for s, n in c.items() if n > 1]
sys.exit("%s: steps begun twice: %s" % (d["id"], twice) if twice else 0)' "$WORK/final-$id.json" || fail "a task ran a step twice"
done

# The client: rollback --server of a succeeded task restores its root.
r1_task=${ids[0]}
"$OSMIG_BIN" rollback "$r1_task" --yes --server "$SURVIVOR" >"$WORK/rb.out" 2>&1 || { cat "$WORK/rb.out"; fail "osmig rollback --server failed"; }
assert_grep "^$r1_task rolling_back *rollback.start" "$WORK/rb.out"
assert_grep "^$r1_task rolled_back" "$WORK/rb.out"
[ "$(digest "$WORK/r1")" = "$original" ] || fail "rollback --server did not restore the original root"
echo PASS
