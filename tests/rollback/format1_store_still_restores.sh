# A store written in format 1 (one file per chunk, before pack files) is still
# verified, restored, reused and collected: format 1 is written by the
# test-only switch OSMIG_TEST_SNAPSHOT_FORMAT=1, which keeps the old writer.
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
T=$W/root; make_tree "$T"
I="dir:$T"
S=$OSMIG_SNAPSHOT_STORE
manifest "$T" >"$W/m1"
s1=$(OSMIG_TEST_SNAPSHOT_FORMAT=1 osmig snapshot create "$I" --quiet)
grep -q "format 1" "$S/OSMIG-STORE" || fail "the switch did not write a format-1 store"
[ ! -e "$S/packs" ] || fail "a format-1 store has a packs directory"
loose=$(find "$S/chunks" -type f | wc -l)
[ "$loose" -gt 5 ] || fail "format-1 store holds $loose chunk files"

# Today's code reads it: verify, and restore after changes.
osmig snapshot verify "$I" "$s1" --quiet >/dev/null
echo "after the snapshot" >"$T/etc/hosts"; rm "$T/usr/lib/small5"; head -c 100000 /dev/urandom >"$T/usr/bin/big"
osmig snapshot restore "$I" "$s1" --quiet | grep -q "digest matches" || fail "restore of a format-1 set did not finish"
diff "$W/m1" <(manifest "$T") || fail "tree restored from a format-1 set differs"

# A new set in the same store: new content goes into packs, unchanged files
# keep referring to the loose chunks.
head -c 1500000 /dev/urandom >"$T/usr/bin/new-in-two"
s2=$(osmig snapshot create "$I" --quiet)
[ "$(count_packs)" -ge 1 ] || fail "the second set wrote no pack"
[ "$(find "$S/chunks" -type f | wc -l)" -eq "$loose" ] || fail "the second set changed the loose chunks"
manifest "$T" >"$W/m2"
osmig snapshot delete "$I" "$s1" >/dev/null
osmig snapshot verify "$I" "$s2" --quiet >/dev/null    # the loose chunks it shares were kept
rm -rf "$T/usr"
osmig snapshot restore "$I" "$s2" --quiet | grep -q "digest matches" || fail "restore of the mixed-format set did not finish"
diff "$W/m2" <(manifest "$T") || fail "tree restored from loose chunks and packs differs"
osmig snapshot delete "$I" "$s2" >/dev/null
[ "$(count_chunks)" -eq 0 ] || fail "chunks of either format left after deleting every set"
echo PASS
