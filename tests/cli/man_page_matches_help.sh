#!/usr/bin/env bash
# Proves: the man page osmig(8) the build made is the one the generator
# makes from this binary now (not stale), its synopsis and command list are
# `osmig --help`'s, each command's section is `osmig help COMMAND` verbatim
# once troff's escapes are undone, and groff renders it without a warning.
set -euo pipefail
: "${OSMIG_BIN:?run under ctest}" "${OSMIG_SOURCE_DIR:?run under ctest}"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
MAN=$(dirname "$OSMIG_BIN")/osmig.8
[ -s "$MAN" ] || fail "the build made no $MAN"
python3 "$OSMIG_SOURCE_DIR/scripts/gen-manpage.py" "$OSMIG_BIN" "$W/osmig.8"
cmp -s "$MAN" "$W/osmig.8" || { diff "$MAN" "$W/osmig.8" | head; fail "$MAN is stale"; }
# The .nf blocks, unescaped, by section.
python3 - "$MAN" "$W" <<'PY'
import sys
man, out = sys.argv[1], sys.argv[2]
sec, block, blocks = None, None, {}
for line in open(man).read().split("\n"):
    if line.startswith((".SH ", ".SS ")):
        sec = line[4:].replace("\\-", "-")
    elif line == ".nf":
        block = []
    elif line == ".fi":
        blocks[sec] = "\n".join(block) + "\n"
        block = None
    elif block is not None:
        if line.startswith("\\&"):
            line = line[2:]
        block.append(line.replace("\\-", "-").replace("\\e", "\\"))
for sec, text in blocks.items():
    open("%s/%s.txt" % (out, sec.replace(" ", "_")), "w").write(text)
PY
"$OSMIG_BIN" --help >"$W/top"
awk 'NR == 1 { sub(/^usage: /, "") } /^$/ { exit } { print }' "$W/top" | cmp -s - "$W/SYNOPSIS.txt" ||
  fail "the synopsis is not --help's"
grep '^  [a-z]' "$W/top" | cmp -s - "$W/COMMANDS.txt" || fail "the command list is not --help's"
n=0
for c in $(awk '/^commands:/{f=1;next} f&&/^  [a-z]/{print $1}' "$W/top"); do
  [ -f "$W/osmig_$c.txt" ] || fail "no section for $c"
  "$OSMIG_BIN" help "$c" | cmp -s - "$W/osmig_$c.txt" || { "$OSMIG_BIN" help "$c" | diff - "$W/osmig_$c.txt" | head; fail "the section of $c is not its --help"; }
  n=$((n + 1))
done
[ "$n" -gt 10 ] || fail "only $n commands"
command -v groff >/dev/null || { echo "SKIP: groff not installed (scripts/install-deps.sh: groff-base)"; exit 77; }
groff -man -Tutf8 -ww "$MAN" >"$W/rendered" 2>"$W/groff.err"
[ ! -s "$W/groff.err" ] || { cat "$W/groff.err"; fail "groff warns about the page"; }
grep -q "osmig assess INSTANCE" "$W/rendered" || fail "the rendered page lacks assess's usage"
echo PASS
