"""sameplan.py: what subset_same_plan.py and slices_same_plan.py share.

Both plan the same problem two ways and want the same plan: the plan cases of
tests/linux/cases that plan without error, and bench/plan.sh's problem on the
real data. This module finds those problems; each script compares its own way.
"""
import glob
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import plancase  # noqa: E402

SKIP = 77


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def json_diff(a_text, b_text):
    """The top-level members in which two plan.json files differ, sorted."""
    a, b = json.loads(a_text), json.loads(b_text)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def fixture_cases(tmp, compare, at_least=5):
    """compare(name, args, work) for every plan case that plans without error
    (no mutation, no server, not assess only); a case whose real data is
    absent is skipped with a line saying so. Fails when fewer than
    `at_least` cases were compared. Returns the count."""
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
        compare(os.path.basename(path), args, work, count)
        count += 1
    if count < at_least:
        fail("only %d cases compared" % count)
    return count


def realdata_paths():
    """(realdata, baseos, appstream) of the real CentOS Stream 9 repositories, or None."""
    realdata = plancase.REALDATA
    baseos, appstream = (os.path.join(realdata, "repos", r) for r in ("cs9-baseos", "cs9-appstream"))
    if not os.path.isfile(os.path.join(appstream, "repodata", "repomd.xml")):
        return None
    return realdata, baseos, appstream


def realdata_problem(tmp):
    """bench/plan.sh's problem: the root with the 517 real NEVRAs of
    CentOS8Modularitylabel and a matrix whose target cs9 is the real
    CentOS Stream 9 BaseOS + AppStream. Returns (name, plan args); exits 77
    (SKIP) without the real data."""
    paths = realdata_paths()
    if not paths:
        print("SKIP: real data not found in %s (set OSMIG_REALDATA)" % plancase.REALDATA)
        sys.exit(SKIP)
    realdata, baseos, appstream = paths
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
    return "CentOS8Modularitylabel -> CentOS Stream 9", ["dir:" + root, "--to", "cs9", "--matrix", mfile]
