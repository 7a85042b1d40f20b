#!/usr/bin/env bash
# osmig serve refuses bad command lines and unusable resources clearly, with
# the usage exit status 2 or 1, naming what is wrong, and leaves no server.
set -uo pipefail
: "${OSMIG_BIN:?run under ctest}"
work=$(mktemp -d "${TMPDIR:-/tmp}/osm-serve-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

expect() { # NAME STATUS TEXT ARGS...
  local name=$1 want=$2 text=$3; shift 3
  timeout 20 "$OSMIG_BIN" serve --state-dir "$work/state" "$@" >"$work/out" 2>"$work/err"
  local got=$?
  [ "$got" = "$want" ] || { cat "$work/err" >&2; fail "$name: exit $got, expected $want"; }
  grep -q -- "$text" "$work/err" || { cat "$work/err" >&2; fail "$name: stderr lacks '$text'"; }
  echo "ok $name"
}

expect "a host name instead of an address" 2 "not a numeric IPv4 address" --listen nohost:8470
expect "a port out of range" 2 "HOST:PORT" --listen 127.0.0.1:70000
expect "no port" 2 "HOST:PORT" --listen 127.0.0.1
expect "a certificate without a key" 2 "go together" --tls-cert "$work/c.pem"
expect "zero workers" 2 "--workers" --workers 0
expect "a missing certificate file" 1 "$work/missing.pem" --listen 127.0.0.1:0 --tls-cert "$work/missing.pem" --tls-key "$work/missing.pem"
expect "a store that cannot be opened" 1 "postgresql://127.0.0.1:1/none" --listen 127.0.0.1:0 --store postgresql://127.0.0.1:1/none

# A port another server holds.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$port" &
holder=$!
sleep 0.5
expect "a port in use" 1 "127.0.0.1:$port" --listen "127.0.0.1:$port"
kill "$holder"; wait "$holder" 2>/dev/null

# A certificate and a key that do not belong together.
if command -v openssl >/dev/null; then
  for n in a b; do
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/$n.key" -out "$work/$n.pem" -days 1 -subj /CN=x \
      >/dev/null 2>&1 || fail "openssl req"
  done
  expect "a key of another certificate" 1 "TLS" --listen 127.0.0.1:0 --tls-cert "$work/a.pem" --tls-key "$work/b.key"
fi
echo PASS
