#!/usr/bin/env bash
# Proves: the reports of `osmig assess` of the real CentOS 7.9 root against
# the real RHEL 8.5 packages (tests/linux/real) are the golden files
# tests/report/golden/centos7-rhel8.{txt,json,html}.golden (expected output, data) byte for byte, once the
# run's own parts (the root's path, the time) are normalised: the finding
# ids, severities, remediations, related packages and the package changes
# stay what they are. `osmig plan` of the same root leaves the same report
# but for its command. OSMIG_UPDATE_GOLDEN=1 rewrites the golden files.
. "${OSMIG_SOURCE_DIR:?run under ctest}/tests/linux/real/lib.sh"
real_setup >/dev/null
GOLD=$OSMIG_SOURCE_DIR/tests/report/golden
REP=$WORK/reports
set +e
"$OSMIG_BIN" --report-dir "$REP" assess "dir:$EL7" --to rhel8 --matrix "$MATRIX" >/dev/null 2>"$WORK/err"
st=$?
set -e
[ "$st" = 3 ] || { cat "$WORK/err"; fail "assess of the real root exited $st, not 3 (inhibited)"; }
L=$(echo "$REP"/*/latest)
norm() { # FILE: the root's path and the run's time replaced
  sed -e "s#$EL7#@ROOT@#g" -e 's#[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z#@CREATED@#g' "$1"
}
mkdir -p "$WORK/got"
for ext in txt json html; do
  norm "$L/osmig-report.$ext" >"$WORK/got/centos7-rhel8.$ext"
  if [ -n "${OSMIG_UPDATE_GOLDEN:-}" ]; then
    cp "$WORK/got/centos7-rhel8.$ext" "$GOLD/centos7-rhel8.$ext.golden"
    echo "updated $GOLD/centos7-rhel8.$ext.golden"
  fi
  diff -u "$GOLD/centos7-rhel8.$ext.golden" "$WORK/got/centos7-rhel8.$ext" >"$WORK/diff.$ext" ||
    { head -60 "$WORK/diff.$ext"; fail "osmig-report.$ext differs from the golden file"; }
done
"$OSMIG_BIN" --report-dir "$REP" plan "dir:$EL7" --to rhel8 --matrix "$MATRIX" -o "$WORK/plan.json" 2>"$WORK/err" ||
  { cat "$WORK/err"; fail "plan failed"; }
norm "$L/osmig-report.json" | sed 's/"command": "plan"/"command": "assess"/' >"$WORK/plan-report.json"
diff -u "$WORK/got/centos7-rhel8.json" "$WORK/plan-report.json" | head -30 >"$WORK/pdiff" || true
[ ! -s "$WORK/pdiff" ] || { cat "$WORK/pdiff"; fail "plan's report differs from assess's beyond its command"; }
echo PASS
