#!/usr/bin/env bash
# Proves: the fleet API takes Windows targets. A real `osmig serve` on
# loopback: GET /v1/matrix gives each Windows path the id `--to` takes;
# POST /v1/assessments assesses a Windows instance (with the chosen media);
# `osmig migrate --server` (POST /v1/jobs) of a Windows instance with target
# 2019-datacenter runs the whole task on the server to succeeded; a Windows
# target no path reaches is 400 InvalidParameter.Target. Windows is the test
# double (backends/windows/win_double.h), exported to the server.
. "$(dirname "$0")/lib.sh"
. "$OSMIG_SOURCE_DIR/tests/scaleout/serve_lib.sh"
CALL=$OSMIG_SOURCE_DIR/tests/scaleout/api_call.py
unset OSMIG_SERVER OSMIG_ACCESS_KEY_ID OSMIG_ACCESS_KEY_SECRET
export HOME=$WORK/home; mkdir -p "$HOME"
win_setup w2012r2-dc-en '{"builds": [9600, 17763], "edition": "ServerDatacenter", "plays": ["success"]}'
"$OSMIG_BIN" key create --role admin >"$WORK/key" 2>/dev/null || fail "key create"
export OSMIG_ACCESS_KEY_ID OSMIG_ACCESS_KEY_SECRET
OSMIG_ACCESS_KEY_ID=$(sed -n 's/^key_id=//p' "$WORK/key")
OSMIG_ACCESS_KEY_SECRET=$(sed -n 's/^secret=//p' "$WORK/key")
"$OSMIG_BIN" serve --listen 127.0.0.1:0 --workers 1 --scheduler-interval 1 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
trap 'kill $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null; cleanup' EXIT
URL=$(listening_url "osmig serve" "$WORK/serve.out" "$WORK/serve.err" "$SERVE_PID") || exit 1

"$PY" "$CALL" "$URL" GET /v1/matrix >"$WORK/matrix.json" || fail "GET /v1/matrix"
"$PY" - "$WORK/matrix.json" <<'PY' || fail "the matrix lacks the Windows target ids"
import json, sys
doc = json.load(open(sys.argv[1]))
paths = doc if isinstance(doc, list) else doc.get("paths", doc)
ids = {p.get("id") for p in paths if p.get("family") == "windows"}
assert {"2012r2-datacenter", "2016-datacenter", "2019-datacenter", "2022-datacenter"} <= ids, ids
PY

"$PY" "$CALL" "$URL" POST /v1/assessments "{\"instances\": [\"dir:$INST\"], \"target\": \"2019-datacenter\"}" >"$WORK/assess.json" ||
  { cat "$WORK/assess.json"; fail "POST /v1/assessments"; }
"$PY" - "$WORK/assess.json" <<'PY' || { cat "$WORK/assess.json"; fail "the Windows assessment"; }
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
assert r["migratable"] is True and r["error"] is None, r
PY

rc=0
"$PY" "$CALL" "$URL" POST /v1/jobs "{\"target\": \"2019-enterprise\", \"instances\": [\"dir:$INST\"]}" >"$WORK/bad.json" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'InvalidParameter.Target' "$WORK/bad.json" || { cat "$WORK/bad.json"; fail "an unknown Windows target was accepted"; }

rc=0
"$OSMIG_BIN" migrate "dir:$INST" --to 2019-datacenter --yes --server "$URL" >"$WORK/run.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/run.out" "$WORK/serve.err"; fail "migrate --server exit $rc"; }
grep -q "succeeded" "$WORK/run.out" || { cat "$WORK/run.out"; fail "the server's task did not succeed"; }
grep -q '^start auto upgrade index=4' "$WORK/double/events.log" || fail "setup never started"
all_detached || fail "a transit disk was left attached"
echo PASS
