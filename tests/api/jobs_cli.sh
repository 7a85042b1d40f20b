#!/usr/bin/env bash
# Proves: `osmig jobs` creates a job from an instance list file (per-line
# targets and times), lists, shows, pauses, resumes, sets limits and cancels
# it, on the local store and with --server against a real `osmig serve`,
# the two printing the same job; max_concurrency 0 creates a paused job;
# each change is in the job's audit trail with who made it (local:USER, or
# the key id); bad files, unknown targets, a cancelled job and a rollback
# without --yes off a terminal are clear errors that change nothing.
set -euo pipefail
: "${OSMIG_BIN:?run under ctest}"
B=$OSMIG_BIN
. "${OSMIG_SOURCE_DIR:?run under ctest}/tests/scaleout/serve_lib.sh"
serve_work jobs-cli
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/out" "$1"; }
unset OSMIG_SERVER OSMIG_ACCESS_KEY_ID OSMIG_ACCESS_KEY_SECRET
export HOME=$WORK/home OSMIG_NO_AUTO_RESUME=1
LOCAL=(--state-dir "$WORK/local")
mkdir -p "$HOME" "$WORK"/inst/{a,b,c,d,e,f}
cat >"$WORK/wave" <<EOF2
# wave 1: per-instance targets and times
dir:$WORK/inst/a alinux3
dir:$WORK/inst/b not_before=2099-01-01T00:00:00Z
dir:$WORK/inst/c anolis8 latest_start=2099-02-01T00:00:00Z   # a comment
EOF2

# Local: created paused (max_concurrency 0), shown, resumed, cancelled.
expect 0 "$B" jobs create "$WORK/wave" --target alinux3 --name "wave 1" --max-concurrency 0 --json "${LOCAL[@]}"
J=$(field 'd["job_id"]')
[ "$(field 'len(d["task_ids"])')" = 3 ] || fail "3 tasks: $(cat "$WORK/out")"
expect 0 "$B" jobs show "$J" --json "${LOCAL[@]}"
[ "$(field 'd["state"], d["created_by"], d["counts"]["submitted"] + d["counts"]["scheduled"]')" = \
  "('paused', 'local:$(id -un)', 3)" ] || fail "show: $(cat "$WORK/out")"
expect 0 "$B" tasks --json "${LOCAL[@]}"
python3 - "$WORK/out" <<'PY' || fail "tasks of the file"
import json, sys
t = {x["instance"].rsplit("/", 1)[1]: x for x in json.load(open(sys.argv[1]))["tasks"]}
assert t["a"]["target"] == "alinux3" and t["c"]["target"] == "anolis8", t
assert t["b"]["schedule"]["not_before"] == "2099-01-01T00:00:00Z", t["b"]
assert t["c"]["schedule"]["latest_start"] == "2099-02-01T00:00:00Z", t["c"]
PY
expect 1 "$B" jobs resume "$J" "${LOCAL[@]}"
grep -q "max_concurrency 0, which keeps it paused" "$WORK/err" || fail "resume at 0: $(cat "$WORK/err")"
expect 0 "$B" jobs set "$J" --max-errors 1 "${LOCAL[@]}"
grep -q "^max_errors  *1$" "$WORK/out" || fail "set: $(cat "$WORK/out")"
expect 0 "$B" jobs resume "$J" --max-concurrency 2 "${LOCAL[@]}"
grep -q "^state  *active$" "$WORK/out" || fail "resume: $(cat "$WORK/out")"
expect 2 "$B" jobs cancel "$J" --running rollback "${LOCAL[@]}"
grep -q "pass --yes" "$WORK/err" || fail "cancel with rollback off a terminal: $(cat "$WORK/err")"
expect 0 "$B" jobs cancel "$J" --reason "called off" "${LOCAL[@]}"
grep -q "^this request  *3 cancelled, 0 rolling back$" "$WORK/out" || fail "cancel: $(cat "$WORK/out")"
grep -q "cancelled  *by local:.* (running tasks: finish; called off)" "$WORK/out" || fail "cancel audit: $(cat "$WORK/out")"
expect 1 "$B" jobs pause "$J" "${LOCAL[@]}"
grep -q "is cancelled" "$WORK/err" || fail "pause of a cancelled job: $(cat "$WORK/err")"
expect 0 "$B" jobs list "${LOCAL[@]}"
grep -q "^$J  *cancelled  *3  .* wave 1$" "$WORK/out" || fail "list: $(cat "$WORK/out")"

# Bad input: nothing created. bad_list NAME LINE ERROR_RE: a usage error naming it.
bad_list() {
  echo "$2" >"$WORK/$1"
  expect 2 "$B" jobs create "$WORK/$1" "${LOCAL[@]}"
  grep -q -- "$3" "$WORK/err" || fail "$1: $(cat "$WORK/err")"
}
bad_list bad1 "dir:$WORK/inst/d alinux3 when=now" "bad1:1: 'when=now' is not a target"
bad_list bad2 "dir:$WORK/inst/d" "bad2:1: no target for"
bad_list bad3 "dir:$WORK/inst/d alinux9" "'alinux9' is not a known target"
bad_list bad4 "dir:$WORK/inst/d alinux3 not_before=tomorrow" "bad4:1"
expect 0 "$B" jobs list --json "${LOCAL[@]}"
[ "$(field 'len(d["jobs"])')" = 1 ] || fail "a refused create made a job"
expect 1 "$B" jobs show j-nosuch "${LOCAL[@]}"
expect 2 "$B" jobs frobnicate "${LOCAL[@]}"

# Through a server: the same commands, the key in the audit trail.
export OSMIG_STATE_DIR=$WORK/served
serve_admin
sed "s|/inst/a |/inst/d |; s|/inst/b |/inst/e |; s|/inst/c |/inst/f |" "$WORK/wave" >"$WORK/wave2"
expect 0 "$B" jobs create "$WORK/wave2" --target alinux3 --max-concurrency 0 --json "${SRV[@]}"
R=$(field 'd["job_id"]')
expect 0 "$B" jobs show "$R" --json "${SRV[@]}"
[ "$(field 'd["state"], d["created_by"], d["n_tasks"]')" = "('paused', '$ADMIN_ID', 3)" ] ||
  fail "show --server: $(cat "$WORK/out")"
expect 0 "$B" jobs pause "$R" --reason freeze "${SRV[@]}"
grep -q "paused  *by $ADMIN_ID (freeze)" "$WORK/out" || fail "pause --server: $(cat "$WORK/out")"
expect 0 "$B" jobs cancel "$R" "${SRV[@]}"
grep -q "^state  *cancelled$" "$WORK/out" && grep -q "^this request  *3 cancelled" "$WORK/out" ||
  fail "cancel --server: $(cat "$WORK/out")"
expect 1 "$B" jobs resume "$R" "${SRV[@]}"
grep -q "409 Conflict.JobState" "$WORK/err" || fail "resume of a cancelled job --server: $(cat "$WORK/err")"
expect 0 "$B" jobs list "${SRV[@]}"
grep -q "^$R  *cancelled  *3 " "$WORK/out" || fail "list --server: $(cat "$WORK/out")"
expect 1 "$B" jobs create "$WORK/bad3" "${SRV[@]}"
grep -q "InvalidParameter.Target" "$WORK/err" || fail "unknown target --server: $(cat "$WORK/err")"
echo PASS
