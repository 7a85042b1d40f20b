# A second snapshot of an unchanged tree reads no file content (it reuses the
# previous set's chunk lists), yet records the same digest; a changed file is
# read again even when its size and mtime were put back; both sets restore.
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
T=$W/root; make_tree "$T"; settle
I="dir:$T"
s1=$(osmig snapshot create "$I" --quiet)
s2=$(OSMIG_LOG=info osmig snapshot create "$I" --quiet 2>"$W/log2")
grep -q 'event=snapshot.disk disk=system .* read_files=0 read_bytes=0' "$W/log2" ||
    { cat "$W/log2"; fail "unchanged re-snapshot read file content"; }
[ "$(recorded_digest "$I" "$s1")" = "$(recorded_digest "$I" "$s2")" ] || fail "unchanged tree, different digests"

# Same size, mtime put back: only ctime and inode tell; the file must be read.
m=$(stat -c %y "$T/etc/hosts")
printf '127.0.0.2 localhost\n' >"$T/etc/hosts"
touch -d "$m" "$T/etc/hosts"
manifest "$T" >"$W/manifest3"
s3=$(OSMIG_LOG=info osmig snapshot create "$I" --quiet 2>"$W/log3")
grep -q 'read_files=1 ' "$W/log3" || { cat "$W/log3"; fail "changed file was not read again"; }
[ "$(recorded_digest "$I" "$s3")" != "$(recorded_digest "$I" "$s2")" ] || fail "changed content, same digest"

osmig snapshot restore "$I" "$s1" --quiet >/dev/null
grep -q '127.0.0.1' "$T/etc/hosts" || fail "restore of the first set did not bring back the old content"
osmig snapshot restore "$I" "$s3" --quiet >/dev/null
diff "$W/manifest3" <(manifest "$T") || fail "restore of the third set differs"
echo PASS
