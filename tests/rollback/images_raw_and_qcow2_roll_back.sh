# An instance with a root tree, a data tree, a raw image and a qcow2 image
# (declared in a descriptor): one set covers them all; after changes to every
# disk, restore puts each back (raw: unchanged chunks shared between sets and
# only changed ones rewritten; qcow2: an internal snapshot).
source "$OSMIG_SOURCE_DIR/tests/rollback/lib.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || { echo "SKIP: qemu-img/qemu-io (qemu-utils) not installed"; exit 77; }
T=$W/root; make_tree "$T"
mkdir -p "$W/data"; echo "db" >"$W/data/table"
truncate -s 16M "$W/disk.raw"
head -c 3000000 /dev/urandom | dd of="$W/disk.raw" bs=1M seek=2 conv=notrunc status=none
qemu-img create -q -f qcow2 "$W/disk.qcow2" 32M
qemu-io -f qcow2 -c 'write -P 0x5a 0 4M' "$W/disk.qcow2" >/dev/null
cat >"$W/web01.json" <<JSON
{ "name": "web01", "root": "root", "disks": ["data", {"path": "disk.raw"}, "disk.qcow2"] }
JSON
I="dir:$W/web01.json"
qsum() { qemu-img convert -O raw "$W/disk.qcow2" "$W/q.raw" && sha256sum <"$W/q.raw"; }
raw_sum=$(sha256sum <"$W/disk.raw"); q_sum=$(qsum)
manifest "$T" >"$W/m-root"; manifest "$W/data" >"$W/m-data"

id=$(osmig snapshot create "$I" --label all-disks --json --quiet | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
osmig snapshot list "$I" --json | python3 -c '
import json,sys
s = json.load(sys.stdin)[0]
kinds = [(d["id"], d["kind"]) for d in s["disks"]]
assert kinds == [("system","tree"),("disk1","tree"),("disk2","raw"),("disk3","qcow2")], kinds
assert s["label"] == "all-disks"'
qemu-img snapshot -l "$W/disk.qcow2" | grep -q "osmig-$id" || fail "no internal qcow2 snapshot"
osmig snapshot verify "$I" "$id" --quiet >/dev/null

# Change every disk.
echo changed >"$T/etc/hosts"; echo lost >"$W/data/table"; echo more >"$W/data/new"
printf 'overwrite' | dd of="$W/disk.raw" bs=1 seek=$((2*1024*1024+10)) conv=notrunc status=none
printf 'in a hole' | dd of="$W/disk.raw" bs=1 seek=$((12*1024*1024)) conv=notrunc status=none
truncate -s 20M "$W/disk.raw"
qemu-io -f qcow2 -c 'write -P 0x11 1M 1M' "$W/disk.qcow2" >/dev/null

osmig snapshot restore "$I" "$id" --quiet | grep -q "digest matches" || fail "restore did not confirm"
[ "$(sha256sum <"$W/disk.raw")" = "$raw_sum" ] || fail "raw image not restored"
[ "$(stat -c %s "$W/disk.raw")" = $((16*1024*1024)) ] || fail "raw image size not restored"
[ "$(qsum)" = "$q_sum" ] || fail "qcow2 not restored"
diff "$W/m-root" <(manifest "$T") || fail "root tree differs"
diff "$W/m-data" <(manifest "$W/data") || fail "data tree differs"

# A second set shares the raw image's unchanged chunks.
c1=$(count_chunks)
printf 'x' | dd of="$W/disk.raw" bs=1 seek=100 conv=notrunc status=none
id2=$(osmig snapshot create "$I" --quiet)
[ "$(count_chunks)" -eq $((c1 + 1)) ] || fail "second set stored $(( $(count_chunks) - c1 )) new chunks, expected 1"
osmig snapshot delete "$I" "$id" >/dev/null
qemu-img snapshot -l "$W/disk.qcow2" | grep -q "osmig-$id" && fail "qcow2 snapshot of the deleted set remains"
qemu-img snapshot -l "$W/disk.qcow2" | grep -q "osmig-$id2" || fail "qcow2 snapshot of the kept set is gone"
osmig snapshot verify "$I" "$id2" --quiet >/dev/null
echo PASS
