#!/usr/bin/env bash
# `osmig media add|list|show|pick` against real WIMs: output, exit codes, and a
# catalogue left unchanged by every refusal.
set -euo pipefail
bash "$OSMIG_SOURCE_DIR/tests/windows/make-fixtures.sh" || exit $?
fx=$OSMIG_FIXTURE_CACHE/windows
state=$(mktemp -d /tmp/osmig-media-cli-XXXXXX)
trap 'rm -rf "$state"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
osmig() { "$OSMIG_BIN" "$@"; }

out=$(osmig media --state-dir "$state" add "$fx/media/2019-en") || fail "add"
[[ $out == *"registered media '2019-en-US'"*"4 images"* ]] || fail "add said: $out"
OSMIG_STATE_DIR=$state osmig media add "$fx/media/2012r2-en" --id w2012r2 >/dev/null || fail "add with env state dir"
list=$(osmig media --state-dir "$state" list)
[[ $(grep -c . <<<"$list") == 3 ]] || fail "list: $list"
grep -q '^2019-en-US *2019 *17763 *en-US *4 ' <<<"$list" || fail "list row: $list"
show=$(osmig media --state-dir "$state" show w2012r2)
grep -q 'ServerDatacenter *Server Core' <<<"$show" || fail "show: $show"
osmig media --state-dir "$state" show w2012r2 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["build"]==9600 and len(d["images"])==4'
[[ $(osmig media --state-dir "$state" pick 2019-en-US --edition datacenter --type 'Server Core' --language en-US) == 3 ]] || fail pick

before=$(sha256sum "$state/media.json")
set +e
osmig media --state-dir "$state" add "$fx/media/2019-en" 2>err.txt; rc=$?
set -e
[[ $rc == 1 ]] && grep -q "already registered" err.txt || fail "duplicate add: rc=$rc $(cat err.txt)"
set +e
osmig media --state-dir "$state" pick 2019-en-US --edition datacenter --type Server --language zh-CN 2>err.txt; rc=$?
set -e
[[ $rc == 1 ]] && grep -q "index 4: ServerDatacenter, Server, en-US" err.txt || fail "pick refusal: $(cat err.txt)"
set +e
osmig media --state-dir "$state" show nope 2>err.txt; rc=$?
osmig media --state-dir "$state" frobnicate 2>/dev/null; rc2=$?
osmig media --state-dir "$state" add 2>/dev/null; rc3=$?
osmig media --state-dir "$state" add "$fx/media/2016-en/sources/install.wim" 2>err.txt; rc4=$?
set -e
[[ $rc4 == 1 ]] && grep -q "no setup.exe" err.txt || fail "a medium without setup.exe was not refused: rc=$rc4 $(cat err.txt)"
[[ $rc == 1 && $rc2 == 2 && $rc3 == 2 ]] || fail "exit codes $rc $rc2 $rc3"
[[ $(sha256sum "$state/media.json") == "$before" ]] || fail "catalogue changed by a refusal"
rm -f err.txt
echo "ok"
