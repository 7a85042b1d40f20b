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
#   traced    then as many rounds of ours, each after the guest sat idle,
#             with the agent's syscalls traced in the guest (tracefs): the
#             window by the guest's clock and where it goes (the agent
#             reading the request, the FIFREEZE/FITHAW ioctls, the answer),
#             and QEMU's flush time to the host during the command.
#
# Environment: OSMIG_BENCH_ROUNDS (default 9), OSMIG_VM_ACCEL (default tcg),
# OSMIG_BENCH_TRACE (1: the traced rounds, default), OSMIG_BENCH_IDLE_S (the
# idle time before a traced round, default 1.5), OSMIG_BENCH_KEEP (a file to
# keep the raw rows in).
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

# Where the frozen window goes, seen by the guest's own clock: the agent's
# syscalls (tracefs, filtered to its pid): the read of the freeze request,
# the FIFREEZE ioctls (0xc0045877, one per file system), the reply's write,
# the same for the thaw (FITHAW 0xc0045878). Traced rounds come after the
# plain ones, each after the guest sat idle OSMIG_BENCH_IDLE_S (what a migration's
# snapshot meets), so the tracing's own guest-exec is not what it measures.
gsh() { "$vmctl" "$uri" run /bin/sh -c "$1" | sed '$d'; }
trace_setup() {
    gsh 'T=/sys/kernel/tracing; [ -d $T/events ] || mount -t tracefs nodev $T || exit 3
         p=$(pgrep -f "qga/qemu-g[a]") || exit 4; echo 0 >$T/tracing_on; echo "$p" >$T/set_event_pid
         for e in sys_enter_read sys_exit_read sys_enter_write sys_exit_ioctl; do
             echo 1 >$T/events/syscalls/$e/enable; done
         echo "cmd == 0xc0045877 || cmd == 0xc0045878" >$T/events/syscalls/sys_enter_ioctl/filter
         echo 1 >$T/events/syscalls/sys_enter_ioctl/enable; echo "$p"'
}
traced() {
    gsh 'T=/sys/kernel/tracing; echo >$T/trace; echo 1 >$T/tracing_on' >/dev/null
    sleep "${OSMIG_BENCH_IDLE_S:-1.5}"
    local line f0 f1
    f0=$(flushes)
    line=$(ours)
    f1=$(flushes)
    local tr
    tr=$(gsh 'T=/sys/kernel/tracing; echo 0 >$T/tracing_on; cat $T/trace')
    python3 -c '
import re, sys
ev = []  # (us, name, args of an entry or "" for an exit, return value of an exit)
for l in sys.stdin:
    m = re.search(r"\s(\d+\.\d+): (sys_\w+)(?:\((.*)\)| -> (0x[0-9a-f]+))", l)
    if m:
        ev.append((float(m.group(1)) * 1e6, m.group(2), m.group(3) or "", int(m.group(4) or "0", 16)))
def fd(a):
    m = re.search(r"fd: ([0-9a-f]+)", a)
    return int(m.group(1), 16) if m else -1
# The agent answers on its port; its 8-byte writes are to its event fds.
writes = [fd(e[2]) for e in ev if e[1] == "sys_write" and e[2] and not e[2].endswith("count: 8")]
port = max(set(writes), key=writes.count) if writes else -1
def span(cmd):
    ix = [i for i, e in enumerate(ev) if e[1] == "sys_ioctl" and cmd in e[2]]
    if not ix:
        return None
    last_w = max((i for i in range(ix[0]) if ev[i][1] == "sys_write" and fd(ev[i][2]) == port), default=-1)
    req = next((ev[j + 1][0] for j in range(last_w + 1, ix[0] - 1) if ev[j][1] == "sys_read" and
                fd(ev[j][2]) == port and ev[j + 1][1] == "sys_read" and not ev[j + 1][2] and
                0 < ev[j + 1][3] < 1 << 32), None)
    done = [next((e for e in ev[i + 1:] if e[1] == "sys_ioctl" and not e[2]), None) for i in ix]
    if None in done:
        return None
    rep = next((e[0] for e in ev[ix[-1]:] if e[1] == "sys_write" and fd(e[2]) == port), None)
    return req, ev[ix[0]][0], done[-1][0], rep, sum(1 for d in done if d[3] == 0)
f, t = span("c0045877"), span("c0045878")
if not f or not t or None in f or None in t:
    print("incomplete")
else:
    # us: the request read to the first FIFREEZE; the FIFREEZEs; the last
    # one to the answer written; the file systems frozen (first FIFREEZE to
    # the last FITHAW done); the FITHAWs; how many file systems
    print(int(f[1] - f[0]), int(f[2] - f[1]), int(f[3] - f[2]), int(t[2] - f[1]), int(t[2] - t[1]), f[4])
' <<<"$tr" | sed "s/^/traced ${line#ours } $(( (f1 - f0) / 1000 )) /"
}
# QEMU's time in flushes to the host (fdatasync of the images), summed over
# the disks, ns (query-blockstats): what a guest's flush waits on.
flushes() {
    python3 - "$qmp" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.readline()
def call(cmd):
    f.write(json.dumps({"execute": cmd}) + "\n"); f.flush()
    while True:
        m = json.loads(f.readline())
        if "return" in m or "error" in m:
            return m.get("return")
call("qmp_capabilities")
print(sum(d["stats"]["flush_total_time_ns"] for d in call("query-blockstats")))
PY
}

results=$(mktemp)
for r in $(seq "$ROUNDS"); do
    ours >>"$results"
    baseline >>"$results"
done
if [ "${OSMIG_BENCH_TRACE:-1}" = 1 ] && trace_setup >/dev/null; then
    for r in $(seq "$ROUNDS"); do
        traced >>"$results"
    done
fi
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
t = [list(map(int, r[1:])) for r in rows if r[0] == "traced" and len(r) == 14]
t = [x[:6] + x[7:] + [x[6]] for x in t]  # the host's flush time last
if t:
    # The same rounds, each after the guest sat idle, with the agent's
    # syscalls traced in the guest (its clock): where the window goes.
    print(f"{len(t)} traced rounds after {__import__('os').environ.get('OSMIG_BENCH_IDLE_S', '1.5')} s idle, medians in ms "
          f"(guest clock: the agent's syscalls)")
    print(f"{'  frozen window, from the host (request to thaw answer)':58s}{med([x[3] for x in t]):8.1f}")
    print(f"{'  file systems frozen, in the guest (1st FIFREEZE..last FITHAW)':58s}{med([x[9] for x in t]):8.1f}")
    print(f"{'  freeze request: host ask..answer':58s}{med([x[4] for x in t]):8.1f}")
    print(f"{'    in the guest: request read..1st FIFREEZE':58s}{med([x[6] for x in t]):8.1f}")
    print(f"{'    in the guest: the FIFREEZE ioctls':58s}{med([x[7] for x in t]):8.1f}")
    print(f"{'    in the guest: last FIFREEZE..answer written':58s}{med([x[8] for x in t]):8.1f}")
    print(f"{'    outside the guest agent (transport, wake-up)':58s}"
          f"{med([x[4] - x[6] - x[7] - x[8] for x in t]):8.1f}")
    print(f"{'  the FITHAW ioctls':58s}{med([x[10] for x in t]):8.1f}")
    print(f"{'  QEMU flushing the images to the host during the command':58s}{med([x[12] for x in t]):8.1f}")
    print(f"{'  file systems frozen (FIFREEZE answered 0)':58s}{med([x[11] for x in t]) * 1000:8.0f}")
print(f"max over rounds: ours total {max(x[1] for x in o)/1000:.1f} ms, frozen {max(x[3] for x in o)/1000:.1f} ms; "
      f"baseline paused {max(x[1] for x in b)/1000:.1f} ms")
EOF
[ -n "${OSMIG_BENCH_KEEP:-}" ] && cp "$results" "$OSMIG_BENCH_KEEP"; rm -f "$results"
