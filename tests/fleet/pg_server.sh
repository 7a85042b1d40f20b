#!/usr/bin/env bash
# tests/fleet/pg_server.sh start DIR | stop DIR | url DIR
#
# A throwaway PostgreSQL server for tests and benchmarks: Debian's initdb and
# pg_ctl (/usr/lib/postgresql/*/bin) make a cluster in DIR/data, listening on
# 127.0.0.1 only, on a free port, with trust authentication (loopback only),
# fsync off (its data is thrown away). `start` prints the URL
# (postgresql://postgres@127.0.0.1:PORT/postgres), also kept in DIR/url;
# `stop` stops it (DIR stays for the caller to remove). As root, the server
# runs as the `postgres` user (PostgreSQL refuses to run as root) and DIR is
# given to that user. Exit 77 when PostgreSQL is not installed.
set -euo pipefail

usage() { echo "usage: pg_server.sh start DIR | stop DIR | url DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1 dir=$2

bindir=
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && bindir=$d
done
if [ -z "$bindir" ]; then
  echo "pg_server.sh: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; Debian package postgresql): skipped" >&2
  exit 77
fi

as_server() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case $cmd in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -e "$dir/data" ]; then
    echo "pg_server.sh: $dir/data exists: stop that server and remove it, or use another DIR" >&2
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "pg_server.sh: no 'postgres' user to run the server as (package postgresql)" >&2; exit 77; }
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "pg_server.sh: the postgres user cannot reach $dir (a parent directory is closed to it): use a DIR under /tmp" >&2
      exit 1
    fi
  fi
  as_server "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
    { echo "pg_server.sh: initdb failed (see $dir/initdb.log):" >&2; tail -5 "$dir/initdb.log" >&2; exit 1; }
  conf=$dir/data/postgresql.conf
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = ''"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "max_connections = 50"
  } | as_server tee -a "$conf" >/dev/null
  # A port found free may be taken before the server binds it: try a few.
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    echo "port = $port" | as_server tee -a "$conf" >/dev/null
    if as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 start >/dev/null 2>&1; then
      url="postgresql://postgres@127.0.0.1:$port/postgres"
      echo "$url" | as_server tee "$dir/url" >/dev/null
      echo "$url"
      exit 0
    fi
    grep -q "could not bind\|Address already in use" "$dir/data/server.log" 2>/dev/null || break
  done
  echo "pg_server.sh: the server did not start (see $dir/data/server.log):" >&2
  tail -5 "$dir/data/server.log" >&2 || true
  exit 1
  ;;
stop)
  [ -d "$dir/data" ] || exit 0
  as_server "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  ;;
url)
  [ -f "$dir/url" ] || { echo "pg_server.sh: no server started in $dir" >&2; exit 1; }
  cat "$dir/url"
  ;;
*)
  usage
  ;;
esac
