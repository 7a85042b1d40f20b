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
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmcase as vc  # noqa: E402

ALLOW_ERASE = ("openssh-server", "yum", "initscripts", "grub2-pc", "grub2-pc-modules", "grub2-tools-extra")
NETSHARED = "%_netsharedpath /usr/sbin/shutdown\n"


def real_matrix(e):
    """build-real.py's el8-matrix (target rhel8 on the real RHEL 8.5 packages
    and the stand-ins) with a third repository: the guest fixture's el8
    `kernel` (Debian's cloud kernel, signed with the test key, which the
    repository names as its gpgkey like the stand-ins')."""
    src = os.environ.get("OSMIG_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    p = subprocess.run(["/usr/bin/python3", os.path.join(src, "tests", "fixtures", "build-real.py"), "el8-matrix"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=1800)
    if p.returncode == 77:
        vc.skip(f"the real packages are absent: {p.stderr.strip()[-300:]}")
    if p.returncode != 0:
        raise vc.Fail(f"building the real fixtures: {p.stderr.strip()[-600:]}")
    with open(os.path.join(p.stdout.strip().splitlines()[-1], "matrix.json")) as f:
        doc = json.load(f)
    repo = os.path.join(os.path.realpath(vc.guest_dir()), "el8-kernel")
    doc["targets"]["rhel8"]["repos"].append({
        "id": "osmig-test-kernel", "name": "osmig test guest: Debian's cloud kernel as the RHEL 8 kernel",
        "baseurl": f"file://{repo}", "gpgkeys": [f"file://{os.path.join(repo, 'RPM-GPG-KEY-osmig-test')}"],
        "gpgcheck": True})
    os.makedirs(e.work, exist_ok=True)
    out = os.path.join(e.work, "matrix.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
    return out


def target_kernel():
    with open(os.path.join(vc.guest_dir(), "manifest.json")) as f:
        return json.load(f)["target_kernel_release"]


def boot_guest(e, boot_timeout=240, **extra):
    """Fresh overlays of the cached disks and a descriptor (members of
    `extra` added); QEMU started."""
    vc.fresh_guest(e, "osmig-migrate-guest", boot_timeout, facts={"vcpus": 2, "memory_mib": 2048}, **extra)
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
    vc.check(not os.path.exists(os.path.join(e.work, "state", "tasks", t["id"], "guest-root")),
             "the controller's guest-root is removed after success")
    # The target's kernel runs (another release than the el7 kernel's), and
    # the boot entry that brought it up is the default and names its files.
    krel = target_kernel()
    vc.check(e.guest("uname -r").strip() == krel, f"the guest runs the el8 kernel {krel}: {e.guest('uname -r')}")
    vc.check(f"ok running kernel {krel}, the target's {krel}" in verify, f"verify judged the kernel: {verify}")
    vc.check("ok the network" in verify, f"verify judged the network: {verify}")
    vc.check(e.guest("rpm -q kernel").strip().endswith(".el8.x86_64"), "the installed kernel is the el8 package")
    cfg = e.guest("cat /boot/syslinux.cfg")
    lines = [ln.split(None, 1) for ln in cfg.splitlines() if ln.strip()]
    default = [a[1] for a in lines if a[0].upper() == "DEFAULT"]
    vc.check(default == [krel], f"syslinux.cfg's DEFAULT is the target kernel's entry: {cfg}")
    entry = cfg.split(f"LABEL {krel}\n", 1)[-1].split("LABEL", 1)[0]
    vc.check(f"/vmlinuz-{krel}" in entry and f"/initramfs-{krel}.img" in entry, f"the entry names its files: {cfg}")
    vc.check(e.guest(f"test -s /boot/initramfs-{krel}.img && echo yes").strip() == "yes",
             "the target kernel's initramfs is there")
    return t


def heartbeat(e):
    facts = dict(ln.split("=", 1) for ln in e.ctl("facts").stdout.splitlines() if "=" in ln)
    return int(facts.get("heartbeat", "0"))


def kill_as_reboot_begins(e, argv, out, mark):
    """Runs argv (a migrate or a resume) and SIGKILLs it at its first output
    line holding `mark` (a reboot about to be asked); then sees the guest go
    down and be held between boots: killed before it asked, the guest is
    made to reboot by itself (as it may at any time); either way it ends
    paused (reboot=shutdown shutdown=pause) with nobody to reset it."""
    with open(os.path.join(e.work, out), "w") as log:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                             env=ENV)
        for line in p.stdout:
            log.write(line)
            if mark in line:
                p.kill()
                break
        p.wait()
    vc.check(p.returncode == -9, f"{out}: osmig was killed during the reboot (exit {p.returncode})")
    if heartbeat(e):  # (it may be going down as this is asked: no answer is fine)
        e.ctl("run", "/bin/sh", "-c", "(sleep 1; /sbin/shutdown -r now) >/dev/null 2>&1 </dev/null &", ok=False)
    for _ in range(60):
        if not heartbeat(e):
            break
        subprocess.run(["sleep", "1"])
    vc.check(heartbeat(e) == 0, f"{out}: the guest is down and held between boots, its agent silent")
    vc.check(task(e)["state"] not in ("succeeded", "failed", "rolled_back"), f"{out}: the task is unfinished")


def case_resume_after_kill_between_boots(e):
    """osmig killed (SIGKILL) as each of its two reboots begins: as the
    first, the migration; as the second (the boot into the target's
    kernel), the resume that carried it on. Each time `osmig resume` sees the
    guest paused between boots (query-status `shutdown`), resets and
    continues it, and the migration finishes."""
    boot_guest(e)
    matrix = real_matrix(e)
    boot0 = e.boot_id()
    data0 = e.guest("sha256sum /srv/data/hello.txt")
    resume = [e.osmig, "resume", "--state-dir", os.path.join(e.work, "state")]
    kill_as_reboot_begins(e, migrate_argv(e, matrix), "migrate.out", "rebooting the instance and waiting for it")
    # The resume prints events, not progress: its mark is the boot entry
    # written for the target's kernel, the last thing before that reboot.
    kill_as_reboot_begins(e, resume, "resume-1.out", "boot-entry")
    r = subprocess.run(resume, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                       timeout=3600, env=ENV)
    with open(os.path.join(e.work, "resume.out"), "w") as f:
        f.write(r.stdout)
    vc.check(r.returncode == 0, f"osmig resume: exit {r.returncode}: {r.stdout[-1500:]}")
    check_migrated(e, boot0, data0)
    # One guest reset per reboot (the guest's shutdown ends in sysrq b): each
    # resume went on from the pause, it did not reboot the guest once more.
    resets = open(os.path.join(e.work, "console.log"), errors="replace").read().count("sysrq: Resetting")
    vc.check(resets == 2, f"{resets} guest reboots for the migration's 2")
    e.ctl("stop")


def case_failed_boot_reverted(e):
    """The new kernel does not boot (test fixture: the guest's initramfs
    builder, /etc/osmig/mkinitramfs, replaced by one whose initramfs is not
    one): the entry is written and checked (files there, not empty), the boot
    into el8 does not come within its own limit in the list of boots (the
    descriptor's boot_limits: 120 s into the target, 240 s for the other
    boots), every disk is reverted to the set, the old system boots on its
    el7 kernel, the task is rolled back with a cause naming the boot, its
    phase and its limit, the old system's files are as they were, and the
    controller's guest-root is removed."""
    boot_guest(e, boot_timeout=240, boot_limits={"into-target": 120})
    matrix = real_matrix(e)
    e.guest("rm -f /etc/osmig/mkinitramfs && printf '%s\\n' '#!/bin/sh' 'echo broken by the test > \"$2\"' "
            "> /etc/osmig/mkinitramfs && chmod 755 /etc/osmig/mkinitramfs; sync")
    boot0 = e.boot_id()
    krel0 = e.guest("uname -r").strip()
    before = e.guest("rpm -qa | sort | sha256sum; sha256sum /srv/data/hello.txt /etc/os-release /boot/syslinux.cfg")
    p = migrate(e, matrix, ok=False)
    t = task(e)
    vc.check(p.returncode != 0, "osmig migrate fails")
    vc.check(t["state"] == "rolled_back", f"task state {t['state']}: {p.stdout[-1500:]}")
    cause = (t.get("error") or {}).get("cause") or ""
    vc.check("no boot within 120 s" in cause and "reboot-2 (into-target, limit 120 s)" in cause,
             f"the cause names the boot, its phase and its limit: {cause}")
    vc.check("reboot-1 (before-upgrade): instance up in " in p.stdout and " of 240 s, boot id " in p.stdout,
             f"the boot before the upgrade came within its own limit: {p.stdout[-1500:]}")
    vc.check(f"initramfs /boot/initramfs-{target_kernel()}.img" in p.stdout,
             f"the entry of the new kernel was written before the boot: {p.stdout[-1500:]}")
    vc.check(e.boot_id() not in ("", boot0), "the old system booted again (a new boot)")
    vc.check(e.guest("uname -r").strip() == krel0, f"the old el7 kernel {krel0} runs again")
    rel = os_release(e)
    vc.check(rel.get("ID") == "centos" and rel.get("VERSION_ID") == "7", f"the old system runs: {rel}")
    vc.check(e.guest("rpm -qa | sort | sha256sum; sha256sum /srv/data/hello.txt /etc/os-release /boot/syslinux.cfg")
             == before, "the old system's packages and files are as they were")
    vc.check(not os.path.exists(os.path.join(e.work, "state", "tasks", t["id"], "guest-root")),
             "the controller's guest-root is removed after the rollback")
    e.ctl("stop")


def assess(e, matrix):
    argv = [e.osmig, "assess", e.uri, "--to", "rhel8", "--matrix", matrix, "--cache-dir",
            os.path.join(e.work, "cache")]
    for n in ALLOW_ERASE:
        argv += ["--allow-erase", n]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                       timeout=1800, env=ENV)
    with open(os.path.join(e.work, "assess.out"), "a") as f:
        f.write(p.stdout)
    return p


def case_assess_boot_inhibitors(e):
    """assess of the guest, which the plan gives a new kernel: nothing
    inhibits it as built; with /boot filled (a test file) an inhibitor names
    /boot, its free space and what the kernel and initramfs need; with a
    grub2 configuration instead of syslinux's, an inhibitor names grub2."""
    boot_guest(e)
    matrix = real_matrix(e)
    p = assess(e, matrix)
    vc.check(p.returncode == 0, f"the guest as built is migratable (exit {p.returncode}): {p.stdout[-1500:]}")
    vc.check(target_kernel().split("-")[0] in p.stdout or "kernel" in p.stdout, f"assess: {p.stdout[-800:]}")
    free_kib = int(e.guest("df -Pk /boot | tail -n 1").split()[3])
    e.guest(f"dd if=/dev/zero of=/boot/filler bs=1024 count={free_kib - 4096} 2>/dev/null; sync")
    p = assess(e, matrix)
    vc.check(p.returncode == 3, f"assess with /boot full exits 3 (got {p.returncode}): {p.stdout[-1500:]}")
    vc.check("boot-space" in p.stdout and "/boot has " in p.stdout and "MiB free" in p.stdout
             and "need about" in p.stdout, f"the inhibitor names /boot and the space: {p.stdout[-1500:]}")
    e.guest("rm -f /boot/filler && mv /boot/syslinux.cfg /boot/syslinux.cfg.away && mkdir -p /boot/grub2 && "
            "echo '# test' > /boot/grub2/grub.cfg; sync")
    p = assess(e, matrix)
    vc.check(p.returncode == 3, f"assess with grub2 exits 3 (got {p.returncode}): {p.stdout[-1500:]}")
    vc.check("bootloader grub2 (/boot/grub2/grub.cfg)" in p.stdout and "boot-space" not in p.stdout,
             f"the inhibitor names grub2: {p.stdout[-1500:]}")
    e.ctl("stop")


def case_migrate_real_reboots(e):
    """The running CentOS 7 guest migrated to RHEL 8.5: the target's rpm ran
    the transaction in the guest, two real reboots, verified from inside;
    then checked here again, through the agent, by the target's own tools."""
    boot_guest(e)
    matrix = real_matrix(e)
    boot0 = e.boot_id()
    data0 = e.guest("sha256sum /srv/data/hello.txt")
    migrate(e, matrix)
    out = open(os.path.join(e.work, "migrate.out")).read()
    vc.check("(in the guest)" in out and "verified from inside the guest" in out, f"migrate output: {out[-800:]}")
    check_migrated(e, boot0, data0)
    # Each boot of the list with its outcome: the kernel it came up on, its
    # boot id, its seconds within its limit.
    show = e.run([e.osmig, "task", "show", task(e)["id"], "--state-dir", os.path.join(e.work, "state")]).stdout
    krel0 = json.load(open(os.path.join(vc.guest_dir(), "manifest.json")))["kernel_release"]
    for name, phase, krel in (("reboot-1", "before-upgrade", krel0), ("reboot-2", "into-target", target_kernel())):
        vc.check(re.search(rf"{name} \({phase}\): instance up in [0-9.]+ s of [0-9]+ s, boot id \S+, kernel "
                           rf"{re.escape(krel)}", show), f"task show lists {name} with its outcome: {show[-1500:]}")
    e.ctl("stop")


def step_breakdown(text):
    """Where each downtime step's time goes, from osmig's own log of one run
    (so free of the run-to-run noise of a shared host): the boot as the
    provider saw it (guest-shutdown to QEMU's SHUTDOWN, reset to the agent
    answering) and the commands run in the guest (the provider's qemu.exec
    debug lines): the rpm transaction (target_txn.rpm_done), the longest
    other command, and the rest (checks, queries and copies around them;
    each a process start in the emulated guest)."""
    steps = {"step=3 ": "reboot-1", "step=4 ": "upgrade", "step=5 ": "reboot-2", "step=6 ": "verify"}
    per, cur = {}, None
    for ln in text.splitlines():
        if "event=step.start" in ln:
            cur = next((v for k, v in steps.items() if k in ln), None)
            continue
        if cur is None:
            continue
        d = per.setdefault(cur, {"cmds": [], "rpm": 0, "parts": 0, "boot": ""})
        f = dict(kv.split("=", 1) for kv in ln.split(" cmd=")[0].split() if "=" in kv)
        f.update(kv.split("=", 1) for kv in ln.rsplit('"', 1)[-1].split() if "=" in kv)
        if "event=qemu.exec" in ln:
            d["cmds"].append(int(f["ms"]))
        elif "event=target_txn.rpm_done" in ln:
            d["rpm"] += int(f["ms"])
            d["parts"] += 1
        elif "event=qemu.boot" in ln:
            d["boot"] = f"boot down {int(f['down_ms']) / 1000:.1f} s, up {int(f['up_ms']) / 1000:.1f} s; "
    out = []
    for n in ("reboot-1", "upgrade", "reboot-2", "verify"):
        d = per.get(n)
        if not d:
            continue
        cmds = sorted(d["cmds"])
        if d["parts"]:
            # The transaction's rpm runs (erase, install) are its longest commands.
            rest = cmds[:-d["parts"]]
            main = f"the transaction's rpm {d['rpm'] / 1000:.1f} s"
        else:
            rest = cmds[:-1]
            main = f"the longest {cmds[-1] / 1000:.1f} s" if cmds else "none"
        out.append(f"  {n}: {d['boot']}{len(cmds)} guest commands: {main}, "
                   f"{len(rest)} others {sum(rest) / 1000:.1f} s")
    return out


def bench(e):
    """bench/vm-migrate.sh: the guest's downtime in a migration (from the
    first reboot asked to the verified new system) against the floor of the
    same machine: its two reboots measured bare (vmctl reboot, before the
    migration) plus the bare transaction (the target's rpm runs alone, as
    target_txn logs them: target_txn.rpm_done ms=)."""
    import time
    boot_guest(e)
    matrix = real_matrix(e)
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
            for key, pat in (("reboot1", "step.start: boot-before-upgrade"), ("upgrade", "step.start: upgrade"),
                             ("reboot2", "step.start: boot-into-target"), ("verify", "step.start: verify"),
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
    print(f"{'reboot-2, with kernel setup (s)':34}{marks['verify'] - marks['reboot2']:10.1f}{bare[1]:10.1f}")
    print(f"{'verify from inside (s)':34}{marks['verified'] - marks['verify']:10.1f}{0:10.1f}")
    print(f"{'downtime: reboot-1 to verified (s)':34}{down:10.1f}{floor:10.1f}")
    print(f"ratio {down / floor:.2f}x the floor (goal: within 1.2x); before the downtime: precheck, snapshot, "
          f"stage and ship {marks['reboot1'] - t_start:.1f} s")
    for ln in step_breakdown(text):
        print(ln)
    e.ctl("stop")


CASES = {
    "migrate-real-reboots": case_migrate_real_reboots,
    "resume-after-kill-between-boots": case_resume_after_kill_between_boots,
    "failed-boot-reverted": case_failed_boot_reverted,
    "assess-boot-inhibitors": case_assess_boot_inhibitors,
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
