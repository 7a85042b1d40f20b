#!/usr/bin/python3
"""apicase.py CASE.json: run one declarative fleet API case against a real
`osmig serve` on 127.0.0.1 (a free port, a temporary state directory).

Requests are signed here with ACS3-HMAC-SHA256 written from the
specification (docs/api.md), independently of engine/acs3.c, so every case
also checks that the two agree.

A case file is a JSON object:
  "about": what the case proves
  "server": {"workers": 1, "public_metrics": false, "tls": false,
             "interval": 1, "store": "pg", "extra": ["--flag", "${WORK}/x", ...],
             "env": {"NAME": "value"}}
                              ("store": "pg": the PostgreSQL server of $OSMIG_TEST_PG_URL,
                              tests/fleet/with_pg.sh; skipped without it)
  "roots": ["a", "b"]         empty instance roots: ${ROOTS}/a ... (dir:${ROOTS}/a)
  "sample": true              the sample CentOS-7-like root ${SAMPLE_ROOT} and the
                              matrix ${SAMPLE_MATRIX} of the sample target (tests/fixtures);
                              "sample": N makes N roots: ${SAMPLE_ROOT}, ${SAMPLE_ROOT2}...
  "needs": ["promtool"]       programs the case needs (skipped without them)
  "windows": true             the Windows fixtures (tests/windows/make-fixtures.sh; skipped
                              without their real hive): ${WIN_ROOTS}/NAME, ${WIN_MEDIA}/NAME
  "sample_http_kbps": K       serve the sample repository from a real lighttpd on
                              127.0.0.1 at K KiB/s per connection (slow steps)
  "keys": {"viewer": {"role": "viewer"}, "scoped": {"role": "operator", "scope": "dir:${ROOTS}/a*"}}
                              made through POST /v1/keys by the admin key "admin"
  "steps": [step, ...]

A step:
  "name": what it checks
  "as": key name (default "admin"); "unsigned": true sends no signature
  "method", "path" (with query), "body" (JSON) or "raw" (text) or
  "body_bytes": N (N bytes of JSON-ish filler) with "chunked": true to send
  it without a Content-Length; "declare": N sends Content-Length N but only
  the first kilobyte, then waits for the answer (the server must answer
  without reading the rest)
  "headers": {...} extra headers (signed like the others)
  "tamper": "signature" | "date-old" | "key-unknown" | "body-after-signing" | "query-after-signing"
  "replay": true              send the previous signed request again, as is
  "expect": {"status": 201,
             "json": {"a.b[0].c": value, "x#": length, "y~": "substring",
                      "z*": true (present and not null), "w!": true (absent or null)},
             "text~": "substring of a text body", "text_re": ["regex", ...],
             "header": {"X-Request-Id*": true},
             "promtool": true (the body passes `promtool check metrics`)}
  "store_unchanged": true     the store (every table but nonces) is the same after
  "save": {"var": "json.path"}   then ${var} in later steps
  "set_secret": {"key": "${var}"}  from this step on the key signs with that secret (a rotation)
  "jsonl": "${WORK}/audit.log", "expect": {"mode": "600", "every": {...}, "some": [{...}, ...]}
                              a file of JSON lines: each line matches "every", each of
                              "some" matches at least one line (a check, not a request)
  "text_file": "${WORK}/state/tasks/${t}/osmig.log", "expect": {"text_re": ["regex", ...]}
                              a text file whose lines match each regex (a check, not a request)
  "wait": {"path": "/v1/tasks/${t}", "json": {...}, "text_re": [...], "timeout": 120}
                              poll (GET as admin) until the fields (or the text) match
  "tcp": [["text", times], ...]  raw bytes on a new connection (pieces repeated),
                              with "expect": {"starts": "HTTP/1.1 414"} for the
                              first bytes of the answer ("or_closed": true also takes
                              a connection closed without one), or "closed": true
  "garbage": {"seed": 7, "count": 300}   that many random byte strings and
                              half-formed requests, some cut off mid-way
  "sql_check": "SELECT ...", "expect": [[row], ...], "repeat": N, "every": S
                              the SQLite store answers that, N times S seconds apart
  "osmig": ["media", "--state-dir", "${WORK}/state", "add", ...]
                              run the osmig program (a setup step); it must exit 0
  "sql": "UPDATE ..."         run on the store (SQLite state.db, or PostgreSQL) instead of a request
  "compare_file": "docs/openapi.json" / "compare_cmd": ["matrix", "--json"]
                              the JSON body equals that file / that osmig command's output
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

SRC = os.environ.get("OSMIG_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OSMIG = os.environ.get("OSMIG_BIN") or os.path.join(SRC, "build", "osmig")
SKIP = 77


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


class Mismatch(Exception):
    pass


# ---- ACS3-HMAC-SHA256, from the specification ----------------------------

def pct(s):
    """RFC 3986: unreserved characters kept, everything else %XX (upper case)."""
    return urllib.parse.quote(s, safe="-_.~")


def canonical_query(query):
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, eq, value = part.partition("=")
        # Decode what the client sent, encode canonically ('+' is a plus).
        # Bytes, not text: an escape of invalid UTF-8 (%FA) stays that byte.
        name = pct(urllib.parse.unquote_to_bytes(name))
        value = pct(urllib.parse.unquote_to_bytes(value))
        pairs.append((name, value))
    pairs.sort()
    return "&".join("%s=%s" % p for p in pairs)


def canonical_path(path):
    return "/".join(pct(urllib.parse.unquote_to_bytes(seg)) for seg in path.split("/")) or "/"


def sign(method, path, query, headers, body, key_id, secret, when=None):
    """headers: dict lower-case name -> value (host included). Adds the x-acs-*
    headers and Authorization in place."""
    headers["x-acs-date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
    headers["x-acs-signature-nonce"] = uuid.uuid4().hex
    headers["x-acs-content-sha256"] = hashlib.sha256(body).hexdigest()
    names = sorted(headers)
    canon_headers = "".join("%s:%s\n" % (n, headers[n].strip()) for n in names)
    signed = ";".join(names)
    canon = "\n".join([method, canonical_path(path), canonical_query(query), canon_headers, signed,
                       headers["x-acs-content-sha256"]])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canon.encode()).hexdigest()
    sig = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s" % (key_id, signed, sig)


# ---- JSON paths and expectations ------------------------------------------

def get_path(doc, path):
    """'a.b[0].c' -> value, or KeyError."""
    cur = doc
    for tok in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if tok.startswith("["):
            i = int(tok[1:-1])
            if not isinstance(cur, list) or i >= len(cur):
                raise KeyError(path)
            cur = cur[i]
        else:
            if not isinstance(cur, dict) or tok not in cur:
                raise KeyError(path)
            cur = cur[tok]
    return cur


def match_json(doc, expect, where):
    """Raise Mismatch saying what differs."""
    for key, want in expect.items():
        op = key[-1] if key[-1] in "#~*!" else ""
        path = key[:-1] if op else key
        try:
            got = get_path(doc, path) if path else doc
            present = True
        except KeyError:
            got, present = None, False
        if op == "!":
            if present and got is not None:
                raise Mismatch("%s: %s should be absent or null, is %r" % (where, path, got))
        elif not present:
            raise Mismatch("%s: %s is missing in %s" % (where, path, json.dumps(doc)[:1500]))
        elif op == "#":
            if not hasattr(got, "__len__") or len(got) != want:
                raise Mismatch("%s: %s should have %r items, has %r" % (where, path, want,
                                                               len(got) if hasattr(got, "__len__") else got))
        elif op == "~":
            if not isinstance(got, str) or want not in got:
                raise Mismatch("%s: %s should contain %r, is %r" % (where, path, want, got))
        elif op == "*":
            if got is None:
                raise Mismatch("%s: %s should be set" % (where, path))
        elif got != want:
            raise Mismatch("%s: %s should be %r, is %r (in %s)" % (where, path, want, got, json.dumps(doc)[:1500]))


def check_json(doc, expect, where):
    try:
        match_json(doc, expect, where)
    except Mismatch as e:
        fail(str(e))


# ---- the server -------------------------------------------------------------

class Server:
    def __init__(self, work, cfg):
        self.work = work
        self.state = os.path.join(work, "state")
        os.makedirs(self.state)
        self.tls = cfg.get("tls", False)
        self.ctx = None
        self.pg = None
        store_args = []
        if cfg.get("store") == "pg":
            self.pg = os.environ.get("OSMIG_TEST_PG_URL")
            if not self.pg:
                print("SKIP: no PostgreSQL server (run through tests/fleet/with_pg.sh)")
                sys.exit(SKIP)
            store_args = ["--store", self.pg]
        argv = [OSMIG, "serve", "--listen", "127.0.0.1:0", "--state-dir", self.state] + store_args + [
                "--workers", str(cfg.get("workers", 1)), "--scheduler-interval", str(cfg.get("interval", 1))]
        if cfg.get("public_metrics"):
            argv.append("--public-metrics")
        if self.tls:
            cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
            r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                                "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, text=True)
            if r.returncode != 0:
                fail("openssl could not make a certificate: " + r.stderr)
            argv += ["--tls-cert", cert, "--tls-key", key]
            self.ctx = ssl.create_default_context(cafile=cert)
        argv += cfg.get("extra", [])
        # The bootstrap admin key, made on the server host as an operator would.
        r = subprocess.run([OSMIG, "key", "create", "--role", "admin", "--state-dir", self.state] + store_args,
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail("osmig key create: " + r.stderr)
        kv = dict(line.split("=", 1) for line in r.stdout.split() if "=" in line)
        self.keys = {"admin": (kv["key_id"], kv["secret"])}
        self.log = open(os.path.join(work, "serve.log"), "w")
        env = dict(os.environ, OSMIG_LOG="info", OSMIG_NO_AUTO_RESUME="1")
        env.update(cfg.get("env", {}))
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        line = self.proc.stdout.readline()
        m = re.search(r":(\d+) \(", line)
        if not m:
            self.proc.wait(timeout=10)
            fail("osmig serve did not start: %r; log:\n%s" % (line, open(self.log.name).read()[-3000:]))
        self.port = int(m.group(1))
        print("server: " + line.strip(), flush=True)

    def conn(self):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=120)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def stop(self):
        """SIGTERM; the server must exit 0 (under ASan: with no leak)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                fail("osmig serve did not stop on SIGTERM")
        else:
            rc = self.proc.returncode
        self.log.close()
        if rc != 0:
            fail("osmig serve exited %d; log:\n%s" % (rc, open(self.log.name).read()[-4000:]))


def store_dump(state, pg=None):
    if pg:
        q = lambda sql: subprocess.run(["psql", "-X", "-At", pg, "-c", sql], capture_output=True, text=True,
                                       check=True).stdout
        out = []
        for t in sorted(q("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").split()):
            if "nonce" not in t:
                out.append((t, sorted(q('SELECT * FROM "%s"' % t).splitlines())))
        return out
    db = sqlite3.connect(os.path.join(state, "state.db"))
    out = []
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    for t in tables:
        if "nonce" in t:
            continue
        out.append((t, sorted(repr(r) for r in db.execute('SELECT * FROM "%s"' % t))))
    db.close()
    return out


class Runner:
    def __init__(self, case, work):
        self.case = case
        self.work = work
        self.vars = {"WORK": work, "ROOTS": os.path.join(work, "roots"), "SRC": SRC}
        self.last = None  # the last signed request, for replays

    def subst(self, v):
        if isinstance(v, str):
            def rep(m):
                if m.group(1) not in self.vars:
                    fail("unknown variable ${%s}" % m.group(1))
                return str(self.vars[m.group(1)])
            return re.sub(r"\$\{(\w+)\}", rep, v)
        if isinstance(v, list):
            return [self.subst(x) for x in v]
        if isinstance(v, dict):
            return {self.subst(k): self.subst(x) for k, x in v.items()}
        return v

    def request(self, method, path, body=b"", key="admin", unsigned=False, extra=None, tamper=None,
                chunked=False, replay=False, declare=None):
        srv = self.srv
        if replay:
            method, path, body, headers = self.last
        else:
            u = urllib.parse.urlsplit(path)
            headers = {"host": "127.0.0.1:%d" % srv.port}
            if body:
                headers["content-type"] = "application/json"
            for k, v in (extra or {}).items():
                headers[k.lower()] = v
            if not unsigned:
                kid, secret = srv.keys[key]
                if tamper == "key-unknown":
                    kid = "OSMAAAAAAAAAAAAAAAAAAAA"
                # A date an hour old, correctly signed: only the clock check refuses it.
                sign(method, u.path, "" if tamper == "query-after-signing" else u.query, headers, body, kid, secret,
                     when=time.time() - 3600 if tamper == "date-old" else None)
                if tamper == "signature":
                    headers["authorization"] = headers["authorization"][:-4] + (
                        "0000" if not headers["authorization"].endswith("0000") else "1111")
                elif tamper == "body-after-signing":
                    body = body + b" "
            self.last = (method, path, body, dict(headers))
        c = srv.conn()
        try:
            if chunked:
                c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers.items():
                    c.putheader(k, v)
                c.putheader("transfer-encoding", "chunked")
                c.endheaders()
                try:
                    step = 65536
                    for i in range(0, len(body), step):
                        chunk = body[i:i + step]
                        c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    c.send(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass
            else:
                c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers.items():
                    c.putheader(k, v)
                c.putheader("content-length", str(declare if declare else len(body)))
                c.endheaders()
                try:
                    if declare:
                        c.send(body[:1024])
                    elif body:
                        c.send(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
            r = c.getresponse()
            data = r.read()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
        finally:
            c.close()

    def raw(self, data, cut=False, timeout=10):
        """Send raw bytes; the first bytes of the answer (b"" when none: the
        server may answer and close before it read everything, and then the
        reset can take the answer with it)."""
        s = socket.create_connection(("127.0.0.1", self.srv.port))
        s.settimeout(timeout)
        try:
            try:
                s.sendall(data)
                if cut:
                    return b""
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return s.recv(200)
        except OSError:
            return b""
        finally:
            s.close()

    def settled_dump(self):
        """The store once the worker is done with what earlier steps started
        (no change for a quarter of a second), so that only this request can change it."""
        deadline = time.monotonic() + 30
        prev = store_dump(self.srv.state, self.srv.pg)
        while time.monotonic() < deadline:
            time.sleep(0.25)
            cur = store_dump(self.srv.state, self.srv.pg)
            if cur == prev:
                return cur
            prev = cur
        fail("the store never settled: the worker keeps changing it")

    def do_step(self, i, st):
        name = "step %d (%s)" % (i + 1, st.get("name", st.get("path", st.get("sql", ""))))
        st = self.subst(st)
        if "osmig" in st:
            r = subprocess.run([OSMIG] + st["osmig"], capture_output=True, text=True)
            if r.returncode != 0:
                fail("%s: osmig %s exited %d: %s" % (name, " ".join(st["osmig"]), r.returncode, r.stderr[-2000:]))
            print("ok %s" % name, flush=True)
            return
        if "tcp" in st:
            data = b"".join(piece.encode("latin-1") * times for piece, times in st["tcp"])
            got = self.raw(data)
            want = st.get("expect", {})
            if "starts" in want and not got.startswith(want["starts"].encode()) and not (
                    want.get("or_closed") and not got):
                fail("%s: the answer starts %r, expected %r" % (name, got[:60], want["starts"]))
            if want.get("closed") and got:
                fail("%s: expected the connection closed without an answer, got %r" % (name, got[:60]))
            print("ok %s: %r" % (name, got[:30]), flush=True)
            return
        if "garbage" in st:
            import random
            rng = random.Random(st["garbage"].get("seed", 7))
            for _ in range(st["garbage"].get("count", 100)):
                n = rng.randint(1, 3000)
                data = bytes(rng.randrange(256) for _ in range(n))
                if rng.random() < 0.5:
                    data = b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % rng.randint(0, 2 * n) + data
                self.raw(data, cut=rng.random() < 0.7, timeout=0.3)
            print("ok %s" % name, flush=True)
            return
        if "sql_check" in st:
            for k in range(st.get("repeat", 1)):
                if k:
                    time.sleep(st.get("every", 1))
                db = sqlite3.connect(os.path.join(self.srv.state, "state.db"), timeout=30)
                rows = [list(r) for r in db.execute(st["sql_check"])]
                db.close()
                if rows != st["expect"]:
                    fail("%s: check %d of %d: %r, expected %r" % (name, k + 1, st.get("repeat", 1), rows,
                                                                  st["expect"]))
            print("ok %s" % name, flush=True)
            return
        if "text_file" in st:
            path = st["text_file"]
            if not os.path.isfile(path):
                fail("%s: %s does not exist" % (name, path))
            with open(path, errors="replace") as f:
                text = f.read()
            for rx in st.get("expect", {}).get("text_re", []):
                if not re.search(rx, text, re.M):
                    fail("%s: /%s/ not in %s:\n%s" % (name, rx, path, text[-3000:]))
            print("ok %s" % name, flush=True)
            return
        if "jsonl" in st:
            want = st.get("expect", {})
            path = st["jsonl"]
            if "mode" in want and "%o" % (os.stat(path).st_mode & 0o777) != want["mode"]:
                fail("%s: %s has mode %o, expected %s" % (name, path, os.stat(path).st_mode & 0o777, want["mode"]))
            with open(path) as f:
                lines = [json.loads(line) for line in f]
            for line in lines:
                check_json(line, want.get("every", {}), name + " (every line)")
            for i, some in enumerate(want.get("some", [])):
                if not any(self.matches(line, some) for line in lines):
                    fail("%s: no line of %s matches %r (%d lines)" % (name, path, some, len(lines)))
            print("ok %s: %d lines" % (name, len(lines)), flush=True)
            return
        if "sql" in st and self.srv.pg:
            subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", self.srv.pg, "-c", st["sql"]], check=True)
            print("ok %s" % name, flush=True)
            return
        if "sql" in st:
            db = sqlite3.connect(os.path.join(self.srv.state, "state.db"), timeout=30)
            db.execute(st["sql"])
            db.commit()
            db.close()
            print("ok %s" % name, flush=True)
            return
        if "wait" in st:
            w = st["wait"]
            deadline = time.monotonic() + w.get("timeout", 120)
            while True:
                status, _, data = self.request("GET", w["path"])
                try:
                    if status != 200:
                        raise Mismatch("answer %d" % status)
                    if "json" in w:
                        match_json(json.loads(data), w["json"], name)
                    for rx in w.get("text_re", []):
                        if not re.search(rx, data.decode(), re.M):
                            raise Mismatch("no /%s/" % rx)
                    break
                except Mismatch as e:
                    if time.monotonic() > deadline:
                        print(open(self.srv.log.name).read()[-4000:])
                        fail("%s: %s never matched (%s); last answer %d %s" % (name, w["path"], e, status,
                                                                            data[:2000]))
                    time.sleep(0.2)
            print("ok %s" % name, flush=True)
            return
        before = self.settled_dump() if st.get("store_unchanged") else None
        if "raw" in st:
            body = st["raw"].encode()
        elif "body_bytes" in st:
            n = st["body_bytes"]
            body = (b'{"name":"' + b"x" * max(0, n - 11) + b'"}')[:n]
        elif "body" in st:
            body = json.dumps(st["body"]).encode()
        else:
            body = b""
        for key, secret in st.get("set_secret", {}).items():
            self.srv.keys[key] = (self.srv.keys[key][0], secret)
        status, headers, data = self.request(st.get("method", "GET"), st.get("path", "/"), body,
                                             key=st.get("as", "admin"), unsigned=st.get("unsigned", False),
                                             extra=st.get("headers"), tamper=st.get("tamper"),
                                             chunked=st.get("chunked", False), replay=st.get("replay", False),
                                             declare=st.get("declare"))
        exp = st.get("expect", {})
        text = data.decode("utf-8", "replace")
        if "status" in exp and status != exp["status"]:
            fail("%s: status %d, expected %d: %s" % (name, status, exp["status"], text[:2000]))
        doc = None
        if headers.get("content-type", "").startswith("application/json"):
            try:
                doc = json.loads(text)
            except ValueError:
                fail("%s: the body is not JSON: %r" % (name, text[:500]))
        if status >= 400 and doc is not None:
            # Every error has the one shape, with this request's id.
            rid = headers.get("x-request-id")
            check_json(doc, {"error.code*": True, "error.message*": True, "error.request_id": rid,
                             "Code*": True, "Message*": True, "RequestId": rid}, name + " (error shape)")
            if doc.get("Code") != doc["error"]["code"] or headers.get("x-acs-request-id") != rid:
                fail("%s: Code %r / x-acs-request-id %r do not repeat error.code %r / X-Request-Id %r" % (
                    name, doc.get("Code"), headers.get("x-acs-request-id"), doc["error"]["code"], rid))
        if "json" in exp:
            if doc is None:
                fail("%s: expected JSON, got %s: %r" % (name, headers.get("content-type"), text[:500]))
            check_json(doc, exp["json"], name)
        if "text~" in exp and exp["text~"] not in text:
            fail("%s: the body lacks %r: %s" % (name, exp["text~"], text[:2000]))
        for rx in exp.get("text_re", []):
            if not re.search(rx, text, re.M):
                fail("%s: the body does not match /%s/: %s" % (name, rx, text[:3000]))
        if exp.get("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=data, capture_output=True)
            if r.returncode != 0:
                fail("%s: promtool check metrics: %s%s" % (name, r.stdout.decode()[-2000:], r.stderr.decode()[-2000:]))
        for h, want in exp.get("header", {}).items():
            if h.endswith("*"):
                if not headers.get(h[:-1].lower()):
                    fail("%s: header %s missing" % (name, h[:-1]))
            elif headers.get(h.lower()) != want:
                fail("%s: header %s is %r, expected %r" % (name, h, headers.get(h.lower()), want))
        if "compare_file" in st:
            with open(os.path.join(SRC, st["compare_file"])) as f:
                if json.load(f) != doc:
                    fail("%s: the body differs from %s" % (name, st["compare_file"]))
        if "compare_cmd" in st:
            r = subprocess.run([OSMIG] + st["compare_cmd"], capture_output=True, text=True)
            if r.returncode != 0 or json.loads(r.stdout) != doc:
                fail("%s: the body differs from osmig %s" % (name, " ".join(st["compare_cmd"])))
        if before is not None:
            after = store_dump(self.srv.state, self.srv.pg)
            if after != before:
                diff = [t for (t, rows), (_, rows2) in zip(before, after) if rows != rows2]
                fail("%s: the refused request changed the store (tables %s)" % (name, diff or "added/removed"))
        for var, path in st.get("save", {}).items():
            try:
                self.vars[var] = get_path(doc, path)
            except KeyError:
                fail("%s: cannot save %s from %s" % (name, path, text[:1000]))
        print("ok %s: %d %s" % (name, status, (doc.get("error", {}).get("code", "") if isinstance(doc, dict)
                                               and isinstance(doc.get("error"), dict) else "")), flush=True)

    @staticmethod
    def matches(doc, expect):
        try:
            match_json(doc, expect, "")
            return True
        except Mismatch:
            return False

    def setup_fixtures(self):
        case = self.case
        for prog in case.get("needs", []):
            if not shutil.which(prog):
                print("SKIP: %s not installed (scripts/install-deps.sh)" % prog)
                sys.exit(SKIP)
        for r in case.get("roots", []):
            os.makedirs(os.path.join(self.vars["ROOTS"], r))
        if case.get("windows"):
            r = subprocess.run(["bash", os.path.join(SRC, "tests", "windows", "make-fixtures.sh")],
                               capture_output=True, text=True)
            if r.returncode == SKIP:
                print(r.stderr.strip() or "SKIP: no Windows fixtures")
                sys.exit(SKIP)
            if r.returncode != 0:
                fail("the Windows fixtures did not build: " + r.stderr[-2000:])
            fx = os.path.join(os.environ["OSMIG_FIXTURE_CACHE"], "windows")
            self.vars.update(WIN_ROOTS=os.path.join(fx, "roots"), WIN_MEDIA=os.path.join(fx, "media"))
        if case.get("sample"):
            for prog in ("rpmbuild", "rpmsign", "createrepo_c", "gpg", "rpm"):
                if not shutil.which(prog):
                    print("SKIP: %s not installed (scripts/install-deps.sh)" % prog)
                    sys.exit(SKIP)
            r = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "tests", "fixtures", "build-set.py"),
                                "centos7-base", "alinux3-target"], capture_output=True, text=True)
            if r.returncode != 0:
                fail("fixture sets did not build: " + r.stderr[-2000:])
            src, tgt = r.stdout.split()[-2:]
            root = os.path.join(self.vars["ROOTS"], "sample")
            os.makedirs(self.vars["ROOTS"], exist_ok=True)
            for k in range(1, int(case["sample"]) + 1):
                r = root + (str(k) if k > 1 else "")
                subprocess.run(["cp", "-a", os.path.join(src, "roots", "installed"), r], check=True)
                if k > 1:
                    self.vars["SAMPLE_ROOT%d" % k] = r
            key = os.path.join(tgt, "RPM-GPG-KEY-osmig-test")
            with open(os.path.join(SRC, "tests", "fixtures", "sample-matrix.json.in")) as f:
                m = f.read()
            repo_url = "file://" + os.path.join(tgt, "repos", "target")
            if case.get("sample_http_kbps"):
                repo_url = self.start_httpd(os.path.join(tgt, "repos", "target"), case["sample_http_kbps"])
            m = m.replace("file://@WORKDIR@/repo", repo_url)
            m = m.replace("file://@WORKDIR@/RPM-GPG-KEY-sample", "file://" + key)
            m = m.replace("@EVENTS@", os.path.join(SRC, "matrices", "linux", "events", "alinux3.json"))
            path = os.path.join(self.work, "sample-matrix.json")
            with open(path, "w") as f:
                f.write(m)
            self.vars.update(SAMPLE_ROOT=root, SAMPLE_MATRIX=path, SAMPLE_SNAPS=os.path.join(self.work, "snaps"),
                             SAMPLE_CACHE=os.path.join(self.work, "cache"))

    def start_httpd(self, root, kbps):
        if not shutil.which("lighttpd"):
            print("SKIP: lighttpd not installed (scripts/install-deps.sh)")
            sys.exit(SKIP)
        d = os.path.join(self.work, "httpd")
        os.makedirs(d)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        with open(os.path.join(d, "lighttpd.conf"), "w") as f:
            f.write('server.document-root = "%s"\nserver.bind = "127.0.0.1"\nserver.port = %d\n'
                    'server.errorlog = "%s/error.log"\nmimetype.assign = ("" => "application/octet-stream")\n'
                    'connection.kbytes-per-second = %d\n' % (root, port, d, kbps))
        self.httpd = subprocess.Popen(["lighttpd", "-D", "-f", os.path.join(d, "lighttpd.conf")])
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                return "http://127.0.0.1:%d" % port
            except OSError:
                time.sleep(0.1)
        fail("lighttpd did not start")

    def run(self):
        self.httpd = None
        try:
            self.run_case()
        finally:
            if self.httpd:
                self.httpd.kill()
                self.httpd.wait()

    def run_case(self):
        self.setup_fixtures()
        self.srv = Server(self.work, self.subst(self.case.get("server", {})))
        ok = False
        try:
            for name, spec in self.case.get("keys", {}).items():
                status, _, data = self.request("POST", "/v1/keys", json.dumps(self.subst(spec)).encode())
                if status != 201:
                    fail("creating key %s: %d %s" % (name, status, data[:500]))
                k = json.loads(data)
                self.srv.keys[name] = (k["key_id"], k["secret"])
                self.vars["KEY_" + name] = k["key_id"]
            self.vars["KEY_admin"] = self.srv.keys["admin"][0]
            for i, st in enumerate(self.case["steps"]):
                self.do_step(i, st)
            ok = True
        finally:
            if not ok:
                try:
                    print("--- serve.log (end):\n" + open(self.srv.log.name).read()[-3000:])
                except OSError:
                    pass
            self.srv.stop()


def main(runner=None, prefix="osm-api-test.", doc=None):
    """Run the case file named on the command line with `runner` (a Runner
    subclass; tests/security reuses this with its own)."""
    if len(sys.argv) != 2:
        print(doc or __doc__)
        sys.exit(2)
    with open(sys.argv[1]) as f:
        case = json.load(f)
    print("case: %s" % case.get("about", sys.argv[1]), flush=True)
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        (runner or Runner)(case, work).run()
    finally:
        if not os.environ.get("KEEP_WORK"):
            shutil.rmtree(work, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
