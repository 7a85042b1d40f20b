#!/usr/bin/env bash
# The include check can fail: a lib file that includes a core header, in a
# small tree of its own, is reported with its file and line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/engine/lib" "$t/engine/core"
printf '#include "osm_buf.h"\n' >"$t/engine/lib/ok.c"
printf '/* buf */\n' >"$t/engine/lib/osm_buf.h"
printf '/* runner */\n' >"$t/engine/core/runner.h"
printf '#include "osm_buf.h"\n#include "runner.h"\n' >"$t/engine/lib/bad.c"
set +e
out=$(python3 "$here/include_direction.py" "$t" 2>&1)
rc=$?
set -e
echo "$out"
[ "$rc" = 1 ] || { echo "FAIL: exit $rc, wanted 1"; exit 1; }
grep -q 'engine/lib/bad.c:2: includes runner.h (engine/core), above layer engine/lib' <<<"$out" ||
  { echo "FAIL: the upward include is not named"; exit 1; }
rm "$t/engine/lib/bad.c"
python3 "$here/include_direction.py" "$t" | grep -q 'every include points down' || { echo "FAIL: a clean tree is refused"; exit 1; }
echo "PASS: an upward include is refused with its file and line; a clean tree passes"
