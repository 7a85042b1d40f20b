# serve_lib.sh: sourced by the scale-out scripts.
#
#   listening_url NAME OUT ERR PID   the URL that `osmig serve` (process PID,
#                                    its stdout in OUT, stderr in ERR) says it
#                                    listens on, within 10 s; else FAIL naming
#                                    NAME (and its stderr when it died), status 1

listening_url() {
  local name=$1 out=$2 err=$3 pid=$4 url=
  for _ in $(seq 100); do
    # OUT may not exist yet: the background shell opens it after the fork.
    url=$(sed -n 's/^osmig serve: listening on \(http:[^ ]*\).*/\1/p' "$out" 2>/dev/null || true)
    if [ -n "$url" ]; then
      echo "$url"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; echo "FAIL: $name died" >&2; return 1; }
    sleep 0.1
  done
  echo "FAIL: $name did not say where it listens" >&2
  return 1
}

#   serve_work NAME                  WORK (a new osm-NAME.XXXXXX under TMPDIR),
#                                    SERVE_PID (empty) and an EXIT trap that
#                                    stops that server and removes WORK (kept
#                                    with KEEP_WORK=1); then fail MSG and
#                                    expect STATUS CMD... (stdout and stderr
#                                    in $WORK/out and $WORK/err, no stdin)
serve_work() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/osm-$1.XXXXXX")
  SERVE_PID=
  trap serve_work_cleanup EXIT
}
serve_work_cleanup() {
  if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
#   serve_admin                      an admin key made locally (ADMIN_ID,
#                                    ADMIN_SECRET) and `osmig serve` ($B) on a
#                                    free port of 127.0.0.1, one worker, a pass
#                                    a second, its state in $OSMIG_STATE_DIR
#                                    (SERVE_PID, URL; SRV: the client options)
serve_admin() {
  "$B" key create --role admin >"$WORK/key" 2>/dev/null
  ADMIN_ID=$(sed -n 's/^key_id=//p' "$WORK/key") ADMIN_SECRET=$(sed -n 's/^secret=//p' "$WORK/key")
  "$B" serve --listen 127.0.0.1:0 --workers 1 --scheduler-interval 1 >"$WORK/serve.out" 2>"$WORK/serve.err" &
  SERVE_PID=$!
  URL=$(listening_url "osmig serve" "$WORK/serve.out" "$WORK/serve.err" "$SERVE_PID") || exit 1
  SRV=(--server "$URL" --key-id "$ADMIN_ID" --key-secret "$ADMIN_SECRET")
}
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {
  local want=$1 rc=0; shift
  "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
  [ "$rc" = "$want" ] || { cat "$WORK/out" "$WORK/err"; fail "exit $rc, want $want: $*"; }
}
