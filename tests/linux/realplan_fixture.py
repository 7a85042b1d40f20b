#!/usr/bin/python3
"""realplan_fixture.py [--cache DIR]: a planning root and repository from the real data.

The root holds the 186 real CentOS 7.9 packages of $OSMIG_REALDATA/rpms/el7
(installed with Debian's rpm: an sqlite rpmdb, files laid out, no scriptlets),
the repository the 221 real RHEL 8.5 packages of rpms/el8 (symlinked, so the
real data is never copied). Both get the empty stand-ins of
tests/fixtures/sets/realdata-standins.set for exactly the packages the real
data lacks (rpms/README.md); they are named STAND-IN in their summary.

This is enough to plan (the planner reads the rpmdb and looks at directories
in the root); it is not a CentOS-written Berkeley DB root to migrate.

Prints the fixture directory DIR (CACHE/realdata/el7-el8-HASH): DIR/root,
DIR/repo. Exit 0 ok, 1 failed build, 77 when the real data is absent.
"""
import argparse
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
sys.path.insert(0, FIXTURES)
import fixturelib as fl  # noqa: E402

SKIP = 77
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))


def realdata():
    return os.environ.get("OSMIG_REALDATA", os.path.join(SRC, "..", "shared", "realdata"))


def standins(cache):
    out = subprocess.run([sys.executable, os.path.join(FIXTURES, "build-set.py"), "--cache", cache,
                          "realdata-standins"], capture_output=True, text=True)
    if out.returncode != 0:
        raise fl.FixtureError("fixture set realdata-standins did not build:\n" + out.stderr)
    return out.stdout.strip().splitlines()[-1]


def build(cache):
    rpms = os.path.join(realdata(), "rpms")
    el7 = sorted(glob.glob(os.path.join(rpms, "el7", "*.rpm")))
    el8 = sorted(glob.glob(os.path.join(rpms, "el8", "*.rpm")))
    if not el7 or not el8:
        print("SKIP: real data %s not found (set OSMIG_REALDATA)" % rpms, file=sys.stderr)
        sys.exit(SKIP)
    stand = standins(cache)
    st7 = sorted(glob.glob(os.path.join(stand, "repos", "el7", "Packages", "*.rpm")))
    st8 = sorted(glob.glob(os.path.join(stand, "repos", "el8", "Packages", "*.rpm")))
    with open(os.path.abspath(__file__), "rb") as f:
        me = f.read()
    key = fl.digest([me, os.path.basename(stand)] +
                    ["%s %d" % (os.path.basename(p), os.path.getsize(p)) for p in el7 + el8])[:16]
    parent = os.path.join(cache, "realdata")
    os.makedirs(parent, exist_ok=True)
    final = os.path.join(parent, "el7-el8-" + key)
    with fl.locked(cache, "realdata-el7-el8"):
        if os.path.isdir(final):
            return final
        fl.log("building the real el7 root and el8 repository (%d + %d packages)" % (len(el7), len(el8)))
        tmp = fl.new_tmpdir(cache, "realdata-el7-el8")
        # filesystem first, alone: it makes /lib64 etc. symlinks, which a
        # package that rpm orders before it would create as directories
        # (--nodeps: its needs, /bin/sh and system-release, come next).
        first = [p for p in el7 if os.path.basename(p).startswith(("setup-", "filesystem-"))]
        fl.install_root(os.path.join(tmp, "root"), first, ["--nodeps"])
        fl.install_root(os.path.join(tmp, "root"), [p for p in el7 + st7 if p not in first])
        pkgs = os.path.join(tmp, "repo", "Packages")
        os.makedirs(pkgs)
        for p in el8 + st8:
            os.symlink(os.path.abspath(p), os.path.join(pkgs, os.path.basename(p)))
        fl.run(["createrepo_c", "--quiet", "--no-database", os.path.join(tmp, "repo")], "createrepo_c (el8)")
        fl.publish(tmp, final)
        fl.prune_old(parent, "el7-el8-", os.path.basename(final))
    return final


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache")
    args = ap.parse_args()
    try:
        print(build(fl.cache_dir(args.cache)))
    except fl.FixtureError as e:
        print("realplan_fixture.py: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
