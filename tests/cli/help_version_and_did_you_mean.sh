#!/usr/bin/env bash
# Proves: `osmig help COMMAND` is the command's own --help; `osmig help`
# and `osmig --help` list every command; `osmig version` and `--version`
# print the version; a mistyped command exits 2 naming the most similar
# command (transposition, a missing letter, a prefix), and a word close to
# nothing gets no suggestion.
set -euo pipefail
: "${OSMIG_BIN:?run under ctest}"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
"$OSMIG_BIN" --help >"$W/top"
"$OSMIG_BIN" help >"$W/help"
cmp -s "$W/top" "$W/help" || fail "osmig help differs from osmig --help"
grep -q "^  help " "$W/top" && grep -q "^  version " "$W/top" || fail "help and version not listed"
for c in $(awk '/^commands:/{f=1;next} f&&/^  [a-z]/{print $1}' "$W/top"); do
  [ "$c" = help ] && continue
  "$OSMIG_BIN" help "$c" >"$W/a" || fail "osmig help $c failed"
  "$OSMIG_BIN" "$c" --help >"$W/b" || fail "osmig $c --help failed"
  cmp -s "$W/a" "$W/b" || fail "osmig help $c is not osmig $c --help"
  grep -q "osmig $c" "$W/a" || fail "osmig help $c does not show its usage"
done
v=$("$OSMIG_BIN" version)
[ "$v" = "$("$OSMIG_BIN" --version)" ] || fail "version and --version differ"
[[ $v =~ ^osmig\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "version prints '$v'"
suggests() { # WORD EXPECTED
  set +e; "$OSMIG_BIN" "$1" >"$W/out" 2>"$W/err"; local st=$?; set -e
  [ "$st" = 2 ] || fail "'$1' exited $st, not 2"
  [ -s "$W/out" ] && fail "'$1' printed on stdout"
  grep -q "'$1' is not an osmig command" "$W/err" || { cat "$W/err"; fail "'$1' not named"; }
  grep -qx "	$2" "$W/err" || { cat "$W/err"; fail "'$1' does not suggest $2"; }
}
suggests asess assess
suggests tsak task
suggests snapshto snapshot
suggests snap snapshot
suggests migrat migrate
set +e; "$OSMIG_BIN" help asess 2>"$W/err"; st=$?; set -e
[ "$st" = 2 ] && grep -qx "	assess" "$W/err" || fail "osmig help asess does not suggest assess"
set +e; "$OSMIG_BIN" zzzzzz 2>"$W/err"; st=$?; set -e
[ "$st" = 2 ] || fail "an unknown word exited $st"
grep -q "most similar" "$W/err" && fail "a word close to nothing got a suggestion"
echo PASS
