# kill -9 of a real `osmig snapshot create` leaves no ready set (list shows
# it failed, delete removes it and its chunks); kill -9 of a real
# `osmig snapshot restore` at several moments, then running it again, gives
# back exactly the snapshotted tree.
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
for id in $(osmig snapshot list "$I" --json | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))'); do
    osmig snapshot delete "$I" "$id" >/dev/null
done
[ "$(count_chunks)" -eq 0 ] || fail "chunks of killed creates were not collected"
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
echo "PASS ($interrupted restores interrupted)"
