# lib.sh: helpers for the snapshot tests (sourced). Each test gets a fresh
# work directory under the build tree, removed on exit.
set -euo pipefail
: "${OSMIG_BIN:?OSMIG_BIN must point at the osmig binary}"
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: snapshot tests need root (device nodes, chown, security.* xattrs)"
    exit 77
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/osmig-snaptest.XXXXXX")
cleanup() { local rc=$?; for m in "${MOUNTS[@]:-}"; do [ -n "$m" ] && umount -l "$m" 2>/dev/null || true; done; rm -rf "$W"; exit $rc; }
MOUNTS=()
trap cleanup EXIT
export OSMIG_SNAPSHOT_STORE="$W/store"
osmig() { "$OSMIG_BIN" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_fail EXIT_CODE PATTERN CMD...: runs CMD, checks its exit status and that stderr matches PATTERN.
expect_fail() {
    local want=$1 pat=$2; shift 2
    local rc=0
    "$@" >"$W/out" 2>"$W/err" || rc=$?
    [ "$rc" = "$want" ] || { cat "$W/err" >&2; fail "'$*' exited $rc, expected $want"; }
    grep -Eq -- "$pat" "$W/err" || { cat "$W/err" >&2; fail "'$*' stderr does not match /$pat/"; }
}

# settle: lets the ctimes of what the test just made or changed fall behind
# the racy margin (rollback/snap_same.h: an entry whose ctime is within
# 100 ms of the start of the set that recorded it is read again by the next
# create), where a test counts what the next create reads or shares.
settle() { sleep 0.3; }

# make_tree DIR: every file type and kind of metadata a restore must keep.
make_tree() {
    local t=$1
    mkdir -p "$t"/{etc,usr/bin,usr/lib,var/log,dev,run,home/u}
    printf 'root:x:0:0::/root:/bin/bash\n' >"$t/etc/passwd"
    printf '127.0.0.1 localhost\n' >"$t/etc/hosts"
    head -c 2500000 /dev/urandom >"$t/usr/bin/big"           # several chunks
    seq 1 200000 >"$t/usr/lib/text"                           # compressible
    for i in $(seq 1 60); do echo "file $i" >"$t/usr/lib/small$i"; done
    : >"$t/etc/empty"
    ln "$t/usr/bin/big" "$t/usr/bin/big-hardlink"
    ln -s ../etc/hosts "$t/usr/hosts-link"
    ln -s /nonexistent/target "$t/usr/dangling"
    mknod "$t/dev/null" c 1 3
    mknod "$t/dev/loop9" b 7 9
    mkfifo "$t/run/fifo"
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$t/run/sock"
    truncate -s 20M "$t/var/log/sparse"
    printf 'data in the middle' | dd of="$t/var/log/sparse" bs=1 seek=9000000 conv=notrunc status=none
    chown 1000:1000 "$t/home/u"
    echo secret >"$t/home/u/.profile"
    chown 1000:100 "$t/home/u/.profile"
    chmod 0600 "$t/home/u/.profile"
    chmod 4755 "$t/usr/bin/big"
    chmod 1777 "$t/run"
    setfattr -n user.note -v "kept" "$t/etc/hosts"
    setfattr -n security.selinux -v "system_u:object_r:etc_t:s0" "$t/etc/passwd"
    setfacl -m u:1234:rw "$t/etc/hosts"
    setfacl -d -m g:100:rx "$t/home/u"
    if command -v setcap >/dev/null; then setcap cap_net_raw+ep "$t/usr/lib/small1"
    else setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= "$t/usr/lib/small1"; fi
    touch -h -d '2001-02-03 04:05:06.123456789' "$t/usr/dangling"
    touch -d '1999-12-31 23:59:59.5' "$t/etc/passwd" "$t/etc"
}

# manifest DIR: an independent description of a tree (find + sha256sum + getfattr).
manifest() {
    (cd "$1" && find . -path ./.osmig-restore-staging -prune -o -printf '%p %y %m %U %G %s %T@ %l\n' | LC_ALL=C sort)
    (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    (cd "$1" && getfattr -R -h -d -m - -e hex . 2>/dev/null)
    (cd "$1" && find . -printf '%i %p\n' | awk '{c[$1]=c[$1]" "$2} END{for(i in c) if (split(c[i],a," ")>1) print c[i]}' | LC_ALL=C sort)
}

# same_tree REF DIR MANIFEST: rsync finds nothing to change between REF (a
# copy made before the snapshot) and DIR, and DIR's manifest equals MANIFEST
# (taken of the original tree before the snapshot).
same_tree() {
    local diffs
    diffs=$(rsync -aHAXn --checksum --delete -i --exclude=/.osmig-restore-staging "$1/" "$2/")
    [ -z "$diffs" ] || { echo "$diffs" >&2; fail "rsync sees differences between $1 and $2"; }
    diff "$3" <(manifest "$2") >&2 || fail "manifest of $2 differs from the one taken before the snapshot"
}

# recorded_digest INSTANCE SET [DISK]: the digest the set recorded.
recorded_digest() {
    osmig snapshot list "$1" --json | python3 -c '
import json,sys
for s in json.load(sys.stdin):
    if s["id"] == sys.argv[1]:
        for d in s["disks"]:
            if d["id"] == sys.argv[2]: print(d["digest"])' "$2" "${3:-system}"
}

set_state() {
    osmig snapshot list "$1" --json | python3 -c '
import json,sys
print([s["state"] for s in json.load(sys.stdin) if s["id"] == sys.argv[1]][0])' "$2"
}

# count_chunks: chunks the store holds (in packs, and format-1 loose files).
count_chunks() { python3 "$OSMIG_SOURCE_DIR/tests/rollback/store_tool.py" "$OSMIG_SNAPSHOT_STORE" count; }
count_packs() { python3 "$OSMIG_SOURCE_DIR/tests/rollback/store_tool.py" "$OSMIG_SNAPSHOT_STORE" packs; }
# locate_chunk HASH: FILE OFFSET LENGTH of the chunk's compressed bytes.
locate_chunk() { python3 "$OSMIG_SOURCE_DIR/tests/rollback/store_tool.py" "$OSMIG_SNAPSHOT_STORE" locate "$1"; }
