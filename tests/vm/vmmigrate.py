#!/usr/bin/python3
"""vmmigrate.py: `osmig migrate qemu:` of the test guest, with real reboots.

Usage: vmmigrate.py --vmctl PATH --work DIR CASE

Each case boots its own guest from fresh copy-on-write overlays of the
cached guest's disks (tests/vm/build-guest.py), so the cases are
independent of each other and of the shared guest of vmcase.py; the VM is
stopped at the end. The target is the real RHEL 8.5 repository of
tests/fixtures/build-real.py (el8-repo + el8-standins, matrix el8-matrix).

Test fixture choices, named as such:
  - the descriptor's "facts" override vCPUs and memory (2 / 2048 MiB, what
    the target's prechecks ask) while the guest runs with 1 vCPU and
    512 MiB to stay quick under software emulation;
  - the guest has no systemd running: its reboot is its own /sbin/shutdown
    (tests/vm/guest/shutdown), which the target's real systemd package would
    replace by systemctl. /etc/rpm/macros.osmig-test-guest keeps that path
    out of any rpm transaction (%_netsharedpath), as an admin would keep a
    local file.

Exit 0 passed, 1 failed, 77 skipped (no guest, QEMU or real data).
"""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmcase as vc  # noqa: E402

ALLOW_ERASE = ("openssh-server", "yum", "initscripts", "grub2-pc", "grub2-pc-modules", "grub2-tools-extra")
NETSHARED = "%_netsharedpath /usr/sbin/shutdown\n"


def real_matrix():
    src = os.environ.get("OSMIG_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    p = subprocess.run(["/usr/bin/python3", os.path.join(src, "tests", "fixtures", "build-real.py"), "el8-matrix"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=1800)
    if p.returncode == 77:
        vc.skip(f"the real packages are absent: {p.stderr.strip()[-300:]}")
    if p.returncode != 0:
        raise vc.Fail(f"building the real fixtures: {p.stderr.strip()[-600:]}")
    return os.path.join(p.stdout.strip().splitlines()[-1], "matrix.json")


def boot_guest(e, boot_timeout=240):
    """Fresh overlays of the cached disks and a descriptor; QEMU started."""
    for tool in ("qemu-system-x86_64", "qemu-img"):
        if not shutil.which(tool):
            vc.skip(f"{tool} is not installed (scripts/install-deps.sh installs it)")
    g = vc.guest_dir()
    if os.path.exists(e.desc):
        e.ctl("stop", ok=False)
    shutil.rmtree(e.work, ignore_errors=True)
    os.makedirs(e.work)
    for disk in ("system", "data"):
        e.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", os.path.join(g, disk + ".qcow2"),
               os.path.join(e.work, disk + ".qcow2")])
    sock = vc.short_sockets(e.work)
    desc = {
        "name": "osmig-migrate-guest", "memory_mib": 512, "vcpus": 1, "boot_timeout_s": boot_timeout,
        "disks": [{"id": "system", "path": os.path.join(e.work, "system.qcow2")},
                  {"id": "data", "path": os.path.join(e.work, "data.qcow2")}],
        "qmp": os.path.join(sock, "qmp.sock"), "agent": os.path.join(sock, "qga.sock"),
        "start": {"accel": os.environ.get("OSMIG_VM_ACCEL", "tcg"),
                  "console_log": os.path.join(e.work, "console.log")},
        "facts": {"vcpus": 2, "memory_mib": 2048},
    }
    with open(e.desc, "w") as f:
        json.dump(desc, f, indent=2)
    e.ctl("facts")  # starts QEMU and waits for the agent
    e.ctl("run", "/bin/sh", "-c", "mkdir -p /etc/rpm && printf %s \"$1\" > /etc/rpm/macros.osmig-test-guest",
          "sh", NETSHARED)


def migrate_argv(e, matrix):
    argv = [e.osmig, "migrate", e.uri, "--to", "rhel8", "--yes", "--matrix", matrix,
            "--state-dir", os.path.join(e.work, "state"), "--cache-dir", os.path.join(e.work, "cache")]
    for n in ALLOW_ERASE:
        argv += ["--allow-erase", n]
    return argv


# No osmig command of these cases may resume a killed task behind the
# case's back (`osmig tasks` would, by default): the case resumes it itself.
os.environ["OSMIG_NO_AUTO_RESUME"] = "1"
ENV = dict(os.environ)


def migrate(e, matrix, *extra, ok=True):
    argv, env = migrate_argv(e, matrix), ENV
    p = subprocess.run(argv + list(extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", timeout=3600, env=env)
    with open(os.path.join(e.work, "migrate.out"), "a") as f:
        f.write(p.stdout)
    if ok and p.returncode != 0:
        raise vc.Fail(f"osmig migrate: exit {p.returncode}: {p.stdout[-1500:]}")
    return p


def task(e):
    p = e.run([e.osmig, "tasks", "--json", "--state-dir", os.path.join(e.work, "state")])
    return json.loads(p.stdout)["tasks"][0]


def os_release(e):
    return dict(ln.split("=", 1) for ln in e.guest("cat /etc/os-release").replace('"', "").splitlines() if "=" in ln)


def mounts(e, fstype):
    return [ln.split()[1].rstrip("/") + "/" for ln in e.guest("cat /proc/mounts").splitlines()
            if len(ln.split()) > 2 and ln.split()[2] == fstype and ln.split()[1] != "/"]


def va_failures(e, text):
    """rpm -Va lines other than %config/%ghost files, a time alone, modes and
    owners on FAT (no such thing there), or runtime entries missing on a tmpfs
    (/run: what tmpfiles.d makes at boot)."""
    vfat, tmpfs = mounts(e, "vfat"), mounts(e, "tmpfs")
    on = lambda path, ms: any((path.replace("/var/run/", "/run/", 1) + "/").startswith(m) for m in ms)  # noqa
    bad = []
    for ln in text.splitlines():
        if not ln.strip():
            continue
        attrs, rest = (ln[:7], ln[7:]) if ln.startswith("missing") else (ln[:9], ln[9:])
        marker = rest.strip()[:2]
        if marker in ("c ", "g "):
            continue
        path = rest[rest.find("/"):] if "/" in rest else ""
        if attrs == "missing":
            if not on(path, tmpfs):
                bad.append(ln)
        elif any(ch not in (".TMUG" if on(path, vfat) else ".T") for ch in attrs):
            bad.append(ln)
    return bad


# ---- cases ----

def check_migrated(e, boot0, data0):
    """What a migrated guest shows through its agent, judged by its own tools."""
    t = task(e)
    vc.check(t["state"] == "succeeded", f"task state {t['state']}")
    verify = open(os.path.join(e.work, "state", "tasks", t["id"], "verify.txt")).read()
    vc.check("FAIL" not in verify and "ok rpm -Va" in verify, f"verify report: {verify}")
    vc.check(e.boot_id() != boot0, "the guest runs another boot than before the migration")
    rel = os_release(e)
    vc.check(rel.get("ID") == "rhel" and rel.get("VERSION_ID", "").startswith("8"), f"os-release: {rel}")
    va = e.ctl("run", "/bin/sh", "-c", "rpm -Va; true").stdout
    bad = va_failures(e, va.rsplit("exit=", 1)[0])
    vc.check(not bad, f"the target's rpm -Va in the guest: {bad[:10]}")
    el7 = e.guest("rpm -qa | grep -c '\\.el7' || true").strip()
    vc.check(el7 != "" and int(el7) < 5, f"el7 packages left: {el7}")
    vc.check(e.guest("sha256sum /srv/data/hello.txt") == data0, "the data disk's file is intact")
    vc.check(e.guest("test -e /var/lib/osmig && echo left || echo gone").strip() == "gone",
             "nothing of osmig is left in the guest")
    return t


def heartbeat(e):
    facts = dict(ln.split("=", 1) for ln in e.ctl("facts").stdout.splitlines() if "=" in ln)
    return int(facts.get("heartbeat", "0"))


def case_resume_after_kill_between_boots(e):
    """osmig killed (SIGKILL) as its first reboot begins; the guest goes down
    and QEMU holds it paused between boots (reboot=shutdown shutdown=pause)
    with nobody to reset it. `osmig resume` sees the pause (query-status
    `shutdown`), resets and continues it, and the migration finishes."""
    matrix = real_matrix()
    boot_guest(e)
    boot0 = e.boot_id()
    data0 = e.guest("sha256sum /srv/data/hello.txt")
    log = open(os.path.join(e.work, "migrate.out"), "w")
    p = subprocess.Popen(migrate_argv(e, matrix), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace", env=ENV)
    for line in p.stdout:
        log.write(line)
        if "rebooting the instance and waiting for it" in line:
            p.kill()
            break
    p.wait()
    log.close()
    vc.check(p.returncode == -9, f"osmig was killed during the reboot (exit {p.returncode})")
    # Killed before it asked the guest to go down: the guest reboots by
    # itself (as it may at any time); either way it ends paused.
    if heartbeat(e):  # (it may be going down as this is asked: no answer is fine)
        e.ctl("run", "/bin/sh", "-c", "(sleep 1; /sbin/shutdown -r now) >/dev/null 2>&1 </dev/null &", ok=False)
    for _ in range(60):
        if not heartbeat(e):
            break
        subprocess.run(["sleep", "1"])
    vc.check(heartbeat(e) == 0, "the guest is down and held between boots, its agent silent")
    vc.check(task(e)["state"] not in ("succeeded", "failed", "rolled_back"), "the task is unfinished")
    r = subprocess.run([e.osmig, "resume", "--state-dir", os.path.join(e.work, "state")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="replace", timeout=3600, env=ENV)
    with open(os.path.join(e.work, "resume.out"), "w") as f:
        f.write(r.stdout)
    vc.check(r.returncode == 0, f"osmig resume: exit {r.returncode}: {r.stdout[-1500:]}")
    check_migrated(e, boot0, data0)
    # One guest reset per reboot (the guest's shutdown ends in sysrq b): the
    # resume went on from the pause, it did not reboot the guest once more.
    resets = open(os.path.join(e.work, "console.log"), errors="replace").read().count("sysrq: Resetting")
    vc.check(resets == 2, f"{resets} guest reboots for the migration's 2")
    e.ctl("stop")


def case_failed_boot_reverted(e):
    """The new system does not boot (test fixture: its initramfs broken in
    the guest after the transaction, osmig killed between the upgrade and the
    second reboot, then resumed): no boot within the descriptor's limit, every
    disk reverted to the set, the old system boots, the task rolled back with
    the cause, the old system's files as they were."""
    matrix = real_matrix()
    boot_guest(e, boot_timeout=120)
    boot0 = e.boot_id()
    before = e.guest("rpm -qa | sort | sha256sum; sha256sum /srv/data/hello.txt /etc/os-release")
    trace = os.path.join(e.work, "crash.trace")
    env = dict(ENV, OSMIG_CRASH_AT="1000000", OSMIG_CRASH_TRACE=trace)
    log = open(os.path.join(e.work, "migrate.out"), "w")
    p = subprocess.Popen(migrate_argv(e, matrix), stdout=log, stderr=subprocess.STDOUT, env=env)
    # Killed once the transaction is in (its crash point passed), before the
    # keys are tidied and the second reboot asked.
    while p.poll() is None:
        if os.path.exists(trace) and "target_txn.installed" in open(trace).read():
            p.kill()
            break
        subprocess.run(["sleep", "0.05"])
    p.wait()
    log.close()
    vc.check(p.returncode == -9, f"osmig killed after the transaction (exit {p.returncode})")
    vc.check(os_release(e).get("ID") == "rhel", "the transaction was made before the kill")
    e.guest("for f in /boot/initramfs-*.img; do echo 'broken by the test' > \"$f\"; done; sync")
    r = subprocess.run([e.osmig, "resume", "--state-dir", os.path.join(e.work, "state")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="replace", timeout=3600, env=ENV)
    with open(os.path.join(e.work, "resume.out"), "w") as f:
        f.write(r.stdout)
    t = task(e)
    vc.check(t["state"] == "rolled_back", f"task state {t['state']}: {r.stdout[-1500:]}")
    vc.check("no boot within 120 s" in r.stdout, f"the cause is named: {r.stdout[-1500:]}")
    vc.check(e.boot_id() not in ("", boot0), "the old system booted again (a new boot)")
    rel = os_release(e)
    vc.check(rel.get("ID") == "centos" and rel.get("VERSION_ID") == "7", f"the old system runs: {rel}")
    vc.check(e.guest("rpm -qa | sort | sha256sum; sha256sum /srv/data/hello.txt /etc/os-release") == before,
             "the old system's packages and files are as they were")
    e.ctl("stop")


def case_migrate_real_reboots(e):
    """The running CentOS 7 guest migrated to RHEL 8.5: the target's rpm ran
    the transaction in the guest, two real reboots, verified from inside;
    then checked here again, through the agent, by the target's own tools."""
    matrix = real_matrix()
    boot_guest(e)
    boot0 = e.boot_id()
    data0 = e.guest("sha256sum /srv/data/hello.txt")
    migrate(e, matrix)
    out = open(os.path.join(e.work, "migrate.out")).read()
    vc.check("(in the guest)" in out and "verified from inside the guest" in out, f"migrate output: {out[-800:]}")
    check_migrated(e, boot0, data0)
    e.ctl("stop")


def bench(e):
    """bench/vm-migrate.sh: the guest's downtime in a migration (from the
    first reboot asked to the verified new system) against the floor of the
    same machine: its two reboots measured bare (vmctl reboot, before the
    migration) plus the bare transaction (the target's rpm runs alone, as
    target_txn logs them: target_txn.rpm_done ms=)."""
    import time
    matrix = real_matrix()
    boot_guest(e)
    bare = []
    for _ in range(2):
        t0 = time.monotonic()
        e.ctl("reboot")
        bare.append(time.monotonic() - t0)
    marks = {}
    t_start = time.monotonic()
    with open(os.path.join(e.work, "migrate.out"), "w") as log:
        p = subprocess.Popen(migrate_argv(e, matrix), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace", env=ENV)
        for line in p.stdout:
            log.write(line)
            now = time.monotonic()
            for key, pat in (("reboot1", "step.start: reboot-1"), ("upgrade", "step.start: upgrade"),
                             ("reboot2", "step.start: reboot-2"), ("verify", "step.start: verify"),
                             ("verified", "verified: ")):
                if pat in line and key not in marks:
                    marks[key] = now
        p.wait()
    if p.returncode != 0 or "verified" not in marks:
        raise vc.Fail(f"the migration failed (exit {p.returncode}); see {e.work}/migrate.out")
    t = task(e)
    text = open(os.path.join(e.work, "state", "tasks", t["id"], "osmig.log")).read()
    rpm_ms = sum(int(ln.split(" ms=")[1].split()[0]) for ln in text.splitlines() if "event=target_txn.rpm_done" in ln)
    down = marks["verified"] - marks["reboot1"]
    floor = bare[0] + bare[1] + rpm_ms / 1000
    load = open("/proc/loadavg").read().split()[0]
    print(f"vm-migrate (TCG, load {load}; one run; the guest: 1 vCPU, 512 MiB)")
    print(f"{'':34}{'osmig':>10}{'floor':>10}")
    print(f"{'reboot-1 (s)':34}{marks['upgrade'] - marks['reboot1']:10.1f}{bare[0]:10.1f}")
    print(f"{'upgrade: transaction (s)':34}{marks['reboot2'] - marks['upgrade']:10.1f}{rpm_ms / 1000:10.1f}")
    print(f"{'reboot-2 (s)':34}{marks['verify'] - marks['reboot2']:10.1f}{bare[1]:10.1f}")
    print(f"{'verify from inside (s)':34}{marks['verified'] - marks['verify']:10.1f}{0:10.1f}")
    print(f"{'downtime: reboot-1 to verified (s)':34}{down:10.1f}{floor:10.1f}")
    print(f"ratio {down / floor:.2f}x the floor (goal: within 1.2x); before the downtime: precheck, snapshot, "
          f"stage and ship {marks['reboot1'] - t_start:.1f} s")
    e.ctl("stop")


CASES = {
    "migrate-real-reboots": case_migrate_real_reboots,
    "resume-after-kill-between-boots": case_resume_after_kill_between_boots,
    "failed-boot-reverted": case_failed_boot_reverted,
    "bench": bench,
}


def main(cases=None):
    """Runs one case of CASES (or of another script's cases, on its own guest)."""
    cases = cases or CASES
    a = vc.case_args(cases)
    e = vc.Env(a.vmctl, os.path.join(a.work, a.case))
    if not e.osmig or not os.access(e.osmig, os.X_OK):
        vc.skip("OSMIG_BIN is not set to the osmig binary")

    def stop_vm():
        if os.path.exists(e.desc):
            e.ctl("stop", ok=False)
    return vc.run_case(cases[a.case], e, a.case, on_fail=stop_vm)


if __name__ == "__main__":
    sys.exit(main())
