#!/usr/bin/python3
"""netcase.py: network migration and host maintenance on a real QEMU guest
on real Linux networks made for the test (docs/network-plans.md, "Run").

Usage: netcase.py --vmctl PATH --work DIR CASE

Each case boots its own guest: copy-on-write overlays of the cached test
guest's disks (tests/vm/build-guest.py), a descriptor with one NIC. Its
networks exist only in network namespaces the case makes, with addresses in
test-only ranges:

  osmt-PID-h   the "host": bridges brc ("classic", 198.18.0.1/24) and brv
               (the VPC's vSwitch 10.77.1.0/24, its gateway 10.77.1.253),
               forwarding between them (the plan's interconnection). QEMU
               and its tap run here ("start.netns").
  osmt-PID-c   a classic instance that stays: 198.18.0.20 on brc.

The guest starts on brc as 198.18.0.10 with the instance's public MAC
(52:54:00:bb:00:0a); the plan (mac "private", internal IP not kept) moves it
to brv with MAC 52:54:00:aa:00:0a and the vSwitch's first free address,
10.77.1.1. Everything is removed at the end, failed or not (the VM stopped,
the namespaces deleted, which takes their bridges, veths and taps along).

Cases: nic-moved-to-vpc, nic-move-rolled-back-when-vpc-unreachable,
host-maintenance-move, nic-descriptor-refused. Exit 0 passed, 1 failed, 77
skipped (not root, no QEMU, no guest): a skip prints SKIP, never PASS.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vmcase as vc  # noqa: E402

CLASSIC_IP, PEER_IP, ROUTER_CLASSIC = "198.18.0.10", "198.18.0.20", "198.18.0.1"
VPC_IP, VPC_GW = "10.77.1.1", "10.77.1.253"
PUBLIC_MAC, PRIVATE_MAC = "52:54:00:bb:00:0a", "52:54:00:aa:00:0a"
Fail, check = vc.Fail, vc.check


def sh(*argv, ok=True):
    p = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if ok and p.returncode != 0:
        raise Fail(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


class Net:
    """The namespaces, bridges and peers of one case."""

    def __init__(self):
        tag = f"osmt-{os.getpid() % 100000}"
        self.host, self.peer = tag + "-h", tag + "-c"

    def up(self):
        h, c = self.host, self.peer
        for ns in (h, c):
            sh("ip", "netns", "add", ns)
        sh("ip", "-n", h, "link", "set", "lo", "up")
        sh("ip", "-n", c, "link", "set", "lo", "up")
        for br, addr in (("brc", ROUTER_CLASSIC + "/24"), ("brv", VPC_GW + "/24")):
            sh("ip", "-n", h, "link", "add", br, "type", "bridge")
            sh("ip", "-n", h, "addr", "add", addr, "dev", br)
            sh("ip", "-n", h, "link", "set", br, "up")
        sh("ip", "netns", "exec", h, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh("ip", "-n", h, "link", "add", "c0b", "type", "veth", "peer", "name", "c0", "netns", c)
        sh("ip", "-n", h, "link", "set", "c0b", "master", "brc", "up")
        sh("ip", "-n", c, "addr", "add", PEER_IP + "/24", "dev", "c0")
        sh("ip", "-n", c, "link", "set", "c0", "up")
        sh("ip", "-n", c, "route", "add", "default", "via", ROUTER_CLASSIC)

    def down(self):
        for ns in (self.host, self.peer):
            sh("ip", "netns", "del", ns, ok=False)

    def ping(self, ns, ip, tries=3):
        return sh("ip", "netns", "exec", ns, "ping", "-n", "-c", str(tries), "-W", "2", ip, ok=False).returncode == 0


class Case:
    def __init__(self, vmctl, work):
        self.e = vc.Env(vmctl, work)
        self.net = Net()
        self.state = os.path.join(self.e.work, "state")

    def boot(self):
        e = self.e
        for tool in ("qemu-system-x86_64", "qemu-img", "ip"):
            if not shutil.which(tool):
                vc.skip(f"{tool} is not installed (scripts/install-deps.sh installs it)")
        if os.geteuid() != 0:
            vc.skip("network namespaces and bridges need root (CI runs as root)")
        g = vc.guest_dir()
        manifest = json.load(open(os.path.join(g, "manifest.json")))
        if not any("virtio_net" in m for m in manifest.get("modules", [])):
            vc.skip(f"the cached guest {g} has no virtio_net (built before NICs; build-guest.py rebuilds it)")
        shutil.rmtree(e.work, ignore_errors=True)
        os.makedirs(e.work)
        for disk in ("system", "data"):
            e.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                   os.path.join(g, disk + ".qcow2"), os.path.join(e.work, disk + ".qcow2")])
        sock = vc.short_sockets(e.work)
        self.net.up()
        desc = {
            "name": "osmig-net-guest", "memory_mib": 512, "vcpus": 1, "boot_timeout_s": 240,
            "disks": [{"id": "system", "path": os.path.join(e.work, "system.qcow2")},
                      {"id": "data", "path": os.path.join(e.work, "data.qcow2")}],
            "qmp": os.path.join(sock, "qmp.sock"), "agent": os.path.join(sock, "qga.sock"),
            "nics": [{"id": "net0", "bridge": "brc", "mac": PUBLIC_MAC}],
            "start": {"accel": os.environ.get("OSMIG_VM_ACCEL", "tcg"),
                      "console_log": os.path.join(e.work, "console.log"), "netns": self.net.host},
        }
        with open(e.desc, "w") as f:
            json.dump(desc, f, indent=2)
        e.ctl("facts")
        # The classic network's address, as the instance had it: its
        # interface file, its name in /etc/hosts, a Xen-era disk name.
        ifcfg = os.path.join(e.work, "ifcfg-eth0")
        with open(ifcfg, "w") as f:
            f.write(f"DEVICE=eth0\nIPADDR={CLASSIC_IP}\nPREFIX=24\nGATEWAY={ROUTER_CLASSIC}\n")
        e.guest("mkdir -p /etc/sysconfig/network-scripts")
        e.ctl("copy-in", ifcfg, "/etc/sysconfig/network-scripts/ifcfg-eth0")
        e.guest(f"ip addr add {CLASSIC_IP}/24 dev eth0 && ip link set eth0 up && "
                f"ip route add default via {ROUTER_CLASSIC} && echo '{CLASSIC_IP} web01 web01.internal' >>/etc/hosts"
                f" && echo '/dev/xvdb /srv/data ext4 defaults 0 0' >>/etc/fstab && sync")
        check(self.net.ping(self.net.peer, CLASSIC_IP, 5), "the guest answers on the classic network before the run")

    def plan(self, when):
        inv = {"instances": [
            {"id": "i-web01", "zone": "test-a", "private_ip": CLASSIC_IP, "local_disks": 0,
             "public_bandwidth_mbps": 5, "system_disk_free_mib": 800, "security_software": False,
             "security_groups": ["sg-web"], "private_mac": PRIVATE_MAC, "public_mac": PUBLIC_MAC},
            {"id": "i-mail", "zone": "test-a", "private_ip": PEER_IP, "local_disks": 0,
             "public_bandwidth_mbps": 5, "system_disk_free_mib": 800, "security_software": False,
             "security_groups": ["sg-web"], "private_mac": "52:54:00:aa:00:14"}],
            "security_groups": [{"id": "sg-web", "group_authorization": False}]}
        plan = {"name": "web-to-vpc", "zone": "test-a",
                "vpc": {"id": "vpc-test", "cidr": "10.77.0.0/16",
                        "vswitches": [{"id": "vsw-1", "zone": "test-a", "cidr": "10.77.1.0/24", "used_ips": 0,
                                       "bridge": "brv"}]},
                "security_groups": ["sg-vpc"], "mac": "private", "keep_private_ip": False, "vswitch": "vsw-1",
                "interconnect": True, "inventory": "inventory.json",
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
                "instances": [{"id": "i-web01", "instance": self.e.uri}, {"id": "i-mail", "role": "stay"}]}
        for name, doc in (("inventory.json", inv), ("plan.json", plan)):
            with open(os.path.join(self.e.work, name), "w") as f:
                json.dump(doc, f, indent=2)
        return os.path.join(self.e.work, "plan.json")

    def osmig(self, *args, ok=True):
        return self.e.run([self.e.osmig, *args], ok=ok)

    def task(self, kind):
        p = self.osmig("tasks", "--json", "--state-dir", self.state)
        doc = json.loads(p.stdout)
        tasks = doc["tasks"] if isinstance(doc, dict) else doc
        mine = [t for t in tasks if t.get("kind") == kind]
        check(len(mine) == 1, f"one {kind} task in `osmig tasks`: {tasks}")
        return mine[0]

    def show(self, tid):
        return self.osmig("task", "show", tid, "--state-dir", self.state).stdout

    def descriptor_nic(self):
        return json.load(open(self.e.desc))["nics"][0]

    def down(self):
        if os.path.exists(self.e.desc):
            self.e.ctl("stop", ok=False)
        self.net.down()


def case_nic_moved_to_vpc(c):
    """The plan's run moves the guest from the classic bridge to the VPC's
    with the planned MAC and IP: it answers there, /etc/hosts and /etc/fstab
    are fixed inside, the whitelists to update are on the task."""
    c.boot()
    plan = c.plan(time.time() + 2)
    p = c.osmig("network", "run", plan, "--wait", "--state-dir", c.state, ok=False)
    check(p.returncode == 0, f"network run: exit {p.returncode}: {p.stdout[-1500:]} {p.stderr[-1500:]}")
    t = c.task("network-migration")
    check(t["state"] == "succeeded", f"task state {t['state']}: {t.get('cause')}")
    nic = c.descriptor_nic()
    check(nic == {"id": "net0", "bridge": "brv", "mac": PRIVATE_MAC}, f"descriptor NIC after the run: {nic}")
    check(c.net.ping(c.net.host, VPC_IP), f"the guest answers as {VPC_IP} on the VPC bridge")
    neigh = sh("ip", "-n", c.net.host, "neigh", "show", VPC_IP, "dev", "brv").stdout
    check(PRIVATE_MAC in neigh, f"{VPC_IP} on brv has the planned MAC {PRIVATE_MAC}: {neigh!r}")
    check(not c.net.ping(c.net.peer, CLASSIC_IP, 2), f"nothing answers as {CLASSIC_IP} on the classic bridge")
    check(c.net.ping(c.net.peer, VPC_IP), "the classic instance that stays reaches the guest (interconnection)")
    inside = c.e.guest("cat /sys/class/net/eth0/address; ip -o -4 addr show dev eth0; ip route show default; "
                       "grep web01 /etc/hosts; grep /srv/data /etc/fstab; "
                       "cat /etc/sysconfig/network-scripts/ifcfg-eth0")
    check(PRIVATE_MAC in inside and f"inet {VPC_IP}/24" in inside and f"default via {VPC_GW}" in inside,
          f"inside the guest: {inside}")
    check(f"{VPC_IP} web01 web01.internal" in inside and CLASSIC_IP not in inside.split("IPADDR")[0],
          f"/etc/hosts names the new IP: {inside}")
    check("/dev/vdb /srv/data" in inside and "xvdb" not in inside, f"/etc/fstab xvdb -> vdb: {inside}")
    check(f"IPADDR={VPC_IP}" in inside and f"GATEWAY={VPC_GW}" in inside, f"ifcfg-eth0 for the next boot: {inside}")
    show = c.show(t["id"])
    check("whitelists" in show and CLASSIC_IP in show and VPC_IP in show,
          f"task show lists the whitelists to update: {show[-2000:]}")
    check(f"classic instance {PEER_IP} answers" in show, f"verify reached the classic instance: {show[-2000:]}")


def case_nic_move_rolled_back_when_vpc_unreachable(c):
    """A run whose verify fails (the VPC's gateway gone: nothing answers on
    the VPC network) is rolled back: the disks restored, the NIC back on the
    classic bridge with its old MAC, the guest answering there as before."""
    c.boot()
    sh("ip", "-n", c.net.host, "addr", "del", VPC_GW + "/24", "dev", "brv")
    plan = c.plan(time.time() - 60)
    p = c.osmig("network", "run", plan, "--state-dir", c.state, ok=False)
    check(p.returncode == 1, f"network run of a failing move: exit {p.returncode} (want 1): {p.stderr[-800:]}")
    t = c.task("network-migration")
    check(t["state"] == "rolled_back", f"task state {t['state']}")
    cause = (t.get("error") or {}).get("cause") or ""
    check("does not answer" in cause and VPC_GW in cause and "0 received" in cause, f"cause: {cause!r}")
    nic = c.descriptor_nic()
    check(nic == {"id": "net0", "bridge": "brc", "mac": PUBLIC_MAC}, f"descriptor NIC after the rollback: {nic}")
    check(c.net.ping(c.net.peer, CLASSIC_IP, 5), "the guest answers on the classic network again")
    inside = c.e.guest("cat /sys/class/net/eth0/address; grep web01 /etc/hosts; grep /srv/data /etc/fstab")
    check(PUBLIC_MAC in inside and f"{CLASSIC_IP} web01" in inside and "/dev/xvdb" in inside,
          f"the guest as before the run (disks restored): {inside}")


def case_host_maintenance_move(c):
    """A host-maintenance event of a running guest moves it: a clean stop,
    a new QEMU, the guest answering again, the aftermath recorded (file
    system checked through the agent, IP and MAC unchanged)."""
    c.boot()
    before = c.e.boot_id()
    now = time.time()
    ev = {"events": [{"id": "e-1", "instance": c.e.uri, "kind": "SystemMaintenance.Redeploy",
                      "scheduled": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 30)),
                      "latest": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))}]}
    path = os.path.join(c.e.work, "events.json")
    with open(path, "w") as f:
        json.dump(ev, f)
    c.osmig("events", "import", path, "--state-dir", c.state)
    p = c.osmig("resume", "--state-dir", c.state, ok=False)
    t = c.task("host-maintenance")
    check(t["state"] == "succeeded", f"task state {t['state']}: {t.get('cause')} {p.stderr[-800:]}")
    check(c.e.boot_id() != before, "the guest booted again (a new boot id)")
    check(c.net.ping(c.net.peer, CLASSIC_IP, 5), "the guest answers on its network after the move")
    show = c.show(t["id"])
    for words in ("shut down cleanly", "started again", "mounted read-write, state clean",
                  f"IP {CLASSIC_IP} unchanged", f"MAC {PUBLIC_MAC} unchanged"):
        check(words in show, f"task show records {words!r}: {show[-2500:]}")


def case_nic_descriptor_refused(c):
    """Bad NIC values are refused naming the field; nothing is started."""
    e = c.e
    shutil.rmtree(e.work, ignore_errors=True)
    os.makedirs(e.work)
    disk = os.path.join(e.work, "d.qcow2")
    e.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "16M"]) if shutil.which("qemu-img") else vc.skip(
        "qemu-img is not installed")
    base = {"disks": [{"id": "system", "path": disk}], "qmp": os.path.join(e.work, "q.sock"),
            "agent": os.path.join(e.work, "a.sock"), "start": {}}
    bad = [
        ({"nics": [{"id": "net0", "bridge": "br0", "mac": "01:00:5e:00:00:01"}]}, '"nics[0].mac"'),
        ({"nics": [{"id": "net0", "bridge": "br0", "mac": "52:54:00:zz:00:01"}]}, '"nics[0].mac"'),
        ({"nics": [{"id": "net0", "bridge": "a-bridge-name-too-long", "mac": PUBLIC_MAC}]}, '"nics[0].bridge"'),
        ({"nics": [{"id": "net0", "bridge": "br0", "mac": PUBLIC_MAC, "vlan": 3}]}, '"nics[0].vlan"'),
        ({"nics": [{"id": "n", "bridge": "br0", "mac": PUBLIC_MAC}, {"id": "n", "bridge": "br1", "mac": PUBLIC_MAC}]},
         '"nics[1].id"'),
        ({"nics": {"id": "net0"}}, '"nics"'),
        ({"start": {"netns": "bad/name"}}, '"start.netns"'),
    ]
    for extra, field in bad:
        d = dict(base, **extra)
        with open(e.desc, "w") as f:
            json.dump(d, f)
        p = e.ctl("argv", ok=False)
        check(p.returncode != 0 and field in p.stderr and e.desc in p.stderr,
              f"{extra}: refused naming {field}: exit {p.returncode}: {p.stderr.strip()}")
    d = dict(base, nics=[{"id": "net0", "bridge": "br0", "mac": PUBLIC_MAC}], start={"netns": "osmt-x"})
    with open(e.desc, "w") as f:
        json.dump(d, f)
    argv = e.ctl("argv").stdout.split("\n")
    check(argv[:4] == ["ip", "netns", "exec", "osmt-x"], f"QEMU runs in the namespace: {argv[:5]}")
    check(any(a.startswith("tap,id=net0,ifname=o") and "script=no" in a for a in argv), f"-netdev tap: {argv}")
    check(any('"mac":"%s"' % PUBLIC_MAC in a and "virtio-net-pci" in a for a in argv), f"-device virtio-net: {argv}")


CASES = {
    "nic-moved-to-vpc": case_nic_moved_to_vpc,
    "nic-move-rolled-back-when-vpc-unreachable": case_nic_move_rolled_back_when_vpc_unreachable,
    "host-maintenance-move": case_host_maintenance_move,
    "nic-descriptor-refused": case_nic_descriptor_refused,
}


def main(cases=CASES):
    """Runs one of `cases` (netkill.py's too) on its own guest and networks."""
    a = vc.case_args(cases)
    c = Case(a.vmctl, os.path.join(a.work, a.case))

    def on_term(signum, frame):
        raise SystemExit(f"killed by signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        cases[a.case](c)
    except Fail as ex:
        print(f"FAIL: {a.case}: {ex}", file=sys.stderr)
        return 1
    finally:
        if not os.environ.get("NETCASE_KEEP"):  # debugging: leave the VM and namespaces up
            c.down()
    print(f"PASS: {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
