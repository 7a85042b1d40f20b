#!/usr/bin/python3
"""api_call.py URL METHOD PATH [BODY_JSON]: one signed fleet API request
(credentials from OSMIG_ACCESS_KEY_ID / OSMIG_ACCESS_KEY_SECRET), for the
requests the CLI does not make (a job of several instances). Prints the
answer's JSON; exit 0 on 2xx, 1 otherwise (the answer on stderr).

Signs with tests/api/apicase.py, which implements ACS3 from the
specification independently of engine/acs3.c."""
import http.client
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
from apicase import sign  # noqa: E402


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    url, method, path = sys.argv[1:4]
    body = sys.argv[4].encode() if len(sys.argv) == 5 else b""
    u = urllib.parse.urlsplit(url)
    p, _, q = path.partition("?")
    headers = {"host": u.netloc}
    sign(method, p, q, headers, body, os.environ["OSMIG_ACCESS_KEY_ID"], os.environ["OSMIG_ACCESS_KEY_SECRET"])
    if body:
        headers["content-type"] = "application/json"
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request(method, path, body=body or None, headers=headers)
    r = c.getresponse()
    text = r.read().decode()
    if not 200 <= r.status < 300:
        print("%s %s: HTTP %d: %s" % (method, path, r.status, text), file=sys.stderr)
        return 1
    print(json.dumps(json.loads(text), indent=1) if text.strip() else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
