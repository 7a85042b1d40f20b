# testlib.sh: sourced by the Linux script tests' own libraries
# (migrate/lib.sh, stage/fixture.sh). Real parts only: a real lighttpd on
# 127.0.0.1.
#
#   need_progs PROG...          SKIP (exit 77) when one is not installed
#   make_work NAME              -> $WORK, a scratch directory; at exit the
#                               server is stopped, $MOUNTS unmounted and $WORK
#                               removed (KEEP_WORK=1 keeps it): `cleanup`,
#                               which a test that sets its own trap calls
#   fail MSG...                 FAIL: MSG on stderr, exit 1
#   assert_grep RE FILE         FILE matches RE, or it is shown and the test fails
#   free_port                   a free TCP port on 127.0.0.1
#   httpd_start DOCROOT [KBPS] [PORT]   -> $HTTPD_PORT, $HTTPD_PID, $HTTPD_DIR
#                               (KBPS per connection, 0 unlimited; the port of
#                               the last start unless PORT is given)
#   httpd_log                   the access log ("%r %>s %{Range}i %b")
#   httpd_stop                  SIGKILL: the server dies as in a crash, mid-transfer
#   kill_points NAME EXPECT     a migration killed at each of its crash points
#                               in turn, each resumed (the hooks kp_* below)
set -euo pipefail
# The system python: a version manager's shim costs more than osmig's runs.
PY=$(command -v /usr/bin/python3 || command -v python3)

need_progs() {
  local prog
  for prog in "$@"; do
    command -v "$prog" >/dev/null || { echo "SKIP: $prog not installed (scripts/install-deps.sh)"; exit 77; }
  done
}

HTTPD_PID=
MOUNTS=()
make_work() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/osm-$1.XXXXXX")
  trap cleanup EXIT
}
cleanup() {
  httpd_stop || true
  for m in "${MOUNTS[@]:-}"; do [ -n "$m" ] && umount "$m" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}

fail() { echo "FAIL: $*" >&2; exit 1; }
assert_grep() { grep -q -- "$1" "$2" || { echo "--- $2:"; cat "$2"; fail "'$1' not found in $2"; } >&2; }

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

httpd_start() { # DOCROOT [KBPS] [PORT]
  need_progs lighttpd
  local docroot=$1 kbps=${2:-0}
  HTTPD_DIR=${HTTPD_DIR:-$WORK/httpd}
  HTTPD_PORT=${3:-${HTTPD_PORT:-$(free_port)}}
  mkdir -p "$HTTPD_DIR"
  cat >"$HTTPD_DIR/lighttpd.conf" <<CONF
server.document-root = "$docroot"
server.bind = "127.0.0.1"
server.port = $HTTPD_PORT
server.errorlog = "$HTTPD_DIR/error.log"
server.modules = ("mod_accesslog")
accesslog.filename = "$HTTPD_DIR/access.log"
accesslog.format = "%r %>s %{Range}i %b"
mimetype.assign = ("" => "application/octet-stream")
CONF
  [ "$kbps" -gt 0 ] && echo "connection.kbytes-per-second = $kbps" >>"$HTTPD_DIR/lighttpd.conf"
  lighttpd -D -f "$HTTPD_DIR/lighttpd.conf" &
  HTTPD_PID=$!
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$HTTPD_PORT/" && return 0
    sleep 0.1
  done
  fail "lighttpd did not start (see $HTTPD_DIR/error.log)"
}

httpd_log() { # lighttpd buffers its access log: SIGHUP makes it write it out
  kill -HUP "$HTTPD_PID"
  sleep 0.3
  cat "$HTTPD_DIR/access.log"
}

httpd_stop() {
  if [ -n "${HTTPD_PID:-}" ]; then
    kill -9 "$HTTPD_PID" 2>/dev/null || true
    wait "$HTTPD_PID" 2>/dev/null || true
    HTTPD_PID=
  fi
}

# kill_points NAME EXPECT(succeeded|rolled_back): osmig killed at its crash
# points one after the other (OSMIG_CRASH_AT=N makes it _exit(137) at its
# Nth, as SIGKILL would; N walks 1, 2, ... or every OSMIG_KILL_STRIDE-th) and
# started again with `osmig resume` must finish the task, succeeded or
# rolled_back, with the instance as kp_check says; the first run that passes
# every point must end EXPECT. Adds the points walked to $total. The test
# defines the hooks:
#   kp_prepare        a fresh instance and state for one run
#   kp_run            the migration;  kp_resume: `osmig resume` on that state
#   kp_task           "ID STATE" of the newest task;  kp_show ID: the task shown
#   kp_check STATE    the instance is as STATE says: a note for the progress
#                     line on stdout; or why not, and status 1
# and $KP_DIR, where run.out and resume.out go.
kill_points() {
  local name=$1 expect=$2 n=1 rc id state note count=0 stride=${OSMIG_KILL_STRIDE:-1}
  while :; do
    kp_prepare
    rc=0
    OSMIG_CRASH_AT=$n kp_run >"$KP_DIR/run.out" 2>&1 || rc=$?
    if [ "$rc" != 137 ]; then
      # No crash point left: the run went through all of them.
      read -r id state < <(kp_task)
      [ "$state" = "$expect" ] || { cat "$KP_DIR/run.out"; fail "$name: uninterrupted run ended $state"; }
      break
    fi
    kp_resume >"$KP_DIR/resume.out" 2>&1 || { cat "$KP_DIR/resume.out"; fail "$name: resume after kill point $n failed"; }
    read -r id state < <(kp_task)
    case "$state" in
      succeeded | rolled_back)
        [ "$state" = rolled_back ] || [ "$expect" = succeeded ] ||
          fail "$name: kill point $n: succeeded although the run rolls back"
        note=$(kp_check "$state") || fail "$name: kill point $n: $note"
        ;;
      *)
        cat "$KP_DIR/run.out" "$KP_DIR/resume.out"
        kp_show "$id"
        fail "$name: kill point $n: task ended $state"
        ;;
    esac
    echo "$name kill point $n: $state${note:+ $note}"
    count=$((count + 1))
    n=$((n + stride))
  done
  echo "$name: $count kill points exercised (stride $stride)"
  total=$((total + count))
}
