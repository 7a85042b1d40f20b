#!/usr/bin/env bash
# tests/fleet/with_pg.sh PROGRAM [ARGS...]: run PROGRAM with OSMIG_TEST_PG_URL
# naming a throwaway PostgreSQL server (pg_server.sh), started here and
# stopped on exit. Exit 77 (skip) when PostgreSQL is not installed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/osmig-pg-XXXXXX)
cleanup() {
  bash "$here/pg_server.sh" stop "$dir" >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
url=$(bash "$here/pg_server.sh" start "$dir")
rc=$?
[ $rc -eq 0 ] || exit $rc
OSMIG_TEST_PG_URL=$url "$@"
