#!/usr/bin/env bash
# Proves: the task commands with --server talk to a real `osmig serve` on
# loopback and print what the local commands print for the same store
# (`tasks`, `task show`, text and JSON); `migrate --server` submits a job of
# one instance and follows the task the server runs to its end (exit 3 when
# the prechecks stop it); `retry --server` follows the run it asked for;
# `cancel --server` cancels a waiting task; credentials come from the
# options, the environment or a 0600 file (a group-readable one is refused);
# and a wrong secret (401), a viewer key acting (403), a task in the wrong
# state (409), an unknown task (404), a server nobody listens on and a
# malformed URL are each a clear error with exit 1 that changes nothing.
set -euo pipefail
: "${OSMIG_BIN:?run under ctest}"
B=$OSMIG_BIN
. "${OSMIG_SOURCE_DIR:?run under ctest}/tests/scaleout/serve_lib.sh"
FILL=$(dirname "$B")/bench/api_fill # bench/api_fill.c
[ -x "$FILL" ] || { echo "FAIL: $FILL not built" >&2; exit 1; }
serve_work cli-server
assert_grep() { grep -q -- "$1" "$2" || { echo "--- $2:"; cat "$2"; fail "'$1' not found in $2"; } >&2; }
unset OSMIG_SERVER OSMIG_ACCESS_KEY_ID OSMIG_ACCESS_KEY_SECRET
export HOME=$WORK/home OSMIG_STATE_DIR=$WORK/state OSMIG_NO_AUTO_RESUME=1
mkdir -p "$HOME" "$OSMIG_STATE_DIR" "$WORK/inst/a" "$WORK/inst/b"

key() { # ROLE -> "ID SECRET"
  "$B" key create --role "$1" >"$WORK/key" 2>/dev/null || { cat "$WORK/key"; fail "key create --role $1"; }
  echo "$(sed -n 's/^key_id=//p' "$WORK/key") $(sed -n 's/^secret=//p' "$WORK/key")"
}
read -r ADMIN_ID ADMIN_SECRET < <(key admin)
read -r VIEWER_ID VIEWER_SECRET < <(key viewer)
[ -n "$ADMIN_SECRET" ] && [ -n "$VIEWER_SECRET" ] || fail "no keys"

# Waiting tasks (a day before they may start) straight in the store.
"$FILL" "$OSMIG_STATE_DIR" 2 "$WORK/waiting" >/dev/null
WAITING=$(head -1 "$WORK/waiting")

"$B" serve --listen 127.0.0.1:0 --workers 1 --scheduler-interval 1 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
URL=$(listening_url "osmig serve" "$WORK/serve.out" "$WORK/serve.err" "$SERVE_PID") || exit 1
ADMIN=(--server "$URL" --key-id "$ADMIN_ID" --key-secret "$ADMIN_SECRET")

# migrate --server: the job of one instance, followed to its end.
expect 3 "$B" migrate "dir:$WORK/inst/a" --to alinux3 --yes "${ADMIN[@]}"
assert_grep "^task t-[0-9a-f]*: migrating dir:$WORK/inst/a to alinux3 on $URL" "$WORK/out"
assert_grep "^== prechecking" "$WORK/out"
assert_grep "step.start: precheck" "$WORK/out"
assert_grep "ended failed" "$WORK/out"
assert_grep "not a Linux root" "$WORK/out"
ID=$(sed -n 's/^task \(t-[0-9a-f]*\):.*/\1/p' "$WORK/out")

# Same output as the local commands on the same store.
expect 0 "$B" tasks "${ADMIN[@]}"; cp "$WORK/out" "$WORK/remote.tasks"
expect 0 "$B" tasks; diff "$WORK/out" "$WORK/remote.tasks" || fail "tasks --server differs from local"
[ "$(grep -c '^t-' "$WORK/remote.tasks")" = 3 ] || fail "tasks --server does not list the 3 tasks"
expect 0 "$B" task show "$ID" "${ADMIN[@]}"; cp "$WORK/out" "$WORK/remote.show"
expect 0 "$B" task show "$ID"; diff "$WORK/out" "$WORK/remote.show" || fail "task show --server differs from local"
expect 0 "$B" task show "$ID" --json "${ADMIN[@]}"; cp "$WORK/out" "$WORK/remote.json"
expect 0 "$B" task show "$ID" --json
python3 - "$WORK/out" "$WORK/remote.json" <<'EOF' || fail "task show --json --server differs from local beyond job_id"
import json, sys
local, remote = (json.load(open(p)) for p in sys.argv[1:3])
assert remote.pop("job_id", "").startswith("j-"), "no job_id"
assert local == remote, (local, remote)
EOF
expect 0 "$B" tasks --json "${ADMIN[@]}"
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tasks"]; assert [x["id"] for x in t][0] == sys.argv[2], t' \
  "$WORK/out" "$ID" || fail "tasks --json --server is not newest first"

# retry --server follows the run the server makes.
expect 1 "$B" retry "$ID" --yes "${ADMIN[@]}"
assert_grep "^$ID submitted *retried" "$WORK/out"
assert_grep "^$ID prechecking *step.start: precheck" "$WORK/out"
assert_grep "^$ID failed: step precheck failed" "$WORK/out"

# The environment and a 0600 credentials file; a group-readable one is refused.
"$B" tasks >"$WORK/local.tasks"
OSMIG_SERVER=$URL OSMIG_ACCESS_KEY_ID=$ADMIN_ID OSMIG_ACCESS_KEY_SECRET=$ADMIN_SECRET expect 0 "$B" tasks
diff "$WORK/out" "$WORK/local.tasks" || fail "OSMIG_SERVER + environment credentials"
mkdir -p "$HOME/.config/osmig"
printf 'key_id=%s\nsecret=%s\n' "$ADMIN_ID" "$ADMIN_SECRET" >"$HOME/.config/osmig/credentials"
chmod 640 "$HOME/.config/osmig/credentials"
expect 1 "$B" tasks --server "$URL"
assert_grep "readable or writable by others (mode 0640).*chmod 600" "$WORK/err"
chmod 600 "$HOME/.config/osmig/credentials"
expect 0 "$B" tasks --server "$URL"

# Errors: each says what went wrong and exits 1; nothing changes.
before=$("$B" tasks --json)
expect 1 "$B" cancel "$WAITING" --server "$URL" --key-id "$ADMIN_ID" --key-secret "not-$ADMIN_SECRET"
assert_grep "401 SignatureDoesNotMatch" "$WORK/err"
expect 1 "$B" cancel "$WAITING" --server "$URL" --key-id "$VIEWER_ID" --key-secret "$VIEWER_SECRET"
assert_grep "403 Forbidden.Role" "$WORK/err"
expect 1 "$B" cancel "$ID" "${ADMIN[@]}"
assert_grep "409 Conflict.TaskState: task $ID is already failed" "$WORK/err"
expect 1 "$B" rollback "$ID" --yes "${ADMIN[@]}"
assert_grep "409 Conflict.TaskState" "$WORK/err"
expect 1 "$B" task show t-000000000000 "${ADMIN[@]}"
assert_grep "404 NotFound.Task" "$WORK/err"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect 1 "$B" tasks --server "http://127.0.0.1:$port" --key-id "$ADMIN_ID" --key-secret "$ADMIN_SECRET"
assert_grep "GET http://127.0.0.1:$port/v1/tasks.*cannot reach the server" "$WORK/err"
expect 1 "$B" tasks --server "ftp://127.0.0.1:$port" --key-id "$ADMIN_ID" --key-secret "$ADMIN_SECRET"
assert_grep "server URL 'ftp://127.0.0.1:$port'" "$WORK/err"
[ "$("$B" tasks --json)" = "$before" ] || fail "a refused request changed the store"

# cancel --server: a waiting task is cancelled.
expect 0 "$B" cancel "$WAITING" "${ADMIN[@]}"
assert_grep "^$WAITING cancelled; instance dir:/nonexistent/bench/i0000000 was not changed" "$WORK/out"
expect 0 "$B" task show "$WAITING" --json
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["state"] == "cancelled"' "$WORK/out" ||
  fail "the task is not cancelled in the store"
echo PASS
