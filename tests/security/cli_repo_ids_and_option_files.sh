#!/usr/bin/env bash
# Proves: a repository id never becomes a path component unchecked: --repo
# '../../../pwned=URL' (and '/', '..', empty) is refused with an error naming
# the id, and nothing is written outside the cache directory. Matrix and
# event files are read as regular files of bounded size: /dev/zero, a FIFO
# and a file over the cap are refused at once, naming the file and not
# showing its content.
. "$OSMIG_SOURCE_DIR/tests/linux/migrate/lib.sh"
sample_setup
R=$WORK/root; fresh_root "$R"
write_matrix "$WORK/matrix.json" "file://$REPO"
mkdir -p "$WORK/c/cache"
assess() { "$OSMIG_BIN" assess "dir:$R" --to sample-alinux3 --matrix "$WORK/matrix.json" --cache-dir "$WORK/c/cache" "$@"; }

for id in '../../../pwned' '../pwned' 'a/b' '.hidden' 'sp ace'; do
  rc=0; assess --repo "$id=file://$REPO" >"$WORK/out" 2>&1 || rc=$?
  [ "$rc" = 2 ] || { cat "$WORK/out"; fail "--repo '$id=...': exit $rc, want 2"; }
  grep -qF "'$id'" "$WORK/out" || { cat "$WORK/out"; fail "--repo '$id=...': the error does not name the id"; }
  echo "ok --repo '$id' refused"
done
found=$(find "$WORK" -name '*pwned*' | head -3)
[ -z "$found" ] || fail "repository metadata written outside the cache: $found"
# A plain id still works.
assess --repo "sample-target=file://$REPO" >"$WORK/ok" 2>&1 || [ $? = 3 ] || { cat "$WORK/ok"; fail "a plain repository id was refused"; }
echo "ok a plain id is taken"

printf 'TOPSECRET first line\n' >"$WORK/notjson"
mkfifo "$WORK/fifo"
truncate -s 200M "$WORK/huge.json"
for opt in --events --matrix; do
  for f in /dev/zero "$WORK/fifo" "$WORK/huge.json"; do
    start=$(date +%s)
    rc=0; timeout 20 "$OSMIG_BIN" assess "dir:$R" --to sample-alinux3 --matrix "$WORK/matrix.json" \
      --cache-dir "$WORK/c/cache" $opt "$f" >"$WORK/out" 2>&1 || rc=$?
    [ "$rc" != 124 ] || fail "$opt $f: still reading after 20 s"
    [ "$rc" != 0 ] || fail "$opt $f: accepted"
    grep -qE "not a regular file|larger than" "$WORK/out" || { cat "$WORK/out"; fail "$opt $f: the error does not say why"; }
    [ $(( $(date +%s) - start )) -le 5 ] || fail "$opt $f: took more than 5 s to refuse"
    echo "ok $opt $f refused: $(head -c 120 "$WORK/out")"
  done
  rc=0; assess $opt "$WORK/notjson" >"$WORK/out" 2>&1 || rc=$?
  [ "$rc" != 0 ] || fail "$opt notjson accepted"
  if grep -q TOPSECRET "$WORK/out"; then cat "$WORK/out"; fail "$opt: the error shows the file's content"; fi
  echo "ok $opt of a non-JSON file refused without its content"
done
echo PASS
