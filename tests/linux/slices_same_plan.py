#!/usr/bin/python3
"""slices_same_plan.py [--realdata | --bad]: parsing primary in slices changes nothing.

Default: for every plan case of tests/linux/cases (no mutation, no error
expected) it plans on an empty cache with slices off (OSMIG_PARSE_SLICES=1)
and forced on (2 and 3 workers, so that even the small fixture repositories
are cut), and wants byte-identical plan.json files, primary cache files that
hold the same packages in the same order with the same attributes
(tests/linux/solv_dump.c prints them; the order of one package's
dependencies of one kind is libsolv's writer's and not compared), and the sliced runs to
have cut a repository (their debug log says repo.sliced), and a second run
that reads the cache files a sliced run wrote to plan the same.

--realdata does the same on bench/plan.sh's problem (the 517 real NEVRAs of
CentOS8Modularitylabel against the real CentOS Stream 9 BaseOS + AppStream),
with slicing as a plain run chooses it (the online CPUs, when there are
two or more) and forced to 2 and 3; it skips without the real data.

--bad breaks the last package of a primary (checksum kept valid), so that the
error lies in the last slice, and wants the sliced plan to fail as the
unsliced one does: exit 1, "malformed metadata" naming the primary file, no
plan written, no cache file; and its log to show the slice that failed.
With the real data it also does this on the real BaseOS primary (8 MB).
"""
import glob
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from sameplan import HERE, fail, fixture_cases, json_diff, plancase, realdata_paths, realdata_problem


def plan(args, cache, out, slices, want_exit=(0, 3)):
    env = dict(os.environ, OSMIG_LOG="debug", OSMIG_PLAN_SUBSET="0")
    if slices is None:
        env.pop("OSMIG_PARSE_SLICES", None)
    else:
        env["OSMIG_PARSE_SLICES"] = str(slices)
    r = subprocess.run([plancase.OSMIG, "plan"] + args + ["--cache-dir", cache, "-o", out],
                       capture_output=True, text=True, env=env)
    if r.returncode not in want_exit:
        fail("osmig plan (OSMIG_PARSE_SLICES=%s) %s exited %d:\n%s" % (slices, " ".join(args), r.returncode,
                                                                        r.stderr[-3000:]))
    return r


SOLV_DUMP = os.path.join(os.path.dirname(plancase.OSMIG), "tests", "linux", "solv_dump")


def canonical(dump):
    """The dump with each run of one dependency kind (between pre-requires
    markers) sorted: libsolv's writer orders a package's dependencies within
    a kind by its own id order, which depends on the order the pool met the
    strings in, and RPM gives that order no meaning."""
    out, run = [], []
    for line in dump.splitlines():
        key = line.split(" ", 4)[2] if line.startswith("  ") else None
        if run and (key != run[0].split(" ", 4)[2] or line.endswith(" solvable:prereqmarker")):
            out += sorted(run)
            run = []
        if key and key.startswith("solvable:") and line.split(" ", 4)[3] == "repokey:type:idarray" and \
                not line.endswith(" solvable:prereqmarker"):
            run.append(line)
        else:
            out.append(line)
    return "\n".join(out + sorted(run))


def solv_files(cache):
    """{cache file: what it holds (tests/linux/solv_dump.c), canonical}."""
    files = {}
    for path in glob.glob(os.path.join(cache, "repos", "*", "primary-*.solv")):
        r = subprocess.run([SOLV_DUMP, path], capture_output=True, text=True)
        if r.returncode != 0:
            fail("%s cannot be read: %s" % (path, r.stderr))
        files[os.path.relpath(path, cache)] = canonical(r.stdout)
    return files


def compare(name, args, tmp, variants):
    base_cache = os.path.join(tmp, "cache-1")
    plan(args, base_cache, os.path.join(tmp, "p1.json"), 1)
    with open(os.path.join(tmp, "p1.json"), "rb") as f:
        base = f.read()
    base_solv = solv_files(base_cache)
    if not base_solv:
        fail("%s: the unsliced plan left no primary cache file" % name)
    for v in variants:
        cache = os.path.join(tmp, "cache-%s" % v)
        out = os.path.join(tmp, "p%s.json" % v)
        r = plan(args, cache, out, v)
        if "event=repo.sliced" not in r.stderr:
            fail("%s: with OSMIG_PARSE_SLICES=%s no repository was cut:\n%s" % (name, v, r.stderr[-2000:]))
        with open(out, "rb") as f:
            data = f.read()
        if data != base:
            fail("%s: the plan with OSMIG_PARSE_SLICES=%s differs from the unsliced one in %s"
                 % (name, v, json_diff(base, data)))
        # The cache files are complete when the command returns, and a plan
        # read from them is the same plan.
        got = solv_files(cache)
        warm_out = os.path.join(tmp, "p%s-warm.json" % v)
        plan(args, cache, warm_out, v)
        with open(warm_out, "rb") as f:
            if f.read() != base:
                fail("%s: the plan from the cache that OSMIG_PARSE_SLICES=%s wrote differs" % (name, v))
        if got.keys() != base_solv.keys():
            fail("%s: with OSMIG_PARSE_SLICES=%s the cache files are %s, not %s" % (name, v, sorted(got), sorted(base_solv)))
        for k in got:
            if got[k] != base_solv[k]:
                a, b = base_solv[k].splitlines(), got[k].splitlines()
                i = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
                fail("%s: with OSMIG_PARSE_SLICES=%s %s holds other packages; first difference at line %d: %r vs %r"
                     % (name, v, k, i + 1, a[i] if i < len(a) else None, b[i] if i < len(b) else None))
    n = len(json.loads(base)["actions"])
    print("same plan and cache: %s (%d actions; slices %s)" % (name, n, ", ".join(str(v) for v in variants)))


def realdata_bench(tmp):
    name, args = realdata_problem(tmp)
    variants = (2, 3) if (os.cpu_count() or 1) < 2 else (None, 2, 3)
    compare(name, args, tmp, variants)


def break_last_package(repo):
    """Cut the last package's </package> (checksum fixed); returns the primary's file name."""
    repomd = os.path.join(repo, "repodata", "repomd.xml")
    text = open(repomd).read()
    m = re.search(r'<data type="primary">.*?<checksum type="(\w+)">(\w+)</checksum>.*?<location href="([^"]+)"',
                  text, re.S)
    path = os.path.join(repo, m.group(3))
    data = gzip.decompress(open(path, "rb").read())
    last = data.rindex(b"</package>")
    data = data[:last] + b"<broken" + data[last:]
    blob = gzip.compress(data)
    os.chmod(os.path.dirname(path), 0o755)
    os.unlink(path)
    with open(path, "wb") as f:
        f.write(blob)
    text = text.replace('<checksum type="%s">%s</checksum>' % (m.group(1), m.group(2)),
                        '<checksum type="%s">%s</checksum>' % (m.group(1), hashlib.new(m.group(1), blob).hexdigest()))
    os.chmod(repomd, 0o644)
    with open(repomd, "w") as f:
        f.write(text)
    return os.path.basename(path)


def expect_bad(name, args, tmp, primary, variants):
    for v in variants:
        cache = os.path.join(tmp, "cache-bad-%s" % v)
        out = os.path.join(tmp, "bad-%s.json" % v)
        r = plan(args, cache, out, v, want_exit=(1,))
        if "malformed metadata" not in r.stderr or primary not in r.stderr:
            fail("%s (OSMIG_PARSE_SLICES=%s): no error naming %s:\n%s" % (name, v, primary, r.stderr[-2000:]))
        if os.path.exists(out) or solv_files(cache):
            fail("%s (OSMIG_PARSE_SLICES=%s): a failed plan left a plan or a cache file" % (name, v))
        if v != 1 and not re.search(r"event=repo\.slice_failed .*slice=[1-9]", r.stderr):
            fail("%s (OSMIG_PARSE_SLICES=%s): the error was not in a later slice:\n%s" % (name, v, r.stderr[-2000:]))
        err = [l for l in r.stderr.splitlines() if "malformed metadata" in l]
        print("%s, OSMIG_PARSE_SLICES=%s: %s" % (name, v, err[0].strip()[:200]))


def bad_cases(tmp):
    case = plancase.parse(os.path.join(HERE, "cases", "bad-malformed-primary.case"))
    work = os.path.join(tmp, "fixture")
    os.makedirs(work)
    plancase.CASE_PATH = os.path.join(HERE, "cases", "bad-malformed-primary.case")
    case["_multi"] = [(k, v) for k, v in case["_multi"] if k != "mutate"]
    root, repo = plancase.setup_case(case, work)
    primary = break_last_package(repo)
    args = plancase.plan_args(case, work, root, repo, "file://" + repo)
    expect_bad("fixture primary, last package broken", args, work, primary, (1, 2, 3))
    paths = realdata_paths()
    if not paths:
        print("real data not found: the real BaseOS variant is not run")
        return
    _, baseos, _ = paths
    work = os.path.join(tmp, "real")
    os.makedirs(work)
    repo = os.path.join(work, "repo")
    shutil.copytree(baseos, repo)
    primary = break_last_package(repo)
    rargs = plancase.plan_args(case, work, root, repo, "file://" + repo)
    expect_bad("real BaseOS primary, last package broken", rargs, work, primary, (1, 2))


def main():
    tmp = tempfile.mkdtemp(prefix="osmig-slices-")
    try:
        if sys.argv[1:] == ["--realdata"]:
            realdata_bench(tmp)
        elif sys.argv[1:] == ["--bad"]:
            bad_cases(tmp)
        else:
            fixture_cases(tmp, lambda name, args, work, _: compare(name, args, work, (2, 3)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
