#!/usr/bin/env bash
# Proves: the HTTP server of the target repository (a real lighttpd on
# 127.0.0.1, throttled so that downloads take a while) killed with SIGKILL
# in the middle of the downloads and restarted: the migration resumes its
# downloads and succeeds. Killed and not restarted: the task ends
# rolled_back, saying the download failed, with the root's digest unchanged.
. "$(dirname "$0")/lib.sh"
sample_setup
R=$WORK/root

wait_partial_download() { # until a package is half downloaded into the stage
  for _ in $(seq 1200); do
    if ls "$R/var/lib/osmig/stage/" 2>/dev/null | grep -q '\.part$'; then return 0; fi
    kill -0 "$MIG_PID" 2>/dev/null || fail "osmig ended before downloading"
    sleep 0.05
  done
  fail "no download started within 60 s"
}

# --- killed, then restarted: succeeds
fresh_root "$R"
httpd_start "$REPO" 4
port=$HTTPD_PORT
write_matrix "$WORK/matrix.json" "http://127.0.0.1:$port/"
migrate "$R" --matrix "$WORK/matrix.json" >"$WORK/restart.out" 2>&1 &
MIG_PID=$!
wait_partial_download
httpd_stop
echo "server killed mid-download"
sleep 1
httpd_start "$REPO" 0 "$port"
rc=0; wait "$MIG_PID" || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/restart.out"; fail "migration did not survive the server restart (exit $rc)"; }
grep -q '^ID="alinux"' "$R/etc/os-release" || fail "not migrated"
echo "ok restarted: migration succeeded"
httpd_stop

# --- killed for good: rolls back
fresh_root "$R"; before=$(digest "$R")
httpd_start "$REPO" 4 "$port"
migrate "$R" --matrix "$WORK/matrix.json" >"$WORK/dead.out" 2>&1 &
MIG_PID=$!
wait_partial_download
httpd_stop
rc=0; wait "$MIG_PID" || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/dead.out"; fail "exit $rc, want 1"; }
expect_rolled_back server-gone "$R" "$before" "step stage failed: .*127.0.0.1:$port"
echo PASS
