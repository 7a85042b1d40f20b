#!/usr/bin/python3
"""plancase.py CASE: run one declarative assess/plan case against real fixtures.

A case file (tests/linux/cases/*.case) is "key: value" lines; the first
comment line says what the case proves. Keys:

  set: NAME            fixture set (tests/fixtures/sets/NAME.set); its root
                       `installed` is the instance, its repo `target` the target
  root: SET:ROOT       another fixture root instead (e.g. centos7-base:installed)
  repo: SET:REPO       another fixture repo instead
  realdata-root: PATH  a root whose rpmdb is copied from $OSMIG_REALDATA/PATH
                       (os-release from `os-release:`); skips without realdata
  realdata: el7-el8    the real CentOS 7.9 root and the real RHEL 8.5 packages as
                       a repository (tests/linux/realplan_fixture.py; skips
                       without realdata); the target is the shipped `rhel8`
                       with that repository (--repo) and a path from centos 7
  realdata: el8-cs9    bench/plan.sh's problem: the real NEVRAs of CentOS 8
                       (pkglists/CentOS8Modularitylabel, stub packages) against
                       the real CentOS Stream 9 BaseOS + AppStream (target cs9)
  os-release: ID VERSION_ID   os-release for realdata roots
  el-version: 8.6      the test target's EL release (default 8.6)
  target-from: ID VERSIONS    the test target's path (default: centos 7,8)
  events: FILE         --events FILE (relative to tests/fixtures/sets, or
                       $REALDATA/... for real data)
  mutate: WHAT         break something first (see mutate(); `link PATH TARGET`
                       makes a symlink in the root)
  command: assess|plan|both   (default both)
  to: ID               --to (default: test)
  exit: N              expected exit status of assess (plan: 0 unless exit is 1/2)
  stderr: TEXT         expected in stderr (errors)
  inhibitor: ID / no-inhibitor: ID / warning: ID / no-warning: ID
  item: ID TEXT        finding ID lists an item containing TEXT
  no-item: ID TEXT     finding ID (if any) lists no item containing TEXT
  remediation: ID TEXT finding ID's remediation contains TEXT
  plan-field: KEY JSON plan.json member KEY contains JSON (a list: each element;
                       an object: each member) (plan or both)
  action: KIND NAME [TO-NAME]   the plan has this action
  no-action: KIND NAME
  reason: NAME TEXT    the action on package NAME has a reason containing TEXT
  to-version: NAME V   the action on package NAME goes to version V
  module: NAME LABEL   the action on package NAME installs from module stream
                       LABEL (name:stream); "-" for a package of no stream
  enabled-module: NAME:STREAM BY   plan.json lists the stream as enabled by BY
  resolved: true|false
  accounted: N         N installed packages, each the `from` of one action
  serve: http          serve the repo over HTTP from a real server on 127.0.0.1
  matrix-file: F / events-file: F   extra --matrix/--events from cases/data/
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("OSMIG_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OSMIG = os.environ.get("OSMIG_BIN") or os.path.join(SRC, "build", "osmig")
REALDATA = os.environ.get("OSMIG_REALDATA", os.path.join(SRC, "..", "shared", "realdata"))
SETS = os.path.join(SRC, "tests", "fixtures", "sets")
SKIP = 77


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def parse(path):
    case = {"_multi": []}
    multi = {"inhibitor", "no-inhibitor", "warning", "no-warning", "item", "action", "no-action", "reason",
             "stderr", "mutate", "matrix-file", "events-file", "to-version", "module", "enabled-module",
             "no-item", "remediation", "plan-field"}
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                case.setdefault("_about", line[1:].strip())
                continue
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key in multi:
                case["_multi"].append((key, value))
            else:
                case[key] = value
    return case


def build(setname):
    out = subprocess.run([sys.executable, os.path.join(SRC, "tests", "fixtures", "build-set.py"), setname],
                         capture_output=True, text=True)
    if out.returncode != 0:
        fail("fixture set %s did not build:\n%s" % (setname, out.stderr))
    return out.stdout.strip().splitlines()[-1]


def gunzip_replace(repo, kind, data, fix_checksum):
    """Replace the repo's `kind` file with `data` (gzip), optionally updating repomd.xml."""
    import gzip
    import hashlib
    import re
    repomd = os.path.join(repo, "repodata", "repomd.xml")
    text = open(repomd).read()
    m = re.search(r'<data type="%s">.*?<checksum type="(\w+)">(\w+)</checksum>.*?<location href="([^"]+)"' % kind,
                  text, re.S)
    if not m:
        fail("no %s in %s" % (kind, repomd))
    path = os.path.join(repo, m.group(3))
    blob = gzip.compress(data)
    with open(path, "wb") as f:
        f.write(blob)
    if fix_checksum:
        old = '<checksum type="%s">%s</checksum>' % (m.group(1), m.group(2))
        new = '<checksum type="%s">%s</checksum>' % (m.group(1), hashlib.new(m.group(1), blob).hexdigest())
        text = text.replace(old, new)
        with open(repomd, "w") as f:
            f.write(text)


def mutate(what, root, repo, tmp):
    if what == "no-rpmdb":
        shutil.rmtree(os.path.join(root, "var", "lib", "rpm"))
    elif what == "corrupt-rpmdb":
        for name in os.listdir(os.path.join(root, "var", "lib", "rpm")):
            with open(os.path.join(root, "var", "lib", "rpm", name), "wb") as f:
                f.write(b"this is not an rpm database\n" * 100)
    elif what == "no-os-release":
        for p in ("etc/os-release", "usr/lib/os-release"):
            if os.path.lexists(os.path.join(root, p)):
                os.unlink(os.path.join(root, p))
    elif what == "no-repomd":
        os.unlink(os.path.join(repo, "repodata", "repomd.xml"))
    elif what == "malformed-repomd":
        with open(os.path.join(repo, "repodata", "repomd.xml"), "w") as f:
            f.write("<repomd><data type='primary'>")
    elif what == "primary-checksum-mismatch":
        gunzip_replace(repo, "primary", b"<metadata/>", False)
    elif what == "malformed-primary":
        gunzip_replace(repo, "primary", b"<metadata><package type='rpm'><name>x</name", True)
    elif what == "malformed-modules":
        gunzip_replace(repo, "modules", b"---\ndocument: modulemd\ndata: [name, stream\n", True)
    elif what == "missing-primary":
        import re
        text = open(os.path.join(repo, "repodata", "repomd.xml")).read()
        loc = re.search(r'<data type="primary">.*?<location href="([^"]+)"', text, re.S).group(1)
        os.unlink(os.path.join(repo, loc))
    elif what.startswith("link "):
        # "link PATH TARGET": a symlink made by hand in the root
        _, path, target = what.split()
        os.symlink(target, os.path.join(root, path.lstrip("/")))
    else:
        fail("unknown mutation " + what)


CASE_PATH = None


def main():
    global CASE_PATH
    CASE_PATH = os.path.abspath(sys.argv[1])
    case = parse(sys.argv[1])
    name = os.path.basename(sys.argv[1])
    print("case %s: %s" % (name, case.get("_about", "")))
    tmp = tempfile.mkdtemp(prefix="osmig-case-")
    try:
        run_case(case, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


def realdata_fixture(name):
    """The cached real root and repository (realplan_fixture.py), or the
    package-list root (make-pkglist-root.py); SKIP without the real data."""
    tools = {"el7-el8": [os.path.join(SRC, "tests", "linux", "realplan_fixture.py")],
             "el8-cs9": [os.path.join(SRC, "tests", "fixtures", "make-pkglist-root.py"), "CentOS8Modularitylabel"]}
    if name not in tools:
        fail("unknown realdata fixture %r (known: %s)" % (name, ", ".join(sorted(tools))))
    if name == "el8-cs9" and not os.path.isfile(os.path.join(REALDATA, "repos", "cs9-appstream", "repodata",
                                                            "repomd.xml")):
        print("SKIP: real data %s/repos not found (set OSMIG_REALDATA)" % REALDATA)
        sys.exit(SKIP)
    out = subprocess.run([sys.executable] + tools[name], capture_output=True, text=True,
                         env=dict(os.environ, OSMIG_REALDATA=REALDATA))
    if out.returncode == SKIP:
        print(out.stderr.strip())
        sys.exit(SKIP)
    if out.returncode != 0:
        fail("realplan_fixture.py failed:\n" + out.stderr)
    return out.stdout.strip().splitlines()[-1]


def setup_realdata(case, root):
    """A private copy of the real root (hard links: planning only reads files;
    the rpmdb is copied whole); returns the repo."""
    fixture = realdata_fixture(case["realdata"])
    if case["realdata"] == "el8-cs9":
        shutil.copytree(os.path.join(fixture, "root"), root, symlinks=True)
        return os.path.join(REALDATA, "repos")
    subprocess.run(["cp", "-al", os.path.join(fixture, "root"), root], check=True)
    db = os.path.join(root, "var", "lib", "rpm")
    shutil.rmtree(db)
    shutil.copytree(os.path.join(fixture, "root", "var", "lib", "rpm"), db)
    return os.path.join(fixture, "repo")


def setup_case(case, tmp):
    """Build the case's root and repository under tmp; returns (root, repo)."""
    root = os.path.join(tmp, "root")
    repo = os.path.join(tmp, "repo")
    if "realdata" in case:
        repo = setup_realdata(case, root)
        for key, value in case["_multi"]:
            if key == "mutate":
                mutate(value, root, repo, tmp)
        return root, repo
    if "realdata-root" in case:
        src = os.path.join(REALDATA, case["realdata-root"])
        if not os.path.exists(src):
            print("SKIP: real data %s not found (set OSMIG_REALDATA)" % src)
            sys.exit(SKIP)
        os.makedirs(os.path.join(root, "var", "lib", "rpm"))
        os.makedirs(os.path.join(root, "etc"))
        shutil.copy(src, os.path.join(root, "var", "lib", "rpm"))
        osid, ver = case.get("os-release", "rhel 8.8").split()
        with open(os.path.join(root, "etc", "os-release"), "w") as f:
            f.write('ID="%s"\nVERSION_ID="%s"\nNAME="%s"\n' % (osid, ver, osid))
    else:
        setname, rootname = (case.get("root") or case["set"] + ":installed").split(":")
        shutil.copytree(os.path.join(build(setname), "roots", rootname), root, symlinks=True)
    setname, reponame = (case.get("repo") or (case.get("set", "alinux3-target") + ":target")).split(":")
    shutil.copytree(os.path.join(build(setname), "repos", reponame), repo, symlinks=True)
    for key, value in case["_multi"]:
        if key == "mutate":
            mutate(value, root, repo, tmp)
    return root, repo


def run_case(case, tmp):
    root, repo = setup_case(case, tmp)
    baseurl = "file://" + repo
    server = None
    if case.get("serve") == "http":
        # A real HTTP server on loopback serves the repository.
        import socket
        import time
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                                   "--directory", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        baseurl = "http://127.0.0.1:%d/repo/" % port
    try:
        run_with_repo(case, tmp, root, repo, baseurl)
    finally:
        if server:
            server.kill()
            server.wait()


def plan_args(case, tmp, root, repo, baseurl):
    """The assess/plan arguments of a case (the matrix is written to tmp), without --cache-dir."""
    frm = case.get("target-from", "centos 7,8").split()
    matrix = {
        "osmig_matrix": 1,
        "targets": {"test": {
            "name": "Test target", "os_id": "alinux", "version": "3",
            "el_version": case.get("el-version", "8.6"), "arches": ["x86_64"],
            "release_package": "alinux-release",
            "repos": [{"id": "test-os", "baseurl": baseurl}],
        }},
        "paths": [{"from": {"id": frm[0], "versions": frm[1].split(",")}, "to": "test", "arches": ["x86_64"]}],
    }
    real = case.get("realdata")
    if real == "el7-el8":
        # The shipped rhel8 target (its events, release package, vendors) on
        # the real packages; the shipped paths start at CentOS 8.5 only.
        matrix = {"osmig_matrix": 1, "paths": [{"from": {"id": "centos", "versions": ["7"]}, "to": "rhel8",
                                                 "arches": ["x86_64"]}]}
    if real == "el8-cs9":
        matrix = {"osmig_matrix": 1, "targets": {"cs9": {
            "name": "CentOS Stream 9", "os_id": "centos", "version": "9", "el_version": "9.0",
            "arches": ["x86_64"], "release_package": "centos-stream-release", "vendors": ["CentOS"],
            "repos": [{"id": r, "baseurl": "file://" + os.path.join(repo, r), "gpgcheck": False}
                      for r in ("cs9-baseos", "cs9-appstream")]}},
            "paths": [{"from": {"id": "centos", "versions": ["8"]}, "to": "cs9", "arches": ["x86_64"]}]}
    mfile = os.path.join(tmp, "matrix.json")
    with open(mfile, "w") as f:
        json.dump(matrix, f)
    default_to = {"el7-el8": "rhel8", "el8-cs9": "cs9"}.get(real, "test")
    args = ["dir:" + root, "--to", case.get("to", default_to), "--matrix", mfile]
    if real == "el7-el8":
        args += ["--repo", "rhel-8-baseos-rpms=" + baseurl]
    if "events" in case:
        ev = case["events"]
        ev = ev.replace("$REALDATA", REALDATA)
        if ev.startswith(REALDATA) and not os.path.exists(ev):
            print("SKIP: real data %s not found (set OSMIG_REALDATA)" % ev)
            sys.exit(SKIP)
        args += ["--events", ev if os.path.isabs(ev) else os.path.join(SETS, ev)]
    for key, value in case["_multi"]:
        if key == "matrix-file":
            args += ["--matrix", os.path.join(os.path.dirname(CASE_PATH), "data", value)]
        if key == "events-file":
            args += ["--events", os.path.join(os.path.dirname(CASE_PATH), "data", value)]
    args += case.get("args", "").replace("@REPO@", repo).split()
    return args


def nevra_name(nevra):
    """The name of name-[epoch:]version-release.arch, or None."""
    return nevra.rsplit("-", 2)[0] if nevra else None


def check_once(plan):
    """Every plan: each target package in one action, each installed one in one
    (staging keeps one file per target package)."""
    for side in ("to", "from"):
        seen = {}
        for a in plan["actions"]:
            if a.get(side):
                if a[side] in seen:
                    fail("%s %s is in two actions: %s and %s" % (side, a[side], seen[a[side]], a["action"]))
                seen[a[side]] = a["action"]


def check_field(plan, field, want):
    """plan[field] holds `want`: every element of a list, every member of an object."""
    have = plan.get(field)
    if isinstance(want, list):
        missing = [w for w in want if w not in (have or [])]
    elif isinstance(want, dict):
        missing = [k for k in want if not isinstance(have, dict) or have.get(k) != want[k]]
    else:
        missing = [] if have == want else [want]
    if missing:
        fail("plan.json %s lacks %s: %s" % (field, json.dumps(missing), json.dumps(have)[:3000]))


def run_with_repo(case, tmp, root, repo, baseurl):
    args = plan_args(case, tmp, root, repo, baseurl) + ["--cache-dir", os.path.join(tmp, "cache")]
    want_exit = int(case.get("exit", "0"))
    stderr_all = ""
    command = case.get("command", "both")
    report = None
    if command in ("assess", "both"):
        r = subprocess.run([OSMIG, "assess", "--json"] + args, capture_output=True, text=True)
        stderr_all += r.stderr
        if r.returncode != want_exit:
            fail("assess exited %d, expected %d\nstdout: %s\nstderr: %s" % (r.returncode, want_exit, r.stdout[:2000],
                                                                            r.stderr))
        if r.returncode in (0, 3):
            report = json.loads(r.stdout)
    plan = None
    if command in ("plan", "both"):
        out = os.path.join(tmp, "plan.json")
        r = subprocess.run([OSMIG, "plan"] + args + ["-o", out], capture_output=True, text=True)
        stderr_all += r.stderr
        plan_exit = want_exit if want_exit in (1, 2) else 0
        if r.returncode != plan_exit:
            fail("plan exited %d, expected %d\nstderr: %s" % (r.returncode, plan_exit, r.stderr))
        if plan_exit == 0:
            plan = json.load(open(out))
            report = report or plan
        elif os.path.exists(out):
            fail("plan failed but wrote %s" % out)

    if plan is not None:
        check_once(plan)

    def findings(kind):
        return {f["id"]: f for f in (report or {}).get(kind, [])}

    for key, value in case["_multi"]:
        if key == "stderr" and value not in stderr_all:
            fail("stderr lacks %r:\n%s" % (value, stderr_all))
        if key in ("inhibitor", "warning") and value not in findings(key + "s"):
            fail("no %s %s; have %s" % (key, value, sorted(findings(key + "s"))))
        if key in ("no-inhibitor", "no-warning") and value in findings(key[3:] + "s"):
            fail("unexpected %s %s: %s" % (key[3:], value, findings(key[3:] + "s")[value]))
        if key == "item":
            fid, text = value.split(None, 1)
            f = findings("inhibitors").get(fid) or findings("warnings").get(fid)
            if not f or not any(text in i for i in f["items"]):
                fail("finding %s has no item containing %r: %s" % (fid, text, f))
        if key == "no-item":
            fid, text = value.split(None, 1)
            f = findings("inhibitors").get(fid) or findings("warnings").get(fid)
            if f and any(text in i for i in f["items"]):
                fail("finding %s has an item containing %r: %s" % (fid, text, f))
        if key == "remediation":
            fid, text = value.split(None, 1)
            f = findings("inhibitors").get(fid) or findings("warnings").get(fid)
            if not f or text not in f["remediation"]:
                fail("finding %s has no remediation containing %r: %s" % (fid, text, f))
        if key == "plan-field":
            if plan is None:
                fail("plan-field needs the plan (command: plan or both)")
            field, want = value.split(None, 1)
            check_field(plan, field, json.loads(want))
        if key in ("action", "no-action", "reason") and plan is None:
            fail("%s needs the plan (command: plan or both)" % key)
        if key in ("action", "no-action"):
            parts = value.split()
            kind, pname = parts[0], parts[1]
            to = parts[2] if len(parts) > 2 else None
            hits = [a for a in plan["actions"] if a["action"] == kind and (
                a["name"] == pname or nevra_name(a.get("from")) == pname)
                and (to is None or nevra_name(a.get("to")) == to)]
            if key == "action" and not hits:
                fail("no action %s; actions: %s" % (value, [(a["action"], a.get("from"), a.get("to")) for a in plan["actions"]]))
            if key == "no-action" and hits:
                fail("unexpected action %s: %s" % (value, hits))
        if key in ("to-version", "module", "enabled-module") and plan is None:
            fail("%s needs the plan (command: plan or both)" % key)
        if key in ("to-version", "module"):
            pname, want = value.split()
            acts = [a for a in plan["actions"] if a["name"] == pname and a.get("to")]
            if not acts:
                fail("no action to a new %s: %s" % (pname, [(a["action"], a.get("to")) for a in plan["actions"]]))
            got = [a.get("to_version") if key == "to-version" else a.get("module", "-") for a in acts]
            if want not in got:
                fail("%s of %s is %s, expected %s" % (key, pname, got, want))
        if key == "enabled-module":
            label, by = value.split()
            have = ["%s:%s %s" % (m["name"], m["stream"], m["enabled_by"]) for m in plan.get("modules", [])]
            if "%s %s" % (label, by) not in have:
                fail("module %s not enabled by %s; enabled: %s" % (label, by, have))
        if key == "reason":
            pname, text = value.split(None, 1)
            acts = [a for a in plan["actions"] if a["name"] == pname or nevra_name(a.get("from")) == pname]
            if not any(text in a["reason"] for a in acts):
                fail("no action on %s with reason containing %r: %s" % (pname, text, acts))
    if "accounted" in case and plan is not None:
        froms = {a["from"] for a in plan["actions"] if a.get("from")}
        if len(froms) != int(case["accounted"]):
            fail("%d installed packages have an action, expected %s" % (len(froms), case["accounted"]))
    if "resolved" in case and plan is not None and plan["resolved"] != (case["resolved"] == "true"):
        fail("resolved is %s" % plan["resolved"])


if __name__ == "__main__":
    main()
