# A tree with every file type and kind of metadata is snapshotted, changed in
# every way, restored; the restore's digest check, `snapshot digest`, rsync
# and an independent find/sha256sum/getfattr manifest all agree.
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
T=$W/root; make_tree "$T"
rsync -aHAX "$T/" "$W/ref/"
manifest "$T" >"$W/manifest"
I="dir:$T"
id=$(osmig snapshot create "$I" --label pre-migration --quiet)
[ -n "$id" ] || fail "create printed no id"
[ "$(set_state "$I" "$id")" = ready ] || fail "set is not ready"
want=$(recorded_digest "$I" "$id")
[ "$(osmig snapshot digest "$T")" = "$want" ] || fail "digest of the untouched tree differs from the recorded one"
osmig snapshot verify "$I" "$id" --quiet | grep -q verified || fail "verify did not pass"

# Change everything a migration might.
echo changed >"$T/etc/hosts"                       # content (same inode, keeps ACL)
rm "$T/usr/bin/big"                                # delete one name of a hardlink pair
echo new >"$T/usr/bin/big-hardlink"
rm -r "$T/usr/lib/small2" "$T/home/u"              # deleted file and directory
echo added >"$T/etc/added"; mkdir -p "$T/opt/new/deep"; echo x >"$T/opt/new/deep/f"
rm "$T/dev/null"; mkdir "$T/dev/null"              # type change: device -> directory
rm "$T/run/fifo"; echo notafifo >"$T/run/fifo"     # fifo -> file
rm "$T/usr/hosts-link"; ln -s /elsewhere "$T/usr/hosts-link"
chmod 0644 "$T/etc/passwd"; chown 5:5 "$T/etc/passwd"
setfattr -x security.selinux "$T/etc/passwd"
setfattr -n user.extra -v 1 "$T/etc/passwd"
setfacl -b "$T/etc/hosts"
if command -v setcap >/dev/null; then setcap -r "$T/usr/lib/small1"; else setfattr -x security.capability "$T/usr/lib/small1"; fi
echo "x" | dd of="$T/var/log/sparse" bs=1 seek=100 conv=notrunc status=none   # fill a hole
touch -d '2030-01-01' "$T/usr/lib/small3"
[ "$(osmig snapshot digest "$T")" != "$want" ] || fail "the digest did not notice the changes"

out=$(osmig snapshot restore "$I" "$id" --quiet)
echo "$out" | grep -q "digest matches" || fail "restore did not confirm the digest: $out"
[ "$(osmig snapshot digest "$T")" = "$want" ] || fail "digest after restore differs"
same_tree "$W/ref" "$T" "$W/manifest"
[ "$(stat -c %b "$T/var/log/sparse")" -lt 1000 ] || fail "sparse file lost its holes"
[ ! -e "$T/.osmig-restore-staging" ] || fail "staging directory left behind"

# A second restore of an already restored tree changes nothing and passes.
osmig snapshot restore "$I" "$id" --quiet >/dev/null
same_tree "$W/ref" "$T" "$W/manifest"

# Into an emptied disk: every directory is missing, so each top directory is
# built whole in staging (hardlinks, devices, sockets, ACLs and all) and
# moved in with one rename.
find "$T" -mindepth 1 -delete
osmig snapshot restore "$I" "$id" --quiet | grep -q "digest matches" || fail "restore into an empty disk did not match"
same_tree "$W/ref" "$T" "$W/manifest"
[ ! -e "$T/.osmig-restore-staging" ] || fail "staging directory left behind"
echo PASS
