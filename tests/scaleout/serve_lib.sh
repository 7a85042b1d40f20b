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
