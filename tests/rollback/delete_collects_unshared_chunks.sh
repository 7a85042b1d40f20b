# Two sets share most chunks: list shows the space each holds exclusively;
# deleting one keeps everything the other needs (it still verifies and
# restores); deleting the last leaves no chunk behind.
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
T=$W/root; make_tree "$T"
I="dir:$T"
s1=$(osmig snapshot create "$I" --label one --quiet)
manifest "$T" >"$W/m1"
head -c 3000000 /dev/urandom >"$T/usr/bin/only-in-two"
s2=$(osmig snapshot create "$I" --label two --quiet)
osmig snapshot list "$I" --json >"$W/list.json"
python3 - "$W/list.json" "$s1" "$s2" <<'PY'
import json, sys
sets = {s["id"]: s for s in json.load(open(sys.argv[1]))}
one, two = sets[sys.argv[2]], sets[sys.argv[3]]
assert one["label"] == "one" and two["label"] == "two", sets
assert one["exclusive_bytes"] == 0, one            # everything of one is also in two
assert two["exclusive_bytes"] >= 2900000, two       # the random file is two's alone
assert two["stored_bytes"] > one["stored_bytes"] > 0
assert one["disks"][0]["kind"] == "tree" and one["disks"][0]["entries"] > 70
PY
osmig snapshot list "$I" | grep -q "^$s2 *ready" || fail "text list does not show $s2 as ready"
before=$(count_chunks)
osmig snapshot delete "$I" "$s2" >/dev/null
after=$(count_chunks)
[ "$after" -eq $((before - 3)) ] || fail "delete removed $((before - after)) chunks, expected 3 (the 3 MB file)"
osmig snapshot list "$I" --json | grep -q "$s2" && fail "deleted set still listed"
osmig snapshot verify "$I" "$s1" --quiet >/dev/null
echo x >"$T/etc/hosts"
osmig snapshot restore "$I" "$s1" --quiet >/dev/null
diff "$W/m1" <(manifest "$T") || fail "restore after delete of the other set differs"
osmig snapshot delete "$I" "$s1" >/dev/null
[ "$(count_chunks)" -eq 0 ] || fail "chunks left after deleting every set"
expect_fail 1 "no snapshot set '$s1'" osmig snapshot delete "$I" "$s1"
echo PASS
