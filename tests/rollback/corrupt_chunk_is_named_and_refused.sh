# A corrupted chunk (and a missing one, and a pack whose table is damaged) is
# detected by hash, named by file, disk and chunk; verify fails and marks the
# set corrupt; restore refuses and changes nothing on the disk.
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
T=$W/root; make_tree "$T"
I="dir:$T"
id=$(osmig snapshot create "$I" --quiet)
# The chunk of /etc/passwd's content: its SHA-256 names it.
h=$(sha256sum "$T/etc/passwd" | cut -c1-64)
read -r pack off len < <(locate_chunk "$h") || fail "no chunk $h for /etc/passwd in the store"
[ -f "$pack" ] || fail "chunk $h is said to be in $pack, which does not exist"
cp "$pack" "$W/good-pack"
printf 'garbage' | dd of="$pack" bs=1 seek=$((off + 5)) conv=notrunc status=none

expect_fail 1 "disk system: file /etc/passwd .*chunk .*$h.* corrupt" osmig snapshot verify "$I" "$id" --quiet
[ "$(set_state "$I" "$id")" = corrupt ] || fail "verify did not mark the set corrupt"

echo "after the snapshot" >"$T/etc/hosts"; rm "$T/usr/lib/small5"
manifest "$T" >"$W/before-restore"
expect_fail 1 "corrupt" osmig snapshot restore "$I" "$id" --quiet
diff "$W/before-restore" <(manifest "$T") || fail "a refused restore changed the tree"
[ ! -e "$T/.osmig-restore-staging" ] || fail "staging directory left behind"

# Put the chunk back: verify passes again and the set is ready; restore works.
cp "$W/good-pack" "$pack"
osmig snapshot verify "$I" "$id" --quiet >/dev/null
[ "$(set_state "$I" "$id")" = ready ] || fail "verify of a repaired set did not mark it ready"

# A missing chunk (its whole pack gone) is named too, and restore (which
# verifies) refuses.
rm "$pack"
cp "$T/etc/passwd" "$W/passwd-now"; echo zz >>"$T/etc/passwd"   # so restore must read that chunk
manifest "$T" >"$W/before-restore"
# (The pack held other files' chunks too; whichever the restore met first is named.)
expect_fail 1 "disk system: file /[^ ]+ \(offset [0-9]+\): chunk [0-9a-f]{64} is missing from store" \
    osmig snapshot restore "$I" "$id" --quiet
diff "$W/before-restore" <(manifest "$T") || fail "a refused restore changed the tree"

# A pack whose table is damaged: its chunks are missing, the pack is named.
cp "$W/good-pack" "$pack"
size=$(stat -c %s "$pack")
printf 'X' | dd of="$pack" bs=1 seek=$((size - 60)) conv=notrunc status=none
expect_fail 1 "file /[^ ]+ .*chunk [0-9a-f]{64} is missing .*damaged pack.*$(basename "$pack").* corrupt" \
    osmig snapshot verify "$I" "$id" --quiet
diff "$W/before-restore" <(manifest "$T") || fail "verify changed the tree"

# A corrupt index is refused as well.
cp "$W/good-pack" "$pack"
osmig snapshot verify "$I" "$id" --quiet >/dev/null
printf 'X' | dd of="$OSMIG_SNAPSHOT_STORE/sets/$id/system.idx" bs=1 seek=20 conv=notrunc status=none
expect_fail 1 "index .*system.idx is corrupt" osmig snapshot verify "$I" "$id" --quiet
echo PASS
