# A re-snapshot takes unchanged entries from the previous set by (inode,
# ctime, mtime, size) without reading them. Changes that leave size and mtime
# alone must still be seen: xattr-only changes (a user xattr, an ACL, a
# trusted xattr on a symlink) through ctime, and content rewritten in place
# with its mtime put back (same inode, same size, same mtime: only ctime
# tells). Each set restores to exactly what it recorded.
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
T=$W/root; make_tree "$T"; settle
I="dir:$T"
s1=$(osmig snapshot create "$I" --quiet)

# xattr-only changes: ctime moves, so exactly those two files are read again
# (the symlink has no content), and the set records the new xattrs.
setfattr -n user.note -v "changed" "$T/etc/hosts"
setfacl -m u:4321:r "$T/usr/lib/text"
setfattr -h -n trusted.tag -v "on-a-symlink" "$T/usr/hosts-link"
manifest "$T" >"$W/manifest2"
settle
s2=$(OSMIG_LOG=info osmig snapshot create "$I" --quiet 2>"$W/log2")
grep -q 'event=snapshot.disk disk=system .* read_files=2 ' "$W/log2" ||
    { cat "$W/log2"; fail "the re-snapshot did not look again at exactly the two files whose xattrs changed"; }
[ "$(recorded_digest "$I" "$s2")" != "$(recorded_digest "$I" "$s1")" ] ||
    fail "xattr-only changes were not recorded (same digest as before)"

# Content rewritten in place, same size, mtime put back: only ctime differs.
f=$T/usr/lib/small5
ino=$(stat -c %i "$f"); m=$(stat -c %y "$f"); size=$(stat -c %s "$f")
printf 'FILE 5\n' | dd of="$f" conv=notrunc status=none
touch -d "$m" "$f"
[ "$(stat -c '%i %y %s' "$f")" = "$ino $m $size" ] || fail "test setup: inode, mtime or size moved"
manifest "$T" >"$W/manifest3"
s3=$(OSMIG_LOG=info osmig snapshot create "$I" --quiet 2>"$W/log3")
grep -q 'event=snapshot.disk disk=system .* read_files=1 ' "$W/log3" ||
    { cat "$W/log3"; fail "a file changed in place with its mtime put back was not read again"; }
[ "$(recorded_digest "$I" "$s3")" != "$(recorded_digest "$I" "$s2")" ] || fail "changed content, same digest"

osmig snapshot restore "$I" "$s1" --quiet >/dev/null
[ "$(getfattr --only-values -n user.note "$T/etc/hosts")" = kept ] || fail "restore of the first set: user.note not back"
getfacl -p "$T/usr/lib/text" | grep -q 'user:4321' && fail "restore of the first set: the added ACL entry stayed"
getfattr -h -d -m trusted "$T/usr/hosts-link" 2>/dev/null | grep -q trusted.tag &&
    fail "restore of the first set: the symlink's xattr stayed"
[ "$(cat "$f")" = "file 5" ] || fail "restore of the first set: in-place change not undone"
osmig snapshot restore "$I" "$s2" --quiet >/dev/null
diff "$W/manifest2" <(manifest "$T") || fail "restore of the second set differs"
osmig snapshot restore "$I" "$s3" --quiet >/dev/null
diff "$W/manifest3" <(manifest "$T") || fail "restore of the third set differs"
echo PASS
