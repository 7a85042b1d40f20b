# Packs hold chunks of many files: a delete removes a pack none of whose
# chunks is used any more, rewrites one whose unused chunks take at least 20%
# of it (keeping the used ones, which still verify and restore), and leaves
# one that is mostly used as it is.
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
# One worker: which files share a pack must not depend on how two workers
# were scheduled, since the shares of dead bytes per pack are asserted.
export OSMIG_THREADS=1
T=$W/root; mkdir -p "$T/d"
for i in $(seq 1 20); do head -c 200000 /dev/urandom >"$T/d/f$i"; done
head -c 1000000 /dev/urandom >"$T/keep"
I="dir:$T"
S=$OSMIG_SNAPSHOT_STORE
packs() { ls "$S/packs" | grep '\.pack$' | sort; }
pack_bytes() { du -sb "$S/packs" | cut -f1; }

s1=$(osmig snapshot create "$I" --quiet)
rm "$T"/d/f{1..15}                               # 3 MB of 5 MB no longer in the tree
s2=$(osmig snapshot create "$I" --quiet)
packs >"$W/packs-before"; before=$(pack_bytes)
[ "$(count_chunks)" -eq 21 ] || fail "expected 21 chunks before the delete, found $(count_chunks)"
osmig snapshot delete "$I" "$s1" >/dev/null
[ "$(count_chunks)" -eq 6 ] || fail "after the delete the store holds $(count_chunks) chunks, expected the 6 still used"
after=$(pack_bytes)
[ $((before - after)) -ge 2900000 ] || fail "the delete gave back $((before - after)) bytes, expected >= 2.9 MB"
[ -z "$(comm -12 "$W/packs-before" <(packs))" ] || fail "a mostly-dead pack was kept instead of rewritten"
osmig snapshot verify "$I" "$s2" --quiet >/dev/null
manifest "$T" >"$W/m2"
rm -rf "$T/d"
osmig snapshot restore "$I" "$s2" --quiet | grep -q "digest matches" || fail "restore after the rewrite did not finish"
diff "$W/m2" <(manifest "$T") || fail "tree restored from rewritten packs differs"

# Mostly used: one 200 kB file of 2 MB dies, the pack stays as it is.
rm "$T/d/f16"
s3=$(osmig snapshot create "$I" --quiet)
packs >"$W/packs-before"
osmig snapshot delete "$I" "$s2" >/dev/null
diff "$W/packs-before" <(packs) >/dev/null || fail "a pack with 10% unused bytes was rewritten"
[ "$(count_chunks)" -eq 6 ] || fail "a pack with 10% unused bytes lost chunks"
osmig snapshot verify "$I" "$s3" --quiet >/dev/null
osmig snapshot delete "$I" "$s3" >/dev/null
[ "$(count_chunks)" -eq 0 ] && [ "$(count_packs)" -eq 0 ] || fail "packs left after deleting every set"
echo PASS
