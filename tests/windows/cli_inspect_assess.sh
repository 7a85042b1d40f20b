#!/usr/bin/env bash
# `osmig inspect` and `osmig assess` on Windows roots (real hives built by
# make-fixtures.sh): the CLI picks the Windows backend, shows the facts,
# finds the hops, exits 3 on an inhibitor and 1 on an unreadable hive.
set -euo pipefail
src=${OSMIG_SOURCE_DIR:?} osmig=${OSMIG_BIN:?}
bash "$src/tests/windows/make-fixtures.sh" || exit $?
roots=${OSMIG_FIXTURE_CACHE:?}/windows/roots
fail() { echo "FAIL: $*"; exit 1; }
media=${OSMIG_FIXTURE_CACHE}/windows/media
export OSMIG_STATE_DIR; OSMIG_STATE_DIR=$(mktemp -d /tmp/osmig-winassess-XXXXXX)
trap 'rm -rf "$OSMIG_STATE_DIR"' EXIT

out=$("$osmig" inspect --json "dir:$roots/w2008r2-std-en")
python3 - "$out" <<'PY' || fail "inspect --json facts"
import json, sys
f = json.loads(sys.argv[1])
assert f["os"] == "windows" and f["edition_id"] == "ServerStandard" and f["build"] == 7601, f
assert f["language"] == "en-US" and f["installation_type"] == "Server", f
PY
"$osmig" inspect "dir:$roots/w2019-dc-zh" | grep -q "zh-CN" || fail "inspect shows the install language"

# No medium registered: no upgrade can be served, and assess says so.
rc=0; out=$("$osmig" assess --json "dir:$roots/w2008r2-std-en" --to 2019-datacenter) || rc=$?
[ "$rc" = 3 ] && grep -q '"windows_media"' <<<"$out" || fail "no media: exit $rc, $out"

"$osmig" media add "$media/2012r2-en" >/dev/null && "$osmig" media add "$media/2019-en" >/dev/null || fail "media add"
rc=0; out=$("$osmig" assess "dir:$roots/w2008r2-std-en" --to 2019-datacenter) || rc=$?
[ "$rc" = 0 ] || fail "2008 R2 -> 2019 assess exit $rc: $out"
grep -q "hop 1: 2008r2 standard -> 2012r2 datacenter" <<<"$out" || fail "first hop missing: $out"
grep -q "hop 2: 2012r2 datacenter -> 2019 datacenter" <<<"$out" || fail "second hop missing: $out"
# the chosen image of each hop: index, name, edition, installation type, language
grep -q 'hop 1: media 2012r2-en-US, image 4 "Windows Server 2012 R2 SERVERDATACENTER" (ServerDatacenter, Server, en-US)' <<<"$out" ||
  fail "hop 1's image not shown: $out"
out=$("$osmig" assess --json "dir:$roots/w2008r2-std-en" --to 2019-datacenter)
python3 - "$out" <<'PY' || fail "assess --json media"
import json, sys
r = json.loads(sys.argv[1])
m = r["media"]
assert [h["image_index"] for h in m] == [4, 4], m
assert m[1]["edition_id"] == "ServerDatacenter" and m[1]["installation_type"] == "Server" and m[1]["language"] == "en-US", m
PY
# A language no registered medium offers (zh-CN: only en-US media are registered).
rc=0; out=$("$osmig" assess --json "dir:$roots/w2012r2-dc-core-zh" --to 2019) || rc=$?
[ "$rc" = 3 ] && grep -q '"windows_media"' <<<"$out" && grep -q 'zh-CN' <<<"$out" || fail "zh-CN without zh-CN media: exit $rc, $out"
# An edition no registered medium offers: 2012 R2 evaluation media only have Standard (evaluation) images.
st2=$(mktemp -d /tmp/osmig-winassess-XXXXXX)
OSMIG_STATE_DIR=$st2 "$osmig" media add "$media/2012r2-eval-en" >/dev/null || fail "media add eval"
rc=0; out=$(OSMIG_STATE_DIR=$st2 "$osmig" assess --json "dir:$roots/w2008r2-std-en" --to 2012r2) || rc=$?
rm -rf "$st2"
[ "$rc" = 3 ] && grep -q '"windows_media"' <<<"$out" || fail "no Datacenter image: exit $rc, $out"
# Core: the core image is chosen.
"$osmig" media add "$media/2019-zh" >/dev/null || fail "media add zh"
out=$("$osmig" assess --json "dir:$roots/w2012r2-dc-core-zh" --to 2019)
python3 - "$out" <<'PY' || fail "Core picks the Core image"
import json, sys
m = json.loads(sys.argv[1])["media"]
assert m[0]["image_index"] == 3 and m[0]["installation_type"] == "Server Core" and m[0]["language"] == "zh-CN", m
PY

rc=0; out=$("$osmig" assess --json "dir:$roots/w2012r2-eval-en" --to 2019-datacenter) || rc=$?
[ "$rc" = 3 ] || fail "evaluation edition: exit $rc, expected 3"
grep -q '"windows_evaluation"' <<<"$out" || fail "evaluation inhibitor id missing: $out"

rc=0; err=$("$osmig" inspect "dir:$roots/corrupt" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "corrupt hive: exit $rc, expected 1"
grep -q "SOFTWARE hive" <<<"$err" || fail "corrupt hive error does not name the hive: $err"
echo ok
