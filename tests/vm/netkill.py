#!/usr/bin/python3
"""netkill.py: the engine killed inside the steps of the network-migration
and host-maintenance kinds on a real QEMU guest, and `osmig resume` after
each kill: the task finishes (or its rollback does) with nothing lost.

Usage: netkill.py --vmctl PATH --work DIR CASE

The guest, its networks and its plan are netcase.py's (one guest per case,
booted from overlays of the cached test guest, in network namespaces made
for the case and always removed). Each kill is OSMIG_CRASH_AT=WHERE: the
engine _exit(137)s at the step's own crash point of that name, as SIGKILL
would; the points are named, not numbered, because the number of records
before them varies with the progress records a run writes.

Cases:
  nic-move-resumed-after-kills  six rounds; in each, `osmig network run` is
      killed at one point (the old NIC noted but not moved; moved but not
      recorded; the guest off; started; its files fixed up; verified), and
      `osmig resume` finishes the task: succeeded, the descriptor's NIC on the
      VPC's bridge with the planned MAC, the VM's tap on that bridge and no
      other, the guest answering as its VPC address and not as its classic
      one, its snapshot set kept. Then `osmig rollback` puts it back (in two
      rounds killed too: the NIC back but the disks not restored; restored
      but not recorded; `osmig resume` ends it rolled_back): the NIC on the
      classic bridge with its old MAC, the guest answering there, its files
      as before the move.
  host-maintenance-resumed-after-kills  three events, one a round, each run
      killed at one point (off; started; the aftermath checked) and
      finished by `osmig resume`: succeeded, a new boot, the guest answering
      on its network, the aftermath recorded, the snapshot set kept.

Cost under TCG on 2 shared cores: a round of the first case boots the
guest twice (the move, the rollback), about 1-2 min; the case 8-12 min. A
round of the second boots once; the case about 3 min. Exit 0 passed, 1
failed, 77 skipped (not root, no QEMU, no guest): a skip prints SKIP.
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netcase as nc  # noqa: E402
import vmcase as vc  # noqa: E402

Fail, check = vc.Fail, vc.check

NET_ROUNDS = [
    ("move: old NIC noted, not moved", "rollback: NIC back, disks not restored"),
    ("move: NIC moved, not recorded", "rollback: restored, not recorded"),
    ("stop: off, not recorded", None),
    ("start: running, not recorded", None),
    ("fixup: guest files written, not recorded", None),
    ("verify: checked, not recorded", None),
]
HM_POINTS = ["stop: off, not recorded", "start: running, not recorded", "aftermath: checked, not recorded"]


def killed(c, where, *args):
    """osmig ARGS killed at the point WHERE: it must exit 137 there."""
    p = subprocess.run([c.e.osmig, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       errors="replace", timeout=900, env=dict(os.environ, OSMIG_CRASH_AT=where))
    check(p.returncode == 137 and f"({where})" in p.stderr,
          f"osmig {args[0]} killed at '{where}': exit {p.returncode}: {p.stderr[-1200:]}")


def resume(c):
    return c.osmig("resume", "--state-dir", c.state, ok=False)


def task(c, tid):
    return json.loads(c.osmig("task", "show", tid, "--json", "--state-dir", c.state).stdout)


def taps_on(c, bridge):
    """The VM's taps (osmig names them o...) on BRIDGE in the host namespace."""
    out = nc.sh("ip", "-n", c.net.host, "-o", "link", "show", "master", bridge).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()
            if line.split(":")[1].strip().startswith("o")]


def on_network(c, bridge, mac, ip, other_bridge, other_ip, why):
    nic = c.descriptor_nic()
    check(nic == {"id": "net0", "bridge": bridge, "mac": mac}, f"{why}: the descriptor's NIC: {nic}")
    check(len(taps_on(c, bridge)) == 1 and not taps_on(c, other_bridge),
          f"{why}: the VM's tap on {bridge} only: {bridge} {taps_on(c, bridge)}, "
          f"{other_bridge} {taps_on(c, other_bridge)}")
    peer_ns = c.net.host if bridge == "brv" else c.net.peer
    check(c.net.ping(peer_ns, ip, 5), f"{why}: the guest answers as {ip} on {bridge}")
    check(not c.net.ping(c.net.peer, other_ip, 2), f"{why}: nothing answers as {other_ip}")


def snapshot_kept(c, t, why):
    sid = t.get("snapshot_set")
    check(bool(sid), f"{why}: the task records its snapshot set: {t}")
    p = c.osmig("snapshot", "verify", c.e.uri, sid, ok=False)
    check(p.returncode == 0, f"{why}: snapshot set {sid} is there and whole: {p.stdout[-600:]} {p.stderr[-600:]}")


def case_nic_move_resumed_after_kills(c):
    c.boot()
    for k, (run_at, rollback_at) in enumerate(NET_ROUNDS, 1):
        why = f"round {k}, killed at '{run_at}'"
        plan = c.plan(time.time() - 60)
        killed(c, run_at, "network", "run", plan, "--state-dir", c.state)
        tid = [t for t in json.loads(c.osmig("tasks", "--json", "--state-dir", c.state).stdout)["tasks"]
               if t["kind"] == "network-migration" and t["state"] == "running"]
        check(len(tid) == 1, f"{why}: one running network-migration task after the kill: {tid}")
        tid = tid[0]["id"]
        p = resume(c)
        t = task(c, tid)
        check(t["state"] == "succeeded", f"{why}: resumed, the task is {t['state']}: "
              f"{(t.get('error') or {}).get('cause')} {p.stderr[-800:]}")
        on_network(c, "brv", nc.PRIVATE_MAC, nc.VPC_IP, "brc", nc.CLASSIC_IP, why)
        inside = c.e.guest("grep web01 /etc/hosts; grep /srv/data /etc/fstab")
        check(f"{nc.VPC_IP} web01" in inside and "/dev/vdb /srv/data" in inside, f"{why}: fixed inside: {inside}")
        snapshot_kept(c, t, why)
        # back to the classic network for the next round: the task's rollback
        if rollback_at:
            why = f"round {k}, rollback killed at '{rollback_at}'"
            killed(c, rollback_at, "rollback", tid, "--yes", "--state-dir", c.state)
            p = resume(c)
        else:
            why = f"round {k}, rollback"
            p = c.osmig("rollback", tid, "--yes", "--state-dir", c.state, ok=False)
        t = task(c, tid)
        check(t["state"] == "rolled_back", f"{why}: the task is {t['state']}: {(t.get('error') or {}).get('cause')} "
              f"{p.stderr[-800:]}")
        on_network(c, "brc", nc.PUBLIC_MAC, nc.CLASSIC_IP, "brv", nc.VPC_IP, why)
        inside = c.e.guest("grep web01 /etc/hosts; grep /srv/data /etc/fstab")
        check(f"{nc.CLASSIC_IP} web01" in inside and "/dev/xvdb /srv/data" in inside,
              f"{why}: the guest's files as before the move: {inside}")
        print(f"round {k}: killed at '{run_at}', resumed, rolled back{' (killed too)' if rollback_at else ''}",
              flush=True)


def case_host_maintenance_resumed_after_kills(c):
    c.boot()
    for k, where in enumerate(HM_POINTS, 1):
        why = f"event {k}, killed at '{where}'"
        before = c.e.boot_id()
        now = time.time()
        ev = {"events": [{"id": f"e-{k}", "instance": c.e.uri, "kind": "SystemMaintenance.Redeploy",
                          "scheduled": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 30)),
                          "latest": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))}]}
        path = os.path.join(c.e.work, f"events-{k}.json")
        with open(path, "w") as f:
            json.dump(ev, f)
        c.osmig("events", "import", path, "--state-dir", c.state)
        killed(c, where, "resume", "--state-dir", c.state)
        p = resume(c)
        mine = [t for t in json.loads(c.osmig("tasks", "--json", "--state-dir", c.state).stdout)["tasks"]
                if t["kind"] == "host-maintenance" and (t.get("options") or {}).get("event", {}).get("id") == f"e-{k}"]
        check(len(mine) == 1, f"{why}: one task of the event: {mine}")
        t = task(c, mine[0]["id"])
        check(t["state"] == "succeeded", f"{why}: resumed, the task is {t['state']}: "
              f"{(t.get('error') or {}).get('cause')} {p.stderr[-800:]}")
        check(c.e.boot_id() != before, f"{why}: the guest booted again")
        on_network(c, "brc", nc.PUBLIC_MAC, nc.CLASSIC_IP, "brv", nc.VPC_IP, why)
        show = c.show(t["id"])
        for words in ("mounted read-write, state clean", f"IP {nc.CLASSIC_IP} unchanged"):
            check(words in show, f"{why}: task show records {words!r}: {show[-2000:]}")
        snapshot_kept(c, t, why)
        print(f"event {k}: killed at '{where}', resumed", flush=True)


CASES = {
    "nic-move-resumed-after-kills": case_nic_move_resumed_after_kills,
    "host-maintenance-resumed-after-kills": case_host_maintenance_resumed_after_kills,
}


if __name__ == "__main__":
    os.environ["OSMIG_NO_AUTO_RESUME"] = "1"  # only the test resumes, when it means to
    sys.exit(nc.main(CASES))
