#!/usr/bin/env bash
# Proves: the configuration file (--config FILE, else $OSMIG_CONFIG) gives
# assess, plan, migrate and matrix what an admin would repeat: the report
# directory, a local mirror (repo = ID=URL) in place of the matrix's
# unreachable one, the site matrices of matrices.d beside it, the state
# directory; the command line wins over it; a bad line fails the command
# with FILE:LINE and writes nothing; `osmig version` still answers; and
# when the repositories cannot be reached the error names --repo and the
# configuration file.
. "${OSMIG_SOURCE_DIR:?run under ctest}/tests/linux/migrate/lib.sh"
sample_setup
R=$WORK/root; fresh_root "$R"
C=$WORK/etc; mkdir -p "$C/matrices.d"
# the site matrix: the sample target, its repository unreachable (port 9 of loopback)
write_matrix "$C/matrices.d/site.json" "http://127.0.0.1:9/"
repo_id=sample-os # tests/fixtures/sample-matrix.json.in
grep -q "\"$repo_id\"" "$C/matrices.d/site.json" || fail "the sample matrix has no repository $repo_id"
unset OSMIG_REPORT_DIR
export OSMIG_CACHE_DIR=$WORK/cache
# assess_with CONF [ARGS...]: assess of the root under the configuration
# CONF; its exit status in $st, its output in $WORK/out and $WORK/err
assess_with() {
  local conf=$1; shift
  set +e
  "$OSMIG_BIN" --config "$conf" assess "dir:$R" --to sample-alinux3 "$@" >"$WORK/out" 2>"$WORK/err"
  st=$?
  set -e
}

# offline: the error names --repo and the configuration file
cat >"$C/osmig.conf" <<CONF
# no mirror yet
report_dir = $WORK/reports
CONF
assess_with "$C/osmig.conf"
[ "$st" = 1 ] || { cat "$WORK/err"; fail "assess against an unreachable repository exited $st"; }
assert_grep "127.0.0.1:9" "$WORK/err"
assert_grep "repo ID=URL" "$WORK/err"
assert_grep "$C/osmig.conf" "$WORK/err"

# the mirror in the file: the same command works, its report where the file says
cat >>"$C/osmig.conf" <<CONF
repo = $repo_id=file://$REPO/
state_dir = $WORK/state
CONF
assess_with "$C/osmig.conf"
[ "$st" = 0 ] || [ "$st" = 3 ] || { cat "$WORK/err"; fail "assess with the configured mirror exited $st"; }
ls "$WORK"/reports/*/latest/osmig-report.json >/dev/null 2>&1 || fail "report_dir of the file not used"
# OSMIG_CONFIG works as --config does, and the site matrix is listed
OSMIG_CONFIG=$C/osmig.conf "$OSMIG_BIN" matrix >"$WORK/matrix" || fail "matrix with the configuration failed"
assert_grep "sample-alinux3" "$WORK/matrix"
# the command line wins: --report-dir and --repo
"$OSMIG_BIN" --config "$C/osmig.conf" --report-dir "$WORK/cli-reports" plan "dir:$R" --to sample-alinux3 \
  -o "$WORK/plan.json" 2>"$WORK/err" || { cat "$WORK/err"; fail "plan failed"; }
ls "$WORK"/cli-reports/*/latest/osmig-report.json >/dev/null 2>&1 || fail "--report-dir did not win over report_dir"
assess_with "$C/osmig.conf" --repo "$repo_id=http://127.0.0.1:9/"
[ "$st" = 1 ] && grep -q "127.0.0.1:9" "$WORK/err" || fail "--repo did not win over the file's repo (exit $st)"
# migrate takes the state directory, the mirror and the matrices from the file
"$OSMIG_BIN" --config "$C/osmig.conf" migrate "dir:$R" --to sample-alinux3 --yes --snapshot-store "$WORK/snaps" \
  >"$WORK/mig" 2>&1 || { cat "$WORK/mig"; fail "migrate with the configuration failed"; }
[ -f "$WORK/state/state.db" ] || [ -n "$(ls "$WORK/state" 2>/dev/null)" ] || fail "state_dir of the file not used"
OSMIG_CONFIG=$C/osmig.conf "$OSMIG_BIN" tasks | grep -q succeeded || fail "the migration is not in the configured store"

# an empty matrices.d (as the package installs it) adds nothing and breaks nothing
mkdir -p "$WORK/empty/matrices.d"; : >"$WORK/empty/osmig.conf"
"$OSMIG_BIN" --config "$WORK/empty/osmig.conf" matrix >/dev/null || fail "an empty matrices.d breaks osmig matrix"

# a bad line: FILE:LINE, exit 1, nothing written; version still answers
printf 'report_dir = %s\nrepo = %s\n' "$WORK/bad-reports" "no-url" >"$C/bad.conf"
assess_with "$C/bad.conf"
[ "$st" = 1 ] || fail "a bad configuration line exited $st"
assert_grep "$C/bad.conf:2: repo 'no-url': expected ID=URL" "$WORK/err"
[ ! -s "$WORK/out" ] || fail "output despite a bad configuration"
[ ! -e "$WORK/bad-reports" ] || fail "a report written despite a bad configuration"
"$OSMIG_BIN" --config "$C/bad.conf" version >/dev/null || fail "version refuses to answer under a bad configuration"
set +e
OSMIG_CONFIG=$WORK/absent.conf "$OSMIG_BIN" matrix >/dev/null 2>"$WORK/err"; st=$?
set -e
[ "$st" = 1 ] && grep -q "$WORK/absent.conf" "$WORK/err" || fail "a named configuration file that is absent is not an error"
echo PASS
