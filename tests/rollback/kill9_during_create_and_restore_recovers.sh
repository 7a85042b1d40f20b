# kill -9 of a real `osmig snapshot create` leaves no ready set that is not
# complete (list shows it failed, delete removes it, its packs and any
# half-written pack); kill -9 of a real `osmig snapshot restore` at several
# moments, then running it again, gives back exactly the snapshotted tree;
# kill -9 of a delete that rewrites packs loses no chunk a set still uses.
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
T=$W/root; make_tree "$T"
mkdir -p "$T/data"
for i in $(seq 1 150); do head -c 300000 /dev/urandom >"$T/data/f$i"; done
I="dir:$T"

interrupted=0
for d in 0.01 0.05 0.2 0.4; do
    "$OSMIG_BIN" snapshot create "$I" --quiet >"$W/id" 2>/dev/null & pid=$!
    sleep $d
    if kill -9 $pid 2>/dev/null; then interrupted=$((interrupted + 1)); fi
    wait $pid || true
done
[ $interrupted -gt 0 ] || fail "every create finished before kill -9: the test proved nothing"
osmig snapshot list "$I" --json >"$W/list.json"
python3 - "$W/list.json" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1])):
    assert s["state"] in ("failed", "ready"), s            # never "creating" once the process is gone
    if s["state"] == "ready":
        assert s["disks"] and s["disks"][0]["digest"], s   # a ready set is complete
PY
# A ready set left by the runs is complete: every chunk it names is there.
for id in $(osmig snapshot list "$I" --json | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin) if s["state"] == "ready"))'); do
    osmig snapshot verify "$I" "$id" --quiet >/dev/null || fail "ready set $id left by killed creates does not verify"
done
for id in $(osmig snapshot list "$I" --json | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))'); do
    osmig snapshot delete "$I" "$id" >/dev/null
done
[ "$(count_chunks)" -eq 0 ] || fail "chunks of killed creates were not collected"
[ -z "$(ls -A "$OSMIG_SNAPSHOT_STORE/packs")" ] || fail "packs or half-written packs left: $(ls -A "$OSMIG_SNAPSHOT_STORE/packs")"
[ -z "$(ls "$OSMIG_SNAPSHOT_STORE/sets")" ] || fail "sets left behind"

# The creating record is not synced: a power cut can leave a set's directory
# without set.json, or with it empty (what a kill cannot). list shows such a
# set failed, delete removes it, and creates go on around it.
for shape in none empty; do
    sd="$OSMIG_SNAPSHOT_STORE/sets/20200101T000000.000000Z-$shape"
    mkdir -p "$sd"; : >"$sd/lock"
    [ $shape = empty ] && : >"$sd/set.json"
    osmig snapshot list "$I" --json | python3 -c '
import json, sys
s = [s for s in json.load(sys.stdin) if s["id"] == sys.argv[1]]
assert s and s[0]["state"] == "failed", s' "${sd##*/}" || fail "power cut ($shape set.json): not listed as failed"
    id=$(osmig snapshot create "$I" --quiet) || fail "power cut ($shape set.json): the next create failed"
    osmig snapshot delete "$I" "${sd##*/}" >/dev/null || fail "power cut ($shape set.json): delete failed"
    [ ! -e "$sd" ] || fail "power cut ($shape set.json): the set was not removed"
    osmig snapshot delete "$I" "$id" >/dev/null
done
[ -z "$(ls "$OSMIG_SNAPSHOT_STORE/sets")" ] || fail "sets left behind"

manifest "$T" >"$W/manifest"
id=$(osmig snapshot create "$I" --quiet)
interrupted=0
for d in 0.01 0.03 0.1 0.3 0.6; do
    # Change the tree a lot, then interrupt the restore (early delays too:
    # on an idle machine a restore can finish within 0.1 s).
    for i in $(seq 1 150 | shuf -n 60); do echo "changed $i" >"$T/data/f$i"; done
    rm -f "$T/data/f1"*; mkdir -p "$T/data/new"; echo n >"$T/data/new/x"; chmod 700 "$T/etc"
    "$OSMIG_BIN" snapshot restore "$I" "$id" --quiet >/dev/null 2>&1 & pid=$!
    sleep $d
    if kill -9 $pid 2>/dev/null; then interrupted=$((interrupted + 1)); fi
    wait $pid || true
done
[ $interrupted -gt 0 ] || fail "every restore finished before kill -9: the test proved nothing"
osmig snapshot restore "$I" "$id" --quiet | grep -q "digest matches" || fail "re-run restore did not finish"
diff "$W/manifest" <(manifest "$T") || fail "tree after an interrupted and re-run restore differs"
[ "$(osmig snapshot digest "$T")" = "$(recorded_digest "$I" "$id")" ] || fail "digest differs"
osmig snapshot list "$I" --json | grep -q '"restore_incomplete": false' || fail "restore intent left behind"
osmig snapshot delete "$I" "$id" >/dev/null

# A delete that rewrites packs (most of the first set's data is gone from the
# second), killed at several moments: the second set still verifies and
# restores, and a later delete leaves nothing behind.
killed_deletes=0
for d in 0.01 0.03 0.08 0.15; do
    for i in $(seq 1 150); do head -c 300000 /dev/urandom >"$T/data/f$i"; done
    a=$(osmig snapshot create "$I" --quiet)
    rm -f "$T"/data/f{1..110}
    manifest "$T" >"$W/manifest-b"
    b=$(osmig snapshot create "$I" --quiet)
    "$OSMIG_BIN" snapshot delete "$I" "$a" >/dev/null 2>&1 & pid=$!
    sleep $d
    if kill -9 $pid 2>/dev/null; then killed_deletes=$((killed_deletes + 1)); fi
    wait $pid || true
    osmig snapshot verify "$I" "$b" --quiet >/dev/null || fail "a killed delete (after ${d}s) lost chunks of the other set"
    rm -rf "$T/data"; mkdir "$T/data"
    osmig snapshot restore "$I" "$b" --quiet | grep -q "digest matches" || fail "restore after a killed delete did not finish"
    diff "$W/manifest-b" <(manifest "$T") || fail "tree after a killed delete and restore differs"
    osmig snapshot delete "$I" "$a" >/dev/null 2>&1 || true   # gone already when the kill came late
    osmig snapshot delete "$I" "$b" >/dev/null
    [ "$(count_chunks)" -eq 0 ] || fail "chunks left after a killed delete and deleting every set"
done
echo "PASS ($interrupted restores, $killed_deletes deletes interrupted)"
