#!/usr/bin/env bash
# `osmig inspect` and `osmig assess` on Windows roots (real hives built by
# make-fixtures.sh): the CLI picks the Windows backend, shows the facts,
# finds the hops, exits 3 on an inhibitor and 1 on an unreadable hive.
set -euo pipefail
src=${OSMIG_SOURCE_DIR:?} osmig=${OSMIG_BIN:?}
bash "$src/tests/windows/make-fixtures.sh" || exit $?
roots=${OSMIG_FIXTURE_CACHE:?}/windows/roots
fail() { echo "FAIL: $*"; exit 1; }

out=$("$osmig" inspect --json "dir:$roots/w2008r2-std-en")
python3 - "$out" <<'PY' || fail "inspect --json facts"
import json, sys
f = json.loads(sys.argv[1])
assert f["os"] == "windows" and f["edition_id"] == "ServerStandard" and f["build"] == 7601, f
assert f["language"] == "en-US" and f["installation_type"] == "Server", f
PY
"$osmig" inspect "dir:$roots/w2019-dc-zh" | grep -q "zh-CN" || fail "inspect shows the install language"

rc=0; out=$("$osmig" assess "dir:$roots/w2008r2-std-en" --to 2019-datacenter) || rc=$?
[ "$rc" = 0 ] || fail "2008 R2 -> 2019 assess exit $rc: $out"
grep -q "hop 1: 2008r2 standard -> 2012r2 datacenter" <<<"$out" || fail "first hop missing: $out"
grep -q "hop 2: 2012r2 datacenter -> 2019 datacenter" <<<"$out" || fail "second hop missing: $out"

rc=0; out=$("$osmig" assess --json "dir:$roots/w2012r2-eval-en" --to 2019-datacenter) || rc=$?
[ "$rc" = 3 ] || fail "evaluation edition: exit $rc, expected 3"
grep -q '"windows_evaluation"' <<<"$out" || fail "evaluation inhibitor id missing: $out"

rc=0; err=$("$osmig" inspect "dir:$roots/corrupt" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "corrupt hive: exit $rc, expected 1"
grep -q "SOFTWARE hive" <<<"$err" || fail "corrupt hive error does not name the hive: $err"
echo ok
