#!/usr/bin/env bash
# bench/vm-snapshot.sh [BUILD_DIR]: a snapshot set of every disk of a running
# guest through the `qemu:` provider, against the plain way, on one guest.
#
# The guest is the test guest (tests/vm/build-guest.py, 2 disks), booted by
# tests/vm/vmcase.py up in BUILD_DIR/bench/vm-work. Rounds alternate:
#   ours      `osmig snapshot create qemu:...`: guest-fsfreeze-freeze, one
#             QMP transaction of blockdev-snapshot-internal-sync over both
#             disks, thaw (the provider's qemu.snapshot log line gives the
#             transaction, the frozen window and its total; the command's
#             wall time adds process start and the set file);
#   baseline  QMP stop, one blockdev-snapshot-internal-sync per disk, cont:
#             the guest paused from STOP to RESUME (QEMU's event times).
# Each set is deleted after its round. Prints medians side by side with the
# goal (snapshot under 200 ms, guest paused under 50 ms). The guest's pause
# in ours is the frozen window: its file systems take no writes then; the
# vCPUs are not stopped (no STOP event).
#
# Environment: OSMIG_BENCH_ROUNDS (default 9), OSMIG_VM_ACCEL (default tcg).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${OSMIG_BENCH_ROUNDS:-9}
export OSMIG_BIN=$build/osmig
export OSMIG_FIXTURE_CACHE=${OSMIG_FIXTURE_CACHE:-$here/build/fixture-cache}
work=$build/bench/vm-work
vmctl=$build/tests/vm/vmctl
case_py=(/usr/bin/python3 "$here/tests/vm/vmcase.py" --vmctl "$vmctl" --work "$work")
for f in "$OSMIG_BIN" "$vmctl"; do
    [ -x "$f" ] || { echo "bench/vm-snapshot.sh: $f is not built" >&2; exit 1; }
done
python3 "$here/tests/vm/build-guest.py" --cache "$OSMIG_FIXTURE_CACHE" >/dev/null
"${case_py[@]}" up
trap '"${case_py[@]}" down >/dev/null || true' EXIT
uri=qemu:$work/vm.json
qmp=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["qmp"])' "$work/vm.json")

ours() {
    local t0 t1 log id
    t0=$(date +%s%N)
    log=$(OSMIG_LOG=info "$OSMIG_BIN" snapshot create "$uri" --label bench 2>&1 >/dev/null)
    t1=$(date +%s%N)
    id=$(sed -n 's/.*event=qemu.snapshot .*set=\([^ ]*\).*/\1/p' <<<"$log")
    [ -n "$id" ] || { echo "no qemu.snapshot line: $log" >&2; exit 1; }
    local txn win total freeze thaw
    txn=$(sed -n 's/.* txn_us=\([0-9]*\).*/\1/p' <<<"$log")
    freeze=$(sed -n 's/.* freeze_us=\([0-9]*\).*/\1/p' <<<"$log")
    thaw=$(sed -n 's/.* thaw_us=\([0-9]*\).*/\1/p' <<<"$log")
    win=$(sed -n 's/.* frozen_window_us=\([0-9]*\).*/\1/p' <<<"$log")
    total=$(sed -n 's/.* total_us=\([0-9]*\).*/\1/p' <<<"$log")
    echo "ours $(( (t1 - t0) / 1000 )) $total $txn $win $freeze $thaw"
    "$OSMIG_BIN" snapshot delete "$uri" "$id" >/dev/null
}

baseline() {
    python3 - "$qmp" <<'EOF'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.readline()
events = {}
def call(cmd, args=None):
    f.write(json.dumps({"execute": cmd, **({"arguments": args} if args else {})}) + "\n"); f.flush()
    while True:
        m = json.loads(f.readline())
        if "event" in m:
            t = m["timestamp"]; events[m["event"]] = t["seconds"] * 1000000 + t["microseconds"]
        elif "return" in m or "error" in m:
            if "error" in m: raise SystemExit(f"{cmd}: {m['error']}")
            return m
call("qmp_capabilities")
name = "bench-base-%d" % time.time_ns()
t0 = time.monotonic_ns()
call("stop")
for d in ("system", "data"):
    call("blockdev-snapshot-internal-sync", {"device": d, "name": name})
call("cont")
t1 = time.monotonic_ns()
while "RESUME" not in events or "STOP" not in events:
    m = json.loads(f.readline())
    if "event" in m:
        t = m["timestamp"]; events[m["event"]] = t["seconds"] * 1000000 + t["microseconds"]
for d in ("system", "data"):
    call("blockdev-snapshot-delete-internal-sync", {"device": d, "name": name})
print("base", (t1 - t0) // 1000, events["RESUME"] - events["STOP"])
EOF
}

results=$(mktemp)
for r in $(seq "$ROUNDS"); do
    ours >>"$results"
    baseline >>"$results"
done
python3 - "$results" "$ROUNDS" <<'EOF'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
o = [list(map(int, r[1:])) for r in rows if r[0] == "ours"]
b = [list(map(int, r[1:])) for r in rows if r[0] == "base"]
med = lambda xs: st.median(xs) / 1000
print(f"snapshot of every disk (2 disks) of a running guest, {sys.argv[2]} rounds alternating, medians in ms")
print(f"{'':44s}{'osmig qemu:':>14s}{'stop+snap+cont':>16s}{'goal':>8s}")
print(f"{'command, wall (process start to set file)':44s}{med([x[0] for x in o]):14.1f}{'':>16s}{'':>8s}")
print(f"{'snapshot, in the provider / in QMP':44s}{med([x[1] for x in o]):14.1f}{med([x[0] for x in b]):16.1f}{'< 200':>8s}")
print(f"{'guest paused (frozen fs / STOP..RESUME)':44s}{med([x[3] for x in o]):14.1f}{med([x[1] for x in b]):16.1f}{'< 50':>8s}")
# The frozen window is the guest's own freeze (its file systems' journals
# committed and flushed, done by the guest's kernel), the transaction, and
# the thaw; the vCPUs run throughout.
print(f"{'  of which the freeze in the guest':44s}{med([x[4] for x in o]):14.1f}{'':>16s}{'':>8s}")
print(f"{'  of which the transaction':44s}{med([x[2] for x in o]):14.1f}{'':>16s}{'':>8s}")
print(f"{'  of which the thaw':44s}{med([x[5] for x in o]):14.1f}{'':>16s}{'':>8s}")
print(f"max over rounds: ours total {max(x[1] for x in o)/1000:.1f} ms, frozen {max(x[3] for x in o)/1000:.1f} ms; "
      f"baseline paused {max(x[1] for x in b)/1000:.1f} ms")
EOF
rm -f "$results"
