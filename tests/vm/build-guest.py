#!/usr/bin/python3
"""build-guest.py: the osmig test guest, a tiny VM booted from its own disk.

Usage: build-guest.py [--cache DIR]

Prints CACHE/vm/guest-KEY (CACHE/vm/guest links to the newest), holding:
  system.qcow2   the system disk: an MBR (syslinux's mbr.bin) and two
                 partitions, 1 = FAT16 /boot with syslinux (installed by the
                 mtools installer, no mount), 2 = ext4 / made by mkfs.ext4 -d
  data.qcow2     a second disk: ext4 with /hello.txt, mounted at /srv/data
  kernel.rpm     the kernel package installed in the guest (see below)
  el8-kernel/    the target's kernel: a repository (signed with the fixtures'
                 test key, RPM-GPG-KEY-osmig-test beside it) of Debian 12's
                 cloud kernel (linux-image-*-cloud-amd64) packaged as RHEL 8's
                 `kernel` VERSION-N.el8: another `uname -r` than the guest's
  manifest.json  what was built from what: the kernel release, the packages

The system is the real CentOS 7.9 root of build-real.py el7-root (real
signed packages installed by CentOS 7's rpm). The real data has no kernel:
Debian 12's kernel (linux-image-*-amd64, `apt-get download`) is packaged
as an rpm named `kernel` of the release, version-release VERSION-N.el7
(the Debian upstream version), with /boot/vmlinuz-KREL and only the modules
a virtio machine needs, and installed by CentOS 7's own rpm (chroot).
The initramfs (/boot/initramfs-KREL.img, as dracut names it) is busybox
with those modules. The guest agent is Debian's qemu-ga with its own
libraries under /opt/qga (the root's glibc 2.17 is older than Debian's).
Init is tests/vm/guest/init (no systemd): it mounts, starts the agent,
and reaps; /sbin/shutdown is tests/vm/guest/shutdown (guest-shutdown runs it).
/etc/osmig/mkinitramfs (tests/vm/guest/mkinitramfs, with a static busybox
under /usr/lib/osmig-guest) is the guest's own initramfs builder, which a
migration runs for the target's kernel instead of the target's dracut.

The cache key covers this script, tests/vm/guest/*, the el7 root's key,
the kernel package, qemu-ga, busybox and syslinux files. Exit 0 ok, 1 failed
build (nothing published), 77 when the real data or a tool is absent.
Needs root (the el7 root is built and the kernel installed by chroot).
"""

import argparse
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_DIR = os.path.dirname(os.path.dirname(HERE))
FX_DIR = os.path.join(SRC_DIR, "tests", "fixtures")
sys.path.insert(0, FX_DIR)
import fixturelib as fl  # noqa: E402

_spec = importlib.util.spec_from_file_location("build_real", os.path.join(FX_DIR, "build-real.py"))
br = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(br)

# Modules a virtio machine needs: disks, the agent's port, ext4, /boot (FAT).
WANTED_MODULES = ("virtio_pci", "virtio_blk", "virtio_console", "virtio_net", "ext4", "vfat", "nls_cp437",
                  "nls_ascii", "nls_utf8", "crc32c_generic", "crc32c_intel")
BOOT_MIB = 64
ROOT_MIB = 1024
DATA_MIB = 64
SECTOR = 512
TOOLS = ("qemu-img", "mkfs.ext4", "mkfs.vfat", "mcopy", "mmd", "syslinux", "cpio", "rpmbuild", "apt-get",
         "dpkg-deb")
SYSLINUX_MBR = "/usr/lib/syslinux/mbr/mbr.bin"
BUSYBOX = "/bin/busybox"
QGA = "/usr/sbin/qemu-ga"


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def kernel_deb(cache, meta="linux-image-amd64", env="OSMIG_VM_KERNEL_DEB"):
    """The kernel image package META depends on (Debian 12's current one of
    that flavour), downloaded once into the cache; $ENV names a .deb instead."""
    if os.environ.get(env):
        return os.path.abspath(os.environ[env])
    d = os.path.join(cache, "vm", "debs")
    os.makedirs(d, exist_ok=True)
    deps = fl.run(["apt-cache", "depends", meta], f"apt-cache depends {meta}")
    names = [ln.split(":", 1)[1].strip() for ln in deps.splitlines() if ln.strip().startswith("Depends:")]
    if not names:
        raise fl.FixtureError(f"apt-cache depends {meta} names no kernel package")
    mine = lambda: sorted(f for f in os.listdir(d) if f.startswith(names[0] + "_") and f.endswith(".deb"))  # noqa
    if not mine():
        with fl.locked(cache, "vm-debs"):
            if not mine():
                fl.run(["apt-get", "download", names[0]], f"apt-get download {names[0]}", cwd=d)
    if not mine():
        raise fl.FixtureError(f"apt-get download {names[0]} left no .deb in {d}")
    return os.path.join(d, mine()[-1])


def modinfo_depends(path):
    """The depends= of a .ko's .modinfo (no kmod needed)."""
    with open(path, "rb") as f:
        data = f.read()
    i = data.find(b"\0depends=")
    if i < 0:
        return []
    v = data[i + 9:data.index(b"\0", i + 9)].decode()
    return [x for x in v.split(",") if x]


def module_closure(moddir):
    """WANTED_MODULES and what they depend on, in load order (deps first);
    those built into the kernel (modules.builtin) need no file."""
    index = {}
    builtin = set()
    with open(os.path.join(moddir, "modules.builtin")) as f:
        for ln in f:
            builtin.add(os.path.basename(ln.strip())[:-3].replace("-", "_"))
    for dp, _, fns in os.walk(os.path.join(moddir, "kernel")):
        for fn in fns:
            if fn.endswith(".ko"):
                index[fn[:-3].replace("-", "_")] = os.path.relpath(os.path.join(dp, fn), moddir)
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name in builtin and name not in index:
            return
        if name not in index:
            raise fl.FixtureError(f"kernel module {name} not in {moddir} (built in?)")
        for d in modinfo_depends(os.path.join(moddir, index[name])):
            visit(d)
        order.append(index[name])

    for m in WANTED_MODULES:
        visit(m)
    return order


def build_kernel_rpm(deb, tmp, dist="el7"):
    """Debian's kernel as the `kernel` package of the release DIST (el7: CentOS
    7's, el8: RHEL 8's): KREL, rpm path, module order, the unpacked .deb."""
    x = os.path.join(tmp, "deb-" + dist)
    fl.run(["dpkg-deb", "-x", deb, x], f"dpkg-deb -x {deb}")
    krels = os.listdir(os.path.join(x, "lib", "modules"))
    if len(krels) != 1:
        raise fl.FixtureError(f"{deb}: expected one /lib/modules/KREL, found {krels}")
    krel = krels[0]
    ver = fl.run(["dpkg-deb", "-f", deb, "Version"], "dpkg-deb -f Version").strip()
    upstream = ver.split("-")[0]
    abi = krel.split("-")[1] if krel.count("-") >= 2 else "1"
    moddir = os.path.join(x, "lib", "modules", krel)
    order = module_closure(moddir)
    broot = os.path.join(tmp, "kroot-" + dist)
    os.makedirs(os.path.join(broot, "boot"))
    for f in (f"vmlinuz-{krel}", f"config-{krel}", f"System.map-{krel}"):
        shutil.copy2(os.path.join(x, "boot", f), os.path.join(broot, "boot", f))
    for rel in order:
        dst = os.path.join(broot, "lib", "modules", krel, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.join(moddir, rel), dst)
    with open(os.path.join(broot, "lib", "modules", krel, "modules.order"), "w") as f:
        f.write("".join(o + "\n" for o in order))
    spec = os.path.join(tmp, f"kernel-{dist}.spec")
    with open(spec, "w") as f:
        f.write(f"""Name: kernel
Version: {upstream}
Release: {abi}.{dist}
Summary: The Linux kernel (Debian 12's {os.path.basename(deb)}, for osmig's test guest)
License: GPLv2
BuildArch: x86_64
AutoReqProv: no
Provides: kernel = {upstream}-{abi}.{dist}
%description
Debian 12's kernel {krel} ({ver}) with the modules a virtio machine needs,
packaged as the kernel of the release ({dist}) for osmig's test guest.
%install
cp -a {broot}/. %{{buildroot}}/
%files
/boot/vmlinuz-{krel}
/boot/config-{krel}
/boot/System.map-{krel}
/lib/modules/{krel}
""")
    top = os.path.join(tmp, "rpmbuild-" + dist)
    # CentOS 7's rpm 4.11 reads gzip payloads and sha256 digests.
    fl.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", "_binary_payload w6.gzdio",
            "--define", "_binary_filedigest_algorithm 8", "--define", "__os_install_post %{nil}",
            "--define", "_build_id_links none", "--define", "debug_package %{nil}", spec],
           "rpmbuild kernel")
    rpms = [os.path.join(dp, fn) for dp, _, fns in os.walk(os.path.join(top, "RPMS")) for fn in fns]
    out = os.path.join(tmp, f"kernel-{dist}.rpm")
    shutil.move(rpms[0], out)
    shutil.rmtree(top)
    shutil.rmtree(broot)
    return krel, out, order, x


def make_initramfs(deb_x, krel, order, out, tmp):
    d = os.path.join(tmp, "initramfs")
    for sub in ("bin", "proc", "sys", "dev", "newroot"):
        os.makedirs(os.path.join(d, sub))
    shutil.copy2(BUSYBOX, os.path.join(d, "bin", "busybox"))
    shutil.copy2(os.path.join(HERE, "guest", "initramfs-init"), os.path.join(d, "init"))
    for rel in order:
        dst = os.path.join(d, "lib", "modules", rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.join(deb_x, "lib", "modules", krel, rel), dst)
    with open(os.path.join(d, "modules.order"), "w") as f:
        f.write("".join(o + "\n" for o in order))
    names = sorted(os.path.relpath(os.path.join(dp, n), d) for dp, dns, fns in os.walk(d) for n in dns + fns)
    with open(out, "wb") as f:
        p = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=d,
                           input="\n".join(names).encode(), stdout=f, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise fl.FixtureError(f"cpio of the initramfs failed: {p.stderr.decode()}")
    shutil.rmtree(d)


def copy_qga(root):
    """qemu-ga and every library it loads (its loader too) under /opt/qga."""
    dst = os.path.join(root, "opt", "qga")
    os.makedirs(os.path.join(dst, "lib"))
    shutil.copy2(QGA, os.path.join(dst, "qemu-ga"))
    ldd = fl.run(["ldd", QGA], "ldd qemu-ga")
    for ln in ldd.splitlines():
        parts = ln.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if path.startswith("/"):
            shutil.copy2(os.path.realpath(path), os.path.join(dst, "lib", os.path.basename(path)))


def install_kernel(root, rpm_path):
    """CentOS 7's own rpm installs the kernel package (its scriptlets need
    dracut and grub, which this root has not: --noscripts)."""
    with br.mounted() as m:
        m.system(root)
        os.makedirs(os.path.join(root, "tmp"), exist_ok=True)
        shutil.copy(rpm_path, os.path.join(root, "tmp", "kernel.rpm"))
        br.chroot_run(root, ["rpm", "-ivh", "--nodeps", "--noscripts", "/tmp/kernel.rpm"],
                      "rpm -ivh kernel (CentOS 7 rpm)")
        os.unlink(os.path.join(root, "tmp", "kernel.rpm"))


def mbr(boot_start, boot_sectors, root_start, root_sectors):
    with open(SYSLINUX_MBR, "rb") as f:
        code = f.read()[:440]
    entries = b""
    for active, ptype, start, n in ((0x80, 0x0E, boot_start, boot_sectors), (0, 0x83, root_start, root_sectors)):
        # CHS fields are ignored by syslinux's MBR and Linux (LBA only).
        entries += struct.pack("<B3sB3sII", active, b"\xfe\xff\xff", ptype, b"\xfe\xff\xff", start, n)
    return code.ljust(440, b"\0") + b"\0" * 6 + entries + b"\0" * 32 + b"\x55\xaa"


def build_el8_kernel_repo(cloud_deb, keydir, tmp):
    """The target's kernel: Debian's cloud kernel (another `uname -r` than
    the guest's) as RHEL 8's `kernel`, signed with the fixtures' test key,
    in a repository of its own (el8-kernel/) with that key beside it."""
    krel, rpm, _, x = build_kernel_rpm(cloud_deb, tmp, "el8")
    shutil.rmtree(x)
    fl.sign_rpms(keydir, [rpm])
    repo = os.path.join(tmp, "el8-kernel")
    fl.make_repo(repo, [rpm])
    os.unlink(rpm)
    shutil.copy(os.path.join(keydir, fl.KEY_FILE), os.path.join(repo, fl.KEY_FILE))
    return krel


def build_guest(cache, tmp, el7_dir, deb, cloud_deb, keydir):
    target_krel = build_el8_kernel_repo(cloud_deb, keydir, tmp)
    krel, kernel_rpm, order, deb_x = build_kernel_rpm(deb, tmp)
    root = os.path.join(tmp, "root")
    fl.run(["cp", "-a", os.path.join(el7_dir, "root"), root], "copying the el7 root")
    br.in_private_mounts(install_kernel, root, kernel_rpm)
    boot = os.path.join(root, "boot")
    make_initramfs(deb_x, krel, order, os.path.join(boot, f"initramfs-{krel}.img"), tmp)
    shutil.rmtree(deb_x)
    copy_qga(root)
    g = os.path.join(root, "usr", "lib", "osmig-guest")
    os.makedirs(g)
    for f in ("init", "shutdown", "initramfs-init", "mkinitramfs"):
        shutil.copy2(os.path.join(HERE, "guest", f), os.path.join(g, f))
    shutil.copy2(BUSYBOX, os.path.join(g, "busybox"))
    # The guest's own initramfs builder (the test guest's choice over dracut).
    os.makedirs(os.path.join(root, "etc", "osmig"), exist_ok=True)
    os.symlink("/usr/lib/osmig-guest/mkinitramfs", os.path.join(root, "etc", "osmig", "mkinitramfs"))
    # /sbin is a link to usr/sbin in this root: an absolute target.
    os.symlink("/usr/lib/osmig-guest/shutdown", os.path.join(root, "usr", "sbin", "shutdown"))
    os.makedirs(os.path.join(root, "srv", "data"), exist_ok=True)
    with open(os.path.join(boot, "syslinux.cfg"), "w") as f:
        f.write(f"""DEFAULT linux
TIMEOUT 0
PROMPT 0
LABEL linux
  KERNEL /vmlinuz-{krel}
  INITRD /initramfs-{krel}.img
  APPEND root=/dev/vda2 init=/usr/lib/osmig-guest/init console=ttyS0 panic=-1 quiet
""")
    # /boot becomes the FAT partition; the ext4 root keeps an empty /boot.
    bootimg = os.path.join(tmp, "boot.img")
    with open(bootimg, "wb") as f:
        f.truncate(BOOT_MIB << 20)
    fl.run(["mkfs.vfat", "-F", "16", "-n", "BOOT", bootimg], "mkfs.vfat /boot")
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    items = [os.path.join(boot, e) for e in sorted(os.listdir(boot))]
    fl.run(["mcopy", "-s", "-p", "-Q", "-i", bootimg] + items + ["::/"], "mcopy into /boot", env=env)
    fl.run(["syslinux", "--install", bootimg], "syslinux --install")
    for e in os.listdir(boot):
        p = os.path.join(boot, e)
        shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
    rootimg = os.path.join(tmp, "root.img")
    with open(rootimg, "wb") as f:
        f.truncate(ROOT_MIB << 20)
    fl.run(["mkfs.ext4", "-q", "-L", "root", "-d", root, rootimg], "mkfs.ext4 -d (the root)")
    shutil.rmtree(root)
    raw = os.path.join(tmp, "system.raw")
    boot_start = 2048
    boot_sectors = (BOOT_MIB << 20) // SECTOR
    root_start = boot_start + boot_sectors
    root_sectors = (ROOT_MIB << 20) // SECTOR
    with open(raw, "wb") as f:
        f.truncate((root_start + root_sectors) * SECTOR)
        f.write(mbr(boot_start, boot_sectors, root_start, root_sectors))
    for img, start in ((bootimg, boot_start), (rootimg, root_start)):
        fl.run(["dd", f"if={img}", f"of={raw}", "bs=1M", f"seek={start * SECTOR}", "oflag=seek_bytes",
                "conv=notrunc,sparse", "status=none"], f"writing {os.path.basename(img)} into the disk")
        os.unlink(img)
    fl.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, os.path.join(tmp, "system.qcow2")],
           "qemu-img convert (system)")
    os.unlink(raw)
    # The data disk: a file system with one known file.
    dd = os.path.join(tmp, "data-tree")
    os.makedirs(dd)
    with open(os.path.join(dd, "hello.txt"), "w") as f:
        f.write("hello from the data disk\n")
    dimg = os.path.join(tmp, "data.raw")
    with open(dimg, "wb") as f:
        f.truncate(DATA_MIB << 20)
    fl.run(["mkfs.ext4", "-q", "-L", "data", "-d", dd, dimg], "mkfs.ext4 -d (data)")
    fl.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", dimg, os.path.join(tmp, "data.qcow2")],
           "qemu-img convert (data)")
    os.unlink(dimg)
    shutil.rmtree(dd)
    shutil.move(kernel_rpm, os.path.join(tmp, "kernel.rpm"))
    with open(os.path.join(tmp, "manifest.json"), "w") as f:
        json.dump({"what": "vm-guest", "system": "system.qcow2", "data": "data.qcow2", "kernel_release": krel,
                   "kernel_deb": os.path.basename(deb), "target_kernel_release": target_krel,
                   "target_kernel_deb": os.path.basename(cloud_deb), "target_kernel_repo": "el8-kernel", "root": "el7-root (CentOS 7.9, real packages)",
                   "agent": "/opt/qga/qemu-ga (Debian)", "modules": order}, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description="Build the osmig test guest (docs/qemu.md).")
    ap.add_argument("--cache", help="fixture cache (default $OSMIG_FIXTURE_CACHE or build/fixture-cache)")
    args = ap.parse_args()
    missing = [t for t in TOOLS if not shutil.which(t)]
    missing += [p for p in (SYSLINUX_MBR, BUSYBOX, QGA) if not os.path.exists(p)]
    if missing:
        print(f"build-guest: SKIP: missing {', '.join(missing)} (scripts/install-deps.sh installs them)",
              file=sys.stderr)
        return 77
    if os.geteuid() != 0:
        print("build-guest: SKIP: must run as root (the el7 root is made by chroot)", file=sys.stderr)
        return 77
    try:
        rd = br.realdata_rpms()
        cache = fl.cache_dir(args.cache)
        el7 = br.build_el7_root(cache, rd)
        deb = kernel_deb(cache)
        cloud = kernel_deb(cache, "linux-image-cloud-amd64", "OSMIG_VM_TARGET_KERNEL_DEB")
        keydir = fl.ensure_key(cache)
        parts = ["vm-guest-2", os.path.basename(os.path.realpath(el7)), os.path.basename(deb),
                 os.path.getsize(deb), os.path.basename(cloud), os.path.getsize(cloud), fl.key_fingerprint(keydir)]
        for p in (os.path.abspath(__file__), QGA, BUSYBOX, SYSLINUX_MBR, shutil.which("syslinux")):
            parts.append(sha256_file(p))
        for fn in sorted(os.listdir(os.path.join(HERE, "guest"))):
            parts.append(fn + "\0" + sha256_file(os.path.join(HERE, "guest", fn)))
        key = fl.digest(parts)[:16]
        vmdir = os.path.join(cache, "vm")
        os.makedirs(vmdir, exist_ok=True)
        leaf = f"guest-{key}"
        final = os.path.join(vmdir, leaf)
        with fl.locked(cache, "vm-guest"):
            if br.build_once(cache, "vm-guest", final, key, lambda tmp: build_guest(cache, tmp, el7, deb, cloud, keydir),
                             "building the test guest"):
                fl.prune_old(vmdir, "guest-", leaf)
            fl.point_link(os.path.join(vmdir, "guest"), leaf)
        print(final)
        return 0
    except br.Absent as e:
        print(f"build-guest: SKIP: {e}", file=sys.stderr)
        return 77
    except fl.FixtureError as e:
        print(f"build-guest: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
