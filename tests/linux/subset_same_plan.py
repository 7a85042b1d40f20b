#!/usr/bin/python3
"""subset_same_plan.py [--realdata]: a plan from the subset cache is the plan.

For every plan case of tests/linux/cases (no mutation, no error expected) it
plans three times: without the subset cache (OSMIG_PLAN_SUBSET=0), with it
on an empty cache (the run that writes the subset) and again (the run that
loads only the subset), and wants the three plan.json files byte for byte
equal, the second run to have written a subset and the third to have used it.
It also checks that writing a subset keeps the newest 128 files of the
subset directory only (and never the one just written).

--realdata does the same on bench/plan.sh's problem: the root with the 517
real NEVRAs of CentOS8Modularitylabel against the real CentOS Stream 9
BaseOS + AppStream (about 18,700 packages); it skips without the real data.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import plancase  # noqa: E402

SKIP = 77


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def plan(args, cache, out, subset):
    env = dict(os.environ, OSMIG_PLAN_SUBSET="1" if subset else "0", OSMIG_LOG="debug")
    r = subprocess.run([plancase.OSMIG, "plan"] + args + ["--cache-dir", cache, "-o", out],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        fail("osmig plan %s exited %d:\n%s" % (" ".join(args), r.returncode, r.stderr[-3000:]))
    with open(out, "rb") as f:
        return f.read(), r.stderr


def compare(name, args, tmp):
    full, _ = plan(args, os.path.join(tmp, "cache-full"), os.path.join(tmp, "full.json"), False)
    cache = os.path.join(tmp, "cache-subset")
    first, log1 = plan(args, cache, os.path.join(tmp, "first.json"), True)
    second, log2 = plan(args, cache, os.path.join(tmp, "second.json"), True)
    if "plan.subset.write" not in log1:
        fail("%s: the first plan wrote no subset:\n%s" % (name, log1[-2000:]))
    if "plan.subset.hit" not in log2:
        fail("%s: the second plan did not load the subset:\n%s" % (name, log2[-2000:]))
    for label, data in (("the plan that wrote the subset", first), ("the plan from the subset", second)):
        if data != full:
            a, b = json.loads(full), json.loads(data)
            diff = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
            fail("%s: %s differs from the plan without it in %s" % (name, label, sorted(diff)))
    n = len(json.loads(full)["actions"])
    print("same plan: %s (%d actions)" % (name, n))
    return args


def check_prune(args, tmp):
    cache = os.path.join(tmp, "cache-prune")
    subsets = os.path.join(cache, "subsets")
    os.makedirs(subsets)
    for i in range(140):
        path = os.path.join(subsets, "old%03d.solv" % i)
        open(path, "w").close()
        os.utime(path, (1577836800 + i, 1577836800 + i))
    plan(args, cache, os.path.join(tmp, "prune.json"), True)
    left = sorted(os.listdir(subsets))
    new = [f for f in left if not f.startswith("old")]
    if len(left) != 128 or not new or "old000.solv" in left or "old139.solv" not in left:
        fail("after a subset write the cache holds %d files (want the newest 128, the new one among them): %s"
             % (len(left), left[:5]))
    print("prune: 128 newest subset files kept")


def fixture_cases(tmp):
    count = 0
    for path in sorted(glob.glob(os.path.join(HERE, "cases", "*.case"))):
        case = plancase.parse(path)
        keys = {k for k, _ in case["_multi"]}
        if "mutate" in keys or case.get("serve") or case.get("command") == "assess" or \
                int(case.get("exit", "0")) not in (0, 3):
            continue
        plancase.CASE_PATH = path
        work = os.path.join(tmp, os.path.basename(path))
        os.makedirs(work)
        try:
            root, repo = plancase.setup_case(case, work)
            args = plancase.plan_args(case, work, root, repo, "file://" + repo)
        except SystemExit as e:
            if e.code == SKIP:
                print("skipped (no real data): " + os.path.basename(path))
                continue
            raise
        compare(os.path.basename(path), args, work)
        if count == 0:
            check_prune(args, work)
        count += 1
    if count < 5:
        fail("only %d cases compared" % count)


def realdata_bench(tmp):
    realdata = plancase.REALDATA
    baseos, appstream = (os.path.join(realdata, "repos", r) for r in ("cs9-baseos", "cs9-appstream"))
    if not os.path.isfile(os.path.join(appstream, "repodata", "repomd.xml")):
        print("SKIP: real data not found in %s (set OSMIG_REALDATA)" % realdata)
        sys.exit(SKIP)
    r = subprocess.run([sys.executable, os.path.join(plancase.SRC, "tests", "fixtures", "make-pkglist-root.py"),
                        "CentOS8Modularitylabel"], capture_output=True, text=True,
                       env=dict(os.environ, OSMIG_REALDATA=realdata))
    if r.returncode == SKIP:
        print("SKIP: " + r.stderr.strip())
        sys.exit(SKIP)
    if r.returncode != 0:
        fail("make-pkglist-root.py failed:\n" + r.stderr)
    root = os.path.join(tmp, "root")
    shutil.copytree(os.path.join(r.stdout.strip().splitlines()[-1], "root"), root, symlinks=True)
    matrix = {
        "osmig_matrix": 1,
        "targets": {"cs9": {
            "name": "CentOS Stream 9", "os_id": "centos", "version": "9", "el_version": "9.0",
            "arches": ["x86_64"], "release_package": "centos-stream-release", "vendors": ["CentOS"],
            "repos": [{"id": "cs9-baseos", "baseurl": "file://" + baseos, "gpgcheck": False},
                      {"id": "cs9-appstream", "baseurl": "file://" + appstream, "gpgcheck": False}]}},
        "paths": [{"from": {"id": "centos", "versions": ["8"]}, "to": "cs9", "arches": ["x86_64"]}],
    }
    mfile = os.path.join(tmp, "matrix.json")
    with open(mfile, "w") as f:
        json.dump(matrix, f)
    compare("CentOS8Modularitylabel -> CentOS Stream 9", ["dir:" + root, "--to", "cs9", "--matrix", mfile], tmp)


def main():
    tmp = tempfile.mkdtemp(prefix="osmig-subset-")
    try:
        if sys.argv[1:] == ["--realdata"]:
            realdata_bench(tmp)
        else:
            fixture_cases(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
