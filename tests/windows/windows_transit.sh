#!/usr/bin/env bash
# Transit disks built from real media and read back: GPT with one Microsoft
# basic data partition; NTFS holding every media file byte for byte (read with
# ntfs-3g's ntfscat); FAT32 with install.wim split into .swm parts whose
# joined WIM holds the same image (read with mtools, joined and applied with
# wimlib); qcow2 output; rebuilding is a no-op; a foreign OUT is refused.
set -euo pipefail
bash "$OSMIG_SOURCE_DIR/tests/windows/make-fixtures.sh" || exit $?
for t in mkntfs sgdisk ntfscat ntfsinfo ntfsfix mkfs.fat mcopy qemu-img; do
  command -v $t >/dev/null || PATH=$PATH:/usr/sbin:/sbin
  command -v $t >/dev/null || { echo "SKIP: $t is not installed (scripts/install-deps.sh)"; exit 77; }
done
media=$OSMIG_FIXTURE_CACHE/windows/media/transit
w=$(mktemp -d /tmp/osmig-transit-XXXXXX)
trap 'rm -rf "$w"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- NTFS, raw
"$OSMIG_BIN" media transit "$media" "$w/t.img" >/dev/null || fail "ntfs build"
[[ ! -e $w/t.img.partial ]] || fail "partial left behind"
# (outputs are captured before grep: with pipefail, grep -q closing the pipe early would fail the producer)
table=$(sgdisk -p "$w/t.img")
grep -Eq '^ +1 +2048 .* 0700 +OSMIG-TRANSIT' <<<"$table" || fail "partition table: $table"
start=$(sgdisk -i 1 "$w/t.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
end=$(sgdisk -i 1 "$w/t.img" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
dd if="$w/t.img" of="$w/part" bs=512 skip="$start" count=$((end - start + 1)) status=none
(cd "$media" && find . -type f) | while read -r f; do
  ntfscat "$w/part" "${f#.}" | cmp -s - "$media/$f" || fail "NTFS copy of $f differs"
done
size=$(stat -c %s "$media/sources/install.wim")
info=$(ntfsinfo -F /sources/install.wim "$w/part" 2>/dev/null)
grep -q "Initialized size:.* $size " <<<"$info" \
  || fail "install.wim's initialized size is not its size (Windows would read zeros)"
check=$(ntfsfix -n "$w/part")
grep -q "processed successfully" <<<"$check" || fail "ntfsfix -n finds the volume damaged"
ntfscat "$w/part" /sources/install.wim >"$w/back.wim"
wimlib-imagex verify "$w/back.wim" >/dev/null || fail "WIM read back does not verify"
cmp -s "$w/back.wim" "$media/sources/install.wim" || fail "install.wim differs"

# --- idempotent; a foreign file is refused and kept
out=$("$OSMIG_BIN" media transit "$media" "$w/t.img") || fail "rebuild"
[[ $out == *"already built"* ]] || fail "rebuild said: $out"
echo precious >"$w/other.img"
set +e
"$OSMIG_BIN" media transit "$media" "$w/other.img" 2>"$w/err"; rc=$?
set -e
[[ $rc == 1 && $(cat "$w/other.img") == precious ]] || fail "foreign OUT: rc=$rc"
grep -q "already exists" "$w/err" || fail "foreign OUT message: $(cat "$w/err")"
set +e
"$OSMIG_BIN" media transit "$OSMIG_FIXTURE_CACHE/windows/roots/w2019-dc-zh" "$w/x.img" 2>"$w/err"; rc=$?
set -e
[[ $rc == 1 && ! -e $w/x.img ]] && grep -q "not installation media" "$w/err" || fail "non-media: $(cat "$w/err")"

# --- FAT32 with 1 MiB .swm parts
"$OSMIG_BIN" media transit "$media" "$w/f.img" --fat32 --swm-part-mib 1 >/dev/null || fail "fat32 build"
export MTOOLS_SKIP_CHECK=1
img="$w/f.img@@1048576"
mdir -b -i "$img" ::/sources >"$w/dir" || fail "mdir"
grep -qi 'install.wim' "$w/dir" && fail "install.wim copied whole onto FAT32"
nparts=$(grep -ci '\.swm$' "$w/dir")
(( nparts >= 2 )) || fail "expected install.wim split into .swm parts, got $nparts"
mcopy -i "$img" ::/setup.exe "$w/setup.exe" && cmp -s "$w/setup.exe" "$media/setup.exe" || fail "setup.exe on FAT32"
mcopy -i "$img" ::/boot/fonts/font.ttf "$w/font" && cmp -s "$w/font" "$media/boot/fonts/font.ttf" || fail "nested file on FAT32"
mkdir "$w/swm"
mcopy -i "$img" '::/sources/*.swm' "$w/swm/" || fail "mcopy swm"
wimlib-imagex join "$w/joined.wim" "$w"/swm/*.swm >/dev/null || fail "join"
mkdir "$w/a" "$w/b"
wimlib-imagex apply "$w/joined.wim" 1 "$w/a" >/dev/null
wimlib-imagex apply "$media/sources/install.wim" 1 "$w/b" >/dev/null
diff -r "$w/a" "$w/b" >/dev/null || fail "joined .swm image differs from install.wim"
[[ $(wimlib-imagex info "$w/joined.wim" 1 | grep 'Edition ID') == *ServerDatacenter* ]] || fail "image properties lost"

# --- qcow2
"$OSMIG_BIN" media transit "$media" "$w/q.qcow2" --qcow2 >/dev/null || fail "qcow2 build"
qinfo=$(qemu-img info "$w/q.qcow2")
grep -q 'file format: qcow2' <<<"$qinfo" || fail "not qcow2"
qemu-img convert -f qcow2 -O raw "$w/q.qcow2" "$w/q.raw"
qtable=$(sgdisk -p "$w/q.raw")
grep -q 'OSMIG-TRANSIT' <<<"$qtable" || fail "qcow2 partition table"
echo ok
