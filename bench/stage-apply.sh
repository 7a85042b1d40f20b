#!/usr/bin/env bash
# stage-apply.sh: osmig's stage + apply + verify of N small real RPMs (an
# upgrade of every package of a root) against the floor, `rpm -Uvh --root`
# of the same package files, in one run, on the same kind of root.
#
#   bench/stage-apply.sh [BUILD_DIR] [N] [ROUNDS]   (defaults: ./build, 300, 2)
# Each round runs osmig then rpm on fresh copies of the same root; the best
# round of each is reported (the machine is shared: the best is the least
# disturbed). OSM_BENCH_CACHE=DIR keeps the built packages between runs.
# Needs: rpmbuild, rpmsign, gpg, createrepo_c, lighttpd (scripts/install-deps.sh).
# Prints the figures; asserts nothing about time.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-300}
ROUNDS=${3:-2}
TOOL="$BUILD/tests/linux/stage/osm_stage_tool"
[ -x "$TOOL" ] || { echo "build first: $TOOL missing" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/osm-bench-stage.XXXXXX")
HTTPD_PID=
trap '[ -n "$HTTPD_PID" ] && kill "$HTTPD_PID" 2>/dev/null; gpgconf --homedir "$W/gnupg" --kill gpg-agent 2>/dev/null; rm -rf "$W"' EXIT

spec() { # spec VERSION: one spec, N subpackages osmb-1..N, each with a few small files
  local v=$1
  printf 'Name: osmb\nVersion: %s\nRelease: 1\nSummary: bench\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no\n%%description\nbench\n' "$v"
  for i in $(seq "$N"); do
    printf '%%package -n osmb-%d\nSummary: bench %d\n%%description -n osmb-%d\nbench\n%%files -n osmb-%d\n/usr/share/osmb/%d\n' "$i" "$i" "$i" "$i" "$i"
  done
  printf '%%install\nfor i in $(seq %d); do d=%%{buildroot}/usr/share/osmb/$i; mkdir -p $d; for f in a b c d; do head -c 2048 /dev/urandom | base64 > $d/$f; done; done\n' "$N"
}
build() { # build VERSION OUTDIR
  mkdir -p "$W/top-$1/SPECS" "$2"
  spec "$1" >"$W/top-$1/SPECS/osmb.spec"
  rpmbuild --quiet --define "_topdir $W/top-$1" --define "_build_id_links none" -bb "$W/top-$1/SPECS/osmb.spec" >/dev/null 2>&1
  mv "$W/top-$1"/RPMS/noarch/*.rpm "$2/"
}
CACHE=${OSM_BENCH_CACHE:-}
if [ -n "$CACHE" ] && [ -f "$CACHE/ok-$N" ]; then
  cp -a "$CACHE/src" "$CACHE/repo" "$CACHE/key.asc" "$W/"
else
  echo "building $N source and $N target packages..."
  build 1.0 "$W/src"
  build 2.0 "$W/repo/Packages"
  mkdir -m 700 "$W/gnupg"
  GNUPGHOME="$W/gnupg" gpg --batch --quiet --passphrase '' --quick-gen-key "osmig bench <bench@osmig.test>" rsa2048 sign never 2>/dev/null
  GNUPGHOME="$W/gnupg" gpg --batch --armor --export >"$W/key.asc"
  rpmsign --addsign --define "__gpg $(command -v gpg)" --define "_gpg_name osmig bench" --define "_gpg_path $W/gnupg" \
    "$W"/repo/Packages/*.rpm >/dev/null 2>&1
  createrepo_c --quiet "$W/repo" >/dev/null
  if [ -n "$CACHE" ]; then
    rm -rf "$CACHE"; mkdir -p "$CACHE"; cp -a "$W/src" "$W/repo" "$W/key.asc" "$CACHE/"; touch "$CACHE/ok-$N"
  fi
fi

mkroot() {
  mkdir -p "$1/etc" "$1/var/lib/rpm"
  rpm --root "$1" --dbpath /var/lib/rpm -i --nodeps "$W"/src/*.rpm 2>/dev/null
  printf 'ID=osmb\nVERSION_ID="2"\n' >"$1/etc/os-release"
  printf 'UUID=1 / xfs defaults 0 0\n' >"$1/etc/fstab"
}
mkroot "$W/root-base"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'server.document-root = "%s"\nserver.bind = "127.0.0.1"\nserver.port = %s\nserver.errorlog = "%s/httpd.err"\nmimetype.assign = ("" => "application/octet-stream")\n' \
  "$W/repo" "$port" "$W" >"$W/lighttpd.conf"
lighttpd -D -f "$W/lighttpd.conf" & HTTPD_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

python3 - "$W/plan.json" "http://127.0.0.1:$port/" "file://$W/key.asc" "$W/repo/Packages" <<'PY'
import hashlib, json, os, sys
out, base, key, pk = sys.argv[1:]
acts = []
for f in sorted(os.listdir(pk)):
    name = f.rsplit("-", 2)[0]
    data = open(os.path.join(pk, f), "rb").read()
    acts.append({"action": "upgrade", "name": name, "from": f"{name}-1.0-1.noarch", "to": f"{name}-0:2.0-1.noarch",
                 "repo": "bench", "location": "Packages/" + f, "download_size": len(data),
                 "checksum": {"type": "sha256", "value": hashlib.sha256(data).hexdigest()}})
json.dump({"osmig_plan": 1, "source": {"id": "osmb", "version": "1"}, "target": {"id": "osmb", "version": "2"},
           "repos": [{"id": "bench", "baseurl": base, "gpgkeys": [key]}], "actions": acts}, open(out, "w"))
PY

now() { date +%s.%N; }
best_stage= best_apply= best_verify= best_osm= best_rpm=
min() { python3 -c "import sys; v=[float(x) for x in sys.argv[1:] if x]; print(min(v))" "$@"; }
for round in $(seq "$ROUNDS"); do
  rm -rf "$W/root-osmig" "$W/root-rpm"
  cp -a "$W/root-base" "$W/root-osmig"; cp -a "$W/root-base" "$W/root-rpm"
  run_osmig() {
    sync
    t0=$(now)
    "$TOOL" stage "$W/plan.json" "$W/root-osmig" --reserve 1 >/dev/null
    t1=$(now)
    "$TOOL" apply "$W/plan.json" "$W/root-osmig" >/dev/null
    t2=$(now)
    "$TOOL" verify "$W/plan.json" "$W/root-osmig" --core osmb-1,osmb-2,osmb-3 >/dev/null
    t3=$(now)
  }
  run_rpm() {
    sync
    r0=$(now)
    rpm --root "$W/root-rpm" --dbpath /var/lib/rpm -Uvh "$W"/repo/Packages/*.rpm >/dev/null 2>&1
    r1=$(now)
  }
  # Alternate which goes first, so neither always gets the warmer cache.
  if [ $((round % 2)) = 1 ]; then run_osmig; run_rpm; else run_rpm; run_osmig; fi
  [ "$(rpm --root "$W/root-osmig" --dbpath /var/lib/rpm -qa | grep -c -- '-2.0-1')" = "$N" ] || { echo "osmig did not upgrade all $N" >&2; exit 1; }
  [ "$(rpm --root "$W/root-rpm" --dbpath /var/lib/rpm -qa | grep -c -- '-2.0-1')" = "$N" ] || { echo "rpm did not upgrade all $N" >&2; exit 1; }
  read -r s a v o r < <(python3 -c "import sys; t=list(map(float, sys.argv[1:])); print(t[1]-t[0], t[2]-t[1], t[3]-t[2], t[3]-t[0], t[5]-t[4])" "$t0" "$t1" "$t2" "$t3" "$r0" "$r1")
  printf 'round %d: osmig %.2f s (stage %.2f, apply %.2f, verify %.2f), rpm -Uvh %.2f s\n' "$round" "$o" "$s" "$a" "$v" "$r"
  if [ -z "$best_osm" ] || [ "$(min "$o" "$best_osm")" = "$o" ]; then best_stage=$s best_apply=$a best_verify=$v best_osm=$o; fi
  best_rpm=$(min "$r" "$best_rpm")
done
python3 - "$N" "$best_stage" "$best_apply" "$best_verify" "$best_osm" "$best_rpm" <<'PY'
import sys
n = int(sys.argv[1]); st, ap, ve, osm, rpm = map(float, sys.argv[2:])
print(f"packages                          {n}   (best of the rounds)")
print(f"osmig stage (HTTP, sha256, sigs)  {st:8.2f} s")
print(f"osmig apply (librpm transaction)  {ap:8.2f} s")
print(f"osmig verify                      {ve:8.2f} s")
print(f"osmig total, stage -> verify      {osm:8.2f} s")
print(f"rpm -Uvh --root, same files       {rpm:8.2f} s")
print(f"overhead over rpm                 {100 * (osm - rpm) / rpm:+8.1f} %  (apply alone: {100 * (ap - rpm) / rpm:+.1f} %)")
PY
