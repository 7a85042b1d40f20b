#!/usr/bin/env bash
# Proves: dist/completion/osmig.bash, sourced in bash, registers a function
# for osmig, and with COMP_WORDS as bash sets them offers: commands for a
# prefix, a command's options from its --help, subcommands, task ids from
# the store (--state-dir) for TASK_ID, job ids for `jobs ... ID`, access
# key ids for `key ... ID`, snapshot set ids of the instance for SET_ID, and
# nothing (file names by -o default) for an option's value.
# The zsh file is checked by zsh when it is installed.
set -euo pipefail
: "${OSMIG_BIN:?run under ctest}" "${OSMIG_SOURCE_DIR:?run under ctest}"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export OSMIG_NO_AUTO_RESUME=1
mkdir -p "$W/bin"; ln -s "$OSMIG_BIN" "$W/bin/osmig"; export PATH="$W/bin:$PATH"
. "$OSMIG_SOURCE_DIR/dist/completion/osmig.bash"
complete -p osmig | grep -q -- '-F _osmig' || fail "no completion registered for osmig"
comp() { # WORDS... (the last one is being completed): COMPREPLY, one a line
  COMP_WORDS=(osmig "$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=(); _osmig
  printf '%s\n' "${COMPREPLY[@]}"
}
has() { grep -qx -- "$2" <<<"$1" || { echo "$1"; fail "'$2' not offered"; }; }
hasnt() { ! grep -qx -- "$2" <<<"$1" || { echo "$1"; fail "'$2' offered"; }; }
out=$(comp as); has "$out" assess; hasnt "$out" migrate
out=$(comp ''); has "$out" snapshot; has "$out" help; hasnt "$out" __complete
out=$(comp --st); has "$out" --state-dir
out=$(comp assess dir:/x --); has "$out" --to; has "$out" --matrix; has "$out" --allow-erase; hasnt "$out" --yes
out=$(comp migrate dir:/x --); has "$out" --yes; has "$out" --snapshot-store
out=$(comp snapshot ''); has "$out" create; has "$out" delete; has "$out" verify
out=$(comp key d); has "$out" delete; hasnt "$out" create
out=$(comp help sn); has "$out" snapshot
out=$(comp assess dir:/x --matrix ''); [ -z "$out" ] || fail "an option's value got candidates: $out"

# Task ids from the store: two real tasks, failed at their precheck (the
# sample target's repository unreachable: port 9 of loopback).
python3 "$OSMIG_SOURCE_DIR/tests/fixtures/build-set.py" centos7-base alinux3-target >"$W/sets" ||
  fail "fixture sets not built"
ROOT=$(sed -n 1p "$W/sets")/roots/installed
KEY=$(sed -n 2p "$W/sets")/RPM-GPG-KEY-osmig-test
mkdir -p "$W/r"; cp -a "$ROOT" "$W/r/a"
sed -e "s#file://@WORKDIR@/repo#http://127.0.0.1:9/#" -e "s#file://@WORKDIR@/RPM-GPG-KEY-sample#file://$KEY#" \
  -e "s#@EVENTS@#$OSMIG_SOURCE_DIR/matrices/linux/events/alinux3.json#" \
  "$OSMIG_SOURCE_DIR/tests/fixtures/sample-matrix.json.in" >"$W/matrix.json"
for _ in 1 2; do
  osmig --report-dir "$W/rep" migrate "dir:$W/r/a" --to sample-alinux3 --matrix "$W/matrix.json" --yes \
    --state-dir "$W/state" --snapshot-store "$W/snaps" --cache-dir "$W/cache" >/dev/null 2>&1 || true
done
mapfile -t ids < <(osmig tasks --json --state-dir "$W/state" | python3 -c 'import json,sys; [print(t["id"]) for t in json.load(sys.stdin)["tasks"]]')
[ "${#ids[@]}" = 2 ] || fail "expected 2 tasks, got ${#ids[@]}"
out=$(comp task show --state-dir "$W/state" ''); has "$out" "${ids[0]}"; has "$out" "${ids[1]}"
out=$(comp --state-dir "$W/state" cancel "${ids[0]:0:4}"); has "$out" "${ids[0]}"
out=$(comp task show ''); [ -z "$(grep -x -- "${ids[0]}" <<<"$out")" ] || fail "ids of another store offered"

# Job ids for `jobs ... ID` and access key ids for `key ... ID`, from the store.
echo "dir:$W/r/a not_before=2099-01-01T00:00:00Z" >"$W/wave"
job=$(osmig jobs create "$W/wave" --target alinux3 --json --state-dir "$W/state" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])') || fail "jobs create"
key=$(osmig key create --role viewer --state-dir "$W/state" | sed -n 's/^key_id=//p')
[ -n "$job" ] && [ -n "$key" ] || fail "no job or key made"
out=$(comp jobs show --state-dir "$W/state" ''); has "$out" "$job"; hasnt "$out" "${ids[0]}"
out=$(comp --state-dir "$W/state" jobs pause "${job:0:3}"); has "$out" "$job"
out=$(comp jobs list ''); hasnt "$out" "$job"
out=$(comp key delete --state-dir "$W/state" ''); has "$out" "$key"; hasnt "$out" "$job"
out=$(comp key rotate --state-dir "$W/state" ''); has "$out" "$key"

# Snapshot set ids of the instance.
set_id=$(osmig snapshot create "dir:$W/r/a" --snapshot-store "$W/snaps" --quiet 2>/dev/null | tail -1)
[ -n "$set_id" ] || fail "no snapshot set made"
out=$(comp snapshot delete "dir:$W/r/a" --snapshot-store "$W/snaps" ''); has "$out" "$set_id"
out=$(comp snapshot verify "dir:$W/r/a" --snapshot-store "$W/snaps" ''); has "$out" "$set_id"
if command -v zsh >/dev/null; then zsh -n "$OSMIG_SOURCE_DIR/dist/completion/_osmig" || fail "zsh rejects _osmig"; fi
echo PASS
