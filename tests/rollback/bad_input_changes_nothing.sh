# Bad input gets a clear error, a non-zero exit, and changes nothing: unknown
# instance, unknown or malicious set ids, a set of another instance, a store
# that is not an osmig store, a store inside the disk, a vanished disk, usage
# errors, and a store on a full filesystem.
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
T=$W/root; make_tree "$T"
I="dir:$T"
id=$(osmig snapshot create "$I" --quiet)
# Files with size and mtime, and the directories (whose mtimes any write touches).
snapshot_state() { (cd "$OSMIG_SNAPSHOT_STORE" && { find . -type f ! -name lock -printf '%p %s %T@\n'; find . -type d; } | LC_ALL=C sort); }
snapshot_state >"$W/store-before"; manifest "$T" >"$W/tree-before"

expect_fail 2 "usage" osmig snapshot
expect_fail 2 "unknown subcommand 'explode'" osmig snapshot explode "$I"
expect_fail 2 "needs INSTANCE and SET_ID" osmig snapshot restore "$I"
expect_fail 2 "unknown option '--frobnicate'" osmig snapshot create "$I" --frobnicate
expect_fail 2 "--force is only for delete" osmig snapshot create "$I" --force
expect_fail 1 "instance dir:$W/nope: .*No such file" osmig snapshot list "dir:$W/nope"
expect_fail 1 "no snapshot set '20990101T000000Z-abcdef'" osmig snapshot restore "$I" 20990101T000000Z-abcdef
expect_fail 2 "'../../etc' is not a snapshot set id" osmig snapshot delete "$I" ../../etc
expect_fail 2 "is not a snapshot set id" osmig snapshot verify "$I" "a/b"

mkdir -p "$W/other"; echo x >"$W/other/f"
expect_fail 1 "belongs to instance $T, not to $W/other" osmig snapshot restore "dir:$W/other" "$id"
expect_fail 1 "belongs to instance" osmig snapshot delete "dir:$W/other" "$id"

mkdir -p "$W/notastore"; echo precious >"$W/notastore/file"
expect_fail 1 "$W/notastore is not an osmig snapshot store" osmig snapshot create "$I" --snapshot-store "$W/notastore"
[ "$(ls "$W/notastore")" = file ] || fail "a foreign directory was written to"
expect_fail 1 "not an osmig snapshot store" osmig snapshot list "$I" --snapshot-store "$W/notastore"
expect_fail 1 "lies inside disk system" osmig snapshot create "$I" --snapshot-store "$T/var/snapshots"
[ ! -e "$T/var/snapshots" ] || fail "store created inside the disk"

mkdir -p "$W/data"; echo d >"$W/data/f"
id2=$(osmig snapshot create "dir:$T?disk=$W/data" --quiet)
snapshot_state >"$W/store-before"
mv "$W/data" "$W/data.moved"
expect_fail 1 "disk $W/data: No such file" osmig snapshot restore "dir:$T?disk=$W/data" "$id2"
expect_fail 1 "disk disk1 .* is not a disk of instance" osmig snapshot restore "$I" "$id2"
diff "$W/tree-before" <(manifest "$T") || fail "the tree changed"
diff "$W/store-before" <(snapshot_state) || fail "the store changed"

# Permission errors (as nobody): a store it cannot write, a file it cannot read.
if command -v setpriv >/dev/null; then
    chmod 755 "$W"
    as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    expect_fail 1 "$OSMIG_SNAPSHOT_STORE.*Permission denied" as_nobody "$OSMIG_BIN" snapshot create "$I" --quiet
    mkdir "$W/nobody-store"; chown 65534:65534 "$W/nobody-store"
    expect_fail 1 "$T/home/u/.profile: Permission denied" \
        as_nobody "$OSMIG_BIN" snapshot create "$I" --quiet --snapshot-store "$W/nobody-store"
    [ -z "$(ls "$W/nobody-store/sets")" ] || fail "a failed create left a set"
    [ "$(OSMIG_SNAPSHOT_STORE=$W/nobody-store count_chunks)" = 0 ] || fail "a failed create left chunks"
    [ -z "$(ls -A "$W/nobody-store/packs")" ] || fail "a failed create left pack files"
    chmod 700 "$W"
fi

# A store on a full filesystem: the create fails cleanly, the store is as it was.
small=$W/small; mkdir -p "$small"
if mount -t tmpfs -o size=1m tmpfs "$small" 2>/dev/null; then   # the tree's 2.5 MB of random data cannot fit
    MOUNTS+=("$small")
    export OSMIG_SNAPSHOT_STORE=$small/store
    mkdir -p "$W/tiny"; echo tiny >"$W/tiny/f"
    osmig snapshot create "dir:$W/tiny" --quiet >/dev/null         # the store exists and holds a set
    snapshot_state >"$W/small-before"
    expect_fail 1 "No space left on device" osmig snapshot create "$I" --quiet
    diff "$W/small-before" <(snapshot_state) || fail "a failed create left something in the store"
    osmig snapshot list "$I" --json | grep -q '"id"' && fail "the failed create left a set"
    diff "$W/tree-before" <(manifest "$T") || fail "the tree changed"
else
    echo "SKIP (part): cannot mount a tmpfs here; full-filesystem case not run"
fi
echo PASS
