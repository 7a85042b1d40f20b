#!/usr/bin/env bash
# Proves: dist/completion/_osmig, run by a real zsh as its completion
# system would (words and CURRENT set, compadd and _files the shell's
# builtins replaced by recorders), offers commands for a prefix, a
# command's options, subcommands, task, job and key ids from the store
# (--state-dir), and falls back to file names where osmig offers nothing.
# SKIP without zsh (scripts/install-deps.sh installs it).
set -euo pipefail
: "${OSMIG_BIN:?run under ctest}" "${OSMIG_SOURCE_DIR:?run under ctest}"
command -v zsh >/dev/null || { echo "SKIP: zsh is not installed (scripts/install-deps.sh)"; exit 77; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export OSMIG_NO_AUTO_RESUME=1
mkdir -p "$W/bin"; ln -s "$OSMIG_BIN" "$W/bin/osmig"; export PATH="$W/bin:$PATH"
zsh -n "$OSMIG_SOURCE_DIR/dist/completion/_osmig" || fail "zsh rejects _osmig"
comp() { # WORDS... (the last one is being completed): the candidates, one a line
  zsh -f -c '
    compadd() { [[ $1 == -a ]] && print -rl -- "${(@P)2}"; }
    _files() { print -r -- "<files>"; }
    words=(osmig "$@"); CURRENT=${#words}
    source "$0"' "$OSMIG_SOURCE_DIR/dist/completion/_osmig" "$@"
}
has() { grep -qx -- "$2" <<<"$1" || { echo "$1"; fail "'$2' not offered"; }; }
hasnt() { ! grep -qx -- "$2" <<<"$1" || { echo "$1"; fail "'$2' offered"; }; }
out=$(comp as); has "$out" assess; hasnt "$out" migrate
out=$(comp migrate dir:/x --); has "$out" --yes; has "$out" --snapshot-store
out=$(comp key d); has "$out" delete; hasnt "$out" create
out=$(comp assess dir:/x --matrix ''); [ "$out" = "<files>" ] || fail "an option's value is not left to file names: $out"

# Ids from a store: a task (of a job) and a key.
mkdir -p "$W/root"
echo "dir:$W/root not_before=2099-01-01T00:00:00Z" >"$W/wave"
job=$(osmig jobs create "$W/wave" --target alinux3 --json --state-dir "$W/state" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])') || fail "jobs create"
task=$(osmig tasks --json --state-dir "$W/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["id"])')
key=$(osmig key create --role viewer --state-dir "$W/state" | sed -n 's/^key_id=//p')
[ -n "$job" ] && [ -n "$task" ] && [ -n "$key" ] || fail "no job, task or key made"
out=$(comp task show --state-dir "$W/state" ''); has "$out" "$task"
out=$(comp jobs show --state-dir "$W/state" ''); has "$out" "$job"; hasnt "$out" "$task"
out=$(comp key disable --state-dir "$W/state" ''); has "$out" "$key"
echo PASS
