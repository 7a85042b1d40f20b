#!/usr/bin/env bash
# Proves: `osmig assess`, `plan` and `migrate` each leave osmig-report.txt,
# .json and .html in REPORT_DIR/INSTANCE/RUN (--report-dir, else
# $OSMIG_REPORT_DIR), with INSTANCE/latest naming the newest run; the JSON
# says what the command said (result, findings with ids); a report directory
# that cannot be written is a warning naming it, and the command's output
# and exit status stay what they were; `osmig task show` names the report
# of a migration and its log; a rollback of the task (its next run) leaves
# its own report, and task show names both.
. "${OSMIG_SOURCE_DIR:?run under ctest}/tests/linux/migrate/lib.sh"
sample_setup
R=$WORK/root; fresh_root "$R"
write_matrix "$WORK/matrix.json" "file://$REPO/"
REP=$WORK/reports
rep() { "$OSMIG_BIN" --report-dir "$REP" "$@"; }
json() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); exec(sys.argv[2])' "$@"; }

# assess: exit status, the three files, latest
set +e
rep assess "dir:$R" --to sample-alinux3 --matrix "$WORK/matrix.json" >"$WORK/assess.out" 2>"$WORK/assess.err"
st=$?
set -e
[ "$st" = 0 ] || [ "$st" = 3 ] || { cat "$WORK/assess.err"; fail "assess exited $st"; }
inst=$(ls "$REP")
[ "$(echo "$inst" | wc -l)" = 1 ] || fail "not one instance directory: $inst"
L=$REP/$inst/latest
[ -L "$L" ] || fail "no latest link in $REP/$inst"
for f in osmig-report.txt osmig-report.json osmig-report.html; do [ -s "$L/$f" ] || fail "$L/$f missing"; done
assert_grep "osmig: report: $REP/$inst/.*-assess/osmig-report.txt" "$WORK/assess.err"
want=$([ "$st" = 3 ] && echo inhibited || echo migratable)
json "$L/osmig-report.json" "assert d['result'] == '$want', d['result']; assert d['command'] == 'assess'; assert d['instance'] == 'dir:$R'
assert all(f['id'] and f['severity'] in ('inhibitor','warning') and 'related' in f for f in d['findings'])
assert len(d['changes']) > 0, 'no package changes'" || fail "assess report JSON"
assert_grep "^Result: $want" "$L/osmig-report.txt"
grep -q '<table id="changes">' "$L/osmig-report.html" || fail "no package table in the HTML"
first=$(readlink "$L")

# plan: its own run, latest moves
rep plan "dir:$R" --to sample-alinux3 --matrix "$WORK/matrix.json" -o "$WORK/plan.json" 2>"$WORK/plan.err" ||
  { cat "$WORK/plan.err"; fail "plan failed"; }
[ "$(readlink "$L")" != "$first" ] || fail "latest did not move to the plan's run"
case $(readlink "$L") in *-plan) ;; *) fail "latest is $(readlink "$L"), not a plan run" ;; esac
[ -d "$REP/$inst/$first" ] || fail "the assess run was not kept"
json "$L/osmig-report.json" "assert d['command'] == 'plan'; assert len(d['changes']) == len(json.load(open('$WORK/plan.json'))['actions'])" ||
  fail "plan report has not the plan's changes"

# an unwritable report directory: a warning, the same output and status
: >"$WORK/not-a-dir"
set +e
"$OSMIG_BIN" --report-dir "$WORK/not-a-dir/x" assess "dir:$R" --to sample-alinux3 --matrix "$WORK/matrix.json" \
  >"$WORK/assess2.out" 2>"$WORK/assess2.err"
st2=$?
set -e
[ "$st2" = "$st" ] || { cat "$WORK/assess2.err"; fail "an unwritable report dir changed the exit status ($st2, not $st)"; }
cmp -s "$WORK/assess.out" "$WORK/assess2.out" || fail "an unwritable report dir changed the report on stdout"
assert_grep "warning: the report was not written: .*$WORK/not-a-dir/x" "$WORK/assess2.err"
[ -f "$WORK/not-a-dir" ] || fail "the file in the way was touched"

# the environment's report dir when no option is given
OSMIG_REPORT_DIR=$WORK/env-reports "$OSMIG_BIN" plan "dir:$R" --to sample-alinux3 --matrix "$WORK/matrix.json" \
  -o "$WORK/plan2.json" 2>/dev/null
ls "$WORK"/env-reports/*/latest/osmig-report.json >/dev/null || fail "OSMIG_REPORT_DIR not used"

# migrate: the task's report, named by task show
rep migrate "dir:$R" --to sample-alinux3 --yes --matrix "$WORK/matrix.json" --state-dir "$WORK/state" \
  --snapshot-store "$WORK/snaps" --cache-dir "$WORK/cache" >"$WORK/mig.out" 2>"$WORK/mig.err" ||
  { cat "$WORK/mig.out" "$WORK/mig.err"; fail "migrate failed"; }
id=$(last_task)
case $(readlink "$L") in *-migrate-"$id") ;; *) fail "latest is $(readlink "$L"), not the migration of $id" ;; esac
json "$L/osmig-report.json" "t = d['task']; assert d['result'] == 'succeeded' and t['id'] == '$id', d['result']
assert [s['step'] for s in t['steps']][0] == 'precheck' and t['steps'][-1]['result'] == 'ok', t['steps']
assert t['log'] and t['log'].endswith('/osmig.log'); assert len(d['changes']) > 0" || fail "migrate report JSON"
"$OSMIG_BIN" task show "$id" --state-dir "$WORK/state" >"$WORK/show"
assert_grep "^  report: *$REP/$inst/.*-migrate-$id/osmig-report.txt" "$WORK/show"
"$OSMIG_BIN" task show "$id" --json --state-dir "$WORK/state" >"$WORK/show.json"
json "$WORK/show.json" "assert any(e['type'] == 'report' and e['message'].endswith('-migrate-$id') for e in d['history'])" ||
  fail "the task's history (the API's view) does not name the report"
assert_grep "^  log: *$WORK/state/tasks/$id/osmig.log" "$WORK/show"

# every run of a task leaves its report: a rollback is the task's second run
rep rollback "$id" --yes --state-dir "$WORK/state" >"$WORK/rb.out" 2>"$WORK/rb.err" ||
  { cat "$WORK/rb.out" "$WORK/rb.err"; fail "rollback failed"; }
case $(readlink "$L") in *-rollback-"$id") ;; *) fail "latest is $(readlink "$L"), not the rollback of $id" ;; esac
assert_grep "osmig: report: $REP/$inst/.*-rollback-$id/osmig-report.txt" "$WORK/rb.err"
json "$L/osmig-report.json" "assert d['command'] == 'rollback' and d['result'] == 'rolled_back', (d['command'], d['result'])
assert d['task']['id'] == '$id'" || fail "rollback report JSON"
"$OSMIG_BIN" task show "$id" --state-dir "$WORK/state" >"$WORK/show2"
[ "$(grep -c '^  report: ' "$WORK/show2")" = 2 ] || { cat "$WORK/show2"; fail "task show does not name both runs' reports"; }
assert_grep "^  report: *$REP/$inst/.*-rollback-$id/osmig-report.txt" "$WORK/show2"
ls -a "$REP/$inst" | grep -q '\.tmp' && fail "a temporary was left in $REP/$inst"
echo PASS
