# A file rewritten with the same size in the same second as the set that
# recorded it keeps its ctime where timestamps have whole seconds (ext4 with
# 128-byte inodes): by stat it is unchanged. The racy rule (snap_same.h)
# must make the next create read it again, neither sharing the previous
# index nor taking its old chunk list, and that set must restore the new
# content.
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
for t in losetup mkfs.ext4 mount; do
    command -v $t >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done
truncate -s 64M "$W/fs.img"
mkfs.ext4 -q -I 128 -E nodiscard "$W/fs.img" 2>/dev/null || { echo "SKIP: mkfs.ext4 -I 128 failed"; exit 77; }
mkdir -p "$W/fs"
mount -o loop "$W/fs.img" "$W/fs" 2>/dev/null || { echo "SKIP: cannot mount a loop file here"; exit 77; }
MOUNTS+=("$W/fs")
T=$W/fs/root
mkdir -p "$T/etc"
for i in $(seq 1 20); do echo "line $i" >"$T/etc/f$i"; done
f=$T/etc/f7
I="dir:$T"
[ "$(stat -c %.9Z "$f" | cut -d. -f2)" = 000000000 ] || { echo "SKIP: this ext4 keeps sub-second ctimes"; exit 77; }

# Two writes of f and a set between them, all in one second: wait for the
# start of a second first, and try again if the second ran out anyway.
for attempt in 1 2 3 4 5; do
    python3 -c 'import time; time.sleep(1.05 - time.time() % 1)'
    echo "line A" >"$f"
    c0=$(stat -c %Z "$f")
    s1=$(osmig snapshot create "$I" --quiet)
    echo "line B" >"$f"
    [ "$(stat -c %Z "$f")" = "$c0" ] && break
    s1=
done
[ -n "$s1" ] || { echo "SKIP: could not write, snapshot and write again within one second"; exit 77; }
s2=$(OSMIG_LOG=info osmig snapshot create "$I" --quiet 2>"$W/log2")
grep -q 'unchanged=1' "$W/log2" && { cat "$W/log2"; fail "the same-second edit was not seen: the index was shared"; }
grep -q 'event=snapshot.disk disk=system .* read_files=0 ' "$W/log2" &&
    { cat "$W/log2"; fail "the same-second edit was not seen: nothing was read"; }
[ "$(recorded_digest "$I" "$s1")" != "$(recorded_digest "$I" "$s2")" ] || fail "the same-second edit: same digest"

# Older than the margin (2 s on whole-second timestamps), entries are
# trusted again: a later unchanged tree is not read at all.
sleep 2.2
osmig snapshot create "$I" --quiet >/dev/null
s4=$(OSMIG_LOG=info osmig snapshot create "$I" --quiet 2>"$W/log4")
grep -q 'unchanged=1' "$W/log4" || { cat "$W/log4"; fail "an old unchanged tree was not recognised"; }

echo "line C" >"$f"
osmig snapshot restore "$I" "$s2" --quiet >/dev/null
[ "$(cat "$f")" = "line B" ] || fail "restore of the set after the same-second edit brought back '$(cat "$f")'"
osmig snapshot restore "$I" "$s1" --quiet >/dev/null
[ "$(cat "$f")" = "line A" ] || fail "restore of the first set brought back '$(cat "$f")'"
echo PASS
