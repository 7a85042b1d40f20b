# A re-snapshot of a tree that has not changed at all checks every entry's
# stat against the previous set's index and, finding them all the same,
# shares that index file (one file, two names) instead of walking the tree
# and writing it again; it records the same digest. Any change — content,
# mode, an xattr, a name created, removed or renamed deep down, an atime
# moved by a read — makes the next create walk and record it. A shared index outlives
# the set that wrote it, and each set restores to what it recorded.
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
T=$W/root; make_tree "$T"
mkdir -p "$T/a/b/c/d"; echo deep >"$T/a/b/c/d/leaf"
I="dir:$T"
idx() { echo "$OSMIG_SNAPSHOT_STORE/sets/$1/system.idx"; }
create() { OSMIG_LOG=info osmig snapshot create "$I" --quiet 2>"$W/log"; }
shared() { grep -q 'event=snapshot.disk disk=system .* unchanged=1' "$W/log"; }

manifest "$T" >"$W/manifest1" # (it reads every file: before the snapshot)
settle
s1=$(osmig snapshot create "$I" --quiet)
s2=$(create)
shared || { cat "$W/log"; fail "an unchanged tree was walked again instead of sharing the index"; }
grep -q 'read_files=0 read_bytes=0' "$W/log" || fail "the unchanged re-snapshot does not say it read nothing"
[ "$(stat -c %i "$(idx "$s1")")" = "$(stat -c %i "$(idx "$s2")")" ] || fail "the two sets do not share one index file"
# and its side file (what the next unchanged check reads instead of the index)
side1=${OSMIG_SNAPSHOT_STORE}/sets/$s1/system.same
[ -f "$side1" ] || fail "the first set has no side file beside its index"
[ "$(stat -c %i "$side1")" = "$(stat -c %i "$OSMIG_SNAPSHOT_STORE/sets/$s2/system.same")" ] ||
    fail "the two sets do not share one side file"
[ "$(recorded_digest "$I" "$s1")" = "$(recorded_digest "$I" "$s2")" ] || fail "unchanged tree, different digests"

# change DESCRIPTION CMD...: after CMD the next create must not share.
change() {
    local what=$1; shift
    "$@"
    local before
    before=$(recorded_digest "$I" "$(osmig snapshot list "$I" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')")
    local s
    s=$(create)
    shared && { cat "$W/log"; fail "$what: the change was not seen (index shared)"; }
    [ "$(stat -c %i "$(idx "$s")")" != "$(stat -c %i "$(idx "$s1")")" ] || fail "$what: index file shared"
    echo "$s $before $(recorded_digest "$I" "$s")"
}
read -r _ d_before d_after < <(change "content" sh -c "echo more >>'$T/a/b/c/d/leaf'")
[ "$d_before" != "$d_after" ] || fail "content: same digest"
read -r _ d_before d_after < <(change "mode" chmod 0640 "$T/usr/lib/small3")
[ "$d_before" != "$d_after" ] || fail "mode: same digest"
read -r _ d_before d_after < <(change "xattr on a symlink" setfattr -h -n trusted.x -v 1 "$T/usr/hosts-link")
[ "$d_before" != "$d_after" ] || fail "xattr: same digest"
read -r _ d_before d_after < <(change "new empty file deep down" touch "$T/a/b/c/d/new")
[ "$d_before" != "$d_after" ] || fail "new file: same digest"
# Reading moves atime without touching ctime (relatime: a file not read since
# its last change); where the filesystem does not (noatime), there is nothing
# to see.
a0=$(stat -c %X.%x "$T/a/b/c/d/leaf")
cat "$T/a/b/c/d/leaf" >/dev/null
if [ "$(stat -c %X.%x "$T/a/b/c/d/leaf")" != "$a0" ]; then
    s=$(create)
    shared && { cat "$W/log"; fail "atime moved by a read: the change was not seen (index shared)"; }
else
    echo "note: this filesystem does not move atime on reads; that case is not checked"
fi
read -r _ d_before d_after < <(change "rename in one directory" mv "$T/a/b/c/d/new" "$T/a/b/c/d/new2")
[ "$d_before" != "$d_after" ] || fail "rename: same digest"
read -r _ d_before d_after < <(change "removed file" rm "$T/usr/lib/small7")
[ "$d_before" != "$d_after" ] || fail "removal: same digest"
# An edit that keeps the size and puts the times back: mtime and atime as
# they were (touch -d, nanoseconds), only ctime moves. The check must see it.
# same_size_edit FILE NEWTEXT [mtime-reset]: NEWTEXT has the old size.
same_size_edit() {
    local f=$1 text=$2 reset=${3:-} m a size
    m=$(stat -c %.9Y "$f"); a=$(stat -c %.9X "$f"); size=$(stat -c %s "$f")
    printf '%s' "$text" | dd of="$f" conv=notrunc status=none
    if [ -n "$reset" ]; then touch -m -d "@$m" "$f"; touch -a -d "@$a" "$f"; fi
    [ "$(stat -c %s "$f")" = "$size" ] || fail "same_size_edit: the size of $f moved (test bug)"
    if [ -n "$reset" ]; then
        [ "$(stat -c %.9Y.%.9X "$f")" = "$m.$a" ] || fail "same_size_edit: the times of $f were not put back (test bug)"
    fi
}
read -r _ d_before d_after < <(change "same-size edit" same_size_edit "$T/usr/lib/small9" "FILE 9")
[ "$d_before" != "$d_after" ] || fail "same-size edit: same digest"
read -r _ d_before d_after < <(change "same-size edit, mtime and atime put back with touch -d" \
    same_size_edit "$T/usr/lib/small10" "FILE 10" reset)
[ "$d_before" != "$d_after" ] || fail "same-size edit with the times put back: same digest"
# atime is recorded (and restored) though not part of the digest.
read -r _ d_before d_after < <(change "atime set by hand" touch -a -d '2020-01-01' "$T/usr/lib/small8")
[ "$d_before" = "$d_after" ] || fail "atime only: the digest moved"
manifest "$T" >"$W/manifest3"
settle
create >/dev/null
s3=$(create)
shared || { cat "$W/log"; fail "after the changes were recorded, the tree was walked again"; }

# The ready set.json is written ahead under a temporary name while the tree
# is checked; neither a shared nor a walked set keeps that name.
left=$(find "$OSMIG_SNAPSHOT_STORE/sets" -name 'set.json.tmp*')
[ -z "$left" ] || fail "temporary set.json files left behind: $left"
[ "$(osmig snapshot list "$I" --json | python3 -c 'import json,sys; print(sorted({s["state"] for s in json.load(sys.stdin)}))')" = "['ready']" ] ||
    fail "a set is not ready"

# The set that wrote the shared index goes; the one sharing it still verifies
# and restores.
osmig snapshot delete "$I" "$s1" >/dev/null
osmig snapshot verify "$I" "$s2" --quiet >/dev/null || fail "the set sharing a deleted set's index does not verify"
osmig snapshot restore "$I" "$s2" --quiet >/dev/null
diff "$W/manifest1" <(manifest "$T") || fail "restore of the set sharing the index differs"
osmig snapshot restore "$I" "$s3" --quiet >/dev/null
diff "$W/manifest3" <(manifest "$T") || fail "restore of the last set differs"
echo PASS
