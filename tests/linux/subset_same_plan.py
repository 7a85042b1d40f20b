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
import json
import os
import shutil
import subprocess
import sys
import tempfile

from sameplan import fail, fixture_cases, json_diff, plancase, realdata_problem


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
            fail("%s: %s differs from the plan without it in %s" % (name, label, json_diff(full, data)))
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


def compare_case(name, args, work, index):
    compare(name, args, work)
    if index == 0:
        check_prune(args, work)


def main():
    tmp = tempfile.mkdtemp(prefix="osmig-subset-")
    try:
        if sys.argv[1:] == ["--realdata"]:
            compare(*realdata_problem(tmp), tmp)
        else:
            fixture_cases(tmp, compare_case)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
