#!/usr/bin/env bash
# Proves: a download interrupted by the HTTP server being killed (SIGKILL,
# mid-transfer) is retried with backoff and, once the server is back,
# resumes from the .part file with a Range request and finishes with the
# right digest; connection refused meanwhile is treated as transient.
. "$(dirname "$0")/fixture.sh"
stage_fixture
big="$FIX/repo/Packages/osm-big-1.0-1.osmt3.noarch.rpm"
sum=$(sha256sum "$big" | cut -d' ' -f1)
size=$(stat -c %s "$big")
httpd_start "$FIX/repo" 256   # 256 KiB/s: the 3 MiB file takes ~12 s
port=$HTTPD_PORT
dest="$WORK/dl/osm-big.rpm"; mkdir -p "$WORK/dl"
"$TOOL" fetch "http://127.0.0.1:$port/Packages/$(basename "$big")" "$dest" "sha256:$sum" \
  --retries 8 --backoff-ms 300 --stall-timeout 5 >"$WORK/fetch.out" 2>"$WORK/fetch.err" &
fetch_pid=$!
# Wait until a good part of the file is in, then kill the server mid-transfer.
for _ in $(seq 100); do
  s=$(stat -c %s "$dest.part" 2>/dev/null || echo 0)
  [ "$s" -gt 400000 ] && break
  sleep 0.1
done
[ "$s" -gt 400000 ] || fail "download did not start"
httpd_stop
sleep 1   # connection refused in the meantime: must be retried
part=$(stat -c %s "$dest.part")
[ "$part" -lt "$size" ] || fail "transfer finished before the server was killed"
[ -e "$dest" ] && fail "the destination appeared before the download completed"
mv "$HTTPD_DIR/access.log" "$HTTPD_DIR/access-first.log" 2>/dev/null || true
httpd_start "$FIX/repo" 0 "$port"     # back, full speed, same port
wait "$fetch_pid" || { cat "$WORK/fetch.err"; fail "fetch did not finish after the server came back"; }
[ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$sum" ] || fail "digest of the resumed file is wrong"
[ -e "$dest.part" ] && fail ".part left behind"
# The restarted server saw a Range request starting where the .part ended, answered 206.
httpd_log >"$WORK/access.log"
grep -E "^GET /Packages/osm-big.* 206 bytes=[0-9]+-" "$WORK/access.log" >"$WORK/ranges" ||
  { cat "$WORK/access.log"; fail "no resumed (206) request"; }
from=$(sed -E 's/.* 206 bytes=([0-9]+)-.*/\1/' "$WORK/ranges" | head -1)
[ "$from" -ge "$part" ] || fail "resume started at $from, before the $part bytes already there"
grep -q "fetch.retry" "$WORK/fetch.err" || fail "no retry was logged"
echo "PASS (interrupted at $part of $size bytes, resumed from $from)"
